package storage

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/kerr"
)

// The retention actions: what happens to a completed case at the end of
// its 10 years (issue 12, 保管期間).
const (
	// RetainExtend keeps the case 5 years more, 15 in all; then it is
	// deleted.
	RetainExtend = "extend"
	// RetainDelete deletes the case once its 10 years are over.
	RetainDelete = "delete"
)

// RetentionSettings are a company's retention settings (issue 12).
type RetentionSettings struct {
	// DefaultAction is what happens at the end of the 10 years to a case
	// whose owner set nothing: RetainExtend (the default when empty) or
	// RetainDelete.
	DefaultAction string `json:",omitempty"`
	// FiscalYear counts the 10 years from the day after the corporate-tax
	// filing deadline of the fiscal year in which a case completed,
	// instead of from the completion date.
	FiscalYear bool `json:",omitempty"`
	// FiscalYearEndMonth is the month (1-12) in which the fiscal year
	// ends; 0 means 3 (March), the most common in Japan.
	FiscalYearEndMonth int `json:",omitempty"`
	// FilingExtensionMonths is the extension of the filing deadline
	// (申告期限の延長), 0 to 4 months; the deadline is 2 months after the
	// fiscal year's end plus this.
	FilingExtensionMonths int `json:",omitempty"`
}

// PinTTL is how long a blob pin (RetentionStore.PinBlob) protects a blob
// that no case row names yet. It must be longer than any call takes from
// storing a blob to committing the row that names it; a day is far more
// than the largest upload takes, and a pin left behind by a crashed call
// only keeps a blob a day longer.
const PinTTL = 24 * time.Hour

// MaxHoldReason bounds a legal hold's reason in bytes of UTF-8.
const MaxHoldReason = 2000

// Retention is how long one completed case is kept and what happens then.
// casework computes it; the store keeps it and finds the due ones by Until.
type Retention struct {
	CaseID string
	// CompanyID is the owner (registrant) company, whose administrators
	// list its upcoming deletions; OwnerUserID the registrant, who is told.
	CompanyID   string
	OwnerUserID string
	CompletedAt time.Time
	// Start is the first day of the 10 years; Until the first day on
	// which the sweep may delete the case (Start + 10 or 15 years), both
	// in the owner company's time zone.
	Start  civil.Date
	Until  civil.Date
	Action string // RetainExtend or RetainDelete
	// Rule names how Start was counted ("completion" or
	// "fiscal-year FYEnd=3 ext=1").
	Rule string
	// SetBy is the user who set Action; empty for the company default.
	SetBy string
	SetAt time.Time
	// NoticeAt is when the deletion notice was queued; zero before.
	NoticeAt time.Time
	// Deleting is set once the sweep committed the deletion record: the
	// files are being removed, and nothing may change the case any more.
	Deleting bool
}

// Hold is a legal hold one company placed on a case: while any hold is on
// it, the case is never deleted.
type Hold struct {
	CaseID    string
	CompanyID string
	UserID    string
	Reason    string
	At        time.Time
}

// RemovedObject is one stored object a deletion removed from a case.
type RemovedObject struct {
	Name   string // e.g. "contract.pdf", "sealed/contract.sealed.pdf", "case.json"
	SHA256 string // lower-case hex; for a blob, its key
	Size   int64
}

// DeletionRecord is what remains of a case the retention sweep deleted:
// enough to prove what was removed, when and under which policy.
// Digest is the SHA-256 of the record's canonical JSON (DeletionRecord.Sum)
// and Token an RFC 3161 token over it; the audit entry of the deletion
// names the digest, so the record is chained into the audit log.
type DeletionRecord struct {
	CaseID      string
	CompanyIDs  []string // the owner first, then each party's company
	Objects     []RemovedObject
	CompletedAt time.Time
	DeletedAt   time.Time
	Start       civil.Date
	Until       civil.Date
	Action      string
	Rule        string
	SetBy       string
	SetAt       time.Time
	// Digest and Token are not part of the summed record.
	Digest []byte `json:",omitempty"`
	Token  []byte `json:",omitempty"`
	// Removing are the blob keys the sweep removes: Objects' keys that no
	// other case uses (set by BeginDeletion; not part of the digest).
	Removing []string `json:",omitempty"`
	// Finished is set once the case's rows are gone.
	Finished bool `json:",omitempty"`
}

