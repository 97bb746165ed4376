package revocation

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"golang.org/x/crypto/ocsp"
)

func ocspFor(t testing.TB, p *testpki.PKI, c, issuer *testpki.Cert) []byte {
	t.Helper()
	der, err := p.OCSPFor(c, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// xocsp builds a response with x/crypto/ocsp (producedAt = wall clock) to
// test responders the test PKI would never use.
func xocsp(t *testing.T, issuer, responder *testpki.Cert, serial *big.Int) []byte {
	t.Helper()
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: serial, ThisUpdate: testpki.Now, NextUpdate: testpki.Now.Add(time.Hour)}
	if responder != issuer {
		tmpl.Certificate = responder.Cert
	}
	der, err := ocsp.CreateResponse(issuer.Cert, responder.Cert, tmpl, responder.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCheckOCSP(t *testing.T) {
	p := testpki.New(t)
	now := testpki.Now
	good := ocspFor(t, p, p.RSA, p.Intermediate)
	byIssuer := xocsp(t, p.Intermediate, p.Intermediate, p.ECDSAP256.Cert.SerialNumber)
	tampered := append([]byte(nil), byIssuer...)
	tampered[len(tampered)-1] ^= 0xff
	tests := []struct {
		name       string
		der        []byte
		cert       *testpki.Cert
		issuer     *testpki.Cert
		at         time.Time
		want       Status
		wantErr    error
		wantResult bool // a Result accompanies the error
	}{
		{"good via delegated responder", good, p.RSA, p.Intermediate, now, Good, nil, true},
		{"revoked", ocspFor(t, p, p.Revoked, p.Intermediate), p.Revoked, p.Intermediate, now, Revoked, nil, true},
		{"revoked later than at", ocspFor(t, p, p.Revoked, p.Intermediate), p.Revoked, p.Intermediate, testpki.RevokedAt.Add(-time.Minute), Good, ErrOutOfWindow, true},
		{"unknown", ocspFor(t, p, p.Unknown, p.Intermediate), p.Unknown, p.Intermediate, now, Unknown, nil, true},
		{"intermediate signed by root", ocspFor(t, p, p.Intermediate, p.Root), p.Intermediate, p.Root, now, Good, nil, true},
		{"signed by issuer directly", byIssuer, p.ECDSAP256, p.Intermediate, now, Good, nil, true},
		{"after nextUpdate", good, p.RSA, p.Intermediate, now.Add(testpki.OCSPValidity + time.Second), Good, ErrOutOfWindow, true},
		{"within skew before thisUpdate", good, p.RSA, p.Intermediate, now.Add(-time.Minute), Good, nil, true},
		{"long before thisUpdate", good, p.RSA, p.Intermediate, now.Add(-time.Hour), Good, ErrOutOfWindow, true},
		{"other serial", good, p.ECDSAP256, p.Intermediate, now, 0, ErrNotForCert, false},
		{"wrong issuer", good, p.RSA, p.Root, now, 0, ErrNotForCert, false},
		{"responder without OCSPSigning", xocsp(t, p.Intermediate, p.ECDSAP384, p.RSA.Cert.SerialNumber), p.RSA, p.Intermediate, now, 0, ErrSignature, false},
		{"responder from another issuer", xocsp(t, p.Root, p.OCSPSigner, p.Intermediate.Cert.SerialNumber), p.Intermediate, p.Root, now, 0, ErrSignature, false},
		{"tampered signature", tampered, p.ECDSAP256, p.Intermediate, now, 0, ErrSignature, false},
		{"garbage", []byte("not DER"), p.RSA, p.Intermediate, now, 0, ErrMalformed, false},
		{"empty", nil, p.RSA, p.Intermediate, now, 0, ErrMalformed, false},
		{"tryLater", ocsp.TryLaterErrorResponse, p.RSA, p.Intermediate, now, 0, ErrMalformed, false},
		{"too large", make([]byte, MaxOCSPSize+1), p.RSA, p.Intermediate, now, 0, ErrTooLarge, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CheckOCSP(tt.der, tt.cert.Cert, tt.issuer.Cert, tt.at)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if (r != nil) != tt.wantResult {
				t.Fatalf("result = %+v, want one: %v", r, tt.wantResult)
			}
			if r == nil {
				return
			}
			if r.Status != tt.want || r.Source != SourceEmbeddedOCSP || len(r.Raw) == 0 || r.Responder == nil {
				t.Fatalf("result %+v, want status %v", r, tt.want)
			}
			if tt.cert == p.Revoked && (!r.RevokedAt.Equal(testpki.RevokedAt) || r.Reason != ocsp.KeyCompromise) {
				t.Errorf("revokedAt %v reason %d", r.RevokedAt, r.Reason)
			}
		})
	}
}

func TestCheckCRL(t *testing.T) {
	p := testpki.New(t)
	now := testpki.Now
	entries := []x509.RevocationListEntry{{SerialNumber: p.Revoked.Cert.SerialNumber, RevocationTime: testpki.RevokedAt, ReasonCode: 1}}
	intCRL, err := p.CRL(p.Intermediate, entries)
	if err != nil {
		t.Fatal(err)
	}
	rootCRL, err := p.CRL(p.Root, nil)
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), intCRL...)
	tampered[len(tampered)-1] ^= 0xff
	deltaExt := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: []byte{2, 1, 1}}
	delta, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(9), ThisUpdate: now, NextUpdate: now.Add(time.Hour), ExtraExtensions: []pkix.Extension{deltaExt}}, p.Intermediate.Cert, p.Intermediate.Key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		der        []byte
		cert       *testpki.Cert
		issuer     *testpki.Cert
		at         time.Time
		want       Status
		wantErr    error
		wantResult bool
	}{
		{"good", intCRL, p.RSA, p.Intermediate, now, Good, nil, true},
		{"revoked", intCRL, p.Revoked, p.Intermediate, now, Revoked, nil, true},
		{"revoked after at", intCRL, p.Revoked, p.Intermediate, testpki.RevokedAt.Add(-time.Hour), Good, ErrOutOfWindow, true},
		{"intermediate in root CRL", rootCRL, p.Intermediate, p.Root, now, Good, nil, true},
		{"after nextUpdate", intCRL, p.RSA, p.Intermediate, now.Add(testpki.CRLValidity + time.Second), Good, ErrOutOfWindow, true},
		{"CRL of another issuer", rootCRL, p.RSA, p.Intermediate, now, 0, ErrNotForCert, false},
		{"cert of another issuer", intCRL, p.Intermediate, p.Intermediate, now, 0, ErrNotForCert, false},
		{"delta CRL", delta, p.RSA, p.Intermediate, now, 0, ErrNotForCert, false},
		{"tampered", tampered, p.RSA, p.Intermediate, now, 0, ErrSignature, false},
		{"garbage", []byte{0x30, 0x03, 1, 2, 3}, p.RSA, p.Intermediate, now, 0, ErrMalformed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CheckCRL(tt.der, tt.cert.Cert, tt.issuer.Cert, tt.at)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if (r != nil) != tt.wantResult {
				t.Fatalf("result = %+v, want one: %v", r, tt.wantResult)
			}
			if r != nil && (r.Status != tt.want || r.Source != SourceEmbeddedCRL) {
				t.Fatalf("status %v source %q, want %v", r.Status, r.Source, tt.want)
			}
		})
	}
}

