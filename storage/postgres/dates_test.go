package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	"cloud.google.com/go/civil"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/postgres"
	"github.com/keiyaku/keiyaku/storage/storagetest"
)

// TestCalendarDates runs storagetest.RunCalendarDates with the server's
// TimeZone setting (sent by pgx as a run-time parameter) following the
// process's zone. Not parallel: the suite sets time.Local.
func TestCalendarDates(t *testing.T) {
	dsn(t)
	storagetest.RunCalendarDates(t, func(t *testing.T, zone string) storage.Store {
		d, schema := freshSchema(t)
		sep := "?"
		if strings.Contains(d, "?") {
			sep = "&"
		}
		s, err := postgres.Open(context.Background(), postgres.Config{DSN: d + sep + "timezone=" + url.QueryEscape(zone), Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestMigrationKeepsTransactionDates upgrades a schema written before
// business dates were calendar dates (bodies held
// "2026-03-31T00:00:00Z") and reads the case back with its date intact.
func TestMigrationKeepsTransactionDates(t *testing.T) {
	ctx := context.Background()
	d, schema := freshSchema(t)
	sep := "?"
	if strings.Contains(d, "?") {
		sep = "&"
	}
	db, err := sql.Open("pgx", d+sep+"search_path="+schema)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("migrations"),
		goose.WithTableName(schema+".goose_db_version"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	const body = `{"ID":"c1","Version":1,"Form":"bilateral","State":"sent","Category":"new","Name":"n","Amount":1,"Currency":"JPY",` +
		`"TransactionDate":"2026-03-31T00:00:00Z","RegistrantCompanyID":"co1","RegistrantUserID":"u1",` +
		`"Parties":[{"CompanyID":"co2","CompanyName":"B","UserID":"u2","DoneAt":"0001-01-01T00:00:00Z"}],` +
		`"CreatedAt":"2026-04-01T00:00:00Z","UpdatedAt":"2026-04-01T00:00:00Z","CompletedAt":"0001-01-01T00:00:00Z"}`
	for _, q := range []string{
		`INSERT INTO cases (id, version, form, state, category, original_id, name, order_number, amount, currency, transaction_date,
			registrant_company, registrant_user, created_at, updated_at, completed_at)
			VALUES ('c1', 1, 'bilateral', 'sent', 'new', '', 'n', '', 1, 'JPY', 1774915200, 'co1', 'u1', 1, 1, 0)`,
		`INSERT INTO case_bodies (id, body) VALUES ('c1', '` + body + `')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s, err := postgres.Open(ctx, postgres.Config{DSN: d, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.GetCase(ctx, "c1")
	if err != nil {
		t.Fatalf("GetCase after migration: %v", err)
	}
	if want := (civil.Date{Year: 2026, Month: 3, Day: 31}); c.TransactionDate != want {
		t.Errorf("TransactionDate = %v, want %v", c.TransactionDate, want)
	}
}
