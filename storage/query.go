package storage

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/kerr"
)

// Limits on a CaseQuery.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
	MaxFilterValues = 16  // entries in each of States, Forms, Categories
	MaxFilterText   = 200 // bytes in each text filter
)

// SortKey selects the order of search results. Ties are broken by case ID
// in the same direction, so the order is total and paging is stable.
type SortKey string

// The sort keys.
const (
	SortUpdated         SortKey = "updated" // the default
	SortCreated         SortKey = "created"
	SortTransactionDate SortKey = "transaction_date"
	SortAmount          SortKey = "amount"
	SortCompleted       SortKey = "completed" // cases not completed sort as the earliest
	SortName            SortKey = "name"      // byte-wise order of the UTF-8 name
)

// Scope limits a search to the cases a company (and, if UserID is set, a
// user of it) takes part in: as registrant, or as a counterparty. Whether a
// caller gets a company-wide or a personal scope is the domain's decision.
type Scope struct {
	CompanyID string
	UserID    string // empty: every case of CompanyID
}

// Scopes returns every Scope whose searches include c, without
// duplicates: for the registrant and each party, its company (UserID
// empty) and, when set, its user. Backends that index cases per scope
// (case_access) store one row per element.
func (c *Case) Scopes() []Scope {
	out := make([]Scope, 0, 2+2*len(c.Parties))
	add := func(s Scope) {
		for _, have := range out {
			if have == s {
				return
			}
		}
		out = append(out, s)
	}
	for _, who := range append([]Party{{CompanyID: c.RegistrantCompanyID, UserID: c.RegistrantUserID}}, c.Parties...) {
		add(Scope{CompanyID: who.CompanyID})
		if who.UserID != "" {
			add(Scope{CompanyID: who.CompanyID, UserID: who.UserID})
		}
	}
	return out
}

// CaseQuery selects, orders and pages cases. Every filter is optional; the
// filters that are set must all match (AND). Text filters match a substring,
// case-sensitively.
type CaseQuery struct {
	// Scope, when CompanyID is set, keeps only the cases in it. The zero
	// Scope means every case (for tooling; casework always sets one).
	Scope        Scope
	States       []string // any of (OR)
	Forms        []string // any of
	Categories   []string // any of
	NameContains string
	OrderNumber  string // substring of the order number
	// Counterparty matches a party whose CompanyID equals it or whose
	// CompanyName contains it.
	Counterparty string
	OriginalID   string // exact: the related cases of a case
	// AmountMin and AmountMax bound Amount inclusively when not nil.
	AmountMin, AmountMax *int64
	// TransactionFrom and TransactionTo bound TransactionDate inclusively
	// when not zero: calendar dates, so the answer is the same in every
	// time zone.
	TransactionFrom, TransactionTo civil.Date
	// CompletedFrom and CompletedTo bound CompletedAt inclusively when not
	// zero: instants (casework turns the days a user asks for into the
	// instants their company's time zone gives them). A completed bound
	// excludes cases not completed.
	CompletedFrom, CompletedTo time.Time

	// HiddenFor, when set, is the user whose hidden marks (PersonalStore)
	// Hidden applies: by default their hidden cases are left out. Empty
	// means no case counts as hidden (Hidden must then not be HiddenOnly).
	HiddenFor string
	Hidden    HiddenMode

	// DisclosureID, when set, keeps only the cases that disclosure
	// account shows (DisclosureStore); it may not be combined with
	// HiddenFor.
	DisclosureID string

	Sort SortKey // zero: SortUpdated
	Desc bool
	// Limit is the page size: 0 means DefaultPageSize; at most MaxPageSize.
	Limit int
	// Cursor continues after the last case of a previous page with the
	// same filters and sort; empty for the first page.
	Cursor string
}

// CasePage is one page of search results. Next is the cursor of the next
// page, empty when this is the last one.
type CasePage struct {
	Cases []*Case
	Next  string
}

