package keiyaku_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/casework"
)

// BenchmarkLifecycle runs whole 1:1 lifecycles through the facade on the
// embedded default: register (the registrant's signed PDF validated), the
// counterparty receives and returns it countersigned (validated as an
// update of the sent bytes), the registrant completes (sealed to PAdES
// B-LTA with the local TSA: DSS with OCSP from the test PKI's responder,
// then a document timestamp), every step committed to SQLite with its
// audit entry and outbox notices, every blob fsynced. The target:
// 200 lifecycles a second on 2 cores (run with -cpu 2).
//
// Lifecycles run in parallel, as a service's users act at once: one per
// core ("inflight=2" on 2 cores), and four per core ("inflight=8"), where
// a lifecycle waiting for a disk sync leaves its core to another.
//
// The signing by the two companies happens outside the timed loop (it is
// their software's work, not the service's). Every lifecycle has its own
// documents, as in life: no upload is a copy of an earlier one, so every
// blob is written (none deduplicated).
func BenchmarkLifecycle(b *testing.B) {
	for _, perCPU := range []int{1, 4} {
		b.Run(fmt.Sprintf("inflight=%d", perCPU*runtime.GOMAXPROCS(0)), func(b *testing.B) { benchLifecycle(b, perCPU) })
	}
}

func benchLifecycle(b *testing.B, perCPU int) {
	w := newWorld(b)
	a, c := w.m["A"], w.m["B"]
	type pair struct{ sent, returned []byte }
	docs := make([]pair, b.N)
	for i := range docs {
		doc := w.sign(a, contract(fmt.Sprintf("Contract %d: 1,000,000 JPY", i)))
		docs[i] = pair{doc, w.sign(c, doc)}
	}
	b.Logf("documents: sent %d bytes, returned %d bytes", len(docs[0].sent), len(docs[0].returned))
	var next atomic.Int64
	b.SetParallelism(perCPU)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1) - 1
			d := docs[n]
			cs, err := w.svc.Cases.Register(w.ctx, a.P, &casework.NewCase{
				Form: casework.FormBilateral, Name: fmt.Sprintf("bench %d", n), OrderNumber: "PO",
				Amount: casework.Money{Amount: 1, Currency: "JPY"}, TransactionDate: civil.DateOf(today()),
				Parties: []casework.Party{w.party(c)}, Document: upload("contract.pdf", d.sent),
			})
			if err != nil {
				b.Fatal(err)
			}
			if rc, _, err := w.svc.Cases.Receive(w.ctx, c.P, cs.ID); err != nil {
				b.Fatal(err)
			} else {
				rc.Close()
			}
			if _, err := w.svc.Cases.Return(w.ctx, c.P, cs.ID, upload("contract.pdf", d.returned)); err != nil {
				b.Fatal(err)
			}
			if _, err := w.svc.Cases.Complete(w.ctx, a.P, cs.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lifecycles/s")
}
