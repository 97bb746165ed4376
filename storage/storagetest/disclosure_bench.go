package storagetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/storage"
)

// BenchDisclosure measures the disclosure filter (CaseQuery.DisclosureID)
// over a store loaded with BenchCases, the way casework searches for a
// disclosure principal (the owner's personal scope, completed cases, the
// account's cases), beside the owner's own search of the same kind (the
// peer: "owner"), reporting p95 latency in milliseconds. The owner is
// u7-0; one account shows storage.MaxDisclosureCases of its completed
// cases (the most allowed), another 10.
func BenchDisclosure(b *testing.B, s storage.Store) {
	ctx := context.Background()
	owner := storage.Scope{CompanyID: "co7", UserID: "u7-0"}
	now := time.Now()
	audit := func(action string) []storage.AuditEntry {
		return []storage.AuditEntry{{Time: now, ActorUserID: "bench", Action: action}}
	}
	if err := s.PutCompany(ctx, &storage.Company{ID: "co7", Name: "co7", CreatedAt: now}, audit("company.create")); err != nil {
		b.Fatal(err)
	}
	if err := s.PutUser(ctx, &storage.User{ID: "u7-0", CompanyID: "co7", LoginID: "u7-0", CreatedAt: now}, audit("user.create")); err != nil {
		b.Fatal(err)
	}
	var completed []string
	q := storage.CaseQuery{Scope: owner, States: []string{"completed"}, Sort: storage.SortCreated, Limit: storage.MaxPageSize}
	for {
		page, err := s.SearchCases(ctx, &q)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range page.Cases {
			completed = append(completed, c.ID)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	// Every k-th, so the shown cases spread over the owner's list.
	pick := func(n int) []string {
		var out []string
		step := max(1, len(completed)/n)
		for i := 0; i < len(completed) && len(out) < n; i += step {
			out = append(out, completed[i])
		}
		return out
	}
	for _, d := range []struct {
		id string
		n  int
	}{{"d-max", storage.MaxDisclosureCases}, {"d-10", 10}} {
		w := &storage.DisclosureWrite{Disclosure: &storage.Disclosure{ID: d.id, OwnerUserID: "u7-0", CompanyID: "co7", LoginID: d.id,
			From: now, Until: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}, Cases: pick(d.n), Audit: audit("disclosure.create")}
		if err := s.PutDisclosure(ctx, w); err != nil {
			b.Fatal(err)
		}
		b.Logf("disclosure %s shows %d of the owner's %d completed cases", d.id, len(w.Cases), len(completed))
	}

	queries := []struct {
		name string
		q    storage.CaseQuery
	}{
		{"list", storage.CaseQuery{Desc: true}},
		{"by-completed", storage.CaseQuery{Sort: storage.SortCompleted, Desc: true}},
		{"by-name", storage.CaseQuery{Sort: storage.SortName}},
		{"name-contains", storage.CaseQuery{NameContains: "契約 1"}},
	}
	modes := []struct {
		name string
		set  func(q *storage.CaseQuery)
	}{
		{"owner", func(q *storage.CaseQuery) {}},
		{"disclosure-max", func(q *storage.CaseQuery) { q.DisclosureID = "d-max" }},
		{"disclosure-10", func(q *storage.CaseQuery) { q.DisclosureID = "d-10" }},
	}
	for _, qq := range queries {
		for _, m := range modes {
			b.Run(qq.name+"/"+m.name, func(b *testing.B) {
				base := qq.q
				base.Scope, base.States = owner, []string{"completed"}
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
