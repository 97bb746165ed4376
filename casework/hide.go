package casework

import (
	"context"
	"strings"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// HiddenMode says what Search and ExportCSV do with the cases the
// searching user has hidden (非表示, issue 12): Query.Hidden.
type HiddenMode = storage.HiddenMode

// The hidden modes. The zero value, HiddenExclude, is the default of every
// list: a user's hidden cases are left out until asked for.
const (
	HiddenExclude = storage.HiddenExclude // not the hidden cases (default)
	HiddenOnly    = storage.HiddenOnly    // only the hidden cases
	HiddenInclude = storage.HiddenInclude // hidden or not
)

// Audit actions of the personal marks. Their entries name the case and
// the actor; a comment's entry never holds its text.
const (
	ActionHide    = "case.hide"
	ActionUnhide  = "case.unhide"
	ActionComment = "case.comment"
)

// Hide hides completed case id from p's own lists: Search and ExportCSV
// leave it out unless Query.Hidden asks for it. Hidden is p's alone: a
// colleague, an administrator or the counterparty still sees the case,
// and Get, Open and the other calls by ID still work. Hiding a hidden case
// changes nothing. The act is audited (ActionHide).
//
// A case p may not see is kerr.NotFound; a case not completed is
// kerr.FailedPrecondition.
func (s *Service) Hide(ctx context.Context, p account.Principal, id string) error {
	return s.setHidden(ctx, "casework.Hide", p, id, true)
}

// Unhide shows completed case id in p's lists again, under Hide's rules
// (ActionUnhide). Unhiding a case that is not hidden changes nothing.
func (s *Service) Unhide(ctx context.Context, p account.Principal, id string) error {
	return s.setHidden(ctx, "casework.Unhide", p, id, false)
}

func (s *Service) setHidden(ctx context.Context, op string, p account.Principal, id string, hidden bool) error {
	c, err := s.loadCompleted(ctx, op, p, id)
	if err != nil {
		return err
	}
	action := ActionHide
	if !hidden {
		action = ActionUnhide
	}
	now := s.now()
	entry := storage.AuditEntry{Time: now, ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr, Action: action, CaseID: c.ID}
	if err := s.store.SetHidden(ctx, p.UserID, c.ID, hidden, now, []storage.AuditEntry{entry}); err != nil {
		return kerr.Wrap(op, err)
	}
	s.log.InfoContext(ctx, action, "case", c.ID, "user", p.UserID)
	return nil
}

// IsHidden reports whether p has hidden case id; a case p may not see is
// kerr.NotFound.
func (s *Service) IsHidden(ctx context.Context, p account.Principal, id string) (bool, error) {
	const op = "casework.IsHidden"
	if _, _, err := s.load(ctx, op, p, id); err != nil {
		return false, err
	}
	h, err := s.store.IsHidden(ctx, p.UserID, id)
	return h, kerr.Wrap(op, err)
}

// loadCompleted is load for the personal marks, which only a completed
// case takes.
func (s *Service) loadCompleted(ctx context.Context, op string, p account.Principal, id string) (*Case, error) {
	c, _, err := s.load(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	if c.State != StateCompleted {
		return nil, kerr.E(kerr.FailedPrecondition, op, "case %q is %s: only a completed case can be hidden or commented on", id, c.State)
	}
	return c, nil
}

// personalAction reports whether action is one of a user's personal marks
// (hide, unhide, comment), which AuditTrail shows to their actor only.
func personalAction(action string) bool {
	return action == ActionHide || action == ActionUnhide || action == ActionComment
}

// ownTrail drops from entries the personal marks of anyone but p: that
// another user hid a case or keeps a memo on it is theirs alone, like the
// mark itself. It also drops the disclosure entries ("disclosure.*", the
// reads of a disclosure account) of any company but p's: that a party
// showed the contract to an auditor is that party's business, not the
// counterparty's. The whole log (storage.AuditStore) keeps every entry.
func ownTrail(p account.Principal, entries []storage.AuditEntry) []storage.AuditEntry {
	out := entries[:0]
	for _, e := range entries {
		if personalAction(e.Action) && e.ActorUserID != p.UserID {
			continue
		}
		if strings.HasPrefix(e.Action, storage.DisclosureActionPrefix) && e.ActorCompanyID != p.CompanyID {
			continue
		}
		out = append(out, e)
	}
	return out
}
