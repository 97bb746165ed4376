package signature_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// BenchmarkSign signs a 1 MiB one-page document with ECDSA P-256 (B-B):
// the cost is hashing the input and writing it out once.
func BenchmarkSign(b *testing.B) {
	p := testpki.New(b)
	in := pdftest.OnePage("% " + strings.Repeat("x", 1<<20) + "\nBT ET").Bytes()
	opts := baseOpts(p, p.ECDSAP256)
	var out bytes.Buffer
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		if err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, opts); err != nil {
			b.Fatal(err)
		}
	}
}
