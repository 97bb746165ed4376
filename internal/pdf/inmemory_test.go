package pdf

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
)

// opaqueReader hides a *bytes.Reader's type, so that Open reads it window
// by window as it reads a file.
type opaqueReader struct{ r *bytes.Reader }

func (o opaqueReader) ReadAt(p []byte, off int64) (int, error) { return o.r.ReadAt(p, off) }

// describeFile renders everything a validator reads from data, errors
// included, so that two ways of reading the same bytes can be compared.
func describeFile(r io.ReaderAt, size int64, opts *Options, budget int) string {
	var out bytes.Buffer
	f, err := Open(r, size, opts)
	if err != nil {
		return "Open: " + err.Error()
	}
	show := func(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }
	for _, rev := range f.Revisions() {
		show("revision %#v", *rev)
	}
	show("eof %v", f.EOFMarkers())
	for i, rev := range f.Revisions() {
		c, err := f.Catalog(i)
		show("catalog %d: %#v %v", i, c, err)
		for _, num := range slices.Sorted(maps.Keys(rev.Entries)) {
			ent := rev.Entries[num]
			if budget--; budget < 0 {
				break
			}
			ref := Ref{num, ent.Gen}
			o, err := f.Object(ref, i)
			show("object %v@%d: %#v %v", ref, i, o, err)
			if s, ok := o.(*Stream); ok {
				show("stream %#v", *s)
				for _, decode := range []bool{false, true} {
					if rd, err := f.StreamReader(s, decode); err == nil {
						b, err := io.ReadAll(rd)
						show("data %q %v", b, err)
					} else {
						show("reader %v", err)
					}
				}
			}
			s, e, err := f.ObjectSpan(ref, i)
			show("span %d %d %v", s, e, err)
			s, e, err = f.ValueSpan(ref, i, "Contents")
			show("contents %d %d %v", s, e, err)
		}
	}
	show("repaired %v", f.Repaired())
	return out.String()
}

func checkSameInMemory(t *testing.T, data []byte, opts *Options, budget int) {
	t.Helper()
	mem := describeFile(bytes.NewReader(data), int64(len(data)), opts, budget)
	win := describeFile(opaqueReader{bytes.NewReader(data)}, int64(len(data)), opts, budget)
	if mem != win {
		t.Fatalf("in memory and windowed reads differ on %q:\nin memory:\n%s\nwindowed:\n%s", data, mem, win)
	}
}

func mutate(r *rand.Rand, b []byte) []byte {
	b = bytes.Clone(b)
	for range 1 + r.IntN(4) {
		if len(b) == 0 {
			break
		}
		i := r.IntN(len(b))
		switch r.IntN(4) {
		case 0:
			b[i] = byte(r.IntN(256))
		case 1:
			const syntax = "<>()[]/% \n0123456789Rfnobjtrailerxref"
			b[i] = syntax[r.IntN(len(syntax))]
		case 2:
			b = append(b[:i], b[min(len(b), i+1+r.IntN(20)):]...)
		case 3:
			j := r.IntN(len(b))
			b = append(b[:i:i], append(bytes.Clone(b[j:min(len(b), j+r.IntN(40))]), b[i:]...)...)
		}
	}
	return b
}

// TestInMemoryMatchesWindowed checks that reading a small in-memory file
// from one buffer gives exactly what reading it window by window gives,
// on valid, damaged and (with $KEIYAKU_CORPUS) real files.
func TestInMemoryMatchesWindowed(t *testing.T) {
	w, _ := threeRevisions()
	seeds := [][]byte{
		w.Bytes(), generated(3, 5), generated(2, 300), pdftest.OnePage("BT ET").Bytes(),
		[]byte("%PDF-1.7\n1 0 obj\n<< /Length 1 0 R >>\nstream\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF"),
		[]byte("%PDF-1.7\n1 0 obj\n<< /Type /Sig /Contents <" + string(bytes.Repeat([]byte("00"), 9000)) + "> >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF"),
	}
	small := &Options{MaxObjects: 5000, MaxStreamSize: 1 << 20, MaxDepth: 20}
	for _, s := range seeds {
		checkSameInMemory(t, s, nil, 2000)
		checkSameInMemory(t, s, small, 2000)
	}
	r := rand.New(rand.NewPCG(5, 6))
	n := 1000
	if testing.Short() {
		n = 100
	}
	for range n {
		checkSameInMemory(t, mutate(r, seeds[r.IntN(len(seeds))]), small, 300)
	}
	if os.Getenv("KEIYAKU_CORPUS") != "" {
		for _, p := range corpusFiles(t) {
			if st, err := os.Stat(p); err == nil && st.Size() <= maxInMemory {
				if data, err := os.ReadFile(p); err == nil {
					checkSameInMemory(t, data, nil, 300)
				}
			}
		}
	}
}

// FuzzInMemoryMatchesWindowed is TestInMemoryMatchesWindowed on arbitrary
// bytes.
func FuzzInMemoryMatchesWindowed(f *testing.F) {
	w, _ := threeRevisions()
	f.Add(w.Bytes())
	f.Add(generated(3, 5))
	f.Add(pdftest.OnePage("BT ET").Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSameInMemory(t, data, &Options{MaxObjects: 5000, MaxStreamSize: 1 << 20, MaxDepth: 20}, 300)
	})
}
