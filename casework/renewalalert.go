package casework

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// NoticeEvidenceRenewalFailed is the outbox event type AlertRenewalFailed
// writes (notify.EventEvidenceRenewalFailed).
const NoticeEvidenceRenewalFailed = "evidence_renewal_failed"

// MaxAlertReason bounds the error text an alert carries, in bytes.
const MaxAlertReason = 1000

// AlertRenewalFailed records that renewing the evidence of completed case
// c (as read, at c.Version) failed with cause: an audit entry
// "case.evidence_renewal_failed" by actor naming the cause, and a notice
// (NoticeEvidenceRenewalFailed, its reason the cause, cut to
// MaxAlertReason bytes) to every administrator of the registrant company
// who is not disabled, committed together. more is how many other cases
// of that company the same failure concerns (said in the reason); the
// sealed files do not change. Errors: kerr.FailedPrecondition for a case
// that is not completed, kerr.Conflict when the case changed since it was
// read, the store's.
func (s *Service) AlertRenewalFailed(ctx context.Context, c *Case, actor string, cause error, more int) error {
	const op = "casework.AlertRenewalFailed"
	if c.State != StateCompleted {
		return kerr.E(kerr.FailedPrecondition, op, "case %q is %s; only completed cases have evidence to renew", c.ID, c.State)
	}
	reason := "renewal failed"
	if cause != nil {
		reason = cause.Error()
	}
	if more > 0 {
		reason = fmt.Sprintf("%s (and %d more case(s) of your company)", reason, more)
	}
	reason = cut(reason, MaxAlertReason)
	users, err := s.store.ListUsers(ctx, c.RegistrantCompanyID)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	var admins []string
	for _, u := range users {
		if u.Admin && !u.Disabled {
			admins = append(admins, u.ID)
		}
	}
	now := s.now()
	n := *c
	rec := toRecord(&n)
	notice := n
	notice.UpdatedAt = now // the event's time
	events := s.notices(ctx, NoticeEvidenceRenewalFailed, &notice, account.Principal{UserID: actor}, reason, admins...)
	audit := storage.AuditEntry{Time: now, ActorUserID: actor, Action: "case.evidence_renewal_failed", CaseID: c.ID,
		Detail: fmt.Sprintf("%s; %d administrator(s) alerted", reason, len(events))}
	if err := s.store.CommitCase(ctx, &storage.CaseCommit{Case: rec, Audit: []storage.AuditEntry{audit}, Events: events}); err != nil {
		return kerr.Wrap(op, err)
	}
	c.Version = rec.Version
	s.log.WarnContext(ctx, "case evidence renewal failed; administrators alerted", "case", c.ID, "admins", len(events))
	return nil
}

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
