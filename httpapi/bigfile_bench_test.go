package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/casework"
)

// bigPDF is a one-page PDF padded to about size bytes with a comment
// line in its content stream.
func bigPDF(size int) []byte {
	pad := size - 1024
	return contract("big" + ") Tj ET % " + strings.Repeat("x", pad) + "\nBT (")
}

// peakHeap samples the heap in use every millisecond until stop is
// closed and returns the highest value seen.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkLargeDocument registers (send-only, so unsigned), downloads
// and statelessly verifies a contract PDF at the size limit
// (casework.MaxDocumentSize, 20 MiB; the service accepts nothing larger,
// so the 100 MB case is answered 413) over loopback HTTP, and
// reports the peak growth of the Go heap in use (client and server share
// the process, so it counts both) over the heap before: the streams must
// not hold the file.
func BenchmarkLargeDocument(b *testing.B) {
	e := newEnv(b)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	c := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	doc := bigPDF(casework.MaxDocumentSize - 4096)
	nc := fmt.Sprintf(`{"form":"send-only","name":"big","transaction_date":"2026-01-01","amount":{"amount":"1","currency":"JPY"},"parties":[{"company_id":%q,"company_name":%q,"user_id":%q}]}`,
		c.p.CompanyID, c.company, c.p.UserID)
	ct, body := multipartBody(b, part{name: "case", ctype: "application/json", body: []byte(nc)},
		part{name: "contract", file: "big.pdf", ctype: "application/pdf", body: doc})
	reqBody := body.Bytes()
	key := sha(doc)
	do := func(method, path, token, ctype string, body io.Reader, want int) int64 {
		req, _ := http.NewRequest(method, e.srv.URL+path, body)
		req.Header.Set("Authorization", "Bearer "+token)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		n, _ := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != want {
			b.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
		return n
	}
	do("POST", "/v1/cases", a.token, ct, bytes.NewReader(reqBody), 201)
	id := latestCase(b, e, a)
	for _, step := range []struct {
		name string
		run  func()
	}{
		{"register", func() { do("POST", "/v1/cases", a.token, ct, bytes.NewReader(reqBody), 201) }},
		{"download", func() {
			if n := do("GET", "/v1/cases/"+id+"/documents/"+key, c.token, "", nil, 200); n != int64(len(doc)) {
				b.Fatalf("downloaded %d bytes, want %d", n, len(doc))
			}
		}},
		{"verify", func() { do("POST", "/v1/verify", a.token, "application/pdf", bytes.NewReader(doc), 200) }},
	} {
		b.Run(step.name, func(b *testing.B) {
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			stop := make(chan struct{})
			peak := peakHeap(stop)
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				// The request bodies are readers over bytes the
				// benchmark holds already (counted in "before").
				step.run()
			}
			b.StopTimer()
			close(stop)
			b.ReportMetric((float64(<-peak)-float64(before.HeapInuse))/(1<<20), "peak-heap-growth-MiB")
		})
	}
}

func latestCase(b *testing.B, e *env, u *user) string {
	b.Helper()
	r, err := u.c.SearchCasesWithResponse(e.ctx, nil)
	if err != nil || r.JSON200 == nil || len(r.JSON200.Cases) == 0 {
		b.Fatalf("search: %v", err)
	}
	return r.JSON200.Cases[len(r.JSON200.Cases)-1].Id
}
