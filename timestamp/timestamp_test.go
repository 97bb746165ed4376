package timestamp_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/timestamp"
)

var document = []byte("原本 — a supplementary file to be sealed")

func sha256Of(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func TestClientAuthority(t *testing.T) {
	p := newTestPKI(t)
	srv := httptest.NewServer(p.authority(t, p.tsa))
	defer srv.Close()
	c := &timestamp.Client{URL: srv.URL, HTTPClient: srv.Client(), Policy: testPolicy, Verify: &timestamp.VerifyOptions{Roots: p.roots}}
	d := sha256Of(document)
	for i := int64(1); i <= 2; i++ {
		tok, err := c.Timestamp(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		if !tok.Time.Equal(testNow) || tok.Serial.Int64() != i || !tok.Policy.Equal(testPolicy) ||
			tok.Nonce == nil || tok.Hash != crypto.SHA256 || !bytes.Equal(tok.HashedMessage, d) ||
			tok.Accuracy != 1500*time.Millisecond || !tok.Signer.Equal(p.tsa) ||
			!strings.Contains(tok.TSAName, "keiyaku test TSA") {
			t.Fatalf("token %d: %+v", i, tok)
		}
		// The token verifies on its own, too.
		if _, err := timestamp.Verify(tok.Raw, d, &timestamp.VerifyOptions{Roots: p.roots}); err != nil {
			t.Fatal(err)
		}
	}
	// A TSA that does not chain to the client's roots.
	other := newTestPKI(t)
	c.Verify = &timestamp.VerifyOptions{Roots: other.roots}
	if _, err := c.Timestamp(context.Background(), d); !errors.Is(err, timestamp.ErrUntrusted) {
		t.Fatalf("untrusted TSA: %v", err)
	}
	// A policy the TSA does not offer.
	c.Verify = nil
	c.Policy = asn1.ObjectIdentifier{1, 2, 3}
	var se *timestamp.StatusError
	if _, err := c.Timestamp(context.Background(), d); !errors.Is(err, timestamp.ErrRejected) || !errors.As(err, &se) || !se.HasFailure(timestamp.FailUnacceptedPolicy) {
		t.Fatalf("unaccepted policy: %v", err)
	}
}

// tokenFor issues a token over digest from a, with or without certificates.
func tokenFor(t *testing.T, a *timestamp.Authority, digest []byte, certReq bool) []byte {
	t.Helper()
	tok, err := a.Timestamp(context.Background(), crypto.SHA256, digest, &timestamp.TimestampOptions{CertReq: certReq, Nonce: big.NewInt(42)})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Raw
}

func flip(b []byte, at []byte) []byte {
	i := bytes.Index(b, at)
	if i < 0 {
		panic("pattern not found")
	}
	out := bytes.Clone(b)
	out[i+len(at)-1] ^= 1
	return out
}

func TestVerify(t *testing.T) {
	p := newTestPKI(t)
	d := sha256Of(document)
	good := tokenFor(t, p.authority(t, p.tsa), d, true)
	bare := tokenFor(t, p.authority(t, p.tsa), d, false)
	parsed, err := timestamp.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	// The signer's sid names serial 1001 (02 02 03 e9); in a token without
	// certificates that is its first occurrence. Pointing it at the twin
	// (1002, same key) keeps the signature valid but breaks the ESS binding.
	twinSID := bytes.Replace(bare, []byte{0x02, 0x02, 0x03, 0xe9}, []byte{0x02, 0x02, 0x03, 0xea}, 1)
	expiredAuthority := p.authority(t, p.expired)
	roots := &timestamp.VerifyOptions{Roots: p.roots}
	cases := []struct {
		name   string
		token  []byte
		digest []byte
		opts   *timestamp.VerifyOptions
		want   error
	}{
		{"good", good, d, roots, nil},
		{"no-certs-with-extra", bare, d, &timestamp.VerifyOptions{Roots: p.roots, ExtraCerts: []*x509.Certificate{p.tsa}}, nil},
		{"no-certs-without-extra", bare, d, roots, timestamp.ErrNoCertificate},
		{"wrong-digest", good, sha256Of([]byte("other")), roots, timestamp.ErrImprintMismatch},
		{"short-digest", good, d[:20], roots, timestamp.ErrImprintMismatch},
		{"tampered-tstinfo", flip(good, []byte("2026010100000")), d, roots, timestamp.ErrBadSignature},
		{"tampered-signature", flip(good, parsedSignature(t, good)), d, roots, timestamp.ErrBadSignature},
		{"untrusted-root", good, d, &timestamp.VerifyOptions{Roots: newTestPKI(t).roots}, timestamp.ErrUntrusted},
		{"ess-names-other-cert", twinSID, d, &timestamp.VerifyOptions{Roots: p.roots, ExtraCerts: []*x509.Certificate{p.tsaTwin}}, timestamp.ErrESSCertID},
		{"non-critical-eku", tokenFor(t, p.authority(t, p.badEKU), d, true), d, roots, timestamp.ErrBadEKU},
		{"expired-at-gentime", tokenFor(t, expiredAuthority, d, true), d, roots, timestamp.ErrUntrusted},
		{"not-a-token", []byte{0x30, 0x00}, d, roots, timestamp.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := timestamp.Verify(tc.token, tc.digest, tc.opts)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("Verify = %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.Signer == nil || !tok.Signer.Equal(p.tsa) || tok.Nonce.Int64() != 42 {
				t.Fatalf("token %+v", tok)
			}
		})
	}
	if parsed.Signer == nil || len(parsed.Certificates) != 1 {
		t.Fatalf("Parse: signer %v, %d certificates", parsed.Signer, len(parsed.Certificates))
	}
}

// parsedSignature returns the last 8 bytes of the CMS signature value.
func parsedSignature(t *testing.T, tok []byte) []byte {
	t.Helper()
	// The signature is the last OCTET STRING of the token; an ECDSA
	// signature is a DER SEQUENCE of two INTEGERs, whose tail is unique.
	return tok[len(tok)-8:]
}

func TestNewAuthorityChecks(t *testing.T) {
	p := newTestPKI(t)
	ok := timestamp.AuthorityConfig{Signer: p.tsaKey, Certificate: p.tsa, Policy: testPolicy, Serials: timestamp.NewMemorySerialStore(0)}
	cases := []struct {
		name string
		mod  func(c *timestamp.AuthorityConfig)
	}{
		{"no-signer", func(c *timestamp.AuthorityConfig) { c.Signer = nil }},
		{"no-certificate", func(c *timestamp.AuthorityConfig) { c.Certificate = nil }},
		{"no-policy", func(c *timestamp.AuthorityConfig) { c.Policy = nil }},
		{"no-serials", func(c *timestamp.AuthorityConfig) { c.Serials = nil }},
		{"bad-eku", func(c *timestamp.AuthorityConfig) { c.Certificate = p.badEKU }},
		{"key-mismatch", func(c *timestamp.AuthorityConfig) { c.Signer = p.rootKey }},
		{"unsupported-hash", func(c *timestamp.AuthorityConfig) { c.Hashes = []crypto.Hash{crypto.MD5} }},
	}
	if _, err := timestamp.NewAuthority(ok); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mod(&cfg)
			if _, err := timestamp.NewAuthority(cfg); err == nil {
				t.Fatal("NewAuthority accepted a bad config")
			}
		})
	}
}

