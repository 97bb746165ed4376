package postgres_test

import (
	"context"
	"log"
	"os"

	"github.com/keiyaku/keiyaku/storage/postgres"
)

// Open a store in its own schema. The example has no output because it
// needs a running PostgreSQL server; it is compiled, not run.
func ExampleOpen() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, postgres.Config{
		DSN:      os.Getenv("KEIYAKU_POSTGRES_DSN"), // e.g. postgres://keiyaku@db.internal:5432/keiyaku?sslmode=verify-full
		Schema:   "keiyaku",
		MaxConns: 16,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	// s is a storage.Store (and a storage.BulkLoader): hand it to the
	// keiyaku facade or to casework and account.
}
