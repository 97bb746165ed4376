package postgres_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/storagetest"
)

// BenchmarkImportBlobRefs measures what the blob_refs trigger (migration
// 00016) costs a bulk load: ImportCases (COPY) of MaxImportBatch cases a
// batch, with the trigger and, as the peer in the same run, with it
// disabled. It needs KEIYAKU_POSTGRES_DSN.
func BenchmarkImportBlobRefs(b *testing.B) {
	for _, on := range []bool{true, false} {
		name := "trigger"
		if !on {
			name = "no-trigger"
		}
		b.Run(name, func(b *testing.B) {
			s := openFresh(b)
			ctx := context.Background()
			if !on {
				if _, err := s.Pool().Exec(ctx, `ALTER TABLE case_bodies DISABLE TRIGGER case_bodies_blob_refs`); err != nil {
					b.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			batches := make([][]*storage.Case, b.N)
			for i := range batches {
				batches[i] = storagetest.BenchCases(storage.MaxImportBatch, i*storage.MaxImportBatch, rng)
			}
			b.ResetTimer()
			for i := range b.N {
				audit := []storage.AuditEntry{{Time: time.Now(), ActorUserID: "bench", Action: "case.import", Detail: strconv.Itoa(i)}}
				if err := s.ImportCases(ctx, batches[i], audit); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*storage.MaxImportBatch)/b.Elapsed().Seconds(), "cases/s")
		})
	}
}
