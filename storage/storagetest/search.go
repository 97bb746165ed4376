package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func date(y int, m time.Month, d int) civil.Date { return civil.Date{Year: y, Month: m, Day: d} }

func i64(v int64) *int64 { return &v }

var (
	alpha = storage.Party{CompanyID: "co2", CompanyName: "株式会社アルファ", UserID: "u2"}
	beta  = storage.Party{CompanyID: "co3", CompanyName: "ベータ工業株式会社", UserID: "u3"}
	kei   = storage.Party{CompanyID: "co1", CompanyName: "株式会社ケイヤク", UserID: "u1"}
	gamma = storage.Party{CompanyID: "co5", CompanyName: "ガンマ合同会社", UserID: "u5"}
)

// searchFixture is a small, hand-made set of cases; the expected results of
// every query below were worked out by hand from it.
func searchFixture() []*storage.Case {
	type row struct {
		id, form, state, cat, name, order string
		parties                           []storage.Party
		amount                            int64
		tx                                civil.Date
		completed                         time.Time
		regCo, regUser, original          string
	}
	rows := []row{
		{"k01", "bilateral", "sent", "new", "業務委託契約", "PO-100", []storage.Party{alpha}, 100000, date(2026, 1, 10), time.Time{}, "co1", "u1", ""},
		{"k02", "bilateral", "completed", "new", "保守契約", "PO-200", []storage.Party{beta}, 500000, date(2026, 2, 1), day(2026, 2, 5), "co1", "u1", ""},
		{"k03", "multi-party", "received", "new", "共同開発契約", "JD-1", []storage.Party{alpha, beta}, 2000000, date(2026, 3, 1), time.Time{}, "co1", "u1b", ""},
		{"k04", "order-acceptance", "completed", "change", "保守契約 変更", "PO-201", []storage.Party{beta}, 600000, date(2026, 3, 10), day(2026, 3, 12), "co1", "u1", "k02"},
		{"k05", "send-only", "sent", "new", "見積書送付", "", []storage.Party{alpha}, 0, date(2026, 3, 20), time.Time{}, "co1", "u1", ""},
		{"k06", "bilateral", "sent", "new", "売買契約", "SO-9", []storage.Party{kei}, 300000, date(2026, 2, 20), time.Time{}, "co4", "u4", ""},
		{"k07", "bilateral", "sent-back", "new", "秘密保持契約", "NDA-1", []storage.Party{gamma}, 0, date(2026, 1, 20), time.Time{}, "co4", "u4", ""},
		{"k08", "order-acceptance-combined", "completed", "addition", "保守契約 追加", "PO-202", []storage.Party{beta}, 100000, date(2026, 4, 1), day(2026, 4, 2), "co1", "u1", "k02"},
		{"k09", "bilateral", "deleted", "cancellation", "保守契約 解約", "PO-203", []storage.Party{beta}, 0, date(2026, 4, 10), time.Time{}, "co1", "u1", "k02"},
	}
	var out []*storage.Case
	for i, r := range rows {
		c := sample(r.id)
		c.Form, c.State, c.Category, c.Name, c.OrderNumber = r.form, r.state, r.cat, r.name, r.order
		c.Parties, c.Amount, c.TransactionDate, c.CompletedAt = r.parties, r.amount, r.tx, r.completed
		c.RegistrantCompanyID, c.RegistrantUserID, c.OriginalID = r.regCo, r.regUser, r.original
		c.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		c.UpdatedAt = c.CreatedAt
		out = append(out, c)
	}
	return out
}

func searchAll(t *testing.T, s storage.Store, q storage.CaseQuery) []string {
	t.Helper()
	var out []string
	for range 1000 {
		page, err := s.SearchCases(context.Background(), &q)
		if err != nil {
			t.Fatalf("SearchCases: %v", err)
		}
		for _, c := range page.Cases {
			out = append(out, c.ID)
		}
		if page.Next == "" {
			return out
		}
		q.Cursor = page.Next
	}
	t.Fatal("paging did not end")
	return nil
}

