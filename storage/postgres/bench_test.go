package postgres_test

import (
	"context"
	"math/rand/v2"
	"os"
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
	storagetest.BenchSearch(b, s)
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