// Sum returns the SHA-256 of the record's JSON without Digest, Token,
// Removing and Finished: the value Digest must hold.
func (r *DeletionRecord) Sum() []byte {
	c := *r
	c.Digest, c.Token, c.Removing, c.Finished = nil, nil, nil, false
	b, _ := json.Marshal(&c) // plain data: cannot fail
	h := sha256.Sum256(b)
	return h[:]
}

// RetentionCursor is where a page of due or upcoming cases ends: the next
// page starts after (Until, CaseID). The zero cursor starts at the
// beginning.
type RetentionCursor struct {
	Until  civil.Date
	CaseID string
}

// MaxRetentionPage bounds the limit of the paged RetentionStore calls.
const MaxRetentionPage = 1000

// RetentionStore keeps retention policies, legal holds, blob references
// and deletion records (issue 12), for casework's retention rules and its
// deletion sweep. Each write commits with its audit entries (at least
// one, where the method takes them) atomically, or not at all. A case that
// does not exist is kerr.NotFound.
//
// The deletion of a case runs in three steps so that a crash at any point
// resumes on the next sweep: BeginDeletion (the record and its audit
// entry, the case marked Deleting, its unshared blobs marked removing),
// then the caller removes those blobs, then FinishDeletion removes the
// case's rows.
type RetentionStore interface {
	// PutRetention creates or replaces the retention of r.CaseID. A case
	// being deleted is kerr.FailedPrecondition; a missing case
	// kerr.NotFound; an Action other than RetainExtend or RetainDelete,
	// or an invalid date, kerr.Invalid.
	PutRetention(ctx context.Context, r *Retention, audit []AuditEntry) error
	// GetRetention returns the retention of a case, or kerr.NotFound.
	GetRetention(ctx context.Context, caseID string) (*Retention, error)
	// PutHold places (or replaces the reason of) the hold of h.CompanyID
	// on h.CaseID. A case being deleted is kerr.FailedPrecondition.
	PutHold(ctx context.Context, h *Hold, audit []AuditEntry) error
	// DeleteHold lifts the hold of companyID on caseID; none is
	// kerr.NotFound and writes nothing.
	DeleteHold(ctx context.Context, caseID, companyID string, audit []AuditEntry) error
	// ListHolds returns the holds on a case ordered by company ID.
	ListHolds(ctx context.Context, caseID string) ([]Hold, error)
	// DueRetentions returns up to limit (1 to MaxRetentionPage, else
	// kerr.Invalid) retentions with Until on or before through, after the
	// cursor, not Deleting and without a hold, in (Until, CaseID) order.
	// It reads them from an index: the cost is the page, not the number
	// of cases.
	DueRetentions(ctx context.Context, through civil.Date, after RetentionCursor, limit int) ([]Retention, error)
	// UpcomingDeletions is DueRetentions for one owner company, from
	// after the cursor through the date (the held ones left out).
	UpcomingDeletions(ctx context.Context, companyID string, through civil.Date, after RetentionCursor, limit int) ([]Retention, error)
	// DeletingRetentions returns up to limit retentions that are
	// Deleting (a sweep began and did not finish), by case ID.
	DeletingRetentions(ctx context.Context, limit int) ([]Retention, error)
	// MarkNoticed sets NoticeAt of caseID to at and writes events with
	// the audit entries, only if NoticeAt was zero; it reports whether it
	// wrote (false: noticed already, nothing written).
	MarkNoticed(ctx context.Context, caseID string, at time.Time, events []Event, audit []AuditEntry) (bool, error)

	// PinBlob records that key is being stored or reused at time at, so
	// that no sweep removes it for PinTTL. A key the sweep is removing is
	// kerr.Unavailable: store it again after the sweep (a minute).
	PinBlob(ctx context.Context, key string, at time.Time) error
	// CaseBlobs returns every blob key case caseID has ever named, sorted.
	CaseBlobs(ctx context.Context, caseID string) ([]string, error)
	// BeginDeletion commits the first step of deleting rec.CaseID: rec
	// (its Digest must equal rec.Sum(), else kerr.Invalid), the audit
	// entries, the retention marked Deleting, and every key of the
	// case's blobs that no other case names and nobody pinned after
	// pinnedBefore marked removing; rec.Removing is set to those keys.
	// A held case, or one without retention, is kerr.FailedPrecondition;
	// one already Deleting is kerr.Conflict.
	BeginDeletion(ctx context.Context, rec *DeletionRecord, pinnedBefore time.Time, audit []AuditEntry) error
	// FinishDeletion removes the rows of a case whose deletion began: the
	// case, its parties, access rows, personal marks, blob references,
	// retention and the pins of the removed keys; the record is marked
	// Finished. A case not Deleting is kerr.FailedPrecondition; a
	// finished one is not an error.
	FinishDeletion(ctx context.Context, caseID string) error
	// GetDeletionRecord returns the deletion record of a case, or
	// kerr.NotFound.
	GetDeletionRecord(ctx context.Context, caseID string) (*DeletionRecord, error)
}

