package pdf

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
)

// FuzzOpen opens arbitrary bytes and walks everything a validator would:
// no input may panic, hang or return an error outside the sentinels.
func FuzzOpen(f *testing.F) {
	w, _ := threeRevisions()
	f.Add(w.Bytes())
	f.Add(generated(3, 5))
	f.Add(pdftest.OnePage("BT ET").Bytes())
	b := w.Bytes()
	f.Add(b[:len(b)/2])
	f.Add(bytes.ReplaceAll(b, []byte("startxref"), []byte("startxreX")))
	f.Add(bytes.ReplaceAll(b, []byte("/Length"), []byte("/Lxngth")))
	f.Add([]byte("%PDF-1.7\n1 0 obj\n<< /Length 1 0 R >>\nstream\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF"))
	// Small corpus files, when available.
	if root := os.Getenv("KEIYAKU_CORPUS"); root != "" {
		for _, p := range corpusFiles(f) {
			if st, err := os.Stat(p); err == nil && st.Size() < 64<<10 {
				if data, err := os.ReadFile(p); err == nil {
					f.Add(data)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Open(bytes.NewReader(data), int64(len(data)), &Options{MaxObjects: 5000, MaxStreamSize: 1 << 20})
		if err != nil {
			if !errors.Is(err, ErrNotPDF) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrLimit) {
				t.Fatalf("Open error wraps no sentinel: %v", err)
			}
			return
		}
		revs := file.Revisions()
		if len(revs) == 0 {
			t.Fatal("Open succeeded with no revisions")
		}
		budget := 300
		for i, r := range revs {
			_, _ = file.Catalog(i)
			for num, e := range r.Entries {
				if budget--; budget < 0 {
					return
				}
				ref := Ref{num, e.Gen}
				o, err := file.Object(ref, i)
				if err != nil {
					continue
				}
				if s, ok := o.(*Stream); ok {
					if rd, err := file.StreamReader(s, true); err == nil {
						_, _ = io.Copy(io.Discard, rd)
					}
				}
				_, _ = file.Resolve(ref, i)
				if s, e, err := file.ObjectSpan(ref, i); err == nil && (s < 0 || e > int64(len(data)) || s >= e) {
					t.Fatalf("ObjectSpan(%v) = [%d,%d) outside the file", ref, s, e)
				}
				if s, e, err := file.ValueSpan(ref, i, "Contents"); err == nil && (s < 0 || e > int64(len(data)) || s >= e) {
					t.Fatalf("ValueSpan(%v) = [%d,%d) outside the file", ref, s, e)
				}
			}
		}
	})
}
