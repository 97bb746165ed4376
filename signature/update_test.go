package signature_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"testing"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// TestValidateUpdate: a returned contract may add the counterparty's
// signature (and the DSS, document timestamps) and nothing else.
func TestValidateUpdate(t *testing.T) {
	p := testpki.New(t)
	sent := signedContract(t, p, nil)
	countersign := func(in []byte) []byte { return signOnce(t, p, in, "Counterparty") }
	val := signature.NewValidator(attackOpts(p))
	chain := []*x509.Certificate{p.Intermediate.Cert}

	cases := []struct {
		name     string
		returned func() []byte
		prior    int64
		only     bool
		added    int
		passed   bool
	}{
		{"countersigned", func() []byte { return countersign(sent) }, int64(len(sent)), true, 1, true},
		{"countersigned and timestamped", func() []byte {
			return extendWith(t, signature.AddDocumentTimestamp, countersign(sent), &signature.ExtendOptions{Timestamper: tsaAt(t, p.TSA, chain, testpki.Now)})
		}, int64(len(sent)), true, 1, true},
		{"unchanged", func() []byte { return sent }, int64(len(sent)), true, 0, true},
		{"annotation added, then countersigned", func() []byte {
			return countersign(appendUpdate(t, sent, map[int]string{
				3:   "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> /Annots [300 0 R] >>",
				300: "<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] /Contents (note) >>",
			}))
		}, int64(len(sent)), false, 1, true},
		{"page content replaced", func() []byte {
			return appendUpdate(t, sent, map[int]string{4: "<< /Length 5 >>\nstream\nBT ET\nendstream"})
		}, int64(len(sent)), false, 0, false},
		{"prefix not at a revision boundary", func() []byte { return countersign(sent) }, int64(len(sent)) - 10, false, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := c.returned()
			up, err := val.ValidateUpdate(context.Background(), bytes.NewReader(doc), int64(len(doc)), c.prior)
			if err != nil {
				t.Fatal(err)
			}
			if up.OnlySignatures != c.only || up.Passed != c.passed {
				t.Fatalf("only signatures %v passed %v, want %v %v; reasons %v\n%s", up.OnlySignatures, up.Passed, c.only, c.passed, up.Reasons, dumpReport(up.Report))
			}
			if c.only && up.AddedSignatures != c.added {
				t.Fatalf("added %d signatures, want %d", up.AddedSignatures, c.added)
			}
			if !c.only && len(up.Reasons) == 0 {
				t.Fatal("no reason given for a refused update")
			}
		})
	}
}
