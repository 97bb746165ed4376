package pdftest

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

var (
	startxrefRE = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)
	sizeRE      = regexp.MustCompile(`/Size\s+(\d+)`)
)

// ReplacePageContent returns in followed by an incremental update that
// replaces the content stream of OnePage's page (object 4) with one
// showing text: what a reader sees changes while every earlier byte stays
// as it was — the tampered return the service must refuse. in must end
// with a classic cross-reference section (as OnePage and signing write).
func ReplacePageContent(in []byte, text string) ([]byte, error) {
	m := startxrefRE.FindSubmatch(in)
	sizes := sizeRE.FindAllSubmatch(in, -1)
	if m == nil || len(sizes) == 0 {
		return nil, errors.New("pdftest.ReplacePageContent: no startxref or /Size in the input")
	}
	prev, _ := strconv.Atoi(string(m[1]))
	size, _ := strconv.Atoi(string(sizes[len(sizes)-1][1]))
	var b bytes.Buffer
	b.Write(in)
	if in[len(in)-1] != '\n' {
		b.WriteByte('\n')
	}
	off := b.Len()
	content := "BT /F1 12 Tf 72 720 Td (" + text + ") Tj ET"
	fmt.Fprintf(&b, "4 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(content), content)
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n4 1\n%010d 00000 n\r\ntrailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", off, size, prev, xref)
	return b.Bytes(), nil
}
