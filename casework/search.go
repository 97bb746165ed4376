package casework

import (
	"context"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// IncompleteStates are the states of the "incomplete" list.
func IncompleteStates() []State {
	return []State{StateSent, StateReceived, StateReturned, StateSentBack, StateSentBackToParty}
}

// Query selects cases for Search and ExportCSV. Every filter is optional;
// the ones set must all match. It covers the search requirements of the
// 電子帳簿保存法 (transaction date, amount and counterparty, in any
// combination and by range).
type Query struct {
	// States: any of. Empty means every state but StateDeleted.
	States     []State
	Forms      []Form
	Categories []Category
	// NameContains, OrderNumber and Counterparty match substrings,
	// case-sensitively; Counterparty matches a counterparty's company name
	// or, exactly, its company ID.
	NameContains string
	OrderNumber  string
	Counterparty string
	// AmountMin and AmountMax bound the amount (minor units) inclusively.
	AmountMin, AmountMax *int64
	// TransactionFrom and TransactionTo bound the transaction date
	// inclusively; zero means unbounded. Calendar dates: the answer is the
	// same whatever the zone of the server.
	TransactionFrom, TransactionTo civil.Date
	// CompletedFrom and CompletedTo bound the day of completion
	// inclusively, as days in the time zone of the searching principal's
	// company (account.CompanyTimeZone, Asia/Tokyo by default): a case
	// completed at 2026-04-01 08:00 JST (2026-03-31 23:00 UTC) is found
	// under 2026-04-01. Zero means unbounded; a bound leaves out cases not
	// completed.
	CompletedFrom, CompletedTo civil.Date
	// Hidden says what to do with the cases the searching user has hidden
	// (Service.Hide): the zero value leaves them out; HiddenOnly lists
	// them alone, HiddenInclude with the others. Another user's hidden
	// marks never matter.
	Hidden HiddenMode
	// Sort, Desc, Limit and Cursor as in storage.CaseQuery.
	Sort   storage.SortKey
	Desc   bool
	Limit  int
	Cursor string
}

// Page is one page of search results; Next continues it (empty at the end).
type Page struct {
	Cases []*Case
	Next  string
}

// toStorage turns q into a storage query for p, whose company's days are
// those of loc.
func (q *Query) toStorage(p account.Principal, loc *time.Location) (storage.CaseQuery, error) {
	const op = "casework.Search"
	sq := storage.CaseQuery{
		Scope: scopeOf(p), NameContains: q.NameContains, OrderNumber: q.OrderNumber, Counterparty: q.Counterparty,
		AmountMin: q.AmountMin, AmountMax: q.AmountMax,
		TransactionFrom: q.TransactionFrom, TransactionTo: q.TransactionTo,
		Sort: q.Sort, Desc: q.Desc, Limit: q.Limit, Cursor: q.Cursor,
		HiddenFor: p.UserID, Hidden: q.Hidden, // hide.go
	}
	for name, d := range map[string]civil.Date{"CompletedFrom": q.CompletedFrom, "CompletedTo": q.CompletedTo} {
		if !d.IsZero() && !d.IsValid() {
			return sq, kerr.M(kerr.Invalid, op, "date.invalid", "{field} {date} is not a calendar date: give a date that exists", kerr.P("field", name), kerr.P("date", d))
		}
	}
	if !q.CompletedFrom.IsZero() {
		sq.CompletedFrom = q.CompletedFrom.In(loc)
	}
	if !q.CompletedTo.IsZero() {
		// The last instant of the day: the next day's midnight in loc (a
		// day may be 23 or 25 hours long where clocks change) less 1ns.
		sq.CompletedTo = q.CompletedTo.AddDays(1).In(loc).Add(-time.Nanosecond)
	}
	states := q.States
	if len(states) == 0 {
		states = []State{StateSent, StateReceived, StateReturned, StateSentBack, StateSentBackToParty, StateCompleted}
	}
	for _, s := range states {
		sq.States = append(sq.States, s.String())
	}
	for _, f := range q.Forms {
		sq.Forms = append(sq.Forms, f.String())
	}
	for _, c := range q.Categories {
		sq.Categories = append(sq.Categories, c.String())
	}
	return sq, nil
}

// TimeZone returns the zone p's company sees times in (its setting, else
// account.DefaultTimeZone): the zone of Query's completion days and of
// ExportCSV's times.
func (s *Service) TimeZone(ctx context.Context, p account.Principal) (*time.Location, error) {
	const op = "casework.TimeZone"
	if !p.Valid() {
		return nil, kerr.E(kerr.Unauthenticated, op, "no principal: log in first")
	}
	loc, err := account.CompanyTimeZone(ctx, s.store, p.CompanyID)
	return loc, kerr.Wrap(op, err)
}

// Search returns one page of the cases p may see that match q. A bad query
// is kerr.Invalid.
func (s *Service) Search(ctx context.Context, p account.Principal, q *Query) (*Page, error) {
	const op = "casework.Search"
	if !p.Valid() {
		return nil, kerr.E(kerr.Unauthenticated, op, "no principal: log in first")
	}
	loc, err := s.TimeZone(ctx, p)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return s.search(ctx, op, p, q, loc)
}

func (s *Service) search(ctx context.Context, op string, p account.Principal, q *Query, loc *time.Location) (*Page, error) {
	if p.Operator { // transfer.go: an operator sees no contract content
		s.refused(ctx, op, p, "", "the service operator sees no cases")
		return nil, kerr.E(kerr.PermissionDenied, op, "the service operator sees no cases")
	}
	if q == nil {
		q = &Query{}
	}
	sq, err := q.toStorage(p, loc)
	if err != nil {
		return nil, err
	}
	page := &storage.CasePage{}
	match := true
	if p.IsDisclosure() { // disclosure.go
		if match, err = s.disclosureQuery(ctx, op, p, &sq); err != nil {
			return nil, err
		}
	}
	if match {
		if page, err = s.store.SearchCases(ctx, &sq); err != nil {
			return nil, kerr.Wrap(op, err)
		}
	}
	if p.IsDisclosure() {
		if err := s.auditSearch(ctx, op, p, len(page.Cases)); err != nil {
			return nil, err
		}
	}
	out := &Page{Next: page.Next}
	for _, rec := range page.Cases {
		c, err := fromRecord(rec)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		out.Cases = append(out.Cases, c)
	}
	return out, nil
}
