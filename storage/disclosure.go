package storage

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
)

// Limits of a disclosure account (第三者開示, issue 12) as every backend
// stores it; account keeps its own rules within them.
const (
	// MaxDisclosureCases bounds the cases one disclosure account shows.
	MaxDisclosureCases = 1000
	// MaxDisclosureLabelBytes bounds Disclosure.Label in bytes of UTF-8.
	MaxDisclosureLabelBytes = 800
)

// DisclosureActionPrefix begins the Action of every audit entry written
// by or about the access of a disclosure account ("disclosure.view",
// "disclosure.download", ...). ListDisclosureAccess returns the entries
// whose actor is the account and whose action has this prefix.
const DisclosureActionPrefix = "disclosure."

// Disclosure is a disclosure account (開示用ID): a login that a user (its
// owner) gives a third party, such as an auditor, to read some of the
// owner's completed cases for a period.
type Disclosure struct {
	ID      string
	Version int64 // as for User
	// OwnerUserID is the user who created it; CompanyID the owner's
	// company.
	OwnerUserID string
	CompanyID   string
	// LoginID is unique across users and disclosure accounts.
	LoginID            string
	PasswordHash       string
	MustChangePassword bool
	Label              string
	// From and Until bound the period in which it may log in: From
	// inclusive, Until exclusive.
	From, Until time.Time
	// RevokedAt is when the owner revoked it; zero while not.
	RevokedAt time.Time
	// AllowList holds the allowed address prefixes as account wrote them
	// (canonical CIDR); empty means no restriction.
	AllowList []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// DisclosureWrite is one write of a disclosure account.
type DisclosureWrite struct {
	// Disclosure is the new row; its Version is the version the caller
	// read (0 to create), as for PutUser.
	Disclosure *Disclosure
	// Cases, when not nil, replaces the set of disclosed case IDs (at
	// most MaxDisclosureCases, each naming a stored case, else
	// kerr.Invalid or kerr.NotFound). nil keeps the set.
	Cases []string
	// MaxPerOwner, when positive on create, is how many unrevoked
	// disclosure accounts the owner may have: creating one more is
	// kerr.FailedPrecondition, decided atomically with the insert.
	MaxPerOwner int
	// EndSessions removes every session of the account, except the one
	// whose token hash is KeepSession, in the same transaction.
	EndSessions bool
	KeepSession string
	// Audit must hold at least one entry.
	Audit []AuditEntry
}

// DisclosureStore keeps disclosure accounts and the cases each shows.
// Safe for concurrent use.
type DisclosureStore interface {
	// PutDisclosure creates (Version 0) or updates a disclosure account
	// with w's audit entries, atomically. Version rules as PutUser; a
	// login ID held by another disclosure account or by a user is
	// kerr.Conflict (and PutUser refuses a login ID a disclosure account
	// holds the same way); an owner that is not a stored user is
	// kerr.FailedPrecondition. A write CheckDisclosureWrite refuses is
	// kerr.Invalid. On success Disclosure.Version is the new version.
	PutDisclosure(ctx context.Context, w *DisclosureWrite) error
	// GetDisclosure returns a disclosure account by ID, or kerr.NotFound.
	GetDisclosure(ctx context.Context, id string) (*Disclosure, error)
	// GetDisclosureByLogin returns the disclosure account with the login
	// ID (compared exactly), or kerr.NotFound.
	GetDisclosureByLogin(ctx context.Context, loginID string) (*Disclosure, error)
	// ListDisclosures returns the disclosure accounts of an owner, by
	// creation time then ID (none is not an error).
	ListDisclosures(ctx context.Context, ownerUserID string) ([]*Disclosure, error)
	// DisclosureCases returns the case IDs a disclosure account shows, in
	// byte order (none, also for an unknown account, is not an error).
	DisclosureCases(ctx context.Context, id string) ([]string, error)
	// Discloses reports whether disclosure account id shows case caseID.
	Discloses(ctx context.Context, id, caseID string) (bool, error)
	// ListDisclosureAccess returns up to limit (1 to 1000, else
	// kerr.Invalid) audit entries with Seq > afterSeq whose actor is
	// disclosure account id and whose Action begins with
	// DisclosureActionPrefix, in ascending Seq order.
	ListDisclosureAccess(ctx context.Context, id string, afterSeq int64, limit int) ([]AuditEntry, error)
}

// CheckDisclosureWrite returns the kerr.Invalid error, under op, that every
// backend gives a write it refuses: no disclosure, no ID, owner, company
// or login ID, a negative version, a label over MaxDisclosureLabelBytes,
// more than MaxDisclosureCases cases or an empty case ID, an allow-list
// CheckAllowList refuses, or no audit entry. It sorts w.Cases and drops
// duplicates. Backends call it first.
func CheckDisclosureWrite(op string, w *DisclosureWrite) error {
	if w == nil || w.Disclosure == nil {
		return kerr.E(kerr.Invalid, op, "no disclosure account given")
	}
	d := w.Disclosure
	if d.ID == "" || d.OwnerUserID == "" || d.CompanyID == "" || d.LoginID == "" || d.Version < 0 {
		return kerr.E(kerr.Invalid, op, "a disclosure account needs an ID, an owner, a company, a login ID and a non-negative version")
	}
	if len(d.Label) > MaxDisclosureLabelBytes {
		return kerr.E(kerr.Invalid, op, "label is %d bytes, at most %d allowed", len(d.Label), MaxDisclosureLabelBytes)
	}
	if err := CheckAllowList(op, d.AllowList); err != nil {
		return err
	}
	if len(w.Cases) > MaxDisclosureCases {
		return kerr.E(kerr.Invalid, op, "a disclosure account shows at most %d cases, not %d", MaxDisclosureCases, len(w.Cases))
	}
	if w.Cases != nil {
		w.Cases = slices.Compact(slices.Sorted(slices.Values(w.Cases)))
		if len(w.Cases) > 0 && w.Cases[0] == "" {
			return kerr.E(kerr.Invalid, op, "a disclosed case ID may not be empty")
		}
	}
	if len(w.Audit) == 0 {
		return kerr.E(kerr.Invalid, op, "a disclosure write needs at least one audit entry")
	}
	return nil
}

// IsDisclosureAction reports whether action is one of a disclosure
// account's (see DisclosureActionPrefix).
func IsDisclosureAction(action string) bool {
	return strings.HasPrefix(action, DisclosureActionPrefix)
}
