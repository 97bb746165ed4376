package storagetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/storage"
)

// BenchHidden measures the hidden filter (CaseQuery.HiddenFor/Hidden) over
// a store loaded with BenchCases: each typical search of BenchSearch that
// a user makes, run side by side without the filter (the peer: "plain"),
// leaving the user's hidden cases out ("exclude", the default of every
// list) and listing them alone ("only"), reporting p95 latency in
// milliseconds. Before measuring it hides, as the user u7-3, every second
// completed case of theirs, and as an administrator of co7 ("u7-admin")
// every tenth completed case of the company: far more than a user hides in
// practice, so the anti-join does real work.
func BenchHidden(b *testing.B, s storage.Store) {
	ctx := context.Background()
	user := storage.Scope{CompanyID: "co7", UserID: "u7-3"}
	company := storage.Scope{CompanyID: "co7"}
	hideEvery := func(scope storage.Scope, who string, every int) int {
		q := storage.CaseQuery{Scope: scope, States: []string{"completed"}, Sort: storage.SortCreated, Limit: storage.MaxPageSize}
		n, hidden := 0, 0
		for {
			page, err := s.SearchCases(ctx, &q)
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range page.Cases {
				if n%every == 0 {
					audit := []storage.AuditEntry{{Time: time.Now(), ActorUserID: who, Action: "case.hide", CaseID: c.ID}}
					if err := s.SetHidden(ctx, who, c.ID, true, time.Now(), audit); err != nil {
						b.Fatal(err)
					}
					hidden++
				}
				n++
			}
			if page.Next == "" {
				return hidden
			}
			q.Cursor = page.Next
		}
	}
	b.Logf("hidden: %d cases by u7-3, %d by u7-admin", hideEvery(user, "u7-3", 2), hideEvery(company, "u7-admin", 10))

	queries := []struct {
		name string
		q    storage.CaseQuery
	}{
		{"user-list", storage.CaseQuery{Scope: user, HiddenFor: "u7-3", Desc: true}},
		{"user-completed", storage.CaseQuery{Scope: user, HiddenFor: "u7-3", States: []string{"completed"}, Sort: storage.SortCompleted, Desc: true}},
		{"company-list", storage.CaseQuery{Scope: company, HiddenFor: "u7-admin", Desc: true}},
		{"company-completed-by-date", storage.CaseQuery{Scope: company, HiddenFor: "u7-admin", States: []string{"completed"},
			CompletedFrom: time.Date(2020, 2, 1, 0, 0, 0, 0, time.UTC), CompletedTo: time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC), Sort: storage.SortCompleted}},
		{"company-by-name", storage.CaseQuery{Scope: company, HiddenFor: "u7-admin", Sort: storage.SortName}},
		{"name-all", storage.CaseQuery{HiddenFor: "u7-admin", NameContains: "契約 12", TransactionFrom: civil.Date{Year: 2021, Month: 1, Day: 1}}},
	}
	modes := []struct {
		name string
		set  func(q *storage.CaseQuery)
	}{
		{"plain", func(q *storage.CaseQuery) { q.HiddenFor = "" }},
		{"exclude", func(q *storage.CaseQuery) { q.Hidden = storage.HiddenExclude }},
		{"only", func(q *storage.CaseQuery) { q.Hidden = storage.HiddenOnly }},
	}
	for _, qq := range queries {
		for _, m := range modes {
			b.Run(qq.name+"/"+m.name, func(b *testing.B) {
				base := qq.q
				m.set(&base)
				var lat []time.Duration
				pages := 0
				for b.Loop() {
					q := base
					t0 := time.Now()
					page, err := s.SearchCases(ctx, &q)
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
					pages += len(page.Cases)
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
				b.ReportMetric(float64(pages)/float64(len(lat)), "cases/op")
			})
		}
	}
}
