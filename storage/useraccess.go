package storage

import (
	"context"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
)

// UserAccess is what a company administrator sees of a user's access
// beyond the User row: its IP allow-list and its last login.
type UserAccess struct {
	// AllowList holds the user's allowed address prefixes as account
	// wrote them (canonical CIDR, e.g. "192.0.2.0/24", "2001:db8::/32");
	// empty means no restriction.
	AllowList []string
	// LastLoginAt is the latest successful login; zero if none recorded.
	LastLoginAt time.Time
}

// MaxAllowListStored bounds an allow-list a backend stores (account keeps
// a lower limit of its own); each entry is 1 to MaxAllowEntryLen bytes.
const (
	MaxAllowListStored = 100
	MaxAllowEntryLen   = 64
)

// CheckAllowList returns the kerr.Invalid error, under op, that every
// backend gives for a list PutAllowList refuses.
func CheckAllowList(op string, list []string) error {
	if len(list) > MaxAllowListStored {
		return kerr.E(kerr.Invalid, op, "an allow-list holds at most %d entries, not %d", MaxAllowListStored, len(list))
	}
	for _, e := range list {
		if len(e) == 0 || len(e) > MaxAllowEntryLen {
			return kerr.E(kerr.Invalid, op, "allow-list entries must be 1 to %d bytes", MaxAllowEntryLen)
		}
	}
	return nil
}

// UserAccessStore keeps users' IP allow-lists and last logins (issue 12).
// It is an optional ability of a Store, found by type assertion (both
// backends implement it); safe for concurrent use.
type UserAccessStore interface {
	// PutAllowList replaces the allow-list of user userID with list
	// (empty removes it) together with the audit entries (at least one),
	// in one transaction. A missing user is kerr.NotFound; a list
	// CheckAllowList refuses, or no audit entry, is kerr.Invalid. On any
	// error nothing is written.
	PutAllowList(ctx context.Context, userID string, list []string, audit []AuditEntry) error
	// GetUserAccess returns the access record of a user; a user without
	// one (or an unknown user) gets the zero UserAccess, not an error.
	GetUserAccess(ctx context.Context, userID string) (UserAccess, error)
	// ListUserAccess returns the access records of the users of a company
	// that have one, keyed by user ID.
	ListUserAccess(ctx context.Context, companyID string) (map[string]UserAccess, error)
	// RecordLogin sets the last login of user userID to t. It is
	// bookkeeping, not an audited act (the login has its own entry). A
	// missing user is kerr.NotFound.
	RecordLogin(ctx context.Context, userID string, t time.Time) error
	// BlockedUntil returns the latest BlockedUntil after now among the
	// throttle records (see GuardStore) whose Subject is subject, or the
	// zero time when none of them is blocked at now.
	BlockedUntil(ctx context.Context, subject string, now time.Time) (time.Time, error)
}
