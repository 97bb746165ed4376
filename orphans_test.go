package keiyaku_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRunJobsCollectsOrphans: the orphan collection RunJobs schedules
// removes a blob no row names (as a crash between a blob write and its
// commit leaves) once it is older than the grace, and keeps every blob of
// a completed case, however old: the case verifies as original after.
func TestRunJobsCollectsOrphans(t *testing.T) {
	w, clock, _ := renewalWorld(t)
	a, b := w.m["A"], w.m["B"]
	c := w.complete(w.registerWithFile(a, b, "orphans", "添付"), a, b)
	orphan, _, err := w.svc.Blobs.PutBytes(w.ctx, []byte("written by a process that died before its commit"))
	if err != nil {
		t.Fatal(err)
	}
	// Every blob is two days old: only references keep them now.
	old := time.Now().Add(-48 * time.Hour)
	n := 0
	err = filepath.WalkDir(filepath.Join(w.dir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
			err = os.Chtimes(p, old, old)
		}
		return err
	})
	if err != nil || n < 5 {
		t.Fatalf("aging %d blobs: %v", n, err)
	}
	// The service clock ahead of the bucket's: the grace is still measured
	// on the bucket's clock.
	clock.set(time.Now().Add(time.Hour))

	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- w.svc.RunJobs(ctx, time.Hour) }()
	gone := false
	for deadline := time.Now().Add(60 * time.Second); !gone && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		ok, err := w.svc.Blobs.Exists(w.ctx, orphan)
		if err != nil {
			t.Fatal(err)
		}
		gone = !ok
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunJobs returned %v, want context.Canceled", err)
	}
	if !gone {
		t.Fatal("the orphan blob was not collected within a minute")
	}
	got, err := w.svc.Cases.Get(w.ctx, a.P, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(append(got.Sealed, got.Document), got.Supplements...) {
		if err := w.svc.Blobs.Verify(w.ctx, f.Key, f.Size); err != nil {
			t.Errorf("%s of the completed case: %v", f.Name, err)
		}
	}
	clock.set(time.Now())
	oc, err := w.svc.VerifyOriginal(w.ctx, a.P, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !oc.Original || len(oc.PDFs) != 1 || len(oc.Files) != 1 {
		t.Fatalf("after the collection: original %v, %d PDFs, %d files; want true, 1, 1", oc.Original, len(oc.PDFs), len(oc.Files))
	}
	for _, f := range oc.Files {
		if !f.Verdict.Original {
			t.Errorf("%s not original after the collection: %+v", f.File.Name, f.Verdict)
		}
	}
}