func testSearchFilters(t *testing.T, s storage.Store) {
	for _, c := range searchFixture() {
		commit(t, s, c)
	}
	tests := []struct {
		name string
		q    storage.CaseQuery
		want []string
	}{
		{"everything", storage.CaseQuery{}, []string{"k01", "k02", "k03", "k04", "k05", "k06", "k07", "k08", "k09"}},
		{"company scope", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co1"}}, []string{"k01", "k02", "k03", "k04", "k05", "k06", "k08", "k09"}},
		{"user scope", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co1", UserID: "u1"}}, []string{"k01", "k02", "k04", "k05", "k06", "k08", "k09"}},
		{"party company scope", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co3"}}, []string{"k02", "k03", "k04", "k08", "k09"}},
		{"outsider scope", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co5", UserID: "u5"}}, []string{"k07"}},
		{"unknown company", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co9"}}, nil},
		{"state", storage.CaseQuery{States: []string{"completed"}}, []string{"k02", "k04", "k08"}},
		{"states", storage.CaseQuery{States: []string{"sent", "received"}}, []string{"k01", "k03", "k05", "k06"}},
		{"form", storage.CaseQuery{Forms: []string{"multi-party"}}, []string{"k03"}},
		{"categories", storage.CaseQuery{Categories: []string{"change", "addition"}}, []string{"k04", "k08"}},
		{"name", storage.CaseQuery{NameContains: "保守契約"}, []string{"k02", "k04", "k08", "k09"}},
		{"order number", storage.CaseQuery{OrderNumber: "PO-20"}, []string{"k02", "k04", "k08", "k09"}},
		{"counterparty name", storage.CaseQuery{Counterparty: "アルファ"}, []string{"k01", "k03", "k05"}},
		{"counterparty id", storage.CaseQuery{Counterparty: "co3"}, []string{"k02", "k03", "k04", "k08", "k09"}},
		{"amount range", storage.CaseQuery{AmountMin: i64(100000), AmountMax: i64(600000)}, []string{"k01", "k02", "k04", "k06", "k08"}},
		{"amount min", storage.CaseQuery{AmountMin: i64(1000000)}, []string{"k03"}},
		{"amount max zero", storage.CaseQuery{AmountMax: i64(0)}, []string{"k05", "k07", "k09"}},
		{"transaction dates", storage.CaseQuery{TransactionFrom: date(2026, 3, 1), TransactionTo: date(2026, 3, 20)}, []string{"k03", "k04", "k05"}},
		{"completion dates", storage.CaseQuery{CompletedFrom: day(2026, 3, 1), CompletedTo: day(2026, 4, 30)}, []string{"k04", "k08"}},
		{"completed from only", storage.CaseQuery{CompletedFrom: day(2026, 1, 1)}, []string{"k02", "k04", "k08"}},
		{"completed to only", storage.CaseQuery{CompletedTo: day(2026, 3, 1)}, []string{"k02"}},
		{"related cases", storage.CaseQuery{OriginalID: "k02"}, []string{"k04", "k08", "k09"}},
		{"combination a", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co1"}, NameContains: "保守契約", States: []string{"completed"}, AmountMin: i64(500000)}, []string{"k02", "k04"}},
		{"combination b", storage.CaseQuery{Counterparty: "co3", TransactionFrom: date(2026, 3, 1), Categories: []string{"addition", "cancellation"}}, []string{"k08", "k09"}},
		{"combination c", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co3", UserID: "u3"}, Forms: []string{"bilateral"}, OrderNumber: "PO"}, []string{"k02", "k09"}},
		{"nothing", storage.CaseQuery{NameContains: "存在しない"}, nil},
		{"case-sensitive", storage.CaseQuery{OrderNumber: "po-"}, nil},
	}
	for _, tt := range tests {
		// UpdatedAt equals CreatedAt in the fixture, so both sorts give the
		// same order (a backend may plan them differently).
		for _, sort := range []storage.SortKey{storage.SortCreated, storage.SortUpdated} {
			t.Run(tt.name+"/"+string(sort), func(t *testing.T) {
				q := tt.q
				q.Sort = sort
				q.Limit = 4 // small pages, so every filter is also checked across pages
				got := searchAll(t, s, q)
				if !slices.Equal(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}
	}
}

// pagingFixture has many ties in every sort key, so the ID tie-break is
// exercised.
func pagingFixture() []*storage.Case {
	var out []*storage.Case
	names := []string{"b契約", "a契約", "c契約", "a契約", "ア契約"}
	for i := range 23 {
		c := sample(fmt.Sprintf("p%02d", (i*7)%23)) // IDs not in insertion order
		c.Name = names[i%len(names)]
		c.Amount = int64(i % 4 * 1000)
		c.TransactionDate = date(2026, 1, 1+i%5)
		c.CreatedAt = base.Add(time.Duration(i%6) * time.Second)
		c.UpdatedAt = base.Add(time.Duration(i%3) * time.Hour)
		if i%3 == 0 {
			c.State = "completed"
			c.CompletedAt = base.Add(time.Duration(i%2) * time.Hour)
		}
		out = append(out, c)
	}
	return out
}

func refKey(c *storage.Case, k storage.SortKey) (int64, string) {
	switch k {
	case storage.SortCreated:
		return c.CreatedAt.UnixNano(), ""
	case storage.SortTransactionDate:
		return storage.DateSeconds(c.TransactionDate), ""
	case storage.SortAmount:
		return c.Amount, ""
	case storage.SortCompleted:
		if c.CompletedAt.IsZero() {
			return 0, ""
		}
		return c.CompletedAt.UnixNano(), ""
	case storage.SortName:
		return 0, c.Name
	}
	return c.UpdatedAt.UnixNano(), ""
}

func testSearchOrderAndPaging(t *testing.T, s storage.Store) {
	cases := pagingFixture()
	for _, c := range cases {
		commit(t, s, c)
	}
	// Every case of the fixture is co1/u1's and has party co2/u2, so each
	// scope selects all of them and must not change the order.
	scopes := []storage.Scope{{}, {CompanyID: "co1"}, {CompanyID: "co2", UserID: "u2"}}
	keys := []storage.SortKey{"", storage.SortUpdated, storage.SortCreated, storage.SortTransactionDate, storage.SortAmount, storage.SortCompleted, storage.SortName}
	for i, k := range keys {
		for _, desc := range []bool{false, true} {
			for _, limit := range []int{1, 5, 23, 100} {
				scope := scopes[(i+limit)%len(scopes)]
				t.Run(fmt.Sprintf("%s/desc=%v/limit=%d/scope=%s", k, desc, limit, scope.CompanyID), func(t *testing.T) {
					want := slices.Clone(cases)
					sort.Slice(want, func(i, j int) bool {
						ai, as := refKey(want[i], k)
						bi, bs := refKey(want[j], k)
						less := ai < bi || ai == bi && as < bs || ai == bi && as == bs && want[i].ID < want[j].ID
						if desc {
							return !less
						}
						return less
					})
					var wantIDs []string
					for _, c := range want {
						wantIDs = append(wantIDs, c.ID)
					}
					got := searchAll(t, s, storage.CaseQuery{Scope: scope, Sort: k, Desc: desc, Limit: limit})
					if !slices.Equal(got, wantIDs) {
						t.Errorf("order\n got %v\nwant %v", got, wantIDs)
					}
				})
			}
		}
	}
	t.Run("page sizes", func(t *testing.T) {
		page, err := s.SearchCases(context.Background(), &storage.CaseQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Cases) != 10 || page.Next == "" {
			t.Errorf("first page: %d cases, next %q", len(page.Cases), page.Next)
		}
		page, err = s.SearchCases(context.Background(), &storage.CaseQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Cases) != 23 || page.Next != "" {
			t.Errorf("default page: %d cases, next %q; want all 23 and no next", len(page.Cases), page.Next)
		}
	})
}

func testSearchInvalid(t *testing.T, s storage.Store) {
	for _, c := range pagingFixture()[:5] {
		commit(t, s, c)
	}
	first, err := s.SearchCases(context.Background(), &storage.CaseQuery{Limit: 2, Sort: storage.SortAmount})
	if err != nil || first.Next == "" {
		t.Fatalf("first page: %v, next %q", err, first.Next)
	}
	many := make([]string, storage.MaxFilterValues+1)
	tests := []struct {
		name string
		q    storage.CaseQuery
	}{
		{"negative limit", storage.CaseQuery{Limit: -1}},
		{"limit too large", storage.CaseQuery{Limit: storage.MaxPageSize + 1}},
		{"unknown sort", storage.CaseQuery{Sort: "colour"}},
		{"garbage cursor", storage.CaseQuery{Cursor: "!!not-a-cursor!!"}},
		{"cursor of another sort", storage.CaseQuery{Cursor: first.Next, Sort: storage.SortName}},
		{"cursor of another direction", storage.CaseQuery{Cursor: first.Next, Sort: storage.SortAmount, Desc: true}},
		{"amount bounds crossed", storage.CaseQuery{AmountMin: i64(10), AmountMax: i64(5)}},
		{"dates crossed", storage.CaseQuery{TransactionFrom: date(2026, 2, 1), TransactionTo: date(2026, 1, 1)}},
		{"too many states", storage.CaseQuery{States: many}},
		{"filter too long", storage.CaseQuery{NameContains: string(make([]byte, storage.MaxFilterText+1))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.SearchCases(context.Background(), &tt.q); !errors.Is(err, kerr.Invalid) {
				t.Errorf("err = %v, want Invalid", err)
			}
		})
	}
}

// testSearchAfterUpdates: searches see what later commits changed (state,
// completion, amount, dates, parties and their names, the owner), in the
// whole store and within a company's or a user's scope, and nothing of
// what the commits replaced. Expected results worked out by hand from
// searchFixture and the changes below.
func testSearchAfterUpdates(t *testing.T, s storage.Store) {
	ctx := context.Background()
	cases := map[string]*storage.Case{}
	for _, c := range searchFixture() {
		commit(t, s, c)
		cases[c.ID] = c
	}
	update := func(id string, at time.Duration, change func(c *storage.Case)) {
		t.Helper()
		c, err := s.GetCase(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		change(c)
		c.UpdatedAt = base.Add(at)
		commit(t, s, c)
	}
	update("k01", 3*time.Hour, func(c *storage.Case) { // completed, amount raised
		c.State, c.CompletedAt, c.Amount = "completed", day(2026, 5, 1), 700000
	})
	update("k03", 2*time.Hour, func(c *storage.Case) { // アルファ leaves; ベータ renamed
		beta2 := beta
		beta2.CompanyName = "ベータ重工株式会社"
		c.Parties = []storage.Party{beta2}
	})
	update("k06", time.Hour, func(c *storage.Case) { c.RegistrantUserID = "u4b" }) // moved to another owner
	update("k07", 4*time.Hour, func(c *storage.Case) { c.TransactionDate = date(2026, 3, 15) })
	co1, co2, co3 := storage.Scope{CompanyID: "co1"}, storage.Scope{CompanyID: "co2"}, storage.Scope{CompanyID: "co3"}
	tests := []struct {
		name string
		q    storage.CaseQuery
		want []string
	}{
		{"completed", storage.CaseQuery{States: []string{"completed"}}, []string{"k01", "k02", "k04", "k08"}},
		{"completed in co1", storage.CaseQuery{Scope: co1, States: []string{"completed"}}, []string{"k01", "k02", "k04", "k08"}},
		{"completion dates", storage.CaseQuery{CompletedFrom: day(2026, 4, 15)}, []string{"k01"}},
		{"completion dates in co2", storage.CaseQuery{Scope: co2, CompletedFrom: day(2026, 4, 15)}, []string{"k01"}},
		{"amount", storage.CaseQuery{AmountMin: i64(700000)}, []string{"k01", "k03"}},
		{"amount in co1", storage.CaseQuery{Scope: co1, AmountMin: i64(700000)}, []string{"k01", "k03"}},
		{"party left", storage.CaseQuery{Scope: co2}, []string{"k01", "k05"}},
		{"party user left", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co2", UserID: "u2"}}, []string{"k01", "k05"}},
		{"party stays", storage.CaseQuery{Scope: co3, Forms: []string{"multi-party"}}, []string{"k03"}},
		{"old party name", storage.CaseQuery{Counterparty: "ベータ工業"}, []string{"k02", "k04", "k08", "k09"}},
		{"new party name", storage.CaseQuery{Counterparty: "ベータ重工"}, []string{"k03"}},
		{"old owner", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co4", UserID: "u4"}}, []string{"k07"}},
		{"new owner", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co4", UserID: "u4b"}}, []string{"k06"}},
		{"owner's company", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co4"}}, []string{"k06", "k07"}},
		{"transaction dates", storage.CaseQuery{TransactionFrom: date(2026, 3, 1), TransactionTo: date(2026, 3, 20)}, []string{"k03", "k04", "k05", "k07"}},
		{"transaction dates of gamma", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co5"}, TransactionFrom: date(2026, 3, 1)}, []string{"k07"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Sort = storage.SortCreated
			q.Limit = 2
			if got := searchAll(t, s, q); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// Sorted by the time of the last change, newest first, in a scope.
	q := storage.CaseQuery{Scope: co1, Sort: storage.SortUpdated, Desc: true, Limit: 3}
	if got := searchAll(t, s, q); len(got) < 4 || !slices.Equal(got[:4], []string{"k01", "k03", "k06", "k09"}) {
		t.Errorf("newest first in co1: got %v", got)
	}
}
