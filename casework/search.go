package casework

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

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
	// Date ranges, inclusive; zero means unbounded. A completion bound
	// leaves out cases not completed.
	TransactionFrom, TransactionTo time.Time
	CompletedFrom, CompletedTo     time.Time
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

func (q *Query) toStorage(p account.Principal) storage.CaseQuery {
	sq := storage.CaseQuery{
		Scope: scopeOf(p), NameContains: q.NameContains, OrderNumber: q.OrderNumber, Counterparty: q.Counterparty,
		AmountMin: q.AmountMin, AmountMax: q.AmountMax,
		TransactionFrom: q.TransactionFrom, TransactionTo: q.TransactionTo,
		CompletedFrom: q.CompletedFrom, CompletedTo: q.CompletedTo,
		Sort: q.Sort, Desc: q.Desc, Limit: q.Limit, Cursor: q.Cursor,
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
	return sq
}

// Search returns one page of the cases p may see that match q. A bad query
// is kerr.Invalid.
func (s *Service) Search(ctx context.Context, p account.Principal, q *Query) (*Page, error) {
	const op = "casework.Search"
	if !p.Valid() {
		return nil, kerr.E(kerr.Unauthenticated, op, "no principal: log in first")
	}
	if q == nil {
		q = &Query{}
	}
	sq := q.toStorage(p)
	page, err := s.store.SearchCases(ctx, &sq)
	if err != nil {
		return nil, kerr.Wrap(op, err)
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

// MaxExportRows bounds ExportCSV.
const MaxExportRows = 1_000_000

// CSVHeader is the header row ExportCSV writes.
var CSVHeader = []string{"id", "form", "state", "category", "original_id", "name", "order_number",
	"counterparties", "amount", "currency", "transaction_date", "created_at", "completed_at"}

// ExportCSV writes every case p may see that matches q (from q.Cursor on,
// in q's order) to w as CSV (RFC 4180) with CSVHeader, up to
// MaxExportRows rows; beyond that it stops with kerr.Invalid (narrow the
// query). Amounts are in minor units. Text cells that a spreadsheet would
// take for a formula (starting with = + - @ tab or CR) are prefixed with a
// single quote. It returns the number of rows written.
func (s *Service) ExportCSV(ctx context.Context, p account.Principal, q *Query, w io.Writer) (int, error) {
	const op = "casework.ExportCSV"
	qq := Query{}
	if q != nil {
		qq = *q
	}
	qq.Limit = storage.MaxPageSize
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return 0, kerr.Wrap(op, err)
	}
	n := 0
	for {
		page, err := s.Search(ctx, p, &qq)
		if err != nil {
			return n, kerr.Wrap(op, err)
		}
		for _, c := range page.Cases {
			if n == MaxExportRows {
				cw.Flush()
				return n, kerr.E(kerr.Invalid, op, "more than %d cases match; narrow the query", MaxExportRows)
			}
			var names []string
			for _, party := range c.Parties {
				names = append(names, party.CompanyName)
			}
			completed := ""
			if !c.CompletedAt.IsZero() {
				completed = c.CompletedAt.UTC().Format(time.RFC3339)
			}
			row := []string{c.ID, c.Form.String(), c.State.String(), c.Category.String(), c.OriginalID,
				cell(c.Name), cell(c.OrderNumber), cell(strings.Join(names, "; ")),
				strconv.FormatInt(c.Amount.Amount, 10), c.Amount.Currency,
				c.TransactionDate.UTC().Format(time.DateOnly), c.CreatedAt.UTC().Format(time.RFC3339), completed}
			if err := cw.Write(row); err != nil {
				return n, kerr.Wrap(op, err)
			}
			n++
		}
		if page.Next == "" {
			break
		}
		qq.Cursor = page.Next
	}
	cw.Flush()
	return n, kerr.Wrap(op, cw.Error())
}

// cell defuses CSV formula injection (OWASP): a leading = + - @ tab or CR
// would make a spreadsheet evaluate user-typed text.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
