package storage

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/kerr"
)

// NameRequestStatus is where a company-name change request stands.
type NameRequestStatus string

// The statuses of a NameRequest. Only a pending request may change; it
// becomes approved or rejected once, for good.
const (
	NamePending  NameRequestStatus = "pending"
	NameApproved NameRequestStatus = "approved"
	NameRejected NameRequestStatus = "rejected"
)

// Limits of a NameRequest, in bytes of UTF-8 (account keeps lower limits
// in characters).
const (
	MaxNameRequestText = 2000 // Name, OldName, Reason, Note
	MaxNameRequestPage = 100  // NameRequestQuery.Limit
)

// NameRequest is a company administrator's request to change the
// company's name in the directory (商号変更申請), decided by the service
// operator. The directory name changes only when it is approved.
type NameRequest struct {
	ID string
	// Version is 1 after the first write and grows by 1 with each; 0 means
	// not stored yet (see NameRequestStore.PutNameRequest).
	Version   int64
	CompanyID string
	OldName   string // the company's name when asked
	Name      string // the name asked for
	Reason    string // why, as the administrator wrote it (e.g. a merger)
	Status    NameRequestStatus
	// RequestedBy is the administrator's user ID, RequestedAt when.
	RequestedBy string
	RequestedAt time.Time
	// DecidedBy is the operator's user ID, DecidedAt when; Note the
	// operator's remark (the reason for a rejection). Empty until decided.
	DecidedBy string
	DecidedAt time.Time
	Note      string
}

// Check returns the kerr.Invalid error, under op, that every backend gives
// a request PutNameRequest refuses: no ID or company, a negative version,
// an unknown status, text over MaxNameRequestText bytes, not valid UTF-8
// or holding a NUL byte. Backends call it first.
func (r *NameRequest) Check(op string) error {
	if r == nil || r.ID == "" || r.CompanyID == "" || r.Version < 0 {
		return kerr.E(kerr.Invalid, op, "a name request needs an ID, a company and a non-negative version")
	}
	switch r.Status {
	case NamePending, NameApproved, NameRejected:
	default:
		return kerr.E(kerr.Invalid, op, "unknown name request status %q", r.Status)
	}
	for _, v := range []string{r.ID, r.CompanyID, r.OldName, r.Name, r.Reason, r.RequestedBy, r.DecidedBy, r.Note} {
		if len(v) > MaxNameRequestText || !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return kerr.E(kerr.Invalid, op, "name request text must be valid UTF-8 without NUL bytes, at most %d bytes a field", MaxNameRequestText)
		}
	}
	return nil
}

// NameRequestQuery selects name requests: those matching every field set.
type NameRequestQuery struct {
	CompanyID string            // empty: every company
	Status    NameRequestStatus // empty: every status
	// After continues a listing after the request with this ID (the last
	// of the previous page); empty starts at the beginning.
	After string
	// Limit is 1 to MaxNameRequestPage.
	Limit int
}

// Check returns the kerr.Invalid error, under op, that every backend gives
// a query with a Limit out of range or an unknown Status.
func (q *NameRequestQuery) Check(op string) error {
	if q == nil || q.Limit < 1 || q.Limit > MaxNameRequestPage {
		return kerr.E(kerr.Invalid, op, "name request page size must be 1 to %d", MaxNameRequestPage)
	}
	switch q.Status {
	case "", NamePending, NameApproved, NameRejected:
	default:
		return kerr.E(kerr.Invalid, op, "unknown name request status %q", q.Status)
	}
	return nil
}

// NameRequestStore keeps company-name change requests (issue 12,
// Administration). Safe for concurrent use; every write commits with its
// audit entries (at least one, else kerr.Invalid) or not at all.
type NameRequestStore interface {
	// PutNameRequest creates (Version 0) or updates (Version = the stored
	// version) r under the version rules of CommitCase: an existing ID on
	// create or a stale Version is kerr.Conflict, updating a missing
	// request kerr.NotFound. A company holds at most one pending request:
	// writing a second one is kerr.Conflict. A company r.CompanyID that
	// does not exist is kerr.FailedPrecondition. When co is not nil it is
	// written in the same transaction under PutCompany's rules (its
	// Version the stored one), so that an approval changes the name and
	// the request together or neither. A request failing
	// NameRequest.Check is kerr.Invalid. On success r.Version (and
	// co.Version) are the new stored versions.
	PutNameRequest(ctx context.Context, r *NameRequest, co *Company, audit []AuditEntry) error
	// GetNameRequest returns a request by ID, or kerr.NotFound.
	GetNameRequest(ctx context.Context, id string) (*NameRequest, error)
	// ListNameRequests returns up to q.Limit requests matching q, oldest
	// first (RequestedAt, then ID). q.After names the last request of the
	// previous page; an After that names no request is kerr.Invalid.
	ListNameRequests(ctx context.Context, q *NameRequestQuery) ([]*NameRequest, error)
}
