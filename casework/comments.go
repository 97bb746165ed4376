package casework

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// MaxCommentRunes bounds a comment's text, in characters (Unicode code
// points) after line breaks are normalised: 2,000, whatever the script
// (a character is at most 4 bytes, within storage.MaxCommentBytes).
const MaxCommentRunes = 2000

// Comment is a user's private memo on a completed case (完了後コメント):
// one per user and case, read by its author alone.
type Comment struct {
	CaseID    string
	Text      string
	UpdatedAt time.Time
}

// CheckComment returns text as it would be stored — "\r\n" and "\r" turned
// into "\n" — or an error of kind kerr.Invalid saying what is wrong: empty
// (delete the comment instead), not valid UTF-8, more than MaxCommentRunes
// characters, or holding a character no name may hold (controls other
// than line feed and tab, bidirectional overrides, zero-width characters;
// see SafeFileName).
func CheckComment(text string) (string, error) {
	const op = "casework.CheckComment"
	if !utf8.ValidString(text) {
		return "", kerr.E(kerr.Invalid, op, "the comment is not valid UTF-8")
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	if strings.TrimSpace(text) == "" {
		return "", kerr.E(kerr.Invalid, op, "the comment is empty: to remove a comment, delete it")
	}
	if n := utf8.RuneCountInString(text); n > MaxCommentRunes {
		return "", kerr.E(kerr.Invalid, op, "the comment is %d characters, at most %d allowed", n, MaxCommentRunes)
	}
	for i, r := range text {
		if r != '\n' && r != '\t' && invisible(r) {
			return "", kerr.E(kerr.Invalid, op, "the comment holds the invisible or control character U+%04X at byte %d: remove it", r, i)
		}
	}
	return text, nil
}

// Comment returns p's own comment on case id, or nil (and no error) if p
// has none. Nobody else's comment is ever returned: not to an
// administrator, a colleague or a counterparty. A case p may not see is
// kerr.NotFound.
func (s *Service) Comment(ctx context.Context, p account.Principal, id string) (*Comment, error) {
	const op = "casework.Comment"
	if _, _, err := s.load(ctx, op, p, id); err != nil {
		return nil, err
	}
	c, err := s.store.GetComment(ctx, p.UserID, id)
	if errors.Is(err, kerr.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return &Comment{CaseID: c.CaseID, Text: c.Text, UpdatedAt: c.UpdatedAt}, nil
}

// SetComment creates or replaces p's comment on completed case id, at any
// time after completion, and returns it as stored. The text must pass
// CheckComment (else kerr.Invalid). The audit log records that p's
// comment changed (ActionComment, detail "set"), never what it says. A
// case p may not see is kerr.NotFound; a case not completed is
// kerr.FailedPrecondition.
func (s *Service) SetComment(ctx context.Context, p account.Principal, id, text string) (*Comment, error) {
	const op = "casework.SetComment"
	text, err := CheckComment(text)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	c, err := s.loadCompleted(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	rec := &storage.Comment{CaseID: c.ID, UserID: p.UserID, Text: text, UpdatedAt: now}
	if err := s.store.PutComment(ctx, rec, s.commentAudit(p, c.ID, now, "set")); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	s.log.InfoContext(ctx, ActionComment, "case", c.ID, "user", p.UserID)
	return &Comment{CaseID: c.ID, Text: text, UpdatedAt: now}, nil
}

// DeleteComment removes p's comment on case id (audited as ActionComment,
// detail "deleted"). None is kerr.NotFound, and so is a case p may not
// see.
func (s *Service) DeleteComment(ctx context.Context, p account.Principal, id string) error {
	const op = "casework.DeleteComment"
	c, _, err := s.load(ctx, op, p, id)
	if err != nil {
		return err
	}
	now := s.now()
	if err := s.store.DeleteComment(ctx, p.UserID, c.ID, s.commentAudit(p, c.ID, now, "deleted")); err != nil {
		return kerr.Wrap(op, err)
	}
	s.log.InfoContext(ctx, ActionComment, "case", c.ID, "user", p.UserID, "deleted", true)
	return nil
}

func (s *Service) commentAudit(p account.Principal, caseID string, at time.Time, detail string) []storage.AuditEntry {
	return []storage.AuditEntry{{Time: at, ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr, Action: ActionComment, CaseID: caseID, Detail: detail}}
}
