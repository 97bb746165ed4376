package signature_test

import (
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// TestSignInteropWithPdfsig alternates signatures by poppler (pdfsig
// -add-signature) and by Sign on the same document; every signature must
// stay valid for pdfsig.
func TestSignInteropWithPdfsig(t *testing.T) {
	p := testpki.New(t)
	bin := testpki.RequireTool(t, "pdfsig")
	dir := t.TempDir()
	db := p.NSSDB(t, dir, p.RSA) // pdfsig signs reliably only with RSA
	popplerSign := func(t *testing.T, in []byte, field string) []byte {
		t.Helper()
		src, dst := filepath.Join(dir, "src.pdf"), filepath.Join(dir, "dst.pdf")
		if err := os.WriteFile(src, in, 0o600); err != nil {
			t.Fatal(err)
		}
		os.Remove(dst)
		if b, err := exec.Command(bin, "-nssdir", db, "-add-signature", "-nick", p.RSA.Name, "-new-signature-field-name", field, src, dst).CombinedOutput(); err != nil {
			t.Fatalf("pdfsig -add-signature: %v\n%s", err, b)
		}
		out, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name  string
		steps string // k = keiyaku Sign, p = poppler
	}{
		{"poppler then keiyaku", "pk"},
		{"keiyaku then poppler", "kp"},
		{"three parties", "kpk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := onePage()
			for i, s := range tt.steps {
				if s == 'p' {
					doc = popplerSign(t, doc, "Poppler"+string(rune('A'+i)))
				} else {
					doc = sign(t, doc, baseOpts(p, p.ECDSAP256))
				}
			}
			out := pdfsig(t, db, doc)
			if n := strings.Count(out, "Signature is Valid."); n != len(tt.steps) {
				t.Fatalf("%d valid signatures, want %d:\n%s", n, len(tt.steps), out)
			}
			qpdfCheck(t, doc)

			// Our validator agrees: every signature TOTAL_PASSED, each
			// earlier one sees the later ones as allowed changes. pdfsig
			// signs with the wall clock, so validate now (the test
			// certificates are valid from 2025 to 2028).
			rep := validateBytes(t, doc, &signature.ValidateOptions{TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationOff})
			if !rep.Passed || len(rep.Signatures) != len(tt.steps) {
				t.Fatalf("want %d passing signatures:\n%s", len(tt.steps), dumpReport(rep))
			}
			for i, sig := range rep.Signatures {
				want := signature.ModificationAllowed
				if i == len(rep.Signatures)-1 {
					want = signature.ModificationNone
				}
				if sig.Modification != want {
					t.Fatalf("signature %d: modification %s, want %s:\n%s", i+1, sig.Modification, want, dumpReport(rep))
				}
			}
		})
	}
}
