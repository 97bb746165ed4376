package pdf

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/testenv"
)

// corpusFiles returns every PDF under $KEIYAKU_CORPUS. Without the
// variable the test is skipped, or fails when CI=true.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	root := testenv.Corpus(t)
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".pdf") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	if len(files) == 0 {
		t.Fatalf("no PDFs under %s", root)
	}
	return files
}

func openPath(t testing.TB, path string) *File {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	st, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(fh, st.Size(), nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return f
}

// TestCorpusOpens opens every corpus PDF, reads every object of every
// revision, and checks revision invariants.
func TestCorpusOpens(t *testing.T) {
	for _, path := range corpusFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			start := time.Now()
			f := openPath(t, path)
			revs := f.Revisions()
			if len(revs) == 0 {
				t.Fatal("no revisions")
			}
			for i, r := range revs {
				if r.Index != i {
					t.Errorf("revision %d has Index %d", i, r.Index)
				}
				if r.End <= 0 || r.End > f.Size() {
					t.Errorf("revision %d End %d outside (0,%d]", i, r.End, f.Size())
				}
				if i > 0 && r.End < revs[i-1].End {
					t.Errorf("revision %d ends at %d before revision %d (%d)", i, r.End, i-1, revs[i-1].End)
				}
			}
			last := len(revs) - 1
			if _, err := f.Catalog(last); err != nil && !f.Repaired() {
				t.Errorf("Catalog: %v", err)
			}
			bad := 0
			for i, r := range revs {
				for num, e := range r.Entries {
					if e.Free {
						continue
					}
					if _, err := f.Object(Ref{num, e.Gen}, i); err != nil {
						bad++
						if bad < 5 && !f.Encrypted() {
							t.Logf("object %d rev %d: %v", num, i, err)
						}
					}
				}
			}
			t.Logf("%d revisions, repaired=%v encrypted=%v eofs=%d bad objects=%d in %v", len(revs), f.Repaired(), f.Encrypted(), len(f.EOFMarkers()), bad, time.Since(start))
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}
