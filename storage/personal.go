package storage

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/kerr"
)

// HiddenMode says what a search does with the cases its CaseQuery.HiddenFor
// user has hidden (casework's 非表示, one user's own marks on completed
// cases; a colleague or a counterparty still sees the case).
type HiddenMode int

// The hidden modes. The zero value leaves hidden cases out.
const (
	HiddenExclude HiddenMode = iota // the default: not the hidden cases
	HiddenOnly                      // only the hidden cases
	HiddenInclude                   // hidden or not
)

// String returns "exclude", "only" or "include".
func (m HiddenMode) String() string {
	switch m {
	case HiddenExclude:
		return "exclude"
	case HiddenOnly:
		return "only"
	case HiddenInclude:
		return "include"
	}
	return "unknown"
}

// MaxCommentBytes bounds Comment.Text in bytes of UTF-8, so that every
// backend stores what casework accepts (casework.MaxCommentRunes
// characters of at most 4 bytes each).
const MaxCommentBytes = 8000

// Comment is one user's private memo on one case (完了後コメント): at most
// one per user and case, read only by its author.
type Comment struct {
	CaseID    string
	UserID    string
	Text      string
	UpdatedAt time.Time
}

// PersonalStore keeps what one user records on a case for themselves
// alone: hidden marks and private comments. Each write commits with its
// audit entries (at least one) atomically, or not at all. A case that
// does not exist is kerr.NotFound; an empty user or case ID is
// kerr.Invalid. Marks and comments go with their case if it is ever
// removed.
type PersonalStore interface {
	// SetHidden marks (hidden true) or unmarks case caseID as hidden for
	// userID at time at. Marking a hidden case or unmarking a visible one
	// changes nothing but still appends the audit entries.
	SetHidden(ctx context.Context, userID, caseID string, hidden bool, at time.Time, audit []AuditEntry) error
	// IsHidden reports whether userID has hidden caseID (false for a case
	// that does not exist).
	IsHidden(ctx context.Context, userID, caseID string) (bool, error)
	// PutComment creates or replaces the comment of (c.UserID, c.CaseID).
	// Text longer than MaxCommentBytes, not valid UTF-8 or holding a NUL
	// byte is kerr.Invalid.
	PutComment(ctx context.Context, c *Comment, audit []AuditEntry) error
	// GetComment returns the comment of userID on caseID, or kerr.NotFound.
	GetComment(ctx context.Context, userID, caseID string) (*Comment, error)
	// DeleteComment removes the comment of userID on caseID; none is
	// kerr.NotFound (and nothing is written).
	DeleteComment(ctx context.Context, userID, caseID string, audit []AuditEntry) error
}

// CheckPersonal returns the error of kind kerr.Invalid, under op, that
// every backend gives a PersonalStore call without a user or case ID, or
// with a comment text over MaxCommentBytes, not valid UTF-8 or holding
// a NUL byte (text
// may be nil for calls without one). Backends call it first.
func CheckPersonal(op, userID, caseID string, text *string) error {
	if userID == "" || caseID == "" {
		return kerr.E(kerr.Invalid, op, "a user ID and a case ID are required")
	}
	if text != nil {
		if len(*text) > MaxCommentBytes {
			return kerr.E(kerr.Invalid, op, "comment is %d bytes, at most %d allowed", len(*text), MaxCommentBytes)
		}
		if !utf8.ValidString(*text) || strings.IndexByte(*text, 0) >= 0 {
			return kerr.E(kerr.Invalid, op, "comment is not valid UTF-8 or holds a NUL byte")
		}
	}
	return nil
}
