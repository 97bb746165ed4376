package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/postgres"
	"github.com/keiyaku/keiyaku/storage/storagetest"
)

// dsn returns the test server's connection string, or skips (fails under
// CI) when KEIYAKU_POSTGRES_DSN is not set.
func dsn(t testing.TB) string {
	t.Helper()
	return testenv.Env(t, "KEIYAKU_POSTGRES_DSN", "a PostgreSQL connection string for a database the tests may create schemas in, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
}

// freshSchema creates an empty schema kt_<random> and drops it, with
// everything in it, when the test ends.
func freshSchema(t testing.TB) (dsnValue, schema string) {
	t.Helper()
	d := dsn(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema = "kt_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, d)
	if err != nil {
		t.Fatalf("connecting to KEIYAKU_POSTGRES_DSN: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, d)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("cleanup: dropping schema %s: %v", schema, err)
		}
	})
	return d, schema
}

// openFresh opens a store on a fresh schema. The schema is dropped after
// the store is closed (cleanups run last-registered first).
func openFresh(t testing.TB) *postgres.Store {
	t.Helper()
	d, schema := freshSchema(t)
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: d, Schema: schema, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	dsn(t)
	storagetest.Run(t, func(t *testing.T) storage.Store { return openFresh(t) })
}

// TestConformanceServerSerializable runs the suite with the server's
// default isolation at SERIALIZABLE. The store sets READ COMMITTED on every
// write transaction itself, so its row-lock design holds whatever the
// server default (under SERIALIZABLE, concurrent conflicting commits would
// otherwise fail with serialization errors instead of kerr.Conflict).
func TestConformanceServerSerializable(t *testing.T) {
	t.Parallel()
	d := dsn(t)
	sep := "?"
	if strings.Contains(d, "?") {
		sep = "&"
	}
	d += sep + "default_transaction_isolation=serializable" // pgx sends unknown URL parameters as run-time settings
	storagetest.Run(t, func(t *testing.T) storage.Store {
		_, schema := freshSchema(t)
		s, err := postgres.Open(context.Background(), postgres.Config{DSN: d, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		var level string
		if err := rawQuery(t, d, `SHOW default_transaction_isolation`, &level); err != nil || level != "serializable" {
			t.Fatalf("server default isolation = %q, %v; the DSN option did not apply", level, err)
		}
		return s
	})
}

func rawQuery(t *testing.T, d, q string, dst any) error {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), d)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(context.Background(), q).Scan(dst)
}
