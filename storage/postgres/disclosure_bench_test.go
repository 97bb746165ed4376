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

// BenchmarkSearchDisclosure measures searches with the disclosure filter
// beside the owner's own (storagetest.BenchDisclosure) over
// KEIYAKU_BENCH_CASES cases (default 100,000). It needs
// KEIYAKU_POSTGRES_DSN.
func BenchmarkSearchDisclosure(b *testing.B) {
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
	storagetest.BenchDisclosure(b, s)
}
