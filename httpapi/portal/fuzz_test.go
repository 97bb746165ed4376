package portal_test

import (
	"errors"
	"net/url"
	"testing"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/kerr"
)

// FuzzParseRegisterForm: any query string either decodes to a case that
// stays within casework's limits or is refused with kerr.Invalid; never a
// panic.
func FuzzParseRegisterForm(f *testing.F) {
	f.Add("form=bilateral&name=契約&amount=1,100,000&date=2026-12-01&party1=c1/u1")
	f.Add("form=multi-party&name=x&amount=１２３&date=2026-02-30&party1=a/b&party9=b/c")
	f.Add("form=send-only&name=x&date=2026-12-01&party1=a")
	f.Add("form=bilateral&amount=-1&date=2026-12-01&party1=a")
	f.Add("form=bilateral&amount=99999999999999999999&date=x")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		nc, rf, logins, err := portal.ParseRegisterForm(v)
		if rf == nil {
			t.Fatal("no form echo")
		}
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("error of kind %v: %v", kerr.Of(err), err)
			}
			return
		}
		if nc.Form == casework.FormSendOnly || !nc.Form.Valid() {
			t.Fatalf("form %v accepted", nc.Form)
		}
		if nc.Amount.Amount < 0 || nc.Amount.Amount > casework.MaxAmount || nc.Amount.Currency != "JPY" {
			t.Fatalf("amount %+v accepted", nc.Amount)
		}
		if len(logins) == 0 || len(logins) > casework.MaxMultiParties || nc.TransactionDate.IsZero() {
			t.Fatalf("%d counterparties, date %v accepted", len(logins), nc.TransactionDate)
		}
		for _, pc := range logins {
			if pc.CompanyID == "" || pc.UserID == "" {
				t.Fatalf("counterparty %+v accepted without a company or a person", pc)
			}
		}
	})
}

// FuzzParseSearch: any query string is a completed-cases query within
// bounds or kerr.Invalid.
func FuzzParseSearch(f *testing.F) {
	f.Add("from=2026-01-01&to=2026-12-31&min=1000&max=2,000,000&counterparty=ビー")
	f.Add("min=-5")
	f.Add("from=2026-13-01")
	f.Add("max=9223372036854775808&name=%ff")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		query, sf, err := portal.ParseSearch(v)
		if sf == nil {
			t.Fatal("no form echo")
		}
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("error of kind %v: %v", kerr.Of(err), err)
			}
			return
		}
		if len(query.States) != 1 || query.States[0] != casework.StateCompleted {
			t.Fatalf("states %v: the completed search must look at completed cases only", query.States)
		}
		for _, a := range []*int64{query.AmountMin, query.AmountMax} {
			if a != nil && (*a < 0 || *a > casework.MaxAmount) {
				t.Fatalf("amount bound %d accepted", *a)
			}
		}
		_ = utf8.ValidString(query.Counterparty)
	})
}
