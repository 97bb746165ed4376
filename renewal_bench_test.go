package keiyaku_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/storage"
)

// BenchmarkRenewalPass runs the renewal pass (Service.Renewal.RenewDue,
// what RunJobs runs) over completed cases on the embedded default
// (SQLite, blobs in files). One case is completed through the lifecycle
// (a signed contract, sealed, and a supplementary file: a sealed PDF and
// two evidence records); the others are copies of its row loaded with
// storage.BulkLoader (they share its blobs, so the page cache holds
// them). "check" is a pass in 2026 with nothing due: reading every case
// and deciding for its PDF and records. "renew" is a pass with
// everything due (TSA 1 expiring within the year), renewing every PDF
// and record, on at most 200 cases (run once: a renewed case is not due
// again). The floor beside them: listing the same cases
// (Cases.EachCompleted) without looking at their evidence.
//
//	KEIYAKU_RENEWAL_CASES=100000 go test . -run XXX -bench RenewalPass -benchtime 1x -cpu 2
func BenchmarkRenewalPass(b *testing.B) {
	n := 10000
	if s := os.Getenv("KEIYAKU_RENEWAL_CASES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("KEIYAKU_RENEWAL_CASES=%q", s)
		}
	}
	w, _, _ := renewalWorld(b)
	cloneCases(b, w, n)
	b.Run(fmt.Sprintf("check/cases=%d", n), func(b *testing.B) {
		for b.Loop() {
			rep, err := w.svc.Renewal.RenewDue(w.ctx)
			if err != nil || rep.PDFsChecked != n || rep.Checked != 2*n || rep.PDFs+rep.Renewed != 0 {
				b.Fatalf("%+v %v", rep, err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "cases/s")
	})
	b.Run(fmt.Sprintf("floor-list/cases=%d", n), func(b *testing.B) {
		for b.Loop() {
			seen := 0
			if err := w.svc.Cases.EachCompleted(w.ctx, func(*casework.Case) error { seen++; return nil }); err != nil || seen != n {
				b.Fatalf("%d %v", seen, err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "cases/s")
	})
	m := min(n, 200)
	b.Run(fmt.Sprintf("renew/cases=%d", m), func(b *testing.B) {
		if b.N > 1 {
			b.Skip("run with -benchtime 1x: a renewed case is not due again")
		}
		b.StopTimer()
		w, clock, tsa := renewalWorld(b)
		cloneCases(b, w, m)
		clock.set(testpki.TSANotAfter.AddDate(0, -10, 0))
		w.pki.SetNow(clock.now())
		tsa.use(w.pki.TSA2)
		b.StartTimer()
		rep, err := w.svc.Renewal.RenewDue(w.ctx)
		if err != nil || rep.PDFs != m || rep.Renewed != 2*m || rep.Cases != m {
			b.Fatalf("%+v %v", rep, err)
		}
		b.ReportMetric(float64(m)/b.Elapsed().Seconds(), "cases/s")
	})
}

// cloneCases completes one case with a supplementary file in w and loads
// n-1 copies of its row (new IDs, the same blobs) with BulkLoader.
func cloneCases(b *testing.B, w *world, n int) {
	b.Helper()
	a, c := w.m["A"], w.m["B"]
	tmpl := w.complete(w.registerWithFile(a, c, "template", "見積書 template"), a, c)
	rec, err := w.svc.Store.GetCase(w.ctx, tmpl.ID)
	if err != nil {
		b.Fatal(err)
	}
	audit := []storage.AuditEntry{{Time: testpki.Now, ActorUserID: "bench", Action: "case.import"}}
	for done := 0; done < n-1; {
		k := min(n-1-done, storage.MaxImportBatch)
		batch := make([]*storage.Case, k)
		for i := range batch {
			cp := *rec
			cp.ID, cp.Version = fmt.Sprintf("bench%08d", done+i), 0
			batch[i] = &cp
		}
		if err := w.svc.Store.(storage.BulkLoader).ImportCases(w.ctx, batch, audit); err != nil {
			b.Fatal(err)
		}
		done += k
	}
}
