package casework_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
)

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRefusedRegistrationStoresNothing: a registration refused for an
// oversize supplement (after a valid document and a valid supplement)
// leaves the blob store and the temporary directory as they were.
func TestRefusedRegistrationStoresNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	nc := newCase(casework.FormBilateral, sign(pdf("refused"), "co1"))
	nc.Supplements = []casework.Upload{
		{Name: "見積書.xlsx", Body: bytes.NewReader([]byte("a small, valid supplement"))},
		{Name: "図面.zip", Body: bytes.NewReader(make([]byte, casework.MaxSupplementSize+1))},
	}
	blobs, tmp := countFiles(t, e.dir), countFiles(t, e.tmp)
	if _, err := e.svc.Register(ctx, u1, nc); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("oversize supplement: %v, want kerr.Invalid", err)
	}
	if n := countFiles(t, e.dir); n != blobs {
		t.Errorf("the refused registration left %d files in the blob store", n-blobs)
	}
	if n := countFiles(t, e.tmp); n != tmp {
		t.Errorf("the refused registration left %d temporary files", n-tmp)
	}
	// The same case with a supplement within the limit is stored whole.
	nc = newCase(casework.FormBilateral, sign(pdf("refused"), "co1"))
	nc.Supplements = []casework.Upload{{Name: "図面.zip", Body: bytes.NewReader(make([]byte, casework.MaxSupplementSize))}}
	c, err := e.svc.Register(ctx, u1, nc)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Supplements) != 1 || c.Supplements[0].Size != casework.MaxSupplementSize {
		t.Errorf("supplements = %+v", c.Supplements)
	}
	if n := countFiles(t, e.dir); n != blobs+2 {
		t.Errorf("%d new blob files, want 2 (document and supplement)", n-blobs)
	}
}
