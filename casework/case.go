package casework

import (
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Limits on case data and documents.
const (
	// MaxDocumentSize is the largest contract PDF accepted, in bytes,
	// including every signature added later (returns grow the file).
	MaxDocumentSize = 20 << 20 // 20 MiB
	// MaxSupplements is how many supplementary files a case may carry.
	MaxSupplements = 5
	// MaxSupplementSize is the largest supplementary file, in bytes.
	MaxSupplementSize = 10 << 20 // 10 MiB
	// MinMultiParties and MaxMultiParties bound the counterparties of a
	// FormMultiParty case (the registrant not counted); every other form
	// has exactly one counterparty.
	MinMultiParties = 2
	MaxMultiParties = 9
	// Text limits, in characters.
	MaxNameLen        = 200 // case name, company names, file names
	MaxOrderNumberLen = 100
	MaxReasonLen      = 2000 // send-back reason
	// MaxAmount bounds Money.Amount (in minor units) so sums of many
	// cases cannot overflow int64.
	MaxAmount = 1 << 50
)

// Category says whether a case is a new contract or relates to a completed
// one.
type Category uint8

// The categories.
const (
	CategoryNew          Category = iota + 1 // 新規
	CategoryChange                           // 変更: changes a completed contract
	CategoryAddition                         // 追加: adds to a completed contract
	CategoryCancellation                     // 解約: cancels a completed contract
)

var categoryNames = [...]string{
	CategoryNew:          "new",
	CategoryChange:       "change",
	CategoryAddition:     "addition",
	CategoryCancellation: "cancellation",
}

// Categories returns every category.
func Categories() []Category {
	return []Category{CategoryNew, CategoryChange, CategoryAddition, CategoryCancellation}
}

// String returns the category's stable name, e.g. "change"; "" if unknown.
func (c Category) String() string {
	if c >= CategoryNew && int(c) < len(categoryNames) {
		return categoryNames[c]
	}
	return ""
}

// Related reports whether a case of category c names an original case.
func (c Category) Related() bool {
	return c == CategoryChange || c == CategoryAddition || c == CategoryCancellation
}

// ParseCategory returns the Category named s, or an error of kind kerr.Invalid.
func ParseCategory(s string) (Category, error) {
	for _, c := range Categories() {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, kerr.E(kerr.Invalid, "casework.ParseCategory", "unknown category %q: use new, change, addition or cancellation", s)
}

// Money is an amount in the minor unit of an ISO 4217 currency (yen have
// none: {100000, "JPY"} is ¥100,000; {1999, "USD"} is $19.99). Integers,
// so that no amount is ever rounded.
type Money struct {
	Amount   int64
	Currency string // three upper-case letters, e.g. "JPY"
}

// Party is a counterparty of a case.
type Party struct {
	CompanyID string
	// CompanyName is the directory's name of the company, as shown in
	// lists, searched and exported. Register fills it in; a name given
	// that differs from the directory's is refused.
	CompanyName string
	UserID      string // the person the case is sent to; required
	// DoneAt is when the party returned (or acknowledged) the case; zero
	// until then.
	DoneAt time.Time
}

// File is a stored document: its name and type as uploaded, and the
// SHA-256 key and size of its bytes.
type File struct {
	Name        string
	ContentType string
	Key         string
	Size        int64
}

// IsZero reports whether f names no document.
func (f File) IsZero() bool { return f.Key == "" }

// Upload is a document as it comes in. Body is read once, streaming, up to
// the size limit for its kind.
type Upload struct {
	Name        string // file name, 1 to MaxNameLen characters; required
	ContentType string // e.g. "application/pdf"; may be empty
	Body        io.Reader
}

// Case is a contract case as casework sees it.
type Case struct {
	ID       string
	Version  int64 // for optimistic concurrency; see storage.CaseCommit
	Form     Form
	State    State
	Category Category
	// OriginalID names the completed case a change, addition or
	// cancellation relates to; empty for CategoryNew. The other direction
	// is Service.Related.
	OriginalID  string
	Name        string
	OrderNumber string
	Amount      Money
	// TransactionDate is the calendar date of the transaction (取引年月日):
	// a date as the parties wrote it, in no time zone.
	TransactionDate     civil.Date
	RegistrantCompanyID string
	RegistrantUserID    string
	// Parties are the counterparties in signing order; Turn indexes the
	// one on turn.
	Parties []Party
	Turn    int
	// Document is the contract PDF as it stands, with every signature so
	// far. Acceptance is the counterparty's acceptance PDF
	// (FormOrderAcceptance only).
	Document    File
	Acceptance  File
	Supplements []File
	// Sealed holds the sealed PDF(s) and the RFC 3161 tokens of the
	// supplementary files, once completed.
	Sealed      []File
	Reason      string // the latest send-back reason
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt time.Time
	// Signers are the signatures each upload added, with the identity of
	// the signer certificate and the company whose upload carried it, in
	// upload order (a resent document starts the list again).
	Signers []SignerRecord
	// ReplyBy is the optional reply-by date (回答期限); zero is none. See
	// Service.SetReplyBy and Service.SendReminders.
	ReplyBy civil.Date
}

// NewCase is what Register needs to create a case.
type NewCase struct {
	Form     Form
	Category Category // zero means CategoryNew
	// OriginalID is required for a related category: a completed case the
	// principal's company is part of.
	OriginalID  string
	Name        string // required
	OrderNumber string
	Amount      Money
	// TransactionDate is the calendar date of the transaction; required.
	// A date, not an instant: 2026-04-01 stays 2026-04-01 whatever the
	// zone of the server or of the user (civil.DateOf(t) takes the date
	// of a time.Time in its own location).
	TransactionDate civil.Date
	// Parties are the counterparties in signing order: exactly one, or
	// MinMultiParties to MaxMultiParties for FormMultiParty. No company may
	// appear twice, and the registrant's own company not at all. Each
	// names a company of the directory and one of its users; CompanyName
	// may be left empty (the directory's name is stored).
	Parties []Party
	// Document is the contract PDF, signed by the registrant (unsigned is
	// allowed only for FormSendOnly). Required.
	Document Upload
	// Supplements are up to MaxSupplements supplementary files of any type.
	Supplements []Upload
	// ReplyBy is an optional reply-by date (回答期限); zero is none.
	ReplyBy civil.Date
}

func checkText(op, field, v string, required bool, max int) error {
	if v == "" {
		if required {
			return kerr.E(kerr.Invalid, op, "%s is required", field)
		}
		return nil
	}
	if !utf8.ValidString(v) {
		return kerr.E(kerr.Invalid, op, "%s is not valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return kerr.E(kerr.Invalid, op, "%s is %d characters long; at most %d are allowed", field, n, max)
	}
	if strings.ContainsFunc(v, invisible) {
		return kerr.E(kerr.Invalid, op, "%s may not contain control characters, bidirectional overrides or zero-width characters", field)
	}
	return nil
}

func checkMoney(op string, m Money) error {
	if len(m.Currency) != 3 || strings.ContainsFunc(m.Currency, func(r rune) bool { return r < 'A' || r > 'Z' }) {
		return kerr.E(kerr.Invalid, op, "currency %q must be an ISO 4217 code of three upper-case letters, e.g. JPY", m.Currency)
	}
	if m.Amount < 0 || m.Amount > MaxAmount {
		return kerr.E(kerr.Invalid, op, "amount %d must be between 0 and %d minor units", m.Amount, int64(MaxAmount))
	}
	return nil
}

// validate checks nc for registration by a principal of company regCo. It
// reads no document bodies.
func (nc *NewCase) validate(op, regCo string) error {
	if !nc.Form.Valid() {
		return kerr.E(kerr.Invalid, op, "unknown form %d", nc.Form)
	}
	if nc.Category == 0 {
		nc.Category = CategoryNew
	}
	if nc.Category.String() == "" {
		return kerr.E(kerr.Invalid, op, "unknown category %d", nc.Category)
	}
	if nc.Category.Related() != (nc.OriginalID != "") {
		if nc.OriginalID == "" {
			return kerr.E(kerr.Invalid, op, "a %s case must name the completed case it relates to (OriginalID)", nc.Category)
		}
		return kerr.E(kerr.Invalid, op, "a new case may not name an original case; use category change, addition or cancellation")
	}
	if err := checkText(op, "case name", nc.Name, true, MaxNameLen); err != nil {
		return err
	}
	if err := checkText(op, "order number", nc.OrderNumber, false, MaxOrderNumberLen); err != nil {
		return err
	}
	if err := checkMoney(op, nc.Amount); err != nil {
		return err
	}
	if nc.TransactionDate.IsZero() {
		return kerr.E(kerr.Invalid, op, "the transaction date is required")
	}
	if !nc.ReplyBy.IsZero() {
		if err := storage.CheckDate(op, "the reply-by date", nc.ReplyBy); err != nil {
			return err
		}
	}
	if err := storage.CheckDate(op, "the transaction date", nc.TransactionDate); err != nil {
		return err
	}
	n := len(nc.Parties)
	switch {
	case nc.Form == FormMultiParty && (n < MinMultiParties || n > MaxMultiParties):
		return kerr.E(kerr.Invalid, op, "a multi-party contract needs %d to %d counterparties, not %d", MinMultiParties, MaxMultiParties, n)
	case nc.Form != FormMultiParty && n != 1:
		return kerr.E(kerr.Invalid, op, "a %s case has exactly one counterparty, not %d; use the multi-party form for more", nc.Form, n)
	}
	seen := map[string]bool{regCo: true}
	for i, p := range nc.Parties {
		if p.CompanyID == "" || p.UserID == "" {
			return kerr.E(kerr.Invalid, op, "counterparty %d needs a company and a user", i+1)
		}
		if err := checkText(op, "counterparty company name", p.CompanyName, false, MaxNameLen); err != nil {
			return err
		}
		if seen[p.CompanyID] {
			return kerr.E(kerr.Invalid, op, "company %q appears twice among the parties (the registrant's own company counts)", p.CompanyID)
		}
		seen[p.CompanyID] = true
	}
	if err := checkUpload(op, "contract document", &nc.Document); err != nil {
		return err
	}
	if len(nc.Supplements) > MaxSupplements {
		return kerr.M(kerr.Invalid, op, "case.toomanyfiles", "{count} supplementary files were given but at most {max} are allowed: leave some out or combine them into one file",
			kerr.P("count", len(nc.Supplements)), kerr.P("max", MaxSupplements))
	}
	for i := range nc.Supplements {
		if err := checkUpload(op, "supplementary file", &nc.Supplements[i]); err != nil {
			return err
		}
	}
	return nil
}

func checkUpload(op, what string, u *Upload) error {
	if u.Body == nil {
		return kerr.E(kerr.Invalid, op, "the %s has no body", what)
	}
	u.Name = SafeFileName(u.Name) // names.go
	if err := checkText(op, what+" name", u.Name, true, MaxNameLen); err != nil {
		return err
	}
	return nil
}
