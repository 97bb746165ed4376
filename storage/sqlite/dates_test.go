package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"cloud.google.com/go/civil"
	"github.com/pressly/goose/v3"

	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
	"github.com/keiyaku/keiyaku/storage/storagetest"
)

// TestMigrationKeepsTransactionDates upgrades a database written before
// business dates were calendar dates (bodies held "2026-03-31T00:00:00Z")
// and reads the case back with its date intact.
func TestMigrationKeepsTransactionDates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, os.DirFS("migrations"))
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
	db.Close()

	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
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

func TestCalendarDates(t *testing.T) {
	storagetest.RunCalendarDates(t, func(t *testing.T, zone string) storage.Store { return openTemp(t) })
}
