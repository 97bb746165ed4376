package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/keiyaku/keiyaku/storage/sqlite"
)

// TestMigrationIndexesCaseBlobs upgrades a database written before
// migration 00011 and finds every blob key its cases name in CaseBlobs,
// so that the first retention sweep knows which blobs are shared.
func TestMigrationIndexesCaseBlobs(t *testing.T) {
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
	if _, err := p.UpTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	k := func(c string) string { return strings.Repeat(c, 64) }
	bodies := map[string]string{
		"c1": `{"ID":"c1","Document":{"Key":"` + k("a") + `"},"Acceptance":{"Key":""},"Supplements":[{"Key":"` + k("b") + `"},{"Key":"` + k("a") + `"}],"Sealed":null}`,
		"c2": `{"ID":"c2","Document":{"Key":"` + k("a") + `"},"Acceptance":{"Key":"` + k("c") + `"},"Supplements":null,"Sealed":[{"Key":"` + k("d") + `"}]}`,
	}
	for id, body := range bodies {
		for _, q := range []string{
			`INSERT INTO cases (id, version, form, state, category, original_id, name, order_number, amount, currency, transaction_date,
				registrant_company, registrant_user, created_at, updated_at, completed_at)
				VALUES ('` + id + `', 1, 'bilateral', 'completed', 'new', '', 'n', '', 1, 'JPY', 0, 'co1', 'u1', 1, 1, 1)`,
			`INSERT INTO case_bodies (id, body) VALUES ('` + id + `', '` + body + `')`,
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for id, want := range map[string][]string{"c1": {k("a"), k("b")}, "c2": {k("a"), k("c"), k("d")}} {
		got, err := s.CaseBlobs(ctx, id)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("CaseBlobs(%s) after the migration = %v, %v; want %v", id, got, err, want)
		}
	}
}
