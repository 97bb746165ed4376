package signature_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"strconv"
	"testing"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// withEmptyUpdates appends n empty incremental updates (a cross-reference
// section with no entries and a trailer) to signed: the cheapest way for
// anyone to make a file with many revisions, and a hostile one.
func withEmptyUpdates(tb testing.TB, signed []byte, n int) []byte {
	tb.Helper()
	m := reStartxref.FindSubmatch(signed)
	if m == nil {
		tb.Fatal("no startxref")
	}
	prev, _ := strconv.Atoi(string(m[1]))
	size := reSize.FindAllSubmatch(signed, -1)
	root := reRoot.FindAllSubmatch(signed, -1)
	var b bytes.Buffer
	b.Grow(len(signed) + n*120)
	b.Write(signed)
	for range n {
		off := b.Len()
		fmt.Fprintf(&b, "xref\n0 0\ntrailer\n<< /Size %s /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", size[len(size)-1][1], root[len(root)-1][1], prev, off)
		prev = off
	}
	return b.Bytes()
}

// BenchmarkValidateRevisions validates a signed contract followed by 1k,
// 10k and 100k empty incremental updates and reports the time per
// revision (ns/revision), which must stay flat: validation work is linear
// in the number of revisions (README, "Limits").
func BenchmarkValidateRevisions(b *testing.B) {
	p := testpki.New(b)
	signed := signedContract(&testing.T{}, p, nil)
	opts := &signature.ValidateOptions{At: testpki.Now, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationOff}
	for _, n := range []int{1000, 10000, 100000} {
		doc := withEmptyUpdates(b, signed, n)
		b.Run(fmt.Sprintf("revisions=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				rep, err := signature.Validate(context.Background(), bytes.NewReader(doc), int64(len(doc)), opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Signatures) != 1 {
					b.Fatalf("want the one signature reported:\n%s", dumpReport(rep))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/revision")
		})
	}
}