func marshalRequest(t *testing.T, alg asn1.ObjectIdentifier, digest []byte, policy asn1.ObjectIdentifier, ext bool) []byte {
	t.Helper()
	type imprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	type req struct {
		Version        int
		MessageImprint imprint
		ReqPolicy      asn1.ObjectIdentifier `asn1:"optional"`
		CertReq        bool                  `asn1:"optional"`
		Extensions     []pkix.Extension      `asn1:"optional,tag:0"`
	}
	r := req{Version: 1, MessageImprint: imprint{pkix.AlgorithmIdentifier{Algorithm: alg}, digest}, ReqPolicy: policy, CertReq: true}
	if ext {
		r.Extensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}}
	}
	b, err := asn1.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAuthorityHTTP(t *testing.T) {
	p := newTestPKI(t)
	srv := httptest.NewServer(p.authority(t, p.tsa))
	defer srv.Close()
	sha256OID := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	sha1OID := asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	d := sha256Of(document)
	s1 := sha1.Sum(document)
	cases := []struct {
		name        string
		method      string
		contentType string
		body        []byte
		wantHTTP    int
		wantFail    int // -1: granted
	}{
		{"granted", http.MethodPost, timestamp.ContentTypeQuery, marshalRequest(t, sha256OID, d, nil, false), 200, -1},
		{"granted-own-policy", http.MethodPost, timestamp.ContentTypeQuery, marshalRequest(t, sha256OID, d, testPolicy, false), 200, -1},
		{"get", http.MethodGet, "", nil, http.StatusMethodNotAllowed, 0},
		{"wrong-content-type", http.MethodPost, "application/octet-stream", marshalRequest(t, sha256OID, d, nil, false), 200, timestamp.FailBadRequest},
		{"oversize", http.MethodPost, timestamp.ContentTypeQuery, make([]byte, timestamp.MaxRequestSize+1), 200, timestamp.FailBadDataFormat},
		{"garbage", http.MethodPost, timestamp.ContentTypeQuery, []byte("hello"), 200, timestamp.FailBadDataFormat},
		{"sha1", http.MethodPost, timestamp.ContentTypeQuery, marshalRequest(t, sha1OID, s1[:], nil, false), 200, timestamp.FailBadAlg},
		{"short-imprint", http.MethodPost, timestamp.ContentTypeQuery, marshalRequest(t, sha256OID, d[:20], nil, false), 200, timestamp.FailBadDataFormat},
		{"other-policy", http.MethodPost, timestamp.ContentTypeQuery, marshalRequest(t, sha256OID, d, asn1.ObjectIdentifier{1, 2, 3}, false), 200, timestamp.FailUnacceptedPolicy},
		{"extension", http.MethodPost, timestamp.ContentTypeQuery, marshalRequest(t, sha256OID, d, nil, true), 200, timestamp.FailUnacceptedExtension},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.wantHTTP {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tc.wantHTTP)
			}
			if tc.wantHTTP != 200 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != timestamp.ContentTypeReply {
				t.Fatalf("content type %q", ct)
			}
			var buf bytes.Buffer
			if _, err := buf.ReadFrom(resp.Body); err != nil {
				t.Fatal(err)
			}
			tok, err := timestamp.ParseResponse(buf.Bytes())
			if tc.wantFail < 0 {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := timestamp.Verify(tok, d, &timestamp.VerifyOptions{Roots: p.roots}); err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *timestamp.StatusError
			if !errors.As(err, &se) || se.Status != timestamp.StatusRejection || !se.HasFailure(tc.wantFail) || len(se.FailInfo) != 1 {
				t.Fatalf("ParseResponse = %v, want rejection with failure bit %d", err, tc.wantFail)
			}
		})
	}
}