// CheckRetention returns the kerr.Invalid error, under op, every backend
// gives a malformed retention. Backends call it first.
func CheckRetention(op string, r *Retention) error {
	switch {
	case r == nil || r.CaseID == "" || r.CompanyID == "":
		return kerr.E(kerr.Invalid, op, "a retention needs a case ID and a company ID")
	case r.Action != RetainExtend && r.Action != RetainDelete:
		return kerr.E(kerr.Invalid, op, "retention action %q: use %q or %q", r.Action, RetainExtend, RetainDelete)
	}
	if err := CheckDate(op, "Start", r.Start); err != nil {
		return err
	}
	return CheckDate(op, "Until", r.Until)
}

// CheckHold returns the kerr.Invalid error of a malformed hold.
func CheckHold(op string, h *Hold) error {
	switch {
	case h == nil || h.CaseID == "" || h.CompanyID == "":
		return kerr.E(kerr.Invalid, op, "a hold needs a case ID and a company ID")
	case len(h.Reason) > MaxHoldReason:
		return kerr.E(kerr.Invalid, op, "hold reason is %d bytes, at most %d allowed", len(h.Reason), MaxHoldReason)
	}
	return nil
}

// CheckRetentionPage returns kerr.Invalid for a limit outside 1 to
// MaxRetentionPage.
func CheckRetentionPage(op string, limit int) error {
	if limit < 1 || limit > MaxRetentionPage {
		return kerr.E(kerr.Invalid, op, "limit %d: ask for 1 to %d", limit, MaxRetentionPage)
	}
	return nil
}

// CaseBlobKeys returns the blob keys c names now (document, acceptance,
// supplements, sealed files), for the backends' case_blobs rows.
func CaseBlobKeys(c *Case) []string {
	var keys []string
	add := func(f File) {
		if f.Key != "" {
			keys = append(keys, f.Key)
		}
	}
	add(c.Document)
	add(c.Acceptance)
	for _, f := range c.Supplements {
		add(f)
	}
	for _, f := range c.Sealed {
		add(f)
	}
	return keys
}

// CheckDeletion returns the kerr.Invalid error of a deletion record
// without a case, a deletion time, a token, valid Start and Until dates,
// or whose Digest is not rec.Sum().
func CheckDeletion(op string, rec *DeletionRecord) error {
	switch {
	case rec == nil || rec.CaseID == "" || rec.DeletedAt.IsZero():
		return kerr.E(kerr.Invalid, op, "a deletion record needs a case ID and a deletion time")
	case len(rec.Token) == 0:
		return kerr.E(kerr.Invalid, op, "deletion record of case %q has no timestamp token", rec.CaseID)
	case !rec.Start.IsValid() || !rec.Until.IsValid():
		return kerr.E(kerr.Invalid, op, "deletion record of case %q needs the retention's Start and Until dates", rec.CaseID)
	case string(rec.Digest) != string(rec.Sum()):
		return kerr.E(kerr.Invalid, op, "deletion record of case %q: Digest is not the SHA-256 of the record", rec.CaseID)
	}
	return nil
}

// RetentionLoader is an optional ability of a Store, found by type
// assertion, beside BulkLoader: loading the retentions of many imported
// completed cases at once (a migration from another system, test data).
type RetentionLoader interface {
	// ImportRetentions creates or replaces the retention of each case (at
	// most MaxImportBatch, every case existing) in one transaction with
	// the audit entries (at least one); nothing is written on error. A
	// case that does not exist is kerr.FailedPrecondition.
	ImportRetentions(ctx context.Context, rs []*Retention, audit []AuditEntry) error
}
