package archive_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// BenchmarkStampFile stamps a 1 MiB file with the local TSA.
func BenchmarkStampFile(b *testing.B) {
	p := testpki.New(b)
	s := newService(b, p, p.TSA, testpki.Now, nil)
	file := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := s.StampFile(context.Background(), bytes.NewReader(file)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealPDF seals a B-T contract (DSS from embedded data, document
// timestamp from the local TSA; the OCSP responder is on loopback).
func BenchmarkSealPDF(b *testing.B) {
	p := testpki.New(b)
	s := newService(b, p, p.TSA, testpki.Now, nil)
	signed := signedContract(b, p, signature.LevelBT)
	b.SetBytes(int64(len(signed)))
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		if err := s.SealPDF(context.Background(), bytes.NewReader(signed), int64(len(signed)), &out); err != nil {
			b.Fatal(err)
		}
	}
}
