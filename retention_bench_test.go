package keiyaku_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/storage"
)

// BenchmarkRetentionSweep runs one retention sweep on the embedded
// default (SQLite) over completed cases loaded with BulkLoader.ImportCases
// and RetentionLoader.ImportRetentions, of which 1% are due and noticed
// 31 days before (so the sweep deletes them: record, RFC 3161 stamp from
// the development TSA, audit entry, blob removal, row removal). The
// cases name blob keys that hold no file (the removal of a missing blob
// is the same bucket call, without the unlink). It reports the sweep's
// seconds, deletions/s and the peak heap sampled every 5 ms, for two
// sizes with the same number of due cases: memory flat in the number of
// cases shows as the same peak. floor: stamping and auditing nothing but
// the same number of RFC 3161 tokens, the part of a deletion no index
// can save.
//
// The size is 1,000,000 cases with 10,000 due:
//
//	KEIYAKU_RETENTION_BENCH_CASES=1000000 go test . -run XXX -bench RetentionSweep -benchtime 1x -timeout 1h
//
// (default 100,000 cases, 1,000 due).
func BenchmarkRetentionSweep(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("KEIYAKU_RETENTION_BENCH_CASES")); err == nil && v >= 1000 {
		n = v
	}
	due := n / 100
	for _, size := range []int{n / 10, n} {
		b.Run(fmt.Sprintf("cases=%d/due=%d", size, due), func(b *testing.B) { benchSweep(b, size, due) })
	}
	b.Run(fmt.Sprintf("floor/stamps=%d", due), func(b *testing.B) {
		w := newWorld(b)
		var digest [32]byte
		b.ResetTimer()
		for b.Loop() {
			start := time.Now()
			for i := range due {
				digest[0], digest[1] = byte(i), byte(i>>8)
				if _, err := w.svc.Archive.StampDeletion(w.ctx, digest[:]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(time.Since(start).Seconds(), "sweep-s")
		}
	})
}

func benchSweep(b *testing.B, n, due int) {
	clk := &testClock{t: fixedClock()}
	w := newWorldWith(b, func(w *world, cfg *keiyaku.Config) { cfg.Clock = clk.Now })
	a, c := w.m["A"], w.m["B"]
	bl := w.svc.Store.(storage.BulkLoader)
	rl := w.svc.Store.(storage.RetentionLoader)
	now := fixedClock()
	today := civil.DateOf(now.In(jstZone(b)))
	entry := []storage.AuditEntry{{Time: now, ActorUserID: a.P.UserID, ActorCompanyID: a.P.CompanyID, Action: "case.import"}}
	for off := 0; off < n; off += storage.MaxImportBatch {
		end := min(off+storage.MaxImportBatch, n)
		cases := make([]*storage.Case, 0, end-off)
		rets := make([]*storage.Retention, 0, end-off)
		for i := off; i < end; i++ {
			id := fmt.Sprintf("bench-%08d", i)
			k1, k2 := sha256.Sum256([]byte(id+"doc")), sha256.Sum256([]byte(id+"sealed"))
			completed := now.AddDate(-10, 0, -1)
			cases = append(cases, &storage.Case{
				ID: id, Form: casework.FormBilateral.String(), State: casework.StateCompleted.String(), Category: casework.CategoryNew.String(),
				Name: "bench " + id, Amount: int64(i), Currency: "JPY", TransactionDate: civil.DateOf(completed),
				RegistrantCompanyID: a.P.CompanyID, RegistrantUserID: a.P.UserID,
				Parties:   []storage.Party{{CompanyID: c.P.CompanyID, CompanyName: c.Company, UserID: c.P.UserID, DoneAt: completed}},
				Document:  storage.File{Name: "c.pdf", Key: hex.EncodeToString(k1[:]), Size: 1000},
				Sealed:    []storage.File{{Name: "c.sealed.pdf", Key: hex.EncodeToString(k2[:]), Size: 2000}},
				CreatedAt: completed, UpdatedAt: completed, CompletedAt: completed,
			})
			r := &storage.Retention{CaseID: id, CompanyID: a.P.CompanyID, OwnerUserID: a.P.UserID, CompletedAt: completed,
				Start: civil.DateOf(completed), Action: storage.RetainDelete, Rule: "completion", SetAt: completed}
			if i%(n/due) == 0 { // due yesterday, noticed 31 days ago
				r.Until, r.NoticeAt = today.AddDays(-1), now.AddDate(0, 0, -31)
			} else { // due in 1 to 5 years
				r.Until = today.AddDays(366 + i%1500)
			}
			rets = append(rets, r)
		}
		if err := bl.ImportCases(w.ctx, cases, append([]storage.AuditEntry(nil), entry...)); err != nil {
			b.Fatal(err)
		}
		if err := rl.ImportRetentions(w.ctx, rets, append([]storage.AuditEntry(nil), entry...)); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	b.ResetTimer()
	var rep *casework.SweepReport
	for b.Loop() {
		start := time.Now()
		rep = w.sweep()
		el := time.Since(start)
		b.ReportMetric(el.Seconds(), "sweep-s")
		b.ReportMetric(float64(rep.Deleted)/el.Seconds(), "deletions/s")
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	if rep.Deleted != due && b.N == 1 {
		b.Fatalf("the sweep deleted %d cases, want %d", rep.Deleted, due)
	}
}
