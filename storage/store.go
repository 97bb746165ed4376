package storage

import (
	"context"
	"github.com/keiyaku/keiyaku/kerr"
	"time"
)

// Store is a complete backend. Implementations must be safe for concurrent
// use by multiple goroutines, and every error they return must carry a
// kerr kind (errors.Is(err, kerr.NotFound) and so on); errors the backend
// cannot classify are kerr.Internal, and a cancelled or expired context is
// kerr.Unavailable wrapping ctx.Err().
type Store interface {
	CaseStore
	AccountStore
	DirectoryStore
	AuditStore
	OutboxStore
	NameRequestStore // operator.go

	GuardStore    // guard.go
	AnchorStore   // anchor.go
	PersonalStore // personal.go
	BlobRefStore  // blobrefs.go
	WebhookStore  // webhook.go
	ReminderStore // reminder.go
	DisclosureStore
	IdempotencyStore
	RetentionStore // retention.go
	// Close releases the backend's resources. Calls after Close fail.
	Close() error
}

// CaseCommit is one state change of one case: the case's new row, the
// audit entries recording it and the outbox events it causes.
type CaseCommit struct {
	// Case is the new row. Case.Version is the version the caller read:
	// 0 to create the case, otherwise the stored version it replaces.
	Case *Case
	// Audit must hold at least one entry. Seq, PrevHash and Hash are
	// assigned by the store.
	Audit []AuditEntry
	// Events may be empty.
	Events []Event
	// Webhooks are the webhook deliveries the change causes (see
	// WebhookStore); may be empty. A delivery whose ID exists already is
	// kerr.Conflict; one naming no subscription is kerr.FailedPrecondition.
	Webhooks []WebhookDelivery
	// Retention, when not nil, is written with the case (retention.go):
	// the retention a completion starts. Its CaseID must be Case.ID.
	Retention *Retention
}

// Check returns the error of kind kerr.Invalid, under op, that every
// backend gives a malformed commit: no case, a case without ID, a negative
// version, a TransactionDate that is not a calendar date (CheckDate), an
// outbox event without ID. Backends call it first.
func (c *CaseCommit) Check(op string) error {
	if c == nil || c.Case == nil || c.Case.ID == "" {
		return kerr.E(kerr.Invalid, op, "a commit needs a case with an ID")
	}
	if c.Case.Version < 0 {
		return kerr.E(kerr.Invalid, op, "negative version %d", c.Case.Version)
	}
	if err := c.Case.CheckDate(op); err != nil {
		return err
	}
	for _, ev := range c.Events {
		if ev.ID == "" {
			return kerr.E(kerr.Invalid, op, "every outbox event needs an ID")
		}
	}
	for i := range c.Webhooks {
		if err := CheckWebhookDelivery(op, &c.Webhooks[i]); err != nil {
			return err
		}
	}
	if c.Retention != nil {
		if c.Retention.CaseID != c.Case.ID {
			return kerr.E(kerr.Invalid, op, "the retention names case %q, not %q", c.Retention.CaseID, c.Case.ID)
		}
		return CheckRetention(op, c.Retention)
	}
	return nil
}

// CheckDate returns an error of kind kerr.Invalid, under op, unless
// c.TransactionDate is a calendar date from 0001-01-01 to 9999-12-31 (the
// zero Date is none). Every stored date reads back as written. Backends
// call it (through CaseCommit.Check, and for each imported case).
func (c *Case) CheckDate(op string) error {
	d := c.TransactionDate
	if !d.IsValid() || d.Year < 1 || d.Year > 9999 {
		return kerr.E(kerr.Invalid, op, "case %q: transaction date %s is not a calendar date between 0001-01-01 and 9999-12-31", c.ID, d)
	}
	return nil
}

// CaseStore stores contract cases.
type CaseStore interface {
	// CommitCase writes c atomically: the case row, every audit entry and
	// every event, or nothing.
	//
	// With c.Case.Version == 0 the case is created; if a case with that ID
	// exists, CommitCase must return an error for which
	// errors.Is(err, kerr.Conflict). Otherwise the stored version must
	// equal c.Case.Version, else the error is kerr.Conflict (another
	// writer won; reload and retry), or kerr.NotFound if there is no such
	// case. Of two concurrent commits naming the same version exactly one
	// succeeds.
	//
	// An event whose ID exists already is kerr.Conflict. An empty c.Audit,
	// a nil c.Case or an empty c.Case.ID is kerr.Invalid.
	//
	// On success c.Case.Version is set to the new stored version and the
	// audit entries get their Seq, PrevHash and Hash. On failure nothing is
	// written and c is unchanged.
	CommitCase(ctx context.Context, c *CaseCommit) error

	// GetCase returns the case with the given ID, or an error for which
	// errors.Is(err, kerr.NotFound).
	GetCase(ctx context.Context, id string) (*Case, error)

	// SearchCases returns one page of the cases matching q, in q's order.
	// An invalid query (see CaseQuery.Validate) is kerr.Invalid, and so is
	// a malformed cursor or one made for a different sort.
	SearchCases(ctx context.Context, q *CaseQuery) (*CasePage, error)
}

