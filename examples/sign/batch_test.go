package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// checkSigned asserts that path holds a PDF whose signatures all pass
// under p's root.
func checkSigned(t *testing.T, p *testpki.PKI, path string, signatures int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := signature.Validate(context.Background(), bytes.NewReader(b), int64(len(b)), &signature.ValidateOptions{
		At: testpki.Now, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationOff,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Passed || len(rep.Signatures) != signatures {
		t.Fatalf("%s: passed=%v, %d signatures, want %d", path, rep.Passed, len(rep.Signatures), signatures)
	}
}

// TestBatch signs a directory and a list in one run: the good files are
// signed, each bad one (not a PDF, missing, a name clash) is named in the
// summary with its reason, and the run exits 1 without stopping early.
func TestBatch(t *testing.T) {
	p := testpki.New(t)
	src := t.TempDir()
	for _, n := range []string{"a.pdf", "b.pdf", "c.PDF", "d.pdf", "e.pdf"} {
		if err := os.WriteFile(filepath.Join(src, n), pdftest.OnePage("BT ET").Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "broken.pdf"), []byte("not a pdf"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "notes.txt"), []byte("ignored"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "f.pdf"), pdftest.OnePage("BT ET").Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "a.pdf"), pdftest.OnePage("BT ET").Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(other, "list.txt")
	missing := filepath.Join(other, "missing.pdf")
	if err := os.WriteFile(list, []byte("# contracts\n"+filepath.Join(other, "f.pdf")+"\n"+missing+"\n"+filepath.Join(other, "a.pdf")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := p.WritePEM(t, t.TempDir(), p.ECDSAP256)
	out := filepath.Join(t.TempDir(), "signed")

	var stdout, stderr bytes.Buffer
	got := run(context.Background(), []string{"-key", key.Key, "-cert", key.Cert, "-chain", key.Chain,
		"-out-dir", out, "-jobs", "3", src, "@" + list}, &stdout, &stderr)
	if got != 1 {
		t.Fatalf("exit %d, want 1; stdout:\n%s\nstderr:\n%s", got, stdout.String(), stderr.String())
	}
	for _, n := range []string{"a.pdf", "b.pdf", "c.PDF", "d.pdf", "e.pdf", "f.pdf"} {
		checkSigned(t, p, filepath.Join(out, n), 1)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 6 {
		t.Fatalf("%d files in the output directory, want the 6 signed ones", len(ents))
	}
	s := stdout.String()
	if !strings.Contains(s, "summary: 6 of 9 files signed") || !strings.Contains(s, "3 failed") {
		t.Fatalf("summary:\n%s", s)
	}
	for _, f := range []string{filepath.Join(src, "broken.pdf"), missing, filepath.Join(other, "a.pdf")} {
		if !strings.Contains(s, "FAILED "+f+": ") {
			t.Errorf("summary does not name %s:\n%s", f, s)
		}
	}
	if strings.Count("\n"+s, "\nsigned ") != 6 || !strings.Contains(stderr.String(), "9/9") {
		t.Fatalf("per-file report or progress missing:\nstdout:\n%s\nstderr:\n%s", s, stderr.String())
	}

	t.Run("all good", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "signed")
		var stdout, stderr bytes.Buffer
		if got := run(context.Background(), []string{"-key", key.Key, "-cert", key.Cert, "-out-dir", out, filepath.Join(other, "f.pdf")}, &stdout, &stderr); got != 0 {
			t.Fatalf("exit %d; stderr:\n%s", got, stderr.String())
		}
		checkSigned(t, p, filepath.Join(out, "f.pdf"), 1)
	})
	t.Run("nothing to sign", func(t *testing.T) {
		if got := run(context.Background(), []string{"-key", key.Key, "-cert", key.Cert, "-out-dir", t.TempDir(), t.TempDir()}, &bytes.Buffer{}, &bytes.Buffer{}); got != 2 {
			t.Fatalf("exit %d, want 2", got)
		}
	})
	t.Run("input inside out-dir", func(t *testing.T) {
		var stdout bytes.Buffer
		if got := run(context.Background(), []string{"-key", key.Key, "-cert", key.Cert, "-out-dir", other, filepath.Join(other, "f.pdf")}, &stdout, &bytes.Buffer{}); got != 1 {
			t.Fatalf("exit %d, want 1", got)
		}
		if b, err := os.ReadFile(filepath.Join(other, "f.pdf")); err != nil || !bytes.Equal(b, pdftest.OnePage("BT ET").Bytes()) {
			t.Fatalf("the original was changed (%v)", err)
		}
	})
}
