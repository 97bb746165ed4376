package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// batchDocs writes n 50 KB one-page PDFs into a new directory.
func batchDocs(b *testing.B, n int) (string, [][]byte) {
	dir := b.TempDir()
	var docs [][]byte
	for i := range n {
		doc := pdftest.OnePage(fmt.Sprintf("%% contract %d ", i) + strings.Repeat("x", 50<<10) + "\nBT ET").Bytes()
		docs = append(docs, doc)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("c%04d.pdf", i)), doc, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return dir, docs
}

// benchBatch runs the batch tool over dir once per iteration into a fresh
// output directory and reports files per second.
func benchBatch(b *testing.B, n int, dir string, keyArgs ...string) {
	b.Helper()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		out := filepath.Join(b.TempDir(), fmt.Sprint(i))
		args := append(append([]string{}, keyArgs...), "-out-dir", out, "-jobs", "2", dir)
		if got := run(context.Background(), args, io.Discard, io.Discard); got != 0 {
			b.Fatalf("exit %d", got)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkBatch1000 signs 1,000 50 KB PDFs with the batch tool (files in
// and out, -jobs 2, ECDSA P-256 PEM key, B-B, the signature field read
// back from each output for the report), beside signature.Sign over the
// same documents in memory, two at a time, with the same key.
//
//	go test ./examples/sign -run '^$' -bench Batch1000 -benchtime 3x -cpu 2
func BenchmarkBatch1000(b *testing.B) {
	const n = 1000
	p := testpki.New(b)
	dir, docs := batchDocs(b, n)
	key := p.WritePEM(b, b.TempDir(), p.ECDSAP256)
	b.Run("tool/pem", func(b *testing.B) { benchBatch(b, n, dir, "-key", key.Key, "-cert", key.Cert, "-chain", key.Chain) })
	b.Run("copy-files", func(b *testing.B) {
		// The filesystem floor: each file read and written to a temporary
		// file renamed into place, as the tool does, with no signing.
		for i := 0; b.Loop(); i++ {
			out := filepath.Join(b.TempDir(), fmt.Sprint(i))
			if err := os.MkdirAll(out, 0o755); err != nil {
				b.Fatal(err)
			}
			ents, _ := os.ReadDir(dir)
			work := make(chan string)
			done := make(chan error, 2)
			for range 2 {
				go func() {
					var err error
					for name := range work {
						if err == nil {
							err = copyFile(filepath.Join(dir, name), out)
						}
					}
					done <- err
				}()
			}
			for _, e := range ents {
				work <- e.Name()
			}
			close(work)
			for range 2 {
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "files/s")
	})
	b.Run("signature.Sign/memory", func(b *testing.B) {
		opts := &signature.SignOptions{Signer: p.ECDSAP256.Key, Certificate: p.ECDSAP256.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert}}
		for b.Loop() {
			work := make(chan []byte)
			done := make(chan error, 2)
			for range 2 {
				go func() {
					var out bytes.Buffer
					for d := range work {
						out.Reset()
						if err := signature.Sign(context.Background(), bytes.NewReader(d), int64(len(d)), &out, opts); err != nil {
							done <- err
							for range work {
							}
							return
						}
					}
					done <- nil
				}()
			}
			for _, d := range docs {
				work <- d
			}
			close(work)
			for range 2 {
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "files/s")
	})
}

func copyFile(src, dir string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, ".sign-*.pdf")
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(out.Name(), filepath.Join(dir, filepath.Base(src)))
}
