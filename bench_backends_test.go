package keiyaku_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"

	"cloud.google.com/go/civil"
	"github.com/jackc/pgx/v5"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/postgres"
)

// BenchmarkLifecycleBackends runs BenchmarkLifecycle's whole lifecycles
// (four in flight per core) on three deployments in one run: the embedded
// default (SQLite and files, one service), one service on PostgreSQL
// (KEIYAKU_POSTGRES_DSN, a fresh schema) and S3 (KEIYAKU_S3_URL,
// versitygw, a fresh prefix), and two services on that same schema and
// prefix with lifecycles dealt between them. The two services share this
// process (and its cores) but nothing else: each has its own pool,
// River-free request path and Go state, as two server processes would;
// TestManyProcesses runs real processes. Without PostgreSQL or S3 the
// backend runs are skipped.
func BenchmarkLifecycleBackends(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchLifecycleOn(b, nil, 1) })
	dsn, s3url := os.Getenv("KEIYAKU_POSTGRES_DSN"), os.Getenv("KEIYAKU_S3_URL")
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("postgres+s3/services=%d", n), func(b *testing.B) {
			if dsn == "" || s3url == "" {
				b.Skip("KEIYAKU_POSTGRES_DSN and KEIYAKU_S3_URL not set")
			}
			benchLifecycleOn(b, func(cfg *keiyaku.Config) { pgS3(b, cfg, dsn, s3url) }, n)
		})
	}
}

// pgS3 points cfg at a fresh PostgreSQL schema and S3 prefix, once per
// benchmark run: the services of one run share them.
func pgS3(b *testing.B, cfg *keiyaku.Config, dsn, s3url string) {
	ctx := context.Background()
	var nonce [5]byte
	rand.Read(nonce[:])
	schema := "kb_" + hex.EncodeToString(nonce[:])
	st, err := postgres.Open(ctx, postgres.Config{DSN: dsn, Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		st.Close()
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			c.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
			c.Close(ctx)
		}
	})
	u, _ := url.Parse(s3url)
	q := u.Query()
	q.Set("prefix", "bench-"+hex.EncodeToString(nonce[:])+"/")
	u.RawQuery = q.Encode()
	bk, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		b.Fatal(err)
	}
	blobs := storage.NewBlobs(bk)
	b.Cleanup(func() { blobs.Close() })
	cfg.Store, cfg.Blobs = st, blobs
}

func benchLifecycleOn(b *testing.B, backend func(cfg *keiyaku.Config), services int) {
	var shared *keiyaku.Config
	w := newWorldWith(b, func(w *world, cfg *keiyaku.Config) {
		if backend == nil {
			return
		}
		if shared == nil {
			backend(cfg)
			shared = cfg
		}
		cfg.Store, cfg.Blobs = shared.Store, shared.Blobs
	})
	svcs := []*keiyaku.Service{w.svc}
	for range services - 1 {
		s := w.open()
		b.Cleanup(func() { s.Close() })
		svcs = append(svcs, s)
	}
	a, c := w.m["A"], w.m["B"]
	type pair struct{ sent, returned []byte }
	docs := make([]pair, b.N)
	for i := range docs {
		doc := w.sign(a, contract(fmt.Sprintf("Contract %d: 1,000,000 JPY", i)))
		docs[i] = pair{doc, w.sign(c, doc)}
	}
	var next atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1) - 1
			d, svc := docs[n], svcs[int(n)%len(svcs)]
			cs, err := svc.Cases.Register(w.ctx, a.P, &casework.NewCase{
				Form: casework.FormBilateral, Name: fmt.Sprintf("bench %d", n), OrderNumber: "PO",
				Amount: casework.Money{Amount: 1, Currency: "JPY"}, TransactionDate: civil.DateOf(today()),
				Parties: []casework.Party{w.party(c)}, Document: upload("contract.pdf", d.sent),
			})
			if err != nil {
				b.Fatal(err)
			}
			if rc, _, err := svc.Cases.Receive(w.ctx, c.P, cs.ID); err != nil {
				b.Fatal(err)
			} else {
				rc.Close()
			}
			if _, err := svc.Cases.Return(w.ctx, c.P, cs.ID, upload("contract.pdf", d.returned)); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.Cases.Complete(w.ctx, a.P, cs.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lifecycles/s")
}
