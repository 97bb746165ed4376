package postgres_test

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/storagetest"
)

// BenchmarkSearch measures typical searches over a store of
// KEIYAKU_BENCH_CASES cases (default 100,000), loaded with ImportCases
// (COPY), reporting p95 latency. It needs KEIYAKU_POSTGRES_DSN.
func BenchmarkSearch(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("KEIYAKU_BENCH_CASES")); err == nil && v > 0 {
		n = v
	}
	s := openFresh(b)
	ctx := context.Background()
	start := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	for off := 0; off < n; off += storage.MaxImportBatch {
		size := min(storage.MaxImportBatch, n-off)
		audit := []storage.AuditEntry{{Time: time.Now(), ActorUserID: "bench", Action: "case.import", Detail: strconv.Itoa(size)}}
		if err := s.ImportCases(ctx, storagetest.BenchCases(size, off, rng), audit); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("loaded %d cases in %s", n, time.Since(start))
	queries := map[string]storage.CaseQuery{
		"company-list": {Scope: storage.Scope{CompanyID: "co7"}, States: []string{"sent", "received", "returned", "sent-back"}, Desc: true},
		"user-list":    {Scope: storage.Scope{CompanyID: "co7", UserID: "u7-3"}, Desc: true},
		"completed-by-date": {Scope: storage.Scope{CompanyID: "co7"}, States: []string{"completed"},
			CompletedFrom: time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC), CompletedTo: time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC), Sort: storage.SortCompleted},
		"amount-and-counterparty": {Scope: storage.Scope{CompanyID: "co7"}, Counterparty: "取引先1", AmountMin: ptr(1_000_000), AmountMax: ptr(5_000_000), Sort: storage.SortAmount},
		"name-all":                {NameContains: "契約 12", TransactionFrom: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for name, q := range queries {
		b.Run(name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				q := q
				t0 := time.Now()
				if _, err := s.SearchCases(ctx, &q); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// BenchmarkCommitCase measures one state change (update of a case with
// its audit entry and one outbox event), the write every action makes.
func BenchmarkCommitCase(b *testing.B) {
	s := openFresh(b)
	ctx := context.Background()
	c := newCase("c1")
	if err := s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: entry("case.register", "c1")}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		ev := storage.Event{ID: "e" + strconv.Itoa(i), Type: "t", CaseID: "c1", CreatedAt: t0}
		if err := s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: entry("case.update", "c1"), Events: []storage.Event{ev}}); err != nil {
			b.Fatal(err)
		}
	}
}

func ptr(v int64) *int64 { return &v }
