package account

import (
	"context"
	"strconv"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// MaxReminderDays bounds the company's reminder interval.
const MaxReminderDays = 365

// SetReminderDays sets how many days a case p's company registered may
// wait for someone's action before that party is reminded (and again
// every as many days); 0 turns reminders off. Only the company's
// administrator may (else kerr.PermissionDenied, audited as
// company.denied); outside 0..MaxReminderDays is kerr.Invalid.
func (s *Service) SetReminderDays(ctx context.Context, p Principal, days int) (*storage.Company, error) {
	const op = "account.SetReminderDays"
	if !p.Valid() {
		return nil, kerr.E(kerr.Unauthenticated, op, "log in first")
	}
	if !p.Admin {
		_ = s.store.AppendAudit(ctx, s.audit(p, "company.denied", op+": not an administrator"))
		return nil, kerr.E(kerr.PermissionDenied, op, "only a company administrator may set the reminder interval")
	}
	if days < 0 || days > MaxReminderDays {
		return nil, kerr.E(kerr.Invalid, op, "the reminder interval must be 0 (off) to %d days, not %d", MaxReminderDays, days)
	}
	co, err := s.store.GetCompany(ctx, p.CompanyID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	co.ReminderDays, co.UpdatedAt = days, s.now()
	if err := s.store.PutCompany(ctx, co, s.audit(p, "company.reminder-days", strconv.Itoa(days))); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return co, nil
}