// Validate checks q and fills in defaults (Sort, Limit). It returns an error
// of kind kerr.Invalid naming the first bad field.
func (q *CaseQuery) Validate() error {
	const op = "storage.CaseQuery"
	switch q.Sort {
	case "":
		q.Sort = SortUpdated
	case SortUpdated, SortCreated, SortTransactionDate, SortAmount, SortCompleted, SortName:
	default:
		return kerr.E(kerr.Invalid, op, "unknown sort %q", q.Sort)
	}
	switch {
	case q.Hidden < HiddenExclude || q.Hidden > HiddenInclude:
		return kerr.E(kerr.Invalid, op, "unknown hidden mode %d: use HiddenExclude, HiddenOnly or HiddenInclude", q.Hidden)
	case q.Hidden == HiddenOnly && q.HiddenFor == "":
		return kerr.E(kerr.Invalid, op, "HiddenOnly needs HiddenFor, the user whose hidden cases to list")
	case q.DisclosureID != "" && q.HiddenFor != "":
		return kerr.E(kerr.Invalid, op, "DisclosureID and HiddenFor may not be combined: a disclosure account has no hidden marks")
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultPageSize
	case q.Limit < 0 || q.Limit > MaxPageSize:
		return kerr.E(kerr.Invalid, op, "page size %d out of range 1..%d", q.Limit, MaxPageSize)
	}
	for name, list := range map[string][]string{"States": q.States, "Forms": q.Forms, "Categories": q.Categories} {
		if len(list) > MaxFilterValues {
			return kerr.E(kerr.Invalid, op, "%s has %d values, at most %d allowed", name, len(list), MaxFilterValues)
		}
	}
	for name, v := range map[string]string{"HiddenFor": q.HiddenFor, "DisclosureID": q.DisclosureID, "NameContains": q.NameContains, "OrderNumber": q.OrderNumber, "Counterparty": q.Counterparty, "OriginalID": q.OriginalID} {
		if len(v) > MaxFilterText {
			return kerr.E(kerr.Invalid, op, "%s is %d bytes, at most %d allowed", name, len(v), MaxFilterText)
		}
	}
	if q.AmountMin != nil && q.AmountMax != nil && *q.AmountMin > *q.AmountMax {
		return kerr.E(kerr.Invalid, op, "AmountMin %d is above AmountMax %d", *q.AmountMin, *q.AmountMax)
	}
	for name, d := range map[string]civil.Date{"TransactionFrom": q.TransactionFrom, "TransactionTo": q.TransactionTo} {
		if err := CheckDate(op, name, d); err != nil { // dates.go
			return err
		}
	}
	for name, t := range map[string]time.Time{"CompletedFrom": q.CompletedFrom, "CompletedTo": q.CompletedTo} {
		if err := CheckTime(op, name, t); err != nil {
			return err
		}
	}
	if !q.TransactionFrom.IsZero() && !q.TransactionTo.IsZero() && q.TransactionFrom.After(q.TransactionTo) {
		return kerr.E(kerr.Invalid, op, "TransactionFrom %s is after TransactionTo %s", q.TransactionFrom, q.TransactionTo)
	}
	if !q.CompletedFrom.IsZero() && !q.CompletedTo.IsZero() && q.CompletedFrom.After(q.CompletedTo) {
		return kerr.E(kerr.Invalid, op, "CompletedFrom is after CompletedTo")
	}
	return nil
}

// Cursor is the position after which a page starts: the sort value and ID
// of the last case of the previous page. Backends encode it with
// EncodeCursor and decode it with DecodeCursor; callers treat it as opaque.
type Cursor struct {
	Sort SortKey `json:"s"`
	Desc bool    `json:"d"`
	Int  int64   `json:"i,omitempty"` // the sort value, for every key but SortName
	Text string  `json:"t,omitempty"` // the sort value for SortName
	ID   string  `json:"id"`
}

// CursorAfter returns the cursor that continues a search sorted by k after
// case c. Its Int is Unix nanoseconds for the update, creation and
// completion times (0 for the zero time), Unix seconds for the transaction
// date, and the amount for SortAmount; Text is the name for SortName.
// Backends store their sort columns in these units so that one cursor
// means the same in each.
func CursorAfter(c *Case, k SortKey) Cursor {
	nanos := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixNano()
	}
	cur := Cursor{Sort: k, ID: c.ID}
	switch k {
	case SortUpdated:
		cur.Int = nanos(c.UpdatedAt)
	case SortCreated:
		cur.Int = nanos(c.CreatedAt)
	case SortTransactionDate:
		cur.Int = DateSeconds(c.TransactionDate)
	case SortAmount:
		cur.Int = c.Amount
	case SortCompleted:
		cur.Int = nanos(c.CompletedAt)
	case SortName:
		cur.Text = c.Name
	}
	return cur
}

// EncodeCursor returns c as an opaque URL-safe string.
func EncodeCursor(c Cursor) string {
	b, _ := json.Marshal(c) // cannot fail: only strings, ints and bools
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a cursor made by EncodeCursor and checks it was made
// for q's sort and direction; any other input is kerr.Invalid.
func DecodeCursor(s string, q *CaseQuery) (Cursor, error) {
	const op = "storage.DecodeCursor"
	var c Cursor
	if len(s) > 1024 {
		return c, kerr.E(kerr.Invalid, op, "cursor is too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, kerr.E(kerr.Invalid, op, "malformed cursor: pass back the Next value of a previous page unchanged")
	}
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" {
		return c, kerr.E(kerr.Invalid, op, "malformed cursor: pass back the Next value of a previous page unchanged")
	}
	if c.Sort != q.Sort || c.Desc != q.Desc {
		return c, kerr.E(kerr.Invalid, op, "the cursor was made for sort %q (desc=%v), not %q (desc=%v)", c.Sort, c.Desc, q.Sort, q.Desc)
	}
	return c, nil
}

// DateSeconds returns the Unix seconds of d at 00:00 UTC, the integer
// backends store and compare business dates as (one day is 86400), or 0
// for the zero Date. UTC here is only an encoding: every date maps to one
// integer and their order is the dates' order, whatever the zone of the
// server or of the user.
func DateSeconds(d civil.Date) int64 {
	if d.IsZero() {
		return 0
	}
	return d.In(time.UTC).Unix()
}