func TestClient(t *testing.T) {
	p := testpki.New(t)
	now := testpki.Now
	ctx := context.Background()
	newClient := func(t *testing.T, cfg Config) *Client {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("ocsp GET then cache", func(t *testing.T) {
		c := newClient(t, Config{})
		before := p.Requests("/ocsp")
		r, err := c.OCSP(ctx, p.RSA.Cert, p.Intermediate.Cert, now)
		if err != nil || r.Status != Good || r.Source != SourceOnlineOCSP {
			t.Fatalf("%v %+v", err, r)
		}
		if _, err := c.OCSP(ctx, p.RSA.Cert, p.Intermediate.Cert, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := p.Requests("/ocsp") - before; got != 1 {
			t.Fatalf("%d requests, want 1 (second answered from cache)", got)
		}
		// Past nextUpdate the cache must not answer.
		later := now.Add(testpki.OCSPValidity + time.Hour)
		p.SetNow(later)
		defer p.SetNow(now)
		r, err = c.OCSP(ctx, p.RSA.Cert, p.Intermediate.Cert, later)
		if err != nil || !r.ThisUpdate.Equal(later) {
			t.Fatalf("%v %+v", err, r)
		}
		if got := p.Requests("/ocsp") - before; got != 2 {
			t.Fatalf("%d requests, want 2", got)
		}
	})
	t.Run("ocsp POST revoked", func(t *testing.T) {
		c := newClient(t, Config{PreferPOST: true, CacheEntries: -1})
		r, err := c.OCSP(ctx, p.Revoked.Cert, p.Intermediate.Cert, now)
		if err != nil || r.Status != Revoked {
			t.Fatalf("%v %+v", err, r)
		}
	})
	t.Run("check falls back to CRL on unknown", func(t *testing.T) {
		c := newClient(t, Config{})
		r, err := c.Check(ctx, p.Unknown.Cert, p.Intermediate.Cert, now)
		if err != nil || r.Status != Good || r.Source != SourceOnlineCRL {
			t.Fatalf("%v %+v", err, r)
		}
	})
	t.Run("crl revoked and cached", func(t *testing.T) {
		c := newClient(t, Config{})
		before := p.Requests("/int.crl")
		for i := 0; i < 2; i++ {
			r, err := c.CRL(ctx, p.Revoked.Cert, p.Intermediate.Cert, now)
			if err != nil || r.Status != Revoked {
				t.Fatalf("%v %+v", err, r)
			}
		}
		if got := p.Requests("/int.crl") - before; got != 1 {
			t.Fatalf("%d CRL downloads, want 1", got)
		}
		// Cached entry, asked about a time before the revocation.
		r, err := c.CRL(ctx, p.Revoked.Cert, p.Intermediate.Cert, now.Add(time.Minute))
		if err != nil || r.Status != Revoked {
			t.Fatalf("%v %+v", err, r)
		}
	})
	t.Run("no URL", func(t *testing.T) {
		c := newClient(t, Config{})
		cert := *p.RSA.Cert
		cert.OCSPServer, cert.CRLDistributionPoints = nil, nil
		if _, err := c.Check(ctx, &cert, p.Intermediate.Cert, now); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("server down", func(t *testing.T) {
		c := newClient(t, Config{Timeout: 2 * time.Second})
		cert := *p.RSA.Cert
		cert.OCSPServer = []string{"http://127.0.0.1:1/ocsp"}
		if _, err := c.OCSP(ctx, &cert, p.Intermediate.Cert, now); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c := newClient(t, Config{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := c.OCSP(cctx, p.ECDSAP384.Cert, p.Intermediate.Cert, now)
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("size limit", func(t *testing.T) {
		c := newClient(t, Config{MaxCRLSize: 64})
		if _, err := c.CRL(ctx, p.RSA.Cert, p.Intermediate.Cert, now); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		if _, err := New(Config{Timeout: -1}); err == nil {
			t.Fatal("negative timeout accepted")
		}
	})
}

func FuzzCheckOCSP(f *testing.F) {
	p := testpki.New(f)
	f.Add(ocspFor(f, p, p.RSA, p.Intermediate))
	f.Add(ocspFor(f, p, p.Revoked, p.Intermediate))
	f.Add(ocsp.UnauthorizedErrorResponse)
	f.Add([]byte{0x30, 0x80, 0, 0})
	f.Fuzz(func(t *testing.T, der []byte) {
		_ = responseNonce(der) // must not panic on anything
		r, err := CheckOCSP(der, p.RSA.Cert, p.Intermediate.Cert, testpki.Now)
		if err == nil && r == nil {
			t.Fatal("nil result without error")
		}
	})
}

func FuzzCheckCRL(f *testing.F) {
	p := testpki.New(f)
	crl, err := p.CRL(p.Intermediate, []x509.RevocationListEntry{{SerialNumber: p.Revoked.Cert.SerialNumber, RevocationTime: testpki.RevokedAt}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(crl)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		r, err := CheckCRL(der, p.Revoked.Cert, p.Intermediate.Cert, testpki.Now)
		if err == nil && r == nil {
			t.Fatal("nil result without error")
		}
	})
}

func TestOCSPNonce(t *testing.T) {
	p := testpki.New(t)
	ctx := context.Background()
	t.Run("echoed", func(t *testing.T) {
		req, err := ocsp.CreateRequest(p.RSA.Cert, p.Intermediate.Cert, nil)
		if err != nil {
			t.Fatal(err)
		}
		nonce := []byte("0123456789abcdef")
		if req, err = addNonce(req, nonce); err != nil {
			t.Fatal(err)
		}
		if _, err := ocsp.ParseRequest(req); err != nil {
			t.Fatalf("request with nonce no longer parses: %v", err)
		}
		resp, err := http.Post(p.OCSPURL, "application/ocsp-request", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if got := responseNonce(body); !bytes.Equal(got, nonce) {
			t.Fatalf("nonce echoed = %q, want %q", got, nonce)
		}
		if r, err := CheckOCSP(body, p.RSA.Cert, p.Intermediate.Cert, testpki.Now); err != nil || r.Status != Good {
			t.Fatalf("%v %+v", err, r)
		}
	})
	t.Run("client with nonce", func(t *testing.T) {
		c, err := New(Config{Nonce: true, CacheEntries: -1})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.OCSP(ctx, p.ECDSAP256.Cert, p.Intermediate.Cert, testpki.Now); err != nil || r.Status != Good {
			t.Fatalf("%v %+v", err, r)
		}
	})
	t.Run("replayed response refused", func(t *testing.T) {
		req, _ := ocsp.CreateRequest(p.RSA.Cert, p.Intermediate.Cert, nil)
		req, _ = addNonce(req, []byte("an old nonce...."))
		resp, err := http.Post(p.OCSPURL, "application/ocsp-request", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		old, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(old) }))
		defer replay.Close()
		cert := *p.RSA.Cert
		cert.OCSPServer = []string{replay.URL}
		c, _ := New(Config{Nonce: true})
		if _, err := c.OCSP(ctx, &cert, p.Intermediate.Cert, testpki.Now); !errors.Is(err, ErrNotForCert) {
			t.Fatalf("err = %v, want ErrNotForCert", err)
		}
		// Without Nonce the same response is fine.
		c2, _ := New(Config{})
		if _, err := c2.OCSP(ctx, &cert, p.Intermediate.Cert, testpki.Now); err != nil {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("garbage has no nonce", func(t *testing.T) {
		for _, b := range [][]byte{nil, {0x30}, ocsp.TryLaterErrorResponse, bytes.Repeat([]byte{0x30, 0x80}, 50)} {
			if responseNonce(b) != nil {
				t.Fatalf("nonce found in %x", b)
			}
		}
	})
}
