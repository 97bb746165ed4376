package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// TestSignOfflineRevocationFiles: with -offline, B-LT and B-LTA are reached
// from -ocsp and -crl files alone (no request reaches the PKI's
// responders) and the result validates offline under the hard-fail
// policy; with the TSA's response missing, sign refuses, names the TSA
// certificate and writes nothing; bad files are usage errors.
func TestSignOfflineRevocationFiles(t *testing.T) {
	p := testpki.New(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdftest.OnePage("BT ET").Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	rsa := p.WritePEM(t, dir, p.RSA)
	auth, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: p.TSA.Key, Certificate: p.TSA.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert}, Policy: testpki.PolicyOID,
		Clock: func() time.Time { return testpki.Now }, Serials: timestamp.NewMemorySerialStore(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	tsa := httptest.NewServer(auth)
	defer tsa.Close()
	write := func(name string, der []byte, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, der, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	signerResp, err := p.OCSPFor(p.RSA, p.Intermediate)
	signerOCSP := write("rsa.ocsp", signerResp, err)
	tsaResp, err := p.OCSPFor(p.TSA, p.Intermediate)
	tsaOCSP := write("tsa.ocsp", tsaResp, err)
	rootCRL, err := p.CRL(p.Root, nil)
	intCRL := write("root.crl", rootCRL, err) // covers the Intermediate
	before := p.Requests("/ocsp") + p.Requests("/root.crl") + p.Requests("/int.crl")

	key := []string{"-key", rsa.Key, "-cert", rsa.Cert, "-chain", rsa.Chain, "-tsa", tsa.URL, "-offline"}
	for _, level := range []string{"B-LT", "B-LTA"} {
		t.Run(level, func(t *testing.T) {
			out := filepath.Join(dir, level+".pdf")
			args := append(append([]string{}, key...), "-level", level, "-ocsp", signerOCSP, "-ocsp", tsaOCSP, "-crl", intCRL, in, out)
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), args, &stdout, &stderr); got != 0 {
				t.Fatalf("exit %d; stderr:\n%s", got, stderr.String())
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := signature.Validate(context.Background(), bytes.NewReader(b), int64(len(b)), &signature.ValidateOptions{
				At: time.Now(), TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationHardFail,
			})
			if err != nil {
				t.Fatal(err)
			}
			if string(rep.Level) != level || rep.Signatures[0].Indication != signature.TotalPassed {
				t.Fatalf("level %s, %s: %v", rep.Level, rep.Signatures[0].Indication, rep.Signatures[0].Reasons)
			}
		})
	}
	if after := p.Requests("/ocsp") + p.Requests("/root.crl") + p.Requests("/int.crl"); after != before {
		t.Fatalf("-offline made %d requests to the PKI", after-before)
	}

	for _, tt := range []struct {
		name  string
		extra []string
		want  int
		says  []string
	}{
		{"TSA lacks revocation data", []string{"-level", "B-LT", "-ocsp", signerOCSP, "-crl", intCRL}, 1, []string{p.TSA.Cert.Subject.CommonName, "-ocsp F", "drop -offline"}},
		{"a certificate given as a CRL", []string{"-level", "B-LT", "-crl", rsa.Cert}, 2, []string{rsa.Cert}},
		{"a CRL given as an OCSP response", []string{"-level", "B-LT", "-ocsp", intCRL}, 2, []string{intCRL}},
		{"files below B-LT", []string{"-level", "B-T", "-ocsp", signerOCSP}, 2, []string{"B-LT"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "never.pdf")
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), append(append(append([]string{}, key...), tt.extra...), in, out), &stdout, &stderr); got != tt.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", got, tt.want, stderr.String())
			}
			for _, s := range tt.says {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatal("output written despite the refusal")
			}
		})
	}
}
