//go:build cgo

package pkcs11_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/softhsm"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/signature/pkcs11"
	"github.com/keiyaku/keiyaku/timestamp"
)

func tsa(t testing.TB, p *testpki.PKI) signature.Timestamper {
	t.Helper()
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: p.TSA.Key, Certificate: p.TSA.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Policy: testpki.PolicyOID, Clock: func() time.Time { return testpki.Now },
		Serials: timestamp.NewMemorySerialStore(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return signature.AuthorityTimestamper(a)
}

func sign(t *testing.T, in []byte, opts *signature.SignOptions) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	opts.SigningTime = testpki.Now
	err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, opts)
	return out.Bytes(), err
}

func validate(t *testing.T, p *testpki.PKI, b []byte) *signature.Report {
	t.Helper()
	rep, err := signature.Validate(context.Background(), bytes.NewReader(b), int64(len(b)), &signature.ValidateOptions{
		At: testpki.Now, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationOff,
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func open(t *testing.T, tok *softhsm.Token, label string, mod func(*pkcs11.Config)) (*pkcs11.Key, error) {
	t.Helper()
	cfg := pkcs11.Config{Module: tok.Module, TokenLabel: tok.Label, PIN: softhsm.PIN, KeyLabel: label,
		ChainLabels: []string{"intermediate"}}
	if mod != nil {
		mod(&cfg)
	}
	k, err := pkcs11.Open(cfg)
	if err == nil {
		t.Cleanup(func() { k.Close() })
	}
	return k, err
}

// TestSignWithTokenKeys signs with RSA (PKCS#1 v1.5 and PSS) and ECDSA
// keys generated in a SoftHSM2 token, with certificate and chain read from
// the token, then counter-signs with a second token key and raises the
// result to B-LTA; every step validates.
func TestSignWithTokenKeys(t *testing.T) {
	p := testpki.New(t)
	tok := softhsm.New(t, "keiyaku-test")
	rsaCert := tok.AddKey(t, p, softhsm.RSA2048, "rsa-key", []byte{1})
	ecCert := tok.AddKey(t, p, softhsm.P256, "ec-key", []byte{2})
	pdf := pdftest.OnePage("BT ET").Bytes()

	tests := []struct {
		name  string
		label string
		cert  *testpki.Cert
		pss   bool
	}{
		{"RSA PKCS#1 v1.5", "rsa-key", rsaCert, false},
		{"RSA PSS", "rsa-key", rsaCert, true},
		{"ECDSA P-256", "ec-key", ecCert, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := open(t, tok, tt.label, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !k.Certificate.Equal(tt.cert.Cert) || len(k.Chain) != 1 || !k.Chain[0].Equal(p.Intermediate.Cert) {
				t.Fatalf("certificate %v chain %d: not the token's", k.Certificate.Subject, len(k.Chain))
			}
			out, err := sign(t, pdf, &signature.SignOptions{Signer: k, Certificate: k.Certificate, Chain: k.Chain, PSS: tt.pss, Field: "HSM"})
			if err != nil {
				t.Fatal(err)
			}
			rep := validate(t, p, out)
			if !rep.Passed || len(rep.Signatures) != 1 || rep.Signatures[0].Signer.CommonName != tt.cert.Cert.Subject.CommonName {
				t.Fatalf("report: passed=%v %+v", rep.Passed, rep.Signatures)
			}
		})
	}

	t.Run("token by slot", func(t *testing.T) {
		slot := tok.Slot
		k, err := open(t, tok, "ec-key", func(c *pkcs11.Config) { c.TokenLabel, c.Slot = "", &slot })
		if err != nil {
			t.Fatal(err)
		}
		out, err := sign(t, pdf, &signature.SignOptions{Signer: k, Certificate: k.Certificate, Chain: k.Chain})
		if err != nil {
			t.Fatal(err)
		}
		if rep := validate(t, p, out); !rep.Passed {
			t.Fatalf("report: %+v", rep.Signatures)
		}
	})
	t.Run("countersign and B-LTA", func(t *testing.T) {
		ts := tsa(t, p)
		first, err := open(t, tok, "rsa-key", nil)
		if err != nil {
			t.Fatal(err)
		}
		second, err := open(t, tok, "", func(c *pkcs11.Config) { c.KeyID = []byte{2} })
		if err != nil {
			t.Fatal(err)
		}
		b, err := sign(t, pdf, &signature.SignOptions{Signer: first, Certificate: first.Certificate, Chain: first.Chain, Field: "Registrant", Level: signature.LevelBT, Timestamper: ts})
		if err != nil {
			t.Fatal(err)
		}
		b, err = sign(t, b, &signature.SignOptions{Signer: second, Certificate: second.Certificate, Chain: second.Chain, Field: "Counterparty", Level: signature.LevelBT, Timestamper: ts})
		if err != nil {
			t.Fatal(err)
		}
		now := func() time.Time { return testpki.Now }
		var lt, lta bytes.Buffer
		if err := signature.AddValidationData(context.Background(), bytes.NewReader(b), int64(len(b)), &lt, &signature.ExtendOptions{Online: true, Clock: now}); err != nil {
			t.Fatal(err)
		}
		if err := signature.AddDocumentTimestamp(context.Background(), bytes.NewReader(lt.Bytes()), int64(lt.Len()), &lta, &signature.ExtendOptions{Timestamper: ts, Clock: now}); err != nil {
			t.Fatal(err)
		}
		rep, err := signature.Validate(context.Background(), bytes.NewReader(lta.Bytes()), int64(lta.Len()), &signature.ValidateOptions{
			At: testpki.Now, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationHardFail,
		})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Passed || rep.Level != signature.LevelBLTA || len(rep.Signatures) != 3 {
			t.Fatalf("passed=%v level=%v signatures=%d: %+v", rep.Passed, rep.Level, len(rep.Signatures), rep.Signatures)
		}
	})
}

// TestOpenErrors: each way of naming the wrong thing gives its kind and
// leaves nothing open.
func TestOpenErrors(t *testing.T) {
	p := testpki.New(t)
	tok := softhsm.New(t, "keiyaku-errors")
	tok.AddKey(t, p, softhsm.P256, "ec-key", []byte{7})
	other := testpki.New(t)
	slot := 987654
	tests := []struct {
		name string
		mod  func(*pkcs11.Config)
		want kerr.Kind
	}{
		{"wrong PIN", func(c *pkcs11.Config) { c.PIN = "0000" }, kerr.Unauthenticated},
		{"missing key", func(c *pkcs11.Config) { c.KeyLabel = "no-such-key" }, kerr.NotFound},
		{"missing key ID", func(c *pkcs11.Config) { c.KeyLabel, c.KeyID = "", []byte{9, 9} }, kerr.NotFound},
		{"missing token", func(c *pkcs11.Config) { c.TokenLabel = "no-such-token" }, kerr.NotFound},
		{"missing slot", func(c *pkcs11.Config) { c.TokenLabel, c.Slot = "", &slot }, kerr.NotFound},
		{"missing chain label", func(c *pkcs11.Config) { c.ChainLabels = []string{"nope"} }, kerr.NotFound},
		{"certificate of another key", func(c *pkcs11.Config) { c.Certificate = other.ECDSAP256.Cert }, kerr.Invalid},
		{"no module", func(c *pkcs11.Config) { c.Module = "" }, kerr.Invalid},
		{"module not a library", func(c *pkcs11.Config) { c.Module = tok.Conf }, kerr.Invalid},
		{"no key named", func(c *pkcs11.Config) { c.KeyLabel = "" }, kerr.Invalid},
		{"label and slot", func(c *pkcs11.Config) { c.Slot = &slot }, kerr.Invalid},
		{"too many sessions", func(c *pkcs11.Config) { c.Sessions = 1000 }, kerr.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := open(t, tok, "ec-key", tt.mod)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v (kind %v), want kind %v", err, kerr.Of(err), tt.want)
			}
			if k != nil {
				t.Fatal("a key returned with an error")
			}
		})
	}
	// The right PIN still works after a wrong one.
	if _, err := open(t, tok, "ec-key", nil); err != nil {
		t.Fatal(err)
	}
}

// TestTokenGoneMidRun: a key whose token disappears (deleted, or its
// module finalised by Close) after Open fails to sign with
// kerr.Unavailable.
func TestTokenGoneMidRun(t *testing.T) {
	p := testpki.New(t)
	pdf := pdftest.OnePage("BT ET").Bytes()
	t.Run("closed", func(t *testing.T) {
		tok := softhsm.New(t, "keiyaku-closed")
		tok.AddKey(t, p, softhsm.P256, "ec-key", []byte{3})
		k, err := open(t, tok, "ec-key", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sign(t, pdf, &signature.SignOptions{Signer: k, Certificate: k.Certificate}); err != nil {
			t.Fatal(err)
		}
		k.Close()
		_, err = sign(t, pdf, &signature.SignOptions{Signer: k, Certificate: k.Certificate})
		if !errors.Is(err, kerr.Unavailable) {
			t.Fatalf("err = %v, want kind unavailable", err)
		}
		if testing.Verbose() {
			t.Log(err)
		}
	})
	t.Run("deleted", func(t *testing.T) {
		tok := softhsm.New(t, "keiyaku-deleted")
		tok.AddKey(t, p, softhsm.RSA2048, "rsa-key", []byte{4})
		k, err := open(t, tok, "rsa-key", nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("softhsm2-util", "--delete-token", "--token", tok.Label).CombinedOutput()
		if err != nil {
			t.Fatalf("softhsm2-util --delete-token: %v\n%s", err, out)
		}
		_, err = sign(t, pdf, &signature.SignOptions{Signer: k, Certificate: k.Certificate})
		if !errors.Is(err, kerr.Unavailable) {
			t.Fatalf("err = %v, want kind unavailable", err)
		}
		if testing.Verbose() {
			t.Log(err)
		}
	})
}
