package pdftest_test

import (
	"bytes"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
)

// TestReplacePageContent: the result keeps every byte of the input, adds
// one revision, and that revision's page content is the new text.
func TestReplacePageContent(t *testing.T) {
	in := pdftest.OnePage("BT /F1 12 Tf 72 720 Td (original) Tj ET").Bytes()
	out, err := pdftest.ReplacePageContent(in, "changed")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, in) {
		t.Fatal("the input is not kept as the prefix")
	}
	f, err := pdf.Open(bytes.NewReader(out), int64(len(out)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Revisions()); n != 2 {
		t.Fatalf("%d revisions, want 2", n)
	}
	if !bytes.Contains(out[len(in):], []byte("(changed) Tj")) {
		t.Error("the update does not carry the new content")
	}
	if _, err := pdftest.ReplacePageContent([]byte("not a PDF"), "x"); err == nil {
		t.Error("a file without startxref was accepted")
	}
}
