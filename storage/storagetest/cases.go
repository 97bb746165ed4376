package storagetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/storage"
)

// BenchCases makes n varied cases numbered from offset, for companies
// co0..co99, deterministically from rng: the data every backend's search
// benchmark loads, so that their figures compare.
func BenchCases(n, offset int, rng *rand.Rand) []*storage.Case {
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	states := []string{"sent", "received", "returned", "sent-back", "completed", "completed", "completed", "deleted"}
	forms := []string{"order-acceptance", "order-acceptance-combined", "bilateral", "multi-party", "send-only"}
	cats := []string{"new", "new", "new", "change", "addition", "cancellation"}
	out := make([]*storage.Case, n)
	for i := range out {
		id := offset + i
		reg := rng.IntN(100)
		party := (reg + 1 + rng.IntN(99)) % 100
		created := base.Add(time.Duration(id) * time.Minute)
		c := &storage.Case{
			ID: fmt.Sprintf("case-%08d", id), Form: forms[rng.IntN(len(forms))], State: states[rng.IntN(len(states))],
			Category: cats[rng.IntN(len(cats))], Name: "契約 " + strconv.Itoa(rng.IntN(5000)), OrderNumber: "PO-" + strconv.Itoa(id),
			Amount: int64(rng.IntN(10_000_000)), Currency: "JPY", TransactionDate: civil.DateOf(base).AddDays(rng.IntN(2000)),
			RegistrantCompanyID: "co" + strconv.Itoa(reg), RegistrantUserID: fmt.Sprintf("u%d-%d", reg, rng.IntN(10)),
			Parties:   []storage.Party{{CompanyID: "co" + strconv.Itoa(party), CompanyName: "取引先" + strconv.Itoa(party), UserID: fmt.Sprintf("u%d-0", party)}},
			Document:  storage.File{Name: "c.pdf", Key: fmt.Sprintf("%064x", id), Size: 1000},
			CreatedAt: created, UpdatedAt: created,
		}
		if c.State == "completed" {
			c.CompletedAt = created.Add(time.Duration(rng.IntN(1000)) * time.Hour)
		}
		out[i] = c
	}
	return out
}

// BenchSearch runs the typical searches every backend's benchmark measures
// over a store loaded with BenchCases, one sub-benchmark each, reporting
// the p95 latency in milliseconds.
func BenchSearch(b *testing.B, s storage.CaseStore) {
	amount := func(v int64) *int64 { return &v }
	queries := map[string]storage.CaseQuery{
		"company-list": {Scope: storage.Scope{CompanyID: "co7"}, States: []string{"sent", "received", "returned", "sent-back"}, Desc: true},
		"user-list":    {Scope: storage.Scope{CompanyID: "co7", UserID: "u7-3"}, Desc: true},
		"completed-by-date": {Scope: storage.Scope{CompanyID: "co7"}, States: []string{"completed"},
			CompletedFrom: time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC), CompletedTo: time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC), Sort: storage.SortCompleted},
		"amount-and-counterparty": {Scope: storage.Scope{CompanyID: "co7"}, Counterparty: "取引先1", AmountMin: amount(1_000_000), AmountMax: amount(5_000_000), Sort: storage.SortAmount},
		"name-all":                {NameContains: "契約 12", TransactionFrom: civil.Date{Year: 2021, Month: 1, Day: 1}},
	}
	ctx := context.Background()
	for name, q := range queries {
		b.Run(name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				q := q
				t0 := time.Now()
				if _, err := s.SearchCases(ctx, &q); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
