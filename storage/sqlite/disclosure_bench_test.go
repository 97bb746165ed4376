package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/storage/sqlite"
	"github.com/keiyaku/keiyaku/storage/storagetest"
)

// BenchmarkSearchDisclosure measures searches with the disclosure filter
// beside the owner's own (storagetest.BenchDisclosure) over
// KEIYAKU_BENCH_CASES cases (default 100,000; the target is
// 1,000,000 with p95 ≤ 20 ms).
func BenchmarkSearchDisclosure(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("KEIYAKU_BENCH_CASES")); err == nil && v > 0 {
		n = v
	}
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(b.TempDir(), "bench.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	load(b, s, n)
	b.Logf("loaded %d cases in %s", n, time.Since(start))
	storagetest.BenchDisclosure(b, s)
}
