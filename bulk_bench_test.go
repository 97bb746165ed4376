package keiyaku_test

import (
	"cloud.google.com/go/civil"
	"crypto/sha256"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/bulkverify"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// BenchmarkBulkVerification runs 一括検証 over completed cases on the
// embedded default (SQLite, blobs in files): each case a signed contract
// PDF of about 50 KB and a 50 KB supplementary file, i.e. 6 objects (two
// signatures, the document timestamp, the sealed PDF, two evidence
// records). It reports objects/s (the target: 2,000 on 2 cores) and the
// peak live heap during the run for 16 and 64 cases (flat in the number
// of cases), beside a floor measured in the same run: SHA-256 over the
// same bytes (BenchmarkBulkVerification/floor).
//
//	go test . -run XXX -bench BulkVerification -benchtime 3x -cpu 2
func BenchmarkBulkVerification(b *testing.B) {
	for _, n := range []int{16, 64} {
		b.Run(fmt.Sprintf("cases=%d", n), func(b *testing.B) { benchBulk(b, n) })
	}
}

// sizedContract is a one-page contract of about size bytes.
func sizedContract(name string, size int) []byte {
	line := "BT /F1 8 Tf 72 700 Td (" + name + ": terms and conditions) Tj ET\n"
	return contract(name + ") Tj ET\n" + strings.Repeat(line, size/len(line)) + "BT (end")
}

func benchBulk(b *testing.B, n int) {
	w := newWorld(b)
	a, c := w.m["A"], w.m["B"]
	var bytesTotal int64
	var blobs [][]byte
	for i := range n {
		doc := sizedContract(fmt.Sprintf("contract %d", i), 50<<10)
		file := strings.Repeat(fmt.Sprintf("supplementary %d ", i), 50<<10/20)
		cs := w.complete(w.registerWithFile(a, c, fmt.Sprintf("case %d", i), file), a, c)
		for _, f := range cs.Sealed {
			bytesTotal += f.Size
		}
		bytesTotal += int64(len(file))
		blobs = append(blobs, doc, []byte(file))
	}
	admin := account.Principal{UserID: a.P.UserID, CompanyID: a.P.CompanyID, Admin: true}
	req := &bulkverify.Request{CompletedFrom: civil.DateOf(testpki.Now.Add(-time.Hour)), CompletedTo: civil.DateOf(testpki.Now.Add(time.Hour))}
	var peak uint64
	var objects int
	b.SetBytes(bytesTotal)
	b.ResetTimer()
	for b.Loop() {
		s := &peakSink{}
		sum, err := w.svc.Bulk.Run(w.ctx, admin, req, s)
		if err != nil {
			b.Fatal(err)
		}
		if sum.Cases != n || sum.Passed != sum.Objects {
			b.Fatalf("summary %+v", sum)
		}
		objects = sum.Objects
		peak = max(peak, s.peak)
	}
	b.ReportMetric(float64(objects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	_ = blobs
}

// peakSink discards rows and samples the live heap every few rows.
type peakSink struct {
	rows int
	peak uint64
}

func (p *peakSink) Row(*bulkverify.Row) error {
	p.rows++
	if p.rows%16 == 0 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		p.peak = max(p.peak, m.HeapAlloc)
	}
	return nil
}

func (p *peakSink) Close(*bulkverify.Summary) error { return nil }

// BenchmarkBulkVerificationFloor hashes 64 cases' worth of bytes (a 50 KB
// sealed contract and a 50 KB file each, read twice as verification reads
// them) with SHA-256: what reading the objects costs at the least.
func BenchmarkBulkVerificationFloor(b *testing.B) {
	buf := make([]byte, 2*(60<<10+50<<10))
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		sha256.Sum256(buf)
	}
	b.ReportMetric(6*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}
