package storage

import (
	"time"

	"cloud.google.com/go/civil"
)

// Case is the stored form of a contract case. Form, State and Category
// hold the names casework gives them; the store treats them as opaque
// strings that it filters on by equality.
type Case struct {
	ID string
	// Version is 1 after the first commit and grows by 1 with every commit;
	// 0 means "not stored yet". See CaseStore.CommitCase.
	Version  int64
	Form     string
	State    string
	Category string
	// OriginalID names the completed case a change, addition or
	// cancellation case relates to; empty for a new contract.
	OriginalID  string
	Name        string
	OrderNumber string
	// Amount is in minor units of Currency (yen have none: 1000 = ¥1,000).
	Amount   int64
	Currency string // ISO 4217 code, e.g. "JPY"
	// TransactionDate is the calendar date of the transaction (取引年月日),
	// without a time zone: the date the parties agreed on, not an instant.
	// Backends store it as the Unix seconds of its 00:00 UTC (DateSeconds)
	// and its JSON form is "2006-01-02".
	TransactionDate     civil.Date
	RegistrantCompanyID string
	RegistrantUserID    string
	// Parties are the counterparties, in signing order. At least one.
	Parties []Party
	// Turn is the index into Parties of the party on turn.
	Turn int
	// Document is the contract PDF as it now stands (with every signature
	// so far). Acceptance is the counterparty's own acceptance PDF for the
	// separate order/acceptance form; empty otherwise.
	Document   File
	Acceptance File
	// Supplements are up to 5 supplementary files (the limit is casework's).
	Supplements []File
	// Sealed holds the sealed (archived) documents once completed.
	Sealed []File
	// Reason is the reason given with the latest send-back; empty otherwise.
	Reason      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt time.Time // zero until completed
	// Signers are the signatures each upload added, with the signer
	// certificate's identity, in upload order.
	Signers []Signer
	// ReplyBy is the optional reply-by date (回答期限) the registrant set;
	// the zero Date is none. Past it an unfinished case is overdue (the
	// reminder pass tells both sides once); nothing else changes.
	ReplyBy civil.Date `json:",omitzero"`
}

// Party is one counterparty of a case.
type Party struct {
	CompanyID   string
	CompanyName string // as shown in lists and searched by CaseQuery.Counterparty
	UserID      string // the person the case is sent to (案件返送者)
	DoneAt      time.Time
}

// File names a blob and says what it is.
type File struct {
	Name        string // the file name the user gave, e.g. "契約書.pdf"
	ContentType string
	Key         string // the blob key: lower-case hex SHA-256 of the bytes
	Size        int64
}

// IsZero reports whether f names no blob.
func (f File) IsZero() bool { return f.Key == "" }

// AuditEntry is one entry of the append-only, hash-chained audit log. Who,
// when, from which address, what.
type AuditEntry struct {
	// Seq is assigned by the store: 1 for the first entry, then +1
	// without gaps, in commit order.
	Seq            int64
	Time           time.Time
	ActorUserID    string
	ActorCompanyID string
	RemoteAddr     string
	Action         string // e.g. "case.register", "account.login"
	CaseID         string // empty when no case is concerned
	Detail         string
	// PrevHash and Hash are assigned by the store with ChainHash, or
	// with KeyedChainHash under the key named KeyID (empty: unkeyed).
	PrevHash []byte
	Hash     []byte
	KeyID    string
}

// Event is one notification outbox row: something happened to a case that
// the named users must be told about.
type Event struct {
	// ID is chosen by the caller, unique, 1 to 128 characters from
	// A-Z a-z 0-9 . - _ (it becomes part of a Message-ID).
	ID         string
	Type       string // e.g. "receipt_requested", as notify names them
	CaseID     string
	Recipients []string // user IDs
	Language   string   // BCP 47, e.g. "ja"
	// ActorUserID is who caused the event; Reason the send-back reason.
	ActorUserID string
	Reason      string
	CreatedAt   time.Time
	// What the notice shows, captured when the event was written so that
	// delivery needs no further lookups (and shows the names as they were).
	// Any may be empty; RecipientEmail empty means the recipient has no
	// address on file.
	CaseName         string
	OrderNumber      string
	FromCompany      string
	FromUser         string
	RecipientCompany string
	RecipientName    string
	RecipientEmail   string
	// Delivery state, maintained through OutboxStore.
	Attempts      int
	NextAttemptAt time.Time
	DeliveredAt   time.Time
	GaveUp        bool // delivery was abandoned; never due again
	LastError     string
}

// Company is a customer company.
type Company struct {
	ID      string
	Version int64
	Name    string
	// CorporateNumber is the 13-digit 法人番号 (corporate number); empty
	// when not known.
	CorporateNumber string
	// SignerCerts are the certificates (or issuing CA plus subject
	// attributes) the company's people sign with; see SignerCert.
	SignerCerts []SignerCert
	// Partners are the IDs of the company's trading partners (取引先).
	Partners  []string
	CreatedAt time.Time
	UpdatedAt time.Time
	// TimeZone is the IANA name of the zone the company's people see and
	// ask for times in (completion times, CSV exports), e.g. "Asia/Tokyo";
	// empty means account.DefaultTimeZone.
	TimeZone string `json:",omitempty"`
	// Operator marks the service operator's own organisation (see
	// account.Service.CreateOperator): it is no customer, is left out of
	// the directory and can never be a party to a case.
	Operator bool `json:",omitempty"`
	// ReminderDays is how many days a case of this company (as
	// registrant) may wait for someone's action before that party gets a
	// reminder, and again every as many days; 0 means no reminders.
	ReminderDays int `json:",omitempty"`
	// MaxDisclosures is how many unrevoked disclosure accounts each user
	// may have; 0 means account.DefaultMaxDisclosures.
	MaxDisclosures int `json:",omitempty"`
	// Retention holds the company's retention settings (retention.go);
	// nil means the defaults.
	Retention *RetentionSettings `json:",omitempty"`
}

// User is a person who logs in, with credentials and profile.
type User struct {
	ID        string
	Version   int64
	CompanyID string
	LoginID   string // unique across all companies
	Admin     bool   // administrator of its company
	// PasswordHash is an encoded password hash (account chooses the
	// format); MustChangePassword is set for an initial password.
	PasswordHash       string
	MustChangePassword bool
	FailedLogins       int       // unused since issue 11 (see GuardStore)
	LockedUntil        time.Time // unused since issue 11 (see GuardStore)
	// Disabled: an administrator disabled the user; it cannot log in.
	Disabled  bool
	Profile   Profile
	CreatedAt time.Time
	UpdatedAt time.Time

	// Operator: a service operator, a user of the operator organisation
	// (Company.Operator). Set only by account.Service.CreateOperator.
	Operator bool `json:",omitempty"`
}

// Profile holds a user's contact details.
type Profile struct {
	Name       string
	Furigana   string
	Department string
	Title      string
	Phone      string
	Fax        string
	Email      string
	Address    string
	Language   string // BCP 47, e.g. "ja"; the language of notices
}

// Session is a logged-in session. The store keeps only a hash of the token.
type Session struct {
	TokenHash  string // lower-case hex SHA-256 of the session token
	UserID     string
	RemoteAddr string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}
