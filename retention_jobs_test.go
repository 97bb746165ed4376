package keiyaku_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/postgres"
)

// TestRetentionJobsOnPostgres: through the facade on PostgreSQL, the
// scheduled sweep (RunJobs' retention_sweep task on River) first queues
// the owner's notice and, 30 days later, deletes the due case: its
// record verifies and a blob it shared with another case survives.
func TestRetentionJobsOnPostgres(t *testing.T) {
	dsn := testenv.Env(t, "KEIYAKU_POSTGRES_DSN", "a PostgreSQL connection string for a database the tests may create schemas in")
	ctx := context.Background()
	var rb [6]byte
	_, _ = rand.Read(rb[:])
	schema := "kr_" + hex.EncodeToString(rb[:])
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

	clk := &testClock{t: fixedClock()}
	w := newWorldWith(t, func(w *world, cfg *keiyaku.Config) {
		cfg.Store = st
		cfg.Clock = clk.Now
	})
	a, b := w.m["A"], w.m["B"]
	shared := "shared " + uniqueName("pg")
	keep := w.registerWith(a, b, uniqueName("pg keep"), shared)
	due := w.registerWith(a, b, uniqueName("pg due"), shared)
	r, err := w.svc.Cases.SetRetention(w.ctx, a.P, due.ID, casework.RetainDelete)
	if err != nil {
		t.Fatal(err)
	}
	day := r.Until.In(jstZone(t)).Add(10 * time.Hour)

	runUntil := func(what string, done func() bool) {
		t.Helper()
		runCtx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() { errc <- w.svc.RunJobs(runCtx, time.Hour) }()
		ok := false
		for deadline := time.Now().Add(60 * time.Second); !ok && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
			ok = done()
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("RunJobs returned %v", err)
		}
		if !ok {
			t.Fatalf("the scheduled sweep did not %s within a minute", what)
		}
	}
	w.travel(clk, day.AddDate(0, 0, -30))
	runUntil("queue the notice", func() bool {
		got, err := w.svc.Store.GetRetention(ctx, due.ID)
		return err == nil && !got.NoticeAt.IsZero()
	})
	w.travel(clk, day)
	var rec *storage.DeletionRecord
	runUntil("delete the case", func() bool {
		got, err := w.svc.Store.GetDeletionRecord(ctx, due.ID)
		if err == nil && got.Finished {
			rec = got
		}
		return rec != nil
	})
	checkDeleted(t, w, a, due.ID, casework.RetainDelete)
	if !blobExists(t, w, keep.Supplements[0].Key) {
		t.Error("the shared blob was removed")
	}
	if blobExists(t, w, due.Document.Key) {
		t.Error("the deleted case's document survived")
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.river_job WHERE kind = 'keiyaku_task' AND args->>'name' = 'retention_sweep' AND state = 'completed'`).Scan(&n); err != nil || n == 0 {
		t.Errorf("completed retention_sweep jobs: %d, %v", n, err)
	}
}
