package storagetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/storage"
)

// RunCalendarDates checks that business dates are calendar dates and
// completion times instants, whatever the zone of the process or of the
// database server: around the day boundary of Japan (00:00 JST is 15:00
// UTC the day before), a date-range search gives the same cases with
// time.Local set to UTC and to Asia/Tokyo, and a date reads back as the
// date written.
//
// newStore(t, zone) must return a new, empty store whose database server
// (if it has one) works in zone, e.g. PostgreSQL's TimeZone setting. The
// suite sets time.Local, so the caller must not run it in parallel with
// other tests (call it from a top-level test without t.Parallel).
func RunCalendarDates(t *testing.T, newStore func(t *testing.T, zone string) storage.Store) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		tokyo = time.FixedZone("JST", 9*60*60) // no zoneinfo on the host; Japan has no DST
	}
	for _, zone := range []*time.Location{time.UTC, tokyo} {
		t.Run(zone.String(), func(t *testing.T) {
			saved := time.Local
			time.Local = zone
			t.Cleanup(func() { time.Local = saved })
			s := newStore(t, zone.String())
			t.Cleanup(func() { _ = s.Close() })
			testCalendarDates(t, s)
		})
	}
}

func testCalendarDates(t *testing.T, s storage.Store) {
	ctx := context.Background()
	jst := time.FixedZone("JST", 9*60*60)
	rows := []struct {
		id        string
		date      civil.Date
		completed time.Time
	}{
		{"d0331", date(2026, 3, 31), time.Date(2026, 3, 31, 23, 59, 59, 0, jst)},
		{"d0401", date(2026, 4, 1), time.Date(2026, 4, 1, 0, 0, 0, 0, jst)},
		{"d0402", date(2026, 4, 2), time.Date(2026, 4, 2, 8, 0, 0, 0, jst)},
	}
	for _, r := range rows {
		c := sample(r.id)
		c.State, c.TransactionDate, c.CompletedAt = "completed", r.date, r.completed
		commit(t, s, c)
		got, err := s.GetCase(ctx, r.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.TransactionDate != r.date || !got.CompletedAt.Equal(r.completed) {
			t.Errorf("%s read back as date %s completed %s, want %s and %s", r.id, got.TransactionDate, got.CompletedAt, r.date, r.completed)
		}
	}
	// The JST day 2026-04-01 as instants, as casework asks for it.
	dayFrom := time.Date(2026, 4, 1, 0, 0, 0, 0, jst)
	dayTo := dayFrom.AddDate(0, 0, 1).Add(-time.Nanosecond)
	tests := []struct {
		name string
		q    storage.CaseQuery
		want []string
	}{
		{"transaction on 04-01", storage.CaseQuery{TransactionFrom: date(2026, 4, 1), TransactionTo: date(2026, 4, 1)}, []string{"d0401"}},
		{"transaction from 04-01", storage.CaseQuery{TransactionFrom: date(2026, 4, 1)}, []string{"d0401", "d0402"}},
		{"transaction to 03-31", storage.CaseQuery{TransactionTo: date(2026, 3, 31)}, []string{"d0331"}},
		{"completed on the JST day 04-01", storage.CaseQuery{CompletedFrom: dayFrom, CompletedTo: dayTo}, []string{"d0401"}},
		{"completed on the JST day 04-01, scoped", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co2"}, CompletedFrom: dayFrom, CompletedTo: dayTo}, []string{"d0401"}},
		{"transaction on 04-01, scoped", storage.CaseQuery{Scope: storage.Scope{CompanyID: "co1", UserID: "u1"}, TransactionFrom: date(2026, 4, 1), TransactionTo: date(2026, 4, 1)}, []string{"d0401"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Sort = storage.SortTransactionDate
			page, err := s.SearchCases(ctx, &q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range page.Cases {
				got = append(got, c.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
