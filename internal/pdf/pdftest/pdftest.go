// Package pdftest builds small PDF files in memory for tests: a one-page
// document and incremental updates to it, with classic cross-reference
// tables, cross-reference streams (optionally Flate-compressed with a PNG
// predictor) and object streams. It writes exactly the bytes it is given,
// so tests can also build malformed files.
package pdftest

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"slices"
	"strings"
)

// Writer accumulates a PDF file. Objects written since the last
// EndRevision belong to the revision that the next EndRevision closes.
type Writer struct {
	buf        bytes.Buffer
	offsets    map[int]int64 // direct objects of the open revision
	free       map[int]int   // freed numbers -> next generation
	compressed []compObj
	size       int
	prev       int64
	// Root is the trailer's /Root value; "1 0 R" by default.
	Root string
}

type compObj struct {
	num  int
	body string
}

// New returns a Writer that has written a PDF 1.7 header.
func New() *Writer {
	w := &Writer{offsets: map[int]int64{}, free: map[int]int{}, prev: -1, size: 1, Root: "1 0 R"}
	w.buf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	return w
}

// OnePage returns a Writer holding a complete one-page document (catalog
// 1, pages 2, page 3, content stream 4 with the given content operators)
// closed with a classic cross-reference table.
func OnePage(content string) *Writer {
	w := New()
	w.Object(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.Object(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	w.Object(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>")
	w.Stream(4, "", []byte(content))
	w.EndRevision(Section{})
	return w
}

func (w *Writer) use(num int) {
	if num+1 > w.size {
		w.size = num + 1
	}
}

// NextNum returns the lowest object number not used so far.
func (w *Writer) NextNum() int { return w.size }

// Len returns the number of bytes written so far.
func (w *Writer) Len() int64 { return int64(w.buf.Len()) }

// Object writes "num 0 obj body endobj".
func (w *Writer) Object(num int, body string) {
	w.use(num)
	w.offsets[num] = w.Len()
	delete(w.free, num)
	fmt.Fprintf(&w.buf, "%d 0 obj\n%s\nendobj\n", num, body)
}

// Stream writes a stream object whose dictionary holds dict (extra
// entries, without << >>) and a correct /Length.
func (w *Writer) Stream(num int, dict string, data []byte) {
	w.use(num)
	w.offsets[num] = w.Len()
	delete(w.free, num)
	fmt.Fprintf(&w.buf, "%d 0 obj\n<< %s /Length %d >>\nstream\n", num, dict, len(data))
	w.buf.Write(data)
	w.buf.WriteString("\nendstream\nendobj\n")
}

// Compressed queues an object for an object stream written by the next
// EndRevision, which then always writes a cross-reference stream.
func (w *Writer) Compressed(num int, body string) {
	w.use(num)
	w.compressed = append(w.compressed, compObj{num, body})
}

// Free marks num free in the next cross-reference section, with next
// generation 1.
func (w *Writer) Free(num int) { w.free[num] = 1 }

// Raw appends bytes as they are.
func (w *Writer) Raw(s string) { w.buf.WriteString(s) }

// Bytes returns the file so far (not a copy).
func (w *Writer) Bytes() []byte { return w.buf.Bytes() }

// Section says how EndRevision writes the cross-reference section.
type Section struct {
	// XRefStream writes a cross-reference stream instead of a table.
	XRefStream bool
	// Compress Flate-compresses the cross-reference stream with the PNG
	// Up predictor.
	Compress bool
	// Trailer holds extra trailer entries, e.g. "/Info 9 0 R".
	Trailer string
	// NoEOL omits the end-of-line after %%EOF.
	NoEOL bool
}

type xrefRow struct {
	num    int
	typ    int
	field2 int64
	field3 int
}

// EndRevision writes the pending object stream (if any), the
// cross-reference section, trailer, startxref and %%EOF, and returns the
// offset just past %%EOF and its EOL.
func (w *Writer) EndRevision(s Section) int64 {
	var rows []xrefRow
	if w.prev < 0 {
		rows = append(rows, xrefRow{0, 0, 0, 65535})
	}
	if len(w.compressed) > 0 {
		// Object streams can only be indexed by a cross-reference stream.
		s.XRefStream = true
		stm := w.size
		w.use(stm)
		var hdr, body strings.Builder
		for i, c := range w.compressed {
			fmt.Fprintf(&hdr, "%d %d ", c.num, body.Len())
			body.WriteString(c.body)
			body.WriteString("\n")
			rows = append(rows, xrefRow{c.num, 2, int64(stm), i})
		}
		data := hdr.String() + body.String()
		w.Stream(stm, fmt.Sprintf("/Type /ObjStm /N %d /First %d /Filter /FlateDecode", len(w.compressed), hdr.Len()), deflate([]byte(data)))
		w.compressed = nil
	}
	for num, off := range w.offsets {
		rows = append(rows, xrefRow{num, 1, off, 0})
	}
	for num, gen := range w.free {
		rows = append(rows, xrefRow{num, 0, 0, gen})
	}
	trailer := fmt.Sprintf("/Root %s", w.Root)
	if w.prev >= 0 {
		trailer += fmt.Sprintf(" /Prev %d", w.prev)
	}
	if s.Trailer != "" {
		trailer += " " + s.Trailer
	}
	xrefOff := w.Len()
	if s.XRefStream {
		num := w.size
		w.use(num)
		rows = append(rows, xrefRow{num, 1, xrefOff, 0})
		slices.SortFunc(rows, func(a, b xrefRow) int { return a.num - b.num })
		var data []byte
		var index []string
		for i, r := range rows {
			if i == 0 || rows[i-1].num != r.num-1 {
				index = append(index, fmt.Sprintf("%d 0", r.num))
			}
			last := &index[len(index)-1]
			var start, n int
			fmt.Sscanf(*last, "%d %d", &start, &n)
			*last = fmt.Sprintf("%d %d", start, n+1)
			data = append(data, byte(r.typ), byte(r.field2>>24), byte(r.field2>>16), byte(r.field2>>8), byte(r.field2), byte(r.field3>>8), byte(r.field3))
		}
		dict := fmt.Sprintf("/Type /XRef /Size %d /W [1 4 2] /Index [%s] %s", w.size, strings.Join(index, " "), trailer)
		if s.Compress {
			data = deflate(pngUp(data, 7))
			dict += " /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 7 >>"
		}
		w.Stream(num, dict, data)
	} else {
		slices.SortFunc(rows, func(a, b xrefRow) int { return a.num - b.num })
		w.buf.WriteString("xref\n")
		for i := 0; i < len(rows); {
			j := i + 1
			for j < len(rows) && rows[j].num == rows[j-1].num+1 {
				j++
			}
			fmt.Fprintf(&w.buf, "%d %d\n", rows[i].num, j-i)
			for _, r := range rows[i:j] {
				kind := "n"
				if r.typ == 0 {
					kind = "f"
				}
				fmt.Fprintf(&w.buf, "%010d %05d %s\r\n", r.field2, r.field3, kind)
			}
			i = j
		}
		fmt.Fprintf(&w.buf, "trailer\n<< /Size %d %s >>\n", w.size, trailer)
	}
	fmt.Fprintf(&w.buf, "startxref\n%d\n%%%%EOF", xrefOff)
	if !s.NoEOL {
		w.buf.WriteString("\n")
	}
	w.prev = xrefOff
	w.offsets = map[int]int64{}
	w.free = map[int]int{}
	return w.Len()
}

func deflate(b []byte) []byte {
	var out bytes.Buffer
	z := zlib.NewWriter(&out)
	z.Write(b)
	z.Close()
	return out.Bytes()
}

// pngUp applies the PNG "Up" filter to rows of cols bytes.
func pngUp(b []byte, cols int) []byte {
	var out []byte
	prev := make([]byte, cols)
	for i := 0; i+cols <= len(b); i += cols {
		out = append(out, 2)
		for k := range cols {
			out = append(out, b[i+k]-prev[k])
		}
		copy(prev, b[i:i+cols])
	}
	return out
}
