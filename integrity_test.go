package keiyaku_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/notify"
	"github.com/keiyaku/keiyaku/storage"
)

// TestConcurrentComplete: two completions of one returned case race;
// exactly one wins, the other is refused, and one notice goes out.
func TestConcurrentComplete(t *testing.T) {
	w := newWorld(t)
	a, b := w.m["A"], w.m["B"]
	c := w.register(a, b, "race")
	got := w.receive(b, c.ID)
	if _, err := w.svc.Cases.Return(w.ctx, b.P, c.ID, upload("c.pdf", w.sign(b, got))); err != nil {
		t.Fatal(err)
	}
	w.expectMails("race", notice{To: b, Type: notify.EventReceiptRequested}, notice{To: a, Type: notify.EventReturned})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.svc.Cases.Complete(w.ctx, a.P, c.ID)
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, kerr.Conflict), errors.Is(err, kerr.FailedPrecondition):
		default:
			t.Errorf("the losing completion failed with %v, want kerr.Conflict or kerr.FailedPrecondition", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d completions won (%v), want exactly one", wins, errs)
	}
	w.expectMails("race", notice{To: b, Type: notify.EventCompleted})
}

// TestTamperedBlob: a document file changed on disk behind the service's
// back is detected when it is read and when the original is verified.
func TestTamperedBlob(t *testing.T) {
	w := newWorld(t)
	a, b := w.m["A"], w.m["B"]
	c := w.complete(w.register(a, b, "tampered blob"), a, b)
	var sealed casework.File
	for _, f := range c.Sealed {
		if f.ContentType == "application/pdf" {
			sealed = f
		}
	}
	path := filepath.Join(w.dir, "blobs", "sha256", sealed.Key)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the sealed PDF is not where the embedded default keeps blobs: %v", err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.VerifyOriginal(w.ctx, a.P, c.ID); !errors.Is(err, storage.ErrBlobCorrupt) || !errors.Is(err, kerr.Internal) {
		t.Errorf("VerifyOriginal of a changed file = %v, want kerr.Internal wrapping storage.ErrBlobCorrupt", err)
	}
	r, _, err := w.svc.Cases.Open(w.ctx, b.P, c.ID, sealed.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, storage.ErrBlobCorrupt) {
		t.Errorf("reading a changed file to the end = %v, want storage.ErrBlobCorrupt", err)
	}
}
