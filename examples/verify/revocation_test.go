package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/testpki"
)

// TestRevocationFiles: offline under hard-fail, a signature without
// embedded revocation data does not pass; with -ocsp for the signer and
// -crl for its CA it does; an OCSP response saying the signer was revoked
// fails it; a file that is not a CRL is a usage error.
func TestRevocationFiles(t *testing.T) {
	dir, p := fixtures(t)
	at := "-at=" + testpki.Now.Format(time.RFC3339)
	trust := "-trust=" + filepath.Join(dir, "root.pem")
	signed := filepath.Join(dir, "signed.pdf")
	write := func(name string, b []byte, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good, err := p.OCSPFor(p.ECDSAP256, p.Intermediate)
	goodOCSP := write("good.ocsp", good, err)
	root, err := p.CRL(p.Root, nil)
	rootCRL := write("root.crl", root, err)
	p.Revoke(p.ECDSAP256, testpki.Now.Add(-time.Hour))
	revoked, err := p.OCSPFor(p.ECDSAP256, p.Intermediate)
	revokedOCSP := write("revoked.ocsp", revoked, err)

	for _, tt := range []struct {
		name string
		args []string
		want int
		says string
	}{
		{"no revocation data", []string{trust, at, "-revocation=hard-fail", signed}, 1, "INDETERMINATE"},
		{"OCSP and CRL files", []string{trust, at, "-revocation=hard-fail", "-ocsp=" + goodOCSP, "-crl=" + rootCRL, signed}, 0, "TOTAL_PASSED"},
		{"revoked in the OCSP file", []string{trust, at, "-revocation=hard-fail", "-ocsp=" + revokedOCSP, "-crl=" + rootCRL, signed}, 1, "TOTAL_FAILED"},
		{"not a CRL", []string{trust, at, "-crl=" + goodOCSP, signed}, 2, "good.ocsp"},
		{"not an OCSP response", []string{trust, at, "-ocsp=" + rootCRL, signed}, 2, "root.crl"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.want || !strings.Contains(stdout+stderr, tt.says) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, tt.want, tt.says, stdout, stderr)
			}
		})
	}
}
