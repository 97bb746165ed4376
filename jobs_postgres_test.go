package keiyaku_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/storage/postgres"
)

// TestRunJobsOnPostgres: the renewal job runs on River's PostgreSQL driver
// (riverpgxv5) in the store's own schema.
func TestRunJobsOnPostgres(t *testing.T) {
	dsn := testenv.Env(t, "KEIYAKU_POSTGRES_DSN", "a PostgreSQL connection string for a database the tests may create schemas in")
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "kj_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Error(err)
		}
	})
	st, err := postgres.Open(ctx, postgres.Config{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	clock := newClockVar(testpki.Now)
	var tsa *movingTSA
	w := newWorldWith(t, func(w *world, cfg *keiyaku.Config) {
		if tsa == nil {
			tsa = &movingTSA{pki: w.pki, cert: w.pki.TSA, clock: clock.now}
		}
		cfg.Store = st
		cfg.Clock = clock.now
		cfg.TSA.Timestamper = tsa
		cfg.TSA.TrustAnchors = []*x509.Certificate{w.pki.Root.Cert}
	})
	a, bm := w.m["A"], w.m["B"]
	c := w.complete(w.registerWithFile(a, bm, "jobs on postgres", "添付"), a, bm)
	key := map[string]string{}
	for _, f := range c.Sealed {
		key[f.Name] = f.Key
	}
	clock.set(testpki.TSANotAfter.AddDate(0, -10, 0))
	tsa.use(w.pki.TSA2)

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.svc.RunJobs(runCtx, time.Hour) }()
	renewed := false
	for deadline := time.Now().Add(60 * time.Second); !renewed && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		now, err := w.svc.Cases.Get(ctx, a.P, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range now.Sealed {
			renewed = renewed || f.Name == "estimate.txt.ers" && f.Key != key[f.Name]
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunJobs returned %v", err)
	}
	if !renewed {
		t.Fatal("the renewal job did not renew the due record within a minute")
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.river_job WHERE kind = 'keiyaku_renew_evidence' AND state = 'completed'`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("completed renewal jobs in %s.river_job: %d, %v", schema, n, err)
	}
}
