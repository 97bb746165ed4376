package signature_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// FuzzValidate feeds arbitrary bytes to Validate: it must never panic or
// hang, must return an error only for I/O, and a report whose document
// verdict agrees with its signatures. The seeds are signed contracts and
// their attacked variants, and (when KEIYAKU_CORPUS is set) small files of
// the corpus, so the fuzzer starts from the byte-range, /Contents and CMS
// structures it should mutate.
func FuzzValidate(f *testing.F) {
	p := testpki.New(f)
	signed := signedContractTB(f, p)
	f.Add(signed)
	f.Add(pdftest.OnePage("BT ET").Bytes())
	f.Add(bytes.Replace(signed, []byte("/ByteRange"), []byte("/ByteRangX"), 1))
	f.Add(signed[:len(signed)/2])
	f.Add([]byte("%PDF-1.7\n1 0 obj << /ByteRange [0 10 20 5] /Contents <3003020100> >> endobj\n%%EOF\n"))
	if dir := os.Getenv("KEIYAKU_CORPUS"); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "pdf", "pyhanko", "*.pdf"))
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	opts := &signature.ValidateOptions{At: testpki.Now, Revocation: signature.RevocationOff}
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		type result struct {
			rep *signature.Report
			err error
		}
		done := make(chan result, 1)
		go func() {
			rep, err := signature.Validate(ctx, bytes.NewReader(b), int64(len(b)), opts)
			done <- result{rep, err}
		}()
		var res result
		select {
		case res = <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("Validate has not returned after 3 s on a %d-byte input", len(b))
		}
		rep, err := res.rep, res.err
		if err != nil {
			t.Fatalf("Validate returned an error for in-memory input: %v", err)
		}
		passed := len(rep.Signatures) > 0
		for _, s := range rep.Signatures {
			if s.Indication != signature.TotalPassed {
				passed = false
			}
			if s.Indication == signature.TotalPassed && (!s.CryptoIntact || s.Coverage == signature.CoverageInvalid) {
				t.Fatalf("a signature passed without intact crypto or with invalid coverage: %+v", s)
			}
		}
		if rep.Passed != passed {
			t.Fatalf("document verdict %v disagrees with its signatures", rep.Passed)
		}
	})
}

func signedContractTB(tb testing.TB, p *testpki.PKI) []byte {
	return signOnce(tb, p, pdftest.OnePage(contractContent).Bytes(), "Registrant")
}
