package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/keiyaku/keiyaku/httpapi"
)

// BenchmarkHTTPLifecycle is the root package's BenchmarkLifecycle over
// loopback HTTP: per iteration a 1:1 contract is registered (multipart),
// received, its document downloaded, returned countersigned (multipart)
// and completed (sealed), each as a real request to the httpapi handler
// on the embedded default. Compare it with BenchmarkLifecycle in the same
// run:
//
//	go test -run '^$' -bench 'Lifecycle' . ./httpapi/
func BenchmarkHTTPLifecycle(b *testing.B) {
	for _, perCPU := range []int{1, 4} {
		b.Run(fmt.Sprintf("inflight=%d", perCPU*runtime.GOMAXPROCS(0)), func(b *testing.B) { benchHTTPLifecycle(b, perCPU) })
	}
}

func benchHTTPLifecycle(b *testing.B, perCPU int) {
	e := newEnv(b)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	c := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	type pair struct{ sent, returned []byte }
	docs := make([]pair, b.N)
	for i := range docs {
		doc := e.sign(a, contract(fmt.Sprintf("Contract %d: 1,000,000 JPY", i)))
		docs[i] = pair{doc, e.sign(c, doc)}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	// ifMatch is the If-Match a case action requires, from the case in
	// the previous answer.
	ifMatch := func(caseJSON []byte) string {
		var v struct {
			Version int64 `json:"version"`
		}
		if err := json.Unmarshal(caseJSON, &v); err != nil || v.Version == 0 {
			b.Fatalf("no case version in %s", caseJSON)
		}
		return fmt.Sprintf(`"v%d"`, v.Version)
	}
	do := func(method, path, token, ctype string, body io.Reader, want int, etag ...string) []byte {
		req, _ := http.NewRequest(method, e.srv.URL+path, body)
		req.Header.Set("Authorization", "Bearer "+token)
		if len(etag) > 0 {
			req.Header.Set("If-Match", etag[0])
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			b.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
		}
		return out
	}
	var next atomic.Int64
	b.SetParallelism(perCPU)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1) - 1
			d := docs[n]
			nc := fmt.Sprintf(`{"form":"bilateral","name":"bench %d","order_number":"PO","transaction_date":"2026-01-01","amount":{"amount":"1","currency":"JPY"},"parties":[{"company_id":%q,"company_name":%q,"user_id":%q}]}`,
				n, c.p.CompanyID, c.company, c.p.UserID)
			ct, body := multipartBody(b, part{name: "case", ctype: "application/json", body: []byte(nc)},
				part{name: "contract", file: "contract.pdf", ctype: "application/pdf", body: d.sent})
			cs := do("POST", "/v1/cases", a.token, ct, body, 201)
			id := jsonField(b, string(cs), "id")
			cs = do("POST", "/v1/cases/"+id+"/receipt", c.token, "", nil, 200, ifMatch(cs))
			if got := do("GET", "/v1/cases/"+id+"/documents/"+sha(d.sent), c.token, "", nil, 200); !bytes.Equal(got, d.sent) {
				b.Fatal("downloaded document differs")
			}
			ct, body = multipartBody(b, part{name: "contract", file: "contract.pdf", ctype: "application/pdf", body: d.returned})
			cs = do("POST", "/v1/cases/"+id+"/returns", c.token, ct, body, 200, ifMatch(cs))
			do("POST", "/v1/cases/"+id+"/completion", a.token, "", nil, 200, ifMatch(cs))
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lifecycles/s")
	_ = httpapi.ProblemBase
}
