package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
)

// onePagePDF returns a minimal one-page PDF (ISO 32000-2 §7.5: header,
// objects 1-5, a classic cross-reference table, trailer) showing text. A
// real embedder gets its contract PDFs from a word processor; the example
// only needs something to sign.
func onePagePDF(text string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	content := fmt.Sprintf("BT /F1 14 Tf 72 720 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

var (
	startxrefRE = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)
	sizeRE      = regexp.MustCompile(`/Size\s+(\d+)`)
)

// rewriteText appends an incremental update (ISO 32000-2 §7.5.6) that
// replaces the page content of onePagePDF's object 4: what a dishonest
// counterparty might do to change the contract before signing it. Every
// earlier byte stays, so only the signature package's modification
// detection can tell.
func rewriteText(in []byte, text string) ([]byte, error) {
	m := startxrefRE.FindSubmatch(in)
	sizes := sizeRE.FindAllSubmatch(in, -1)
	if m == nil || len(sizes) == 0 {
		return nil, fmt.Errorf("rewriteText: not a PDF with a classic cross-reference table")
	}
	prev, _ := strconv.Atoi(string(m[1]))
	size, _ := strconv.Atoi(string(sizes[len(sizes)-1][1]))
	var b bytes.Buffer
	b.Write(in)
	off := b.Len()
	content := fmt.Sprintf("BT /F1 14 Tf 72 720 Td (%s) Tj ET", text)
	fmt.Fprintf(&b, "4 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(content), content)
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n4 1\n%010d 00000 n\r\ntrailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", off, size, prev, xref)
	return b.Bytes(), nil
}
