package keiyaku_test

import (
	"fmt"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
)

// BenchmarkLifecycle runs whole 1:1 lifecycles through the facade on the
// embedded default: register (the registrant's signed PDF validated), the
// counterparty receives and returns it countersigned (validated as an
// update of the sent bytes), the registrant completes (sealed to PAdES
// B-LTA with the local TSA: DSS with OCSP from the test PKI's responder,
// then a document timestamp), every step committed to SQLite with its
// audit entry and outbox notices. The target: 200 lifecycles a
// second on 2 cores (run with -cpu 2; lifecycles run in parallel).
//
// The signing by the two companies happens outside the timed loop (it is
// their software's work, not the service's).
func BenchmarkLifecycle(b *testing.B) {
	w := newWorld(b)
	a, c := w.m["A"], w.m["B"]
	doc := w.sign(a, contract("Contract: 1,000,000 JPY"))
	returned := w.sign(c, doc)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			n++
			cs, err := w.svc.Cases.Register(w.ctx, a.P, &casework.NewCase{
				Form: casework.FormBilateral, Name: fmt.Sprintf("bench %d", n), OrderNumber: "PO",
				Amount: casework.Money{Amount: 1, Currency: "JPY"}, TransactionDate: today(),
				Parties: []casework.Party{w.party(c)}, Document: upload("contract.pdf", doc),
			})
			if err != nil {
				b.Fatal(err)
			}
			if rc, _, err := w.svc.Cases.Receive(w.ctx, c.P, cs.ID); err != nil {
				b.Fatal(err)
			} else {
				rc.Close()
			}
			if _, err := w.svc.Cases.Return(w.ctx, c.P, cs.ID, upload("contract.pdf", returned)); err != nil {
				b.Fatal(err)
			}
			if _, err := w.svc.Cases.Complete(w.ctx, a.P, cs.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lifecycles/s")
}