// AccountStore stores companies, users and sessions.
type AccountStore interface {
	// PutCompany creates (Version 0) or updates (Version = stored version)
	// a company together with its audit entries, under the same version
	// rules as CommitCase: an existing ID on create, or a stale Version on
	// update, is kerr.Conflict; updating a missing company is kerr.NotFound.
	// On success c.Version is the new stored version.
	PutCompany(ctx context.Context, c *Company, audit []AuditEntry) error
	// GetCompany returns a company or an error of kind kerr.NotFound.
	GetCompany(ctx context.Context, id string) (*Company, error)

	// PutUser creates or updates a user like PutCompany. LoginID is
	// unique: taking one another user holds is kerr.Conflict. A user
	// whose CompanyID names no company is kerr.FailedPrecondition.
	PutUser(ctx context.Context, u *User, audit []AuditEntry) error
	// GetUser returns a user by ID, or kerr.NotFound.
	GetUser(ctx context.Context, id string) (*User, error)
	// GetUserByLogin returns the user with the login ID (compared
	// exactly), or kerr.NotFound.
	GetUserByLogin(ctx context.Context, loginID string) (*User, error)
	// ListUsers returns the users of a company ordered by ID (none is not
	// an error).
	ListUsers(ctx context.Context, companyID string) ([]*User, error)

	// PutSession stores a new session with its audit entries; an existing
	// TokenHash is kerr.Conflict.
	PutSession(ctx context.Context, s *Session, audit []AuditEntry) error
	// GetSession returns the session with the token hash, or kerr.NotFound.
	// It does not check expiry; the caller does, with its own clock.
	GetSession(ctx context.Context, tokenHash string) (*Session, error)
	// DeleteSession removes a session with its audit entries; a missing
	// session is kerr.NotFound.
	DeleteSession(ctx context.Context, tokenHash string, audit []AuditEntry) error
	// DeleteSessionsBefore removes every session that expired before t
	// and reports how many.
	DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error)
}

// AuditStore reads the audit log. Entries are only ever appended, by the
// writing methods of the other interfaces, each batch after the last entry
// in commit order: the log is one hash chain (see ChainHash).
type AuditStore interface {
	// AppendAudit appends entries that belong to no other write (e.g. a
	// failed login), assigning Seq, PrevHash and Hash. Empty is kerr.Invalid.
	AppendAudit(ctx context.Context, entries []AuditEntry) error
	// ListAudit returns up to limit entries (1 to 1000, else kerr.Invalid)
	// with Seq > afterSeq in ascending Seq order; caseID, when not empty,
	// keeps only the entries of that case.
	ListAudit(ctx context.Context, afterSeq int64, caseID string, limit int) ([]AuditEntry, error)
}

// OutboxStore hands outbox events to a delivery worker (at least once).
type OutboxStore interface {
	// DueEvents lists up to limit (1 to 1000, else kerr.Invalid) events
	// that are due at now: not delivered, not given up, NextAttemptAt not
	// after now; ordered by NextAttemptAt, then CreatedAt, then ID. It
	// changes nothing (see ClaimEvents).
	DueEvents(ctx context.Context, now time.Time, limit int) ([]Event, error)
	// ClaimEvents is DueEvents for a worker: in the same transaction it
	// moves the returned events' NextAttemptAt to now+lease, so no other
	// claim returns them until the lease lapses (then they are due again).
	// The events are returned as they were before the claim. lease must be
	// positive (else kerr.Invalid).
	ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Event, error)
	// MarkDelivered records that event id was delivered at t; it is never
	// due again. A missing event is kerr.NotFound. Marking twice keeps the
	// first time.
	MarkDelivered(ctx context.Context, id string, t time.Time) error
	// MarkFailed records a failed attempt: attempts failed so far, errMsg
	// the latest error. A non-zero next makes the event due again at next;
	// zero next gives up (GaveUp; kept for operators, never due again). A
	// missing event is kerr.NotFound.
	MarkFailed(ctx context.Context, id string, attempts int, next time.Time, errMsg string) error
}

// BulkLoader is an optional ability of a Store, found by type assertion:
// loading many new cases at once (a migration from another system, test
// data). It is not part of Store because a backend may have no faster path
// than CommitCase.
type BulkLoader interface {
	// ImportCases creates every case in one transaction with the audit
	// entries (at least one, e.g. one "case.import" entry for the batch),
	// under CommitCase's rules for creation: Version must be 0 and an
	// existing ID is kerr.Conflict, failing the whole batch. On success
	// every case's Version is 1. At most MaxImportBatch cases per call.
	ImportCases(ctx context.Context, cases []*Case, audit []AuditEntry) error
}

// MaxImportBatch bounds BulkLoader.ImportCases.
const MaxImportBatch = 10000
