package pdf

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
)

func open(t testing.TB, b []byte, opts *Options) *File {
	t.Helper()
	f, err := Open(bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return f
}

func mustObject(t *testing.T, f *File, ref Ref, rev int) Object {
	t.Helper()
	o, err := f.Object(ref, rev)
	if err != nil {
		t.Fatalf("Object(%v, %d): %v", ref, rev, err)
	}
	return o
}

// threeRevisions builds: rev 0 classic one-page document; rev 1 classic
// update replacing the content stream and adding object 5; rev 2 an
// xref-stream update (compressed, with an object stream) redefining
// object 5, adding object 6 in an object stream and freeing object 5's
// old version... (object 7 freed).
func threeRevisions() (*pdftest.Writer, []int64) {
	w := pdftest.OnePage("BT /F1 12 Tf (v0) Tj ET")
	ends := []int64{w.Len()}
	w.Stream(4, "", []byte("BT (v1) Tj ET"))
	w.Object(5, "<< /Note (rev1) >>")
	w.Object(7, "(to be freed)")
	ends = append(ends, w.EndRevision(pdftest.Section{}))
	w.Object(5, "<< /Note (rev2) >>")
	w.Compressed(6, "<< /InStream true /Ref 5 0 R >>")
	w.Free(7)
	ends = append(ends, w.EndRevision(pdftest.Section{XRefStream: true, Compress: true}))
	return w, ends
}

func TestOpenRevisions(t *testing.T) {
	w, ends := threeRevisions()
	f := open(t, w.Bytes(), nil)
	revs := f.Revisions()
	if len(revs) != 3 {
		t.Fatalf("got %d revisions, want 3", len(revs))
	}
	for i, r := range revs {
		if r.Index != i || r.End != ends[i] {
			t.Errorf("revision %d: Index %d End %d, want End %d", i, r.Index, r.End, ends[i])
		}
	}
	if got := f.EOFMarkers(); fmt.Sprint(got) != fmt.Sprint(ends) {
		t.Errorf("EOFMarkers = %v, want %v", got, ends)
	}
	if f.Repaired() || f.Encrypted() {
		t.Errorf("Repaired=%v Encrypted=%v, want false", f.Repaired(), f.Encrypted())
	}
	if _, ok := revs[1].Entries[3]; ok {
		t.Error("revision 1 lists object 3, which it did not define")
	}
	if e := revs[2].Entries[7]; !e.Free {
		t.Errorf("revision 2 entry for 7 = %+v, want free", e)
	}
	if e := revs[2].Entries[6]; e.Stream == 0 {
		t.Errorf("revision 2 entry for 6 = %+v, want inside an object stream", e)
	}

	note := func(rev int) string {
		d, _ := mustObject(t, f, Ref{5, 0}, rev).(Dict)
		s, _ := d["Note"].(String)
		return string(s)
	}
	if got := note(0); got != "" {
		t.Errorf("object 5 at rev 0 = %q, want absent", got)
	}
	if got := note(1); got != "rev1" {
		t.Errorf("object 5 at rev 1 = %q", got)
	}
	if got := note(2); got != "rev2" {
		t.Errorf("object 5 at rev 2 = %q", got)
	}
	if o := mustObject(t, f, Ref{7, 0}, 1); !bytes.Equal(o.(String), []byte("to be freed")) {
		t.Errorf("object 7 at rev 1 = %v", o)
	}
	if o := mustObject(t, f, Ref{7, 0}, 2); o != nil {
		t.Errorf("freed object 7 at rev 2 = %v, want nil", o)
	}
	if o := mustObject(t, f, Ref{4, 1}, 2); o != nil {
		t.Errorf("object 4 with wrong generation = %v, want nil", o)
	}
	d, ok := mustObject(t, f, Ref{6, 0}, 2).(Dict)
	if !ok || d["InStream"] != true || d["Ref"] != (Ref{5, 0}) {
		t.Errorf("object 6 from object stream = %v", d)
	}
	if _, def, ok := f.EntryFor(Ref{4, 0}, 2); !ok || def != 1 {
		t.Errorf("EntryFor(4, 2) defined in %d, want 1", def)
	}
	for rev, want := range []string{"BT /F1 12 Tf (v0) Tj ET", "BT (v1) Tj ET", "BT (v1) Tj ET"} {
		s, ok := mustObject(t, f, Ref{4, 0}, rev).(*Stream)
		if !ok {
			t.Fatalf("object 4 at rev %d is not a stream", rev)
		}
		r, err := f.StreamReader(s, true)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != want {
			t.Errorf("content at rev %d = %q, %v; want %q", rev, got, err, want)
		}
	}
	cat, err := f.Catalog(2)
	if err != nil || cat.Name("Type") != "Catalog" {
		t.Errorf("Catalog = %v, %v", cat, err)
	}
	if tr := f.Trailer(2); tr.Name("Type") != "XRef" {
		t.Errorf("rev 2 trailer is not the xref stream dictionary: %v", tr)
	}
	if tr := f.Trailer(3); tr != nil {
		t.Errorf("Trailer(3) = %v, want nil", tr)
	}
	if _, err := f.Object(Ref{1, 0}, 9); !errors.Is(err, ErrNotFound) {
		t.Errorf("Object at revision 9: %v, want ErrNotFound", err)
	}
}

func TestResolve(t *testing.T) {
	w := pdftest.OnePage("")
	w.Object(5, "6 0 R")
	w.Object(6, "7 0 R")
	w.Object(7, "(end)")
	w.Object(8, "9 0 R")
	w.Object(9, "8 0 R")
	w.EndRevision(pdftest.Section{})
	f := open(t, w.Bytes(), nil)
	o, err := f.Resolve(Ref{5, 0}, 1)
	if err != nil || !bytes.Equal(o.(String), []byte("end")) {
		t.Errorf("Resolve chain = %v, %v", o, err)
	}
	if _, err := f.Resolve(Ref{8, 0}, 1); !errors.Is(err, ErrLimit) {
		t.Errorf("Resolve loop: %v, want ErrLimit", err)
	}
	if o, err := f.Resolve(Ref{42, 0}, 1); o != nil || err != nil {
		t.Errorf("Resolve missing = %v, %v; want nil, nil", o, err)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrNotPDF},
		{"not a pdf", "hello world, this is text", ErrNotPDF},
		{"header only", "%PDF-1.7\n%%EOF\n", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(strings.NewReader(tt.in), int64(len(tt.in)), nil)
			if !errors.Is(err, tt.want) {
				t.Errorf("Open: %v, want %v", err, tt.want)
			}
		})
	}
}

