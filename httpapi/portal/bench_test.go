package portal_test

import (
	"cloud.google.com/go/civil"

	"bytes"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// BenchmarkPages measures the portal's list pages over loopback HTTP with
// KEIYAKU_BENCH_CASES open cases (default 300) registered by A to B,
// beside the floor: the same search through the Go API without HTTP or
// templates.
//
//	KEIYAKU_BENCH_CASES=2000 go test ./httpapi/portal -run '^$' -bench Pages -benchtime 200x
//
// case-page sits beside floor-check-signatures-go-api (the service validating
// the contract); register-page and company-page-search read the directory.
func BenchmarkPages(b *testing.B) {
	n := 300
	if s := os.Getenv("KEIYAKU_BENCH_CASES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	w := newWorld(b, portal.Brand{})
	pa, pb := w.apiLogin(w.co["A"]), w.apiLogin(w.co["B"])
	doc := w.sign(w.co["A"], contract("bench"))
	for i := range n {
		_, err := w.svc.Cases.Register(w.ctx, pa, &casework.NewCase{Form: casework.FormBilateral, Name: "案件 " + strconv.Itoa(i),
			Amount: casework.Money{Amount: int64(i) * 1000, Currency: "JPY"}, TransactionDate: civil.DateOf(testpki.Now),
			Parties:  []casework.Party{{CompanyID: pb.CompanyID, CompanyName: w.co["B"].Name, UserID: pb.UserID}},
			Document: casework.Upload{Name: "c.pdf", Body: bytes.NewReader(doc)}})
		if err != nil {
			b.Fatal(err)
		}
	}
	c := w.client()
	c.login(w.co["A"])
	get := func(b *testing.B, path string) {
		resp, err := c.hc.Get(w.srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	b.Run("floor-search-go-api", func(b *testing.B) {
		for b.Loop() {
			if _, err := w.svc.Cases.Search(w.ctx, pa, &casework.Query{States: casework.IncompleteStates(), Limit: 100}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open-cases-page", func(b *testing.B) {
		for b.Loop() {
			get(b, "/cases")
		}
	})
	one, _ := w.svc.Cases.Search(w.ctx, pa, &casework.Query{Limit: 1})
	// The case page's floor: the service's signature report alone.
	b.Run("floor-check-signatures-go-api", func(b *testing.B) {
		for b.Loop() {
			if _, err := w.svc.Cases.CheckSignatures(w.ctx, pa, one.Cases[0].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("case-page", func(b *testing.B) {
		for b.Loop() {
			get(b, "/cases/"+one.Cases[0].ID)
		}
	})
	// The register page with a trading partner offered and a directory
	// search; the company page with its certificates and partners.
	if err := w.svc.Accounts.AddPartner(w.ctx, w.co["A"].P, pb.CompanyID); err != nil {
		b.Fatal(err)
	}
	b.Run("register-page", func(b *testing.B) {
		for b.Loop() {
			get(b, "/cases/new")
		}
	})
	b.Run("company-page-search", func(b *testing.B) {
		for b.Loop() {
			get(b, "/company?q=%E3%82%B7%E3%83%BC")
		}
	})
}