// TestClientChecksResponse: the Client refuses responses that do not
// answer its request.
func TestClientChecksResponse(t *testing.T) {
	p := newTestPKI(t)
	a := p.authority(t, p.tsa)
	d := sha256Of(document)
	respond := func(w http.ResponseWriter, ct string, body []byte) {
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(body)
	}
	grant := func(t *testing.T, token []byte) []byte {
		// A granted TimeStampResp: SEQUENCE { SEQUENCE { INTEGER 0 }, token }.
		type status struct{ Status int }
		type resp struct {
			Status status
			Token  asn1.RawValue
		}
		b, err := asn1.Marshal(resp{Token: asn1.RawValue{FullBytes: token}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name    string
		handler func(t *testing.T) http.HandlerFunc
		want    error
	}{
		{"wrong-nonce", func(t *testing.T) http.HandlerFunc {
			tok := tokenFor(t, a, d, true) // nonce 42, never the client's
			return func(w http.ResponseWriter, r *http.Request) { respond(w, timestamp.ContentTypeReply, grant(t, tok)) }
		}, timestamp.ErrMismatch},
		{"other-imprint", func(t *testing.T) http.HandlerFunc {
			tok := tokenFor(t, a, sha256Of([]byte("x")), true)
			return func(w http.ResponseWriter, r *http.Request) { respond(w, timestamp.ContentTypeReply, grant(t, tok)) }
		}, timestamp.ErrImprintMismatch},
		{"html", func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { respond(w, "text/html", []byte("<html>")) }
		}, timestamp.ErrMalformed},
		{"oversize", func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				respond(w, timestamp.ContentTypeReply, make([]byte, timestamp.MaxResponseSize+1))
			}
		}, timestamp.ErrMalformed},
		{"garbage", func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				respond(w, timestamp.ContentTypeReply, []byte{0x30, 0x01})
			}
		}, timestamp.ErrMalformed},
		{"granted-without-token", func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				respond(w, timestamp.ContentTypeReply, []byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00})
			}
		}, timestamp.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler(t))
			defer srv.Close()
			c := &timestamp.Client{URL: srv.URL, HTTPClient: srv.Client()}
			if _, err := c.Timestamp(context.Background(), d); !errors.Is(err, tc.want) {
				t.Fatalf("Timestamp = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		srv := httptest.NewServer(a)
		defer srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c := &timestamp.Client{URL: srv.URL, HTTPClient: srv.Client()}
		if _, err := c.Timestamp(ctx, d); !errors.Is(err, context.Canceled) {
			t.Fatalf("Timestamp = %v, want context.Canceled", err)
		}
	})
	t.Run("wrong-digest-length", func(t *testing.T) {
		c := &timestamp.Client{URL: "http://127.0.0.1:1"}
		if _, err := c.Timestamp(context.Background(), d[:5]); err == nil {
			t.Fatal("short digest accepted")
		}
	})
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
