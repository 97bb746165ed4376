package archive_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"sync"
	"testing"

	"github.com/keiyaku/keiyaku/internal/testpki"
)

// Batch sealing of 10,000 files of 50 KB: BenchmarkSealBatch10000 hashes
// them (SHA-256, GOMAXPROCS workers), builds one hash tree, gets one
// timestamp from the local TSA and writes the 10,000 DER records;
// BenchmarkSHA256Floor10000 only hashes them the same way, the floor.
// Compare the two in one run:
//
//	go test ./archive -run XXX -bench 'SealBatch10000|SHA256Floor10000' -benchtime 5x -cpu 2
const (
	batchFiles    = 10000
	batchFileSize = 50 << 10
)

// hashFiles hashes batchFiles files of batchFileSize bytes (a shared body
// with the file's number in front) on GOMAXPROCS workers.
func hashFiles(body []byte) [][]byte {
	out := make([][]byte, batchFiles)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			h := sha256.New()
			var num [8]byte
			for i := w; i < batchFiles; i += workers {
				h.Reset()
				binary.BigEndian.PutUint64(num[:], uint64(i))
				h.Write(num[:])
				h.Write(body[8:])
				out[i] = h.Sum(nil)
			}
		})
	}
	wg.Wait()
	return out
}

func BenchmarkSHA256Floor10000(b *testing.B) {
	body := make([]byte, batchFileSize)
	b.SetBytes(batchFiles * batchFileSize)
	for b.Loop() {
		hashFiles(body)
	}
}

func BenchmarkSealBatch10000(b *testing.B) {
	p := testpki.New(b)
	s := newService(b, p, p.TSA, testpki.Now, nil)
	body := make([]byte, batchFileSize)
	b.SetBytes(batchFiles * batchFileSize)
	var size int
	for b.Loop() {
		recs, err := s.SealDigests(context.Background(), hashFiles(body))
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) != batchFiles {
			b.Fatalf("%d records", len(recs))
		}
		size = len(recs[0])
	}
	b.ReportMetric(float64(size), "record-bytes")
}

// BenchmarkSealDigests10000 is the part of BenchmarkSealBatch10000 beyond
// hashing: the tree, the timestamp and the 10,000 records.
func BenchmarkSealDigests10000(b *testing.B) {
	p := testpki.New(b)
	s := newService(b, p, p.TSA, testpki.Now, nil)
	digests := hashFiles(make([]byte, batchFileSize))
	for b.Loop() {
		if _, err := s.SealDigests(context.Background(), digests); err != nil {
			b.Fatal(err)
		}
	}
}
