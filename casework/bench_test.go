package casework_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
)

// BenchmarkLifecycle runs register, receive, return and complete of a 1:1
// contract on SQLite and fileblob, with the test validator and sealer (so
// it measures casework and storage, not signature work).
func BenchmarkLifecycle(b *testing.B) {
	e := newEnvTB(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		doc := sign(pdf(fmt.Sprintf("bench %d", i)), "co1") // unique bytes: no blob is deduplicated
		nc := newCase(casework.FormBilateral, doc)
		nc.Supplements[0].Body = strings.NewReader(fmt.Sprintf("spec %d", i))
		c, err := e.svc.Register(ctx, u1, nc)
		if err != nil {
			b.Fatal(err)
		}
		r, _, err := e.svc.Receive(ctx, u2, c.ID)
		if err != nil {
			b.Fatal(err)
		}
		r.Close()
		if _, err := e.svc.Return(ctx, u2, c.ID, upload(sign(doc, "co2"))); err != nil {
			b.Fatal(err)
		}
		if _, err := e.svc.Complete(ctx, u1, c.ID); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lifecycles/s")
}
