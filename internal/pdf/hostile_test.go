package pdf

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestHostileSizes checks that inputs built to maximise work finish. The
// bound is a guard against a blow-up (quadratic work on 50,000 revisions
// takes minutes), not a speed target: speed is measured by
// BenchmarkValidateRevisions in package signature. It is generous because
// go test ./... runs packages side by side on a loaded two-core machine.
func TestHostileSizes(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"many tiny revisions", "%PDF-1.7\n" + strings.Repeat("1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n", 50000)},
		{"many objects no eof", "%PDF-1.7\n" + strings.Repeat("7 0 obj (x) endobj ", 100000)},
		{"unterminated dictionary", "%PDF-1.7\n1 0 obj\n" + strings.Repeat("<< /A ", 60) + strings.Repeat("/K 1 ", 200000) + "\n%%EOF\n"},
		{"stream without endstream", "%PDF-1.7\n1 0 obj\n<< /Length 999999999 >>\nstream\n" + strings.Repeat("x", 1<<20) + "\ntrailer << /Root 1 0 R >>\n%%EOF\n"},
		{"many startxref", "%PDF-1.7\n1 0 obj 1 endobj\n" + strings.Repeat("startxref\n9\n", 50000) + "%%EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			f, err := Open(bytes.NewReader([]byte(tt.data)), int64(len(tt.data)), nil)
			if err == nil {
				for i := range f.Revisions() {
					if i > 10 {
						break
					}
					_, _ = f.Catalog(i)
				}
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
