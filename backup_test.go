package keiyaku_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/backup"
	"github.com/keiyaku/keiyaku/bulkverify"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// TestBackupRestore backs up the embedded default while lifecycles run,
// restores it in a fresh place and opens a service there: bulk original
// verification over every completed case passes (all original, nothing
// missing), every case the backup holds is in a committed state with all
// its blobs, and the audit chain verifies. A case registered after the
// snapshot is simply not in the backup. Then the converse: a restored
// directory missing one blob the database names fails Check and the bulk
// verification of that case.
func TestBackupRestore(t *testing.T) {
	w := newWorld(t)
	a, b := w.m["A"], w.m["B"]
	var mu sync.Mutex
	var ids []string
	for i := range 3 {
		c := w.complete(w.registerWithFile(a, b, fmt.Sprintf("before %d", i), "添付"), a, b)
		ids = append(ids, c.ID)
	}
	// Lifecycles go on while the backup is taken.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c := w.registerWithFile(a, b, fmt.Sprintf("during %d", i), "添付")
			mu.Lock()
			ids = append(ids, c.ID)
			mu.Unlock()
			w.complete(c, a, b)
		}
	})
	time.Sleep(500 * time.Millisecond)
	out := filepath.Join(t.TempDir(), "backup")
	m, err := backup.Take(w.ctx, w.dir, out, time.Now())
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if m.Blobs < 3*4 || m.Copied != m.Blobs || m.Database == 0 {
		t.Errorf("manifest %+v", m)
	}
	dir2 := filepath.Join(t.TempDir(), "restored")
	rep, err := backup.Restore(w.ctx, out, dir2)
	if err != nil {
		t.Fatal(err)
	}
	// The TSA serial file is raised, so serials issued after the backup
	// are not issued again.
	before, _ := os.ReadFile(filepath.Join(out, "tsa", "serial"))
	after, _ := os.ReadFile(filepath.Join(dir2, "tsa", "serial"))
	var nb, na int64
	if _, err := fmt.Sscan(string(before), &nb); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscan(string(after), &na); err != nil || na != nb+backup.SerialMargin {
		t.Errorf("restored serial file %q, backed up %q: want raised by %d", after, before, backup.SerialMargin)
	}
	if _, err := backup.Take(w.ctx, w.dir, filepath.Join(w.dir, "tmp", "b"), time.Now()); !errors.Is(err, kerr.Invalid) {
		t.Errorf("a backup inside the data directory: %v, want Invalid", err)
	}
	// Later backups into the same place copy only the new blobs.
	m2, err := backup.Take(w.ctx, w.dir, out, time.Now())
	if err != nil || m2.Copied != m2.Blobs-m.Blobs {
		t.Errorf("second backup: %+v %v; the first had %d blobs", m2, err, m.Blobs)
	}
	if m3, err := backup.Take(w.ctx, w.dir, out, time.Now()); err != nil || m3.Copied != 0 || m3.Blobs != m2.Blobs {
		t.Errorf("third backup: %+v %v", m3, err)
	}
	if rep.Referenced < 3*4 || len(rep.Missing)+len(rep.Corrupt) != 0 {
		t.Fatalf("check after restore: %+v", rep)
	}
	if _, err := backup.Restore(w.ctx, out, dir2); !errors.Is(err, kerr.Invalid) {
		t.Errorf("restoring over a database: %v, want Invalid", err)
	}
	w2 := &world{t: t, ctx: w.ctx, pki: w.pki, smtp: w.smtp, dir: dir2, mutate: w.mutate, m: w.m}
	svc2 := w2.open()
	defer svc2.Close()
	completed, missing := 0, 0
	for _, id := range ids {
		c, err := svc2.Cases.Get(w.ctx, a.P, id)
		if errors.Is(err, kerr.NotFound) {
			missing++ // registered after the snapshot
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.State.String() == "completed" {
			completed++
		}
		for _, f := range append(append(c.Sealed, c.Document), c.Supplements...) {
			if err := svc2.Blobs.Verify(w.ctx, f.Key, f.Size); err != nil {
				t.Errorf("case %s (%s) file %s: %v", id, c.State, f.Name, err)
			}
		}
		if err := svc2.Cases.VerifyHistory(w.ctx, id); err != nil {
			t.Errorf("case %s: %v", id, err)
		}
	}
	t.Logf("%d cases in all, %d in the backup (%d completed), backup %+v", len(ids), len(ids)-missing, completed, m)
	if completed < 3 {
		t.Fatalf("%d completed cases restored, want at least the 3 completed before", completed)
	}
	admin := account.Principal{UserID: a.P.UserID, CompanyID: a.P.CompanyID, Admin: true}
	sum, err := svc2.Bulk.Run(w.ctx, admin, &bulkverify.Request{}, bulkverify.NewCSVWriter(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Cases != completed || sum.Objects == 0 || sum.Passed != sum.Objects {
		t.Errorf("bulk verification of the restored service: %+v; want %d cases, all passed", sum, completed)
	}
	if _, err := svc2.Cases.VerifyAudit(w.ctx); err != nil {
		t.Errorf("audit chain of the restored service: %v", err)
	}

	// The converse: a blob the database names, missing.
	c, err := svc2.Cases.Get(w.ctx, a.P, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir2, "blobs", "sha256", c.Sealed[0].Key)); err != nil {
		t.Fatal(err)
	}
	if rep, err := backup.Check(w.ctx, dir2); !errors.Is(err, storage.ErrBlobCorrupt) || len(rep.Missing) != 1 || rep.Missing[0] != c.Sealed[0].Key {
		t.Errorf("Check with a blob missing: %+v, %v", rep, err)
	}
	if _, err := svc2.Bulk.Run(w.ctx, admin, &bulkverify.Request{}, bulkverify.NewCSVWriter(&bytes.Buffer{})); err == nil {
		t.Error("bulk verification with a sealed file missing succeeded")
	}
}
