package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRun runs the example and checks that every step of both lifecycles
// happened, in order, and that the sealed originals verified.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, t.TempDir()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	steps := []string{
		"== 1:1 contract",
		"register+send: ", "receive: ", "send back: ", "resend: ", "receive: ",
		"tampered return refused: ", "changes page 1 of the contract beyond adding a signature",
		"return: ", "complete: ", "original check: agreement.sealed.pdf: TOTAL_PASSED at B-LTA",
		"original=true", "original check: statement-of-work.txt: original=true",
		"== three-party contract",
		"register+send: ", "receive: Betty Brown", "return: Betty Brown signed; the case is sent",
		"receive: 佐藤 花子", "return: 佐藤 花子 signed; the case is returned",
		"complete: ", "original check: joint.sealed.pdf: TOTAL_PASSED at B-LTA",
		"== search and CSV export", "search: ", "業務委託契約 / service agreement, 1000000 JPY",
		"export: 2 rows", "UTF-8 with BOM=true; header: id,form,state,",
		"== audit trail of case", "audit: #", "case.register", "case.complete",
		"audit chain: ", "10 notices wait in the outbox",
	}
	rest := got
	for _, s := range steps {
		i := strings.Index(rest, s)
		if i < 0 {
			t.Fatalf("output lacks %q after the earlier steps:\n%s", s, got)
		}
		rest = rest[i+len(s):]
	}
	if strings.Contains(got, "original=false") {
		t.Errorf("a file failed original verification:\n%s", got)
	}
}

// TestPDFHelpers: the hand-made PDF and its rewrite are well formed enough
// for the rewrite to find the cross-reference section, and the rewrite
// keeps every byte of its input.
func TestPDFHelpers(t *testing.T) {
	in := onePagePDF("hello")
	out, err := rewriteText(in, "bye")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, in) || !bytes.Contains(out[len(in):], []byte("(bye) Tj")) {
		t.Errorf("rewriteText did not append an update replacing the text")
	}
	if _, err := rewriteText([]byte("not a pdf"), "x"); err == nil {
		t.Error("rewriteText accepted a file without a cross-reference table")
	}
}

// FuzzRewriteText: any input either is refused or gains an update after
// its unchanged bytes; nothing panics.
func FuzzRewriteText(f *testing.F) {
	f.Add(onePagePDF("seed"), "x")
	f.Add([]byte("startxref\n99999999999999999999\n%%EOF"), "y")
	f.Add([]byte("/Size -1 startxref 0 %%EOF\n"), "")
	f.Fuzz(func(t *testing.T, in []byte, text string) {
		out, err := rewriteText(in, text)
		if err == nil && !bytes.HasPrefix(out, in) {
			t.Fatal("rewriteText changed its input bytes")
		}
	})
}
