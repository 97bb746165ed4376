package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
	"github.com/keiyaku/keiyaku/storage/storagetest"
)

func TestAuditKeyConformance(t *testing.T) {
	var mu sync.Mutex
	paths := map[storage.Store]string{}
	open := func(t *testing.T, key *storage.AuditKey) storage.Store {
		p := filepath.Join(t.TempDir(), "k.db")
		s, err := sqlite.Open(context.Background(), sqlite.Config{Path: p, AuditKey: key})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		paths[s] = p
		mu.Unlock()
		return s
	}
	rewrite := func(t *testing.T, s storage.Store, es []storage.AuditEntry) {
		mu.Lock()
		p := paths[s]
		mu.Unlock()
		db, err := sql.Open("sqlite", "file:"+p)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`DROP TRIGGER audit_no_update`); err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if _, err := db.Exec(`UPDATE audit SET at=?, actor_user=?, actor_company=?, remote_addr=?, action=?, case_id=?, detail=?, prev_hash=?, hash=?, key_id=? WHERE seq=?`,
				e.Time.UnixNano(), e.ActorUserID, e.ActorCompanyID, e.RemoteAddr, e.Action, e.CaseID, e.Detail, e.PrevHash, e.Hash, e.KeyID, e.Seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	storagetest.RunAuditKey(t, open, rewrite)
}

func TestOpenRefusesShortAuditKey(t *testing.T) {
	_, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "x.db"), AuditKey: &storage.AuditKey{ID: "k", Secret: []byte("short")}})
	if !errors.Is(err, kerr.Invalid) {
		t.Fatalf("a 5-byte audit key: %v, want kerr.Invalid", err)
	}
}

func TestAuditAnchorsConformance(t *testing.T) {
	var mu sync.Mutex
	paths := map[storage.Store]string{}
	open := func(t *testing.T) storage.Store {
		p := filepath.Join(t.TempDir(), "a.db")
		s, err := sqlite.Open(context.Background(), sqlite.Config{Path: p})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		paths[s] = p
		mu.Unlock()
		return s
	}
	truncate := func(t *testing.T, s storage.Store, from int64) {
		mu.Lock()
		p := paths[s]
		mu.Unlock()
		db, err := sql.Open("sqlite", "file:"+p)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`DROP TRIGGER audit_no_delete`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`DELETE FROM audit WHERE seq >= ?`, from); err != nil {
			t.Fatal(err)
		}
	}
	storagetest.RunAuditAnchors(t, open, truncate)
}
