package pdf

import (
	"bytes"
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
)

// manyRevisionsFile is a one-page document followed by n empty
// incremental updates.
func manyRevisionsFile(n int) []byte {
	w := pdftest.OnePage("BT (x) Tj ET")
	for range n {
		w.EndRevision(pdftest.Section{Trailer: "/Root 1 0 R"})
	}
	return w.Bytes()
}

// TestMaxRevisions: a /Prev chain longer than MaxRevisions is refused
// with ErrLimit, not repaired into a file of fewer revisions; at the
// limit, every revision is read and the empty updates are Unchanged.
func TestMaxRevisions(t *testing.T) {
	b := manyRevisionsFile(99)
	f, err := Open(bytes.NewReader(b), int64(len(b)), &Options{MaxRevisions: 100})
	if err != nil {
		t.Fatalf("100 revisions with a limit of 100: %v", err)
	}
	if n := len(f.Revisions()); n != 100 {
		t.Fatalf("got %d revisions, want 100", n)
	}
	if f.Unchanged(0) || !f.Unchanged(1) || !f.Unchanged(99) {
		t.Errorf("Unchanged: revision 0 %v, 1 %v, 99 %v; want false, true, true", f.Unchanged(0), f.Unchanged(1), f.Unchanged(99))
	}
	if e, rev, ok := f.EntryFor(Ref{Num: 3}, 99); !ok || rev != 0 || e.Free {
		t.Errorf("EntryFor(3, 99) = %+v, %d, %v; want the page defined in revision 0", e, rev, ok)
	}
	b = manyRevisionsFile(100)
	_, err = Open(bytes.NewReader(b), int64(len(b)), &Options{MaxRevisions: 100})
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("101 revisions with a limit of 100: err %v, want ErrLimit", err)
	}
}

// TestUnchangedNotEmpty: an update that defines an object, or points the
// trailer at another catalog, is not Unchanged.
func TestUnchangedNotEmpty(t *testing.T) {
	w := pdftest.OnePage("BT (x) Tj ET")
	w.Object(4, "<< /Length 0 >>\nstream\n\nendstream")
	w.EndRevision(pdftest.Section{Trailer: "/Root 1 0 R"})
	w.Object(9, "<< /Type /Catalog /Pages 2 0 R >>")
	w.EndRevision(pdftest.Section{Trailer: "/Root 1 0 R"})
	w.EndRevision(pdftest.Section{Trailer: "/Root 9 0 R"})
	b := w.Bytes()
	f, err := Open(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	for rev := 1; rev < len(f.Revisions()); rev++ {
		if f.Unchanged(rev) {
			t.Errorf("revision %d reported unchanged", rev)
		}
	}
}