type failReader struct{}

func (failReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

func TestOpenIOError(t *testing.T) {
	_, err := Open(failReader{}, 1000, nil)
	var ioErr *ioError
	if !errors.As(err, &ioErr) {
		t.Errorf("Open with failing reader: %v, want the read error", err)
	}
}

// TestDamaged checks that damaged cross-reference data is survived and
// reported through Repaired.
func TestDamaged(t *testing.T) {
	base, _ := threeRevisions()
	good := base.Bytes()
	lastStartxref := bytes.LastIndex(good, []byte("startxref"))

	tests := []struct {
		name     string
		mutate   func([]byte) []byte
		wantRevs int
	}{
		{"startxref garbage", func(b []byte) []byte {
			return bytes.Join([][]byte{b[:lastStartxref], []byte("startxref\nxyz\n%%EOF\n")}, nil)
		}, 3},
		{"startxref beyond the file", func(b []byte) []byte {
			return bytes.Join([][]byte{b[:lastStartxref], []byte("startxref\n99999999\n%%EOF\n")}, nil)
		}, 3},
		{"no startxref", func(b []byte) []byte {
			return bytes.ReplaceAll(b, []byte("startxref"), []byte("startxreX"))
		}, 3},
		{"xref keyword damaged", func(b []byte) []byte {
			return bytes.Replace(b, []byte("xref\n0 5"), []byte("xreg\n0 5"), 1)
		}, 3},
		{"trailer truncated", func(b []byte) []byte {
			return b[:len(b)-40]
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mutate(bytes.Clone(good))
			f := open(t, b, nil)
			if !f.Repaired() {
				t.Error("Repaired() = false")
			}
			if got := len(f.Revisions()); got != tt.wantRevs {
				t.Errorf("%d revisions, want %d", got, tt.wantRevs)
			}
			last := len(f.Revisions()) - 1
			if _, err := f.Catalog(last); err != nil {
				t.Errorf("Catalog: %v", err)
			}
			d, _ := mustObject(t, f, Ref{5, 0}, last).(Dict)
			if s, _ := d["Note"].(String); string(s) != "rev2" {
				t.Errorf("object 5 = %v, want the newest version", d)
			}
		})
	}
}

func TestWrongOffsetCorrected(t *testing.T) {
	w := pdftest.OnePage("q Q")
	b := bytes.Clone(w.Bytes())
	// Shift object 3's recorded offset by two bytes.
	off := bytes.Index(b, []byte("3 0 obj"))
	b = bytes.Replace(b, fmt.Appendf(nil, "%010d 00000 n", off), fmt.Appendf(nil, "%010d 00000 n", off+2), 1)
	f := open(t, b, nil)
	d, ok := mustObject(t, f, Ref{3, 0}, 0).(Dict)
	if !ok || d.Name("Type") != "Page" {
		t.Fatalf("object 3 = %v, want the page", d)
	}
	if !f.Repaired() {
		t.Error("Repaired() = false after correcting an offset")
	}
}

func TestPrevLoop(t *testing.T) {
	w := pdftest.OnePage("")
	w.Object(5, "(x)")
	off := w.Len()
	w.Raw(fmt.Sprintf("xref\n5 1\n%010d 00000 n\r\ntrailer\n<< /Size 6 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", off-10, off, off))
	done := make(chan struct{})
	go func() {
		defer close(done)
		f := open(t, w.Bytes(), nil)
		if !f.Repaired() {
			t.Error("Repaired() = false for a /Prev loop")
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Open did not finish on a /Prev loop")
	}
}

func TestLinearizedGrouping(t *testing.T) {
	// A first-page table near the start whose /Prev points forward to the
	// main table is one revision (ISO 32000-2 Annex F).
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	o1 := b.Len()
	b.WriteString("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	first := b.Len()
	mainPlaceholder := "0000000000"
	b.WriteString("xref\n1 1\n")
	fmt.Fprintf(&b, "%010d 00000 n\r\n", o1)
	b.WriteString("trailer\n<< /Size 3 /Root 1 0 R /Prev " + mainPlaceholder + " >>\nstartxref\n0\n%%EOF\n")
	o2 := b.Len()
	b.WriteString("2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
	mainOff := b.Len()
	fmt.Fprintf(&b, "xref\n0 1\n0000000000 65535 f\r\n2 1\n%010d 00000 n\r\ntrailer\n<< /Size 3 >>\nstartxref\n%d\n%%%%EOF\n", o2, first)
	data := bytes.Replace(b.Bytes(), []byte(mainPlaceholder), fmt.Appendf(nil, "%010d", mainOff), 1)
	f := open(t, data, nil)
	if got := len(f.Revisions()); got != 1 {
		t.Fatalf("%d revisions, want 1", got)
	}
	r := f.Revisions()[0]
	if r.End != int64(len(data)) || len(r.Entries) != 3 {
		t.Errorf("revision End %d entries %v, want End %d and 3 entries", r.End, r.Entries, len(data))
	}
	if _, err := f.Catalog(0); err != nil {
		t.Error(err)
	}
}

func TestHybridXRefStm(t *testing.T) {
	// Classic table plus /XRefStm naming an xref stream that indexes an
	// object stream (§7.5.8.4).
	w := pdftest.OnePage("")
	var b bytes.Buffer
	b.Write(w.Bytes())
	stm := b.Len()
	payload := "10 0 << /Hidden true >>\n"
	b.WriteString(fmt.Sprintf("8 0 obj\n<< /Type /ObjStm /N 1 /First 5 /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(payload), payload))
	xs := b.Len()
	rows := []byte{2, 0, 0, 0, 8, 0, 0}
	b.WriteString(fmt.Sprintf("9 0 obj\n<< /Type /XRef /W [1 4 2] /Index [10 1] /Size 11 /Length %d >>\nstream\n", len(rows)))
	b.Write(rows)
	b.WriteString("\nendstream\nendobj\n")
	prev := bytes.LastIndex(w.Bytes(), []byte("\nxref\n")) + 1
	tbl := b.Len()
	fmt.Fprintf(&b, "xref\n8 2\n%010d 00000 n\r\n%010d 00000 n\r\ntrailer\n<< /Size 11 /Root 1 0 R /Prev %d /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n", stm, xs, prev, xs, tbl)
	f := open(t, b.Bytes(), nil)
	if len(f.Revisions()) != 2 || f.Repaired() {
		t.Fatalf("%d revisions, repaired %v", len(f.Revisions()), f.Repaired())
	}
	d, ok := mustObject(t, f, Ref{10, 0}, 1).(Dict)
	if !ok || d["Hidden"] != true {
		t.Errorf("object 10 via /XRefStm = %v", d)
	}
}

func TestSpans(t *testing.T) {
	w := pdftest.OnePage("")
	w.Object(5, "<< /Type /Sig /ByteRange [0 1 2 3] /Contents <30820102AB> /Reason (ok) >>")
	w.Stream(6, "/Contents (a) /Type /X", []byte("payload"))
	w.Object(7, "<< /Contents (first) /Contents (second) >>")
	w.EndRevision(pdftest.Section{})
	b := w.Bytes()
	f := open(t, b, nil)

	s, e, err := f.ValueSpan(Ref{5, 0}, 1, "Contents")
	if err != nil || string(b[s:e]) != "<30820102AB>" {
		t.Errorf("ValueSpan /Contents = %q, %v", b[s:e], err)
	}
	s, e, err = f.ValueSpan(Ref{5, 0}, 1, "ByteRange")
	if err != nil || string(b[s:e]) != "[0 1 2 3]" {
		t.Errorf("ValueSpan /ByteRange = %q, %v", b[s:e], err)
	}
	s, e, err = f.ValueSpan(Ref{6, 0}, 1, "Contents")
	if err != nil || string(b[s:e]) != "(a)" {
		t.Errorf("ValueSpan in stream dict = %q, %v", b[s:e], err)
	}
	s, e, err = f.ValueSpan(Ref{7, 0}, 1, "Contents")
	if err != nil || string(b[s:e]) != "(second)" {
		t.Errorf("ValueSpan of duplicated key = %q, %v; want the last, as Object does", b[s:e], err)
	}
	if _, _, err := f.ValueSpan(Ref{5, 0}, 1, "Nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ValueSpan missing key: %v", err)
	}
	if _, _, err := f.ValueSpan(Ref{5, 0}, 0, "Contents"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ValueSpan before the object existed: %v", err)
	}
	s, e, err = f.ObjectSpan(Ref{5, 0}, 1)
	if err != nil || !bytes.HasPrefix(b[s:e], []byte("5 0 obj")) || !bytes.HasSuffix(b[s:e], []byte("endobj")) {
		t.Errorf("ObjectSpan = %q, %v", b[s:e], err)
	}
	s, e, err = f.ObjectSpan(Ref{6, 0}, 1)
	if err != nil || !bytes.HasPrefix(b[s:e], []byte("6 0 obj")) || !bytes.HasSuffix(b[s:e], []byte("endstream\nendobj")) {
		t.Errorf("ObjectSpan of stream = %q, %v", b[s:e], err)
	}
}

func deflate(b []byte) []byte {
	var out bytes.Buffer
	z := zlib.NewWriter(&out)
	z.Write(b)
	z.Close()
	return out.Bytes()
}

func TestStreamReader(t *testing.T) {
	big := bytes.Repeat([]byte("A"), 5000)
	tests := []struct {
		name    string
		dict    string
		data    []byte
		want    string
		wantErr error
	}{
		{"raw", "", []byte("plain"), "plain", nil},
		{"flate", "/Filter /FlateDecode", deflate([]byte("hello flate")), "hello flate", nil},
		{"flate in array", "/Filter [/FlateDecode]", deflate([]byte("x")), "x", nil},
		{"png sub predictor", "/Filter /FlateDecode /DecodeParms << /Predictor 11 /Columns 3 >>",
			deflate([]byte{1, 1, 1, 1, 1, 2, 3, 4}), "\x01\x02\x03\x02\x05\x09", nil},
		{"png paeth predictor", "/Filter /FlateDecode /DecodeParms << /Predictor 14 /Columns 2 >>",
			deflate([]byte{0, 5, 6, 4, 1, 1}), "\x05\x06\x06\x07", nil},
		{"tiff predictor", "/Filter /FlateDecode /DecodeParms << /Predictor 2 /Columns 3 >>",
			deflate([]byte{1, 1, 1}), "\x01\x02\x03", nil},
		{"ascii hex", "/Filter /ASCIIHexDecode", []byte("48 69>"), "Hi", nil},
		{"ascii85", "/Filter /A85", []byte("87cURD]i,\"Ebo80~>"), "Hello World!", nil},
		{"hex then flate", "/Filter [/AHx /Fl]", []byte(fmt.Sprintf("%X>", deflate([]byte("chain")))), "chain", nil},
		{"unknown filter", "/Filter /JBIG2Decode", []byte("x"), "", ErrUnsupported},
		{"corrupt flate", "/Filter /FlateDecode", []byte("not zlib at all"), "", ErrMalformed},
		{"bad png row type", "/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 1 >>",
			deflate([]byte{9, 1}), "", ErrMalformed},
		{"over the size limit", "/Filter /FlateDecode", deflate(big), "", ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := pdftest.OnePage("")
			w.Stream(5, tt.dict, tt.data)
			w.EndRevision(pdftest.Section{})
			f := open(t, w.Bytes(), &Options{MaxStreamSize: 4096})
			s, ok := mustObject(t, f, Ref{5, 0}, 1).(*Stream)
			if !ok {
				t.Fatal("not a stream")
			}
			raw, err := f.StreamReader(s, false)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := io.ReadAll(raw); !bytes.Equal(got, tt.data) {
				t.Errorf("raw data differs: %q", got)
			}
			r, err := f.StreamReader(s, true)
			var got []byte
			if err == nil {
				got, err = io.ReadAll(r)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("decoded %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestStreamLength(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"indirect length", "<< /Length 6 0 R >>\nstream\nabcdef\nendstream", "abcdef"},
		{"wrong length", "<< /Length 2 >>\nstream\nabcdef\nendstream", "abcdef"},
		{"missing length", "<< >>\nstream\r\nabc\r\nendstream", "abc"},
		{"self-referencing length", "<< /Length 5 0 R >>\nstream\nxyz\nendstream", "xyz"},
		{"length past the end of file", "<< /Length 99999999 >>\nstream\nxyz\nendstream", "xyz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := pdftest.OnePage("")
			w.Object(5, tt.body)
			w.Object(6, "6")
			w.EndRevision(pdftest.Section{})
			f := open(t, w.Bytes(), nil)
			s, ok := mustObject(t, f, Ref{5, 0}, 1).(*Stream)
			if !ok {
				t.Fatal("not a stream")
			}
			r, err := f.StreamReader(s, false)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := io.ReadAll(r); string(got) != tt.want {
				t.Errorf("data %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEncryptedOpens(t *testing.T) {
	w := pdftest.New()
	w.Object(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.Object(2, "<< /Type /Pages /Kids [] /Count 0 >>")
	w.Object(3, "<< /Filter /Standard /V 2 /R 3 /O <00> /U <00> /P -4 >>")
	w.EndRevision(pdftest.Section{Trailer: "/Encrypt 3 0 R"})
	f := open(t, w.Bytes(), nil)
	if !f.Encrypted() {
		t.Error("Encrypted() = false")
	}
}

func TestLimits(t *testing.T) {
	w, _ := threeRevisions()
	t.Run("max objects", func(t *testing.T) {
		// Too small for the cross-reference data: Open falls back to the
		// scan, which is itself truncated; it must neither fail hard nor
		// hang.
		f, err := Open(bytes.NewReader(w.Bytes()), int64(len(w.Bytes())), &Options{MaxObjects: 3})
		if err == nil && !f.Repaired() {
			t.Error("expected a repaired file or an error")
		}
	})
	t.Run("max depth", func(t *testing.T) {
		v := pdftest.OnePage("")
		v.Object(5, strings.Repeat("[", 20)+strings.Repeat("]", 20))
		v.EndRevision(pdftest.Section{})
		f := open(t, v.Bytes(), &Options{MaxDepth: 10})
		if _, err := f.Object(Ref{5, 0}, 1); !errors.Is(err, ErrLimit) {
			t.Errorf("deep object: %v, want ErrLimit", err)
		}
	})
}

func generated(revs, objsPerRev int) []byte {
	w := pdftest.OnePage("BT (bench) Tj ET")
	for r := range revs {
		for k := range objsPerRev {
			num := 10 + k
			if r%2 == 0 {
				w.Object(num, fmt.Sprintf("<< /Rev %d /K %d /Arr [1 2 3 (abc)] >>", r, k))
			} else {
				w.Compressed(num, fmt.Sprintf("<< /Rev %d /K %d >>", r, k))
			}
		}
		w.EndRevision(pdftest.Section{XRefStream: r%2 == 1, Compress: true})
	}
	return w.Bytes()
}

func TestGeneratedManyRevisions(t *testing.T) {
	b := generated(6, 20)
	f := open(t, b, nil)
	if len(f.Revisions()) != 7 {
		t.Fatalf("%d revisions", len(f.Revisions()))
	}
	for rev := 1; rev < 7; rev++ {
		d, _ := mustObject(t, f, Ref{15, 0}, rev).(Dict)
		if d["Rev"] != int64(rev-1) {
			t.Errorf("object 15 at rev %d = %v", rev, d)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	data := generated(20, 200)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Open(bytes.NewReader(data), int64(len(data)), nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Catalog(len(f.Revisions()) - 1); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPrevZeroReconstructs(t *testing.T) {
	// A last trailer with /Prev 0 (seen in real files) breaks the chain:
	// every revision must still be found.
	w, ends := threeRevisions()
	w.Object(5, "<< /Note (rev3) >>")
	w.EndRevision(pdftest.Section{})
	b := w.Bytes()
	i := bytes.LastIndex(b, []byte("/Prev "))
	j := i + bytes.IndexByte(b[i:], '>')
	b = bytes.Join([][]byte{b[:i], []byte("/Prev 0 "), b[j:]}, nil)
	f := open(t, b, nil)
	if !f.Repaired() {
		t.Error("Repaired() = false")
	}
	if got := len(f.Revisions()); got != len(ends)+1 {
		t.Fatalf("%d revisions, want %d", got, len(ends)+1)
	}
	for k, want := range []string{"", "rev1", "rev2", "rev3"} {
		d, _ := mustObject(t, f, Ref{5, 0}, k).(Dict)
		if s, _ := d["Note"].(String); string(s) != want {
			t.Errorf("object 5 at revision %d = %q, want %q", k, s, want)
		}
	}
}

func TestTrailingUpdateWithoutXref(t *testing.T) {
	// Objects appended after the last %%EOF without cross-reference data
	// form one more (reconstructed) revision.
	w, ends := threeRevisions()
	w.Raw("4 0 obj\n<< /Length 5 >>\nstream\nevil!\nendstream\nendobj\n")
	f := open(t, w.Bytes(), nil)
	revs := f.Revisions()
	if len(revs) != len(ends)+1 || !f.Repaired() {
		t.Fatalf("%d revisions (want %d), repaired %v", len(revs), len(ends)+1, f.Repaired())
	}
	last := revs[len(revs)-1]
	if last.XrefOffset != -1 || last.End != int64(len(w.Bytes())) {
		t.Errorf("trailing revision XrefOffset %d End %d", last.XrefOffset, last.End)
	}
	if revs[len(ends)-1].End != ends[len(ends)-1] {
		t.Errorf("indexed revisions changed: End %d, want %d", revs[len(ends)-1].End, ends[len(ends)-1])
	}
	s, ok := mustObject(t, f, Ref{4, 0}, last.Index).(*Stream)
	if !ok || s.Length != 5 {
		t.Errorf("object 4 in the trailing revision = %v", s)
	}
}

// TestConcurrentUse reads objects from many goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	f := open(t, generated(4, 30), nil)
	last := len(f.Revisions()) - 1
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for k := range 200 {
				if _, err = f.Object(Ref{10 + (k+g)%30, 0}, last); err != nil {
					break
				}
				f.Repaired()
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
