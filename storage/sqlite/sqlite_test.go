package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
	"github.com/keiyaku/keiyaku/storage/storagetest"
)

func openTemp(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "keiyaku.db")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return openTemp(t) })
}

func TestBlobsOnFileblob(t *testing.T) {
	storagetest.RunBlobs(t, func(t *testing.T) *blob.Bucket {
		b, err := fileblob.OpenBucket(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestAuditTamperDetected(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 3 {
		e := []storage.AuditEntry{{Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), ActorUserID: "u1", Action: "case.register", Detail: "d"}}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE audit SET detail = 'x' WHERE seq = 2`); err == nil {
		t.Fatal("the database let an audit entry be updated")
	}
	if _, err := raw.Exec(`DELETE FROM audit WHERE seq = 3`); err == nil {
		t.Fatal("the database let an audit entry be deleted")
	}
	if n, err := storage.VerifyChain(ctx, s); err != nil || n != 3 {
		t.Fatalf("VerifyChain = %d, %v", n, err)
	}
	// Someone with file access drops the trigger and edits an entry.
	if _, err := raw.Exec(`DROP TRIGGER audit_no_update; UPDATE audit SET detail = 'forged' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.VerifyChain(ctx, s); !errors.Is(err, storage.ErrChainBroken) {
		t.Errorf("VerifyChain after tampering: err = %v, want ErrChainBroken", err)
	}
}

func TestOpenInvalid(t *testing.T) {
	for _, cfg := range []sqlite.Config{{}, {Path: "a?b"}, {Path: "x", MaxReaders: -1}} {
		if _, err := sqlite.Open(context.Background(), cfg); !errors.Is(err, kerr.Invalid) {
			t.Errorf("Open(%+v) err = %v, want Invalid", cfg, err)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutCompany(ctx, &storage.Company{ID: "co1", Name: "A"}, []storage.AuditEntry{{Time: time.Now(), Action: "x"}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, sqlite.Config{Path: path}) // migrations run again: a no-op
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c, err := s.GetCompany(ctx, "co1"); err != nil || c.Name != "A" {
		t.Errorf("after reopen: %+v, %v", c, err)
	}
}
