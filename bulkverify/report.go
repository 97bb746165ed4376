package bulkverify

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// CSVWriter writes the report as CSV (RFC 4180, UTF-8): a header line, a
// line per row, then the totals as lines whose first field is "#".
type CSVWriter struct {
	w      *csv.Writer
	header bool
}

// NewCSVWriter returns a CSVWriter on w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{w: csv.NewWriter(w)} }

var csvHeader = []string{"case_id", "case_name", "completed", "file", "kind", "object", "time", "signer", "result", "reason"}

// Row writes one row.
func (c *CSVWriter) Row(r *Row) error {
	if !c.header {
		c.header = true
		if err := c.w.Write(csvHeader); err != nil {
			return err
		}
	}
	return c.w.Write([]string{r.CaseID, r.CaseName, formatTime(r.Completed), r.File, r.Kind, r.Object, formatTime(r.Time), r.Signer, string(r.Result), r.Reason})
}

// Close writes the totals and flushes.
func (c *CSVWriter) Close(s *Summary) error {
	if !c.header {
		c.header = true
		if err := c.w.Write(csvHeader); err != nil {
			return err
		}
	}
	for _, kv := range summaryLines(s) {
		line := make([]string, len(csvHeader)) // every line has the same fields (RFC 4180 §2)
		line[0], line[1], line[2] = "#", kv[0], kv[1]
		if err := c.w.Write(line); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

func summaryLines(s *Summary) [][2]string {
	return [][2]string{
		{"company", s.CompanyID},
		{"completed_from", s.From},
		{"completed_to", s.To},
		{"verified_at", formatTime(s.At)},
		{"started", formatTime(s.Started)},
		{"finished", formatTime(s.Finished)},
		{"cases", strconv.Itoa(s.Cases)},
		{"objects", strconv.Itoa(s.Objects)},
		{"passed", strconv.Itoa(s.Passed)},
		{"failed", strconv.Itoa(s.Failed)},
		{"indeterminate", strconv.Itoa(s.Indeterminate)},
	}
}

// JSONWriter writes the report as one JSON object {"rows": [...],
// "summary": {...}}, streamed row by row.
type JSONWriter struct {
	w   *bufio.Writer
	n   int
	enc *json.Encoder
}

// NewJSONWriter returns a JSONWriter on w.
func NewJSONWriter(w io.Writer) *JSONWriter {
	bw := bufio.NewWriter(w)
	return &JSONWriter{w: bw, enc: json.NewEncoder(bw)}
}

// Row writes one row.
func (j *JSONWriter) Row(r *Row) error {
	sep := ",\n"
	if j.n == 0 {
		sep = "{\"rows\": [\n"
	}
	j.n++
	if _, err := j.w.WriteString(sep); err != nil {
		return err
	}
	return j.enc.Encode(r)
}

// Close writes the summary and flushes.
func (j *JSONWriter) Close(s *Summary) error {
	head := "],\n\"summary\": "
	if j.n == 0 {
		head = "{\"rows\": [],\n\"summary\": "
	}
	if _, err := j.w.WriteString(head); err != nil {
		return err
	}
	if err := j.enc.Encode(s); err != nil {
		return err
	}
	if _, err := j.w.WriteString("}\n"); err != nil {
		return err
	}
	return j.w.Flush()
}

// Tee is a Sink that feeds every sink in turn.
type Tee []Sink

// Row writes r to every sink.
func (t Tee) Row(r *Row) error {
	for _, s := range t {
		if err := s.Row(r); err != nil {
			return err
		}
	}
	return nil
}

// Close closes every sink.
func (t Tee) Close(sum *Summary) error {
	var errs []error
	for _, s := range t {
		errs = append(errs, s.Close(sum))
	}
	return errors.Join(errs...)
}

// PDFWriter writes the report as a PDF a person can read: A4 landscape
// pages with a table of rows and a last page of totals. It is written by
// hand (a page of text needs a dozen objects; no PDF library is among
// the module's dependencies) with the standard Helvetica font, so text
// outside ASCII is shown as \uXXXX. Pages are written as they fill, so
// memory stays flat.
type PDFWriter struct {
	w       *countingWriter
	offsets []int64 // object number - 1 -> offset
	pages   []int   // page object numbers
	page    bytes.Buffer
	rows    int
	title   string
	err     error
}

type countingWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Object numbers fixed in advance: the catalog, the page tree (written
// last, when its kids are known) and the two fonts.
const (
	objCatalog = 1
	objPages   = 2
	objFont    = 3
	objBold    = 4
	firstFree  = 5
)

const (
	pageW, pageH = 842, 595 // A4 landscape, points
	rowsPerPage  = 44
	fontSize     = 7
)

// NewPDFWriter returns a PDFWriter on w; title heads every page (ASCII).
func NewPDFWriter(w io.Writer, title string) *PDFWriter {
	p := &PDFWriter{w: &countingWriter{w: bufio.NewWriter(w)}, title: title}
	p.offsets = make([]int64, firstFree-1)
	io.WriteString(p.w, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	p.writeObj(objFont, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	p.writeObj(objBold, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	return p
}

func (p *PDFWriter) writeObj(num int, body string) {
	for len(p.offsets) < num {
		p.offsets = append(p.offsets, 0)
	}
	p.offsets[num-1] = p.w.n
	if _, err := fmt.Fprintf(p.w, "%d 0 obj\n%s\nendobj\n", num, body); err != nil && p.err == nil {
		p.err = err
	}
}

func (p *PDFWriter) newObj() int { p.offsets = append(p.offsets, 0); return len(p.offsets) }

// pdfText escapes s for a PDF literal string in WinAnsi: ASCII as is,
// anything else as \uXXXX, about max characters shown.
func pdfText(s string, max int) string {
	var b strings.Builder
	n := 0 // characters shown
	for _, r := range s {
		if n >= max {
			b.WriteString("...")
			break
		}
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r == utf8.RuneError:
			b.WriteByte('?')
		default:
			fmt.Fprintf(&b, "\\\\u%04X", r)
			n += 5
		}
		n++
	}
	return b.String()
}

var columns = []struct {
	name string
	x    int
	max  int
}{
	{"Case", 30, 14}, {"Name", 95, 22}, {"File", 190, 22}, {"Kind", 290, 18}, {"Object", 365, 24},
	{"Time (UTC)", 470, 20}, {"Result", 550, 13}, {"Reason", 605, 60},
}

func (p *PDFWriter) text(x, y int, font int, s string) {
	f := "F1"
	if font == objBold {
		f = "F2"
	}
	fmt.Fprintf(&p.page, "BT /%s %d Tf %d %d Td (%s) Tj ET\n", f, fontSize, x, y, s)
}

func (p *PDFWriter) startPage() {
	p.page.Reset()
	p.text(30, pageH-30, objBold, pdfText(p.title, 120))
	fmt.Fprintf(&p.page, "BT /F1 %d Tf %d %d Td (page %d) Tj ET\n", fontSize, pageW-80, pageH-30, len(p.pages)+1)
	for _, c := range columns {
		p.text(c.x, pageH-50, objBold, c.name)
	}
	p.page.WriteString("0.5 w 30 540 m 812 540 l S\n")
}

// Row adds one row to the table.
func (p *PDFWriter) Row(r *Row) error {
	if p.rows%rowsPerPage == 0 {
		if p.rows > 0 {
			p.flushPage()
		}
		p.startPage()
	}
	y := pageH - 65 - (p.rows%rowsPerPage)*11
	id := r.CaseID
	if len(id) > 12 {
		id = id[:12]
	}
	vals := []string{id, r.CaseName, r.File, r.Kind, r.Object, formatTime(r.Time), string(r.Result), r.Reason}
	for i, c := range columns {
		font := objFont
		if i == 6 && r.Result != Passed {
			font = objBold
		}
		p.text(c.x, y, font, pdfText(vals[i], c.max))
	}
	p.rows++
	return p.err
}

func (p *PDFWriter) flushPage() {
	content := p.newObj()
	p.writeObj(content, fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", p.page.Len(), p.page.String()))
	page := p.newObj()
	p.writeObj(page, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> /Contents %d 0 R >>",
		objPages, pageW, pageH, objFont, objBold, content))
	p.pages = append(p.pages, page)
}

// Close writes the totals page, the page tree, the catalog and the
// cross-reference table, and flushes.
func (p *PDFWriter) Close(s *Summary) error {
	if p.rows > 0 {
		p.flushPage()
	}
	p.page.Reset()
	p.text(30, pageH-30, objBold, pdfText(p.title+": totals", 120))
	for i, kv := range summaryLines(s) {
		p.text(30, pageH-60-i*14, objBold, kv[0])
		p.text(150, pageH-60-i*14, objFont, pdfText(kv[1], 80))
	}
	p.flushPage()
	var kids strings.Builder
	for _, k := range p.pages {
		fmt.Fprintf(&kids, "%d 0 R ", k)
	}
	p.writeObj(objPages, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), len(p.pages)))
	p.writeObj(objCatalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", objPages))
	xref := p.w.n
	fmt.Fprintf(p.w, "xref\n0 %d\n0000000000 65535 f \n", len(p.offsets)+1)
	for _, off := range p.offsets {
		fmt.Fprintf(p.w, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(p.w, "trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(p.offsets)+1, objCatalog, xref)
	if p.err != nil {
		return p.err
	}
	return p.w.w.Flush()
}
