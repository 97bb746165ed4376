package casework

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/internal/failpoint"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Retention periods (issue 12, 保管期間): a completed case is kept
// RetentionYears; at the end it is extended by ExtensionYears (to
// RetentionYears+ExtensionYears in all, the most) or deleted.
const (
	RetentionYears = 10
	ExtensionYears = 5
)

// DefaultRetentionNotice is Config.RetentionNotice's default: the owner
// is told this long before the deletion of a case.
const DefaultRetentionNotice = 30 * 24 * time.Hour

// MaxFilingExtensionMonths bounds RetentionSettings.FilingExtensionMonths
// (法人税法 第75条の2: one month, or up to four for some companies).
const MaxFilingExtensionMonths = 4

// The retention actions (RetentionSettings.DefaultAction, SetRetention).
const (
	RetainExtend = storage.RetainExtend
	RetainDelete = storage.RetainDelete
)

// NoticeRetentionDeletion is the outbox event type of the deletion notice
// sent to a case's owner Config.RetentionNotice before its deletion; its
// Reason carries the deletion date (YYYY-MM-DD).
const NoticeRetentionDeletion = "retention_deletion"

// Audit actions of retention.
const (
	ActionRetentionSet      = "case.retention.set"
	ActionRetentionSettings = "company.retention"
	ActionHoldPlace         = "case.hold.place"
	ActionHoldLift          = "case.hold.lift"
	ActionRetentionNotice   = "case.retention.notice"
	ActionRetentionDelete   = "case.retention.delete"
	ActionRetentionDenied   = "case.retention.denied"
)

// SweepActor is the ActorUserID of the audit entries the sweep writes.
const SweepActor = "system:retention-sweep"

// Retention is how long a completed case is kept (see storage.Retention).
type Retention = storage.Retention

// RetentionSettings are a company's retention settings.
type RetentionSettings = storage.RetentionSettings

// Hold is a legal hold on a case.
type Hold = storage.Hold

// RetentionCursor pages UpcomingDeletions.
type RetentionCursor = storage.RetentionCursor

// DeletionRecord is what remains of a case after the sweep deleted it.
type DeletionRecord = storage.DeletionRecord

// DeletionStamper time-stamps a deletion record's digest (RFC 3161, a
// SHA-256 imprint) and returns the DER token; archive.Service implements
// it with the service's TSA.
type DeletionStamper interface {
	StampDeletion(ctx context.Context, digest []byte) ([]byte, error)
}

// CheckRetentionSettings returns kerr.Invalid, saying what is wrong, for
// settings with an unknown action, a fiscal-year end month outside 1-12
// or an extension outside 0 to MaxFilingExtensionMonths.
func CheckRetentionSettings(set RetentionSettings) error {
	const op = "casework.CheckRetentionSettings"
	switch {
	case set.DefaultAction != "" && set.DefaultAction != RetainExtend && set.DefaultAction != RetainDelete:
		return kerr.E(kerr.Invalid, op, "default action %q: use %q or %q", set.DefaultAction, RetainExtend, RetainDelete)
	case set.FiscalYearEndMonth < 0 || set.FiscalYearEndMonth > 12:
		return kerr.E(kerr.Invalid, op, "fiscal year end month %d: use 1 to 12 (0 means March)", set.FiscalYearEndMonth)
	case set.FilingExtensionMonths < 0 || set.FilingExtensionMonths > MaxFilingExtensionMonths:
		return kerr.E(kerr.Invalid, op, "filing extension of %d months: use 0 to %d", set.FilingExtensionMonths, MaxFilingExtensionMonths)
	}
	return nil
}

// RetentionStart returns the first day of a case's 10 years and the rule
// that counted it. completed is the completion instant, seen in loc (the
// owner company's zone). By default the 10 years start on the completion
// date; with set.FiscalYear they start the day after the corporate-tax
// filing deadline of the fiscal year in which the case completed: that
// fiscal year ends on the last day of set.FiscalYearEndMonth (March when
// 0) on or after the completion date, the deadline is the last day of the
// month 2 + set.FilingExtensionMonths months later, and the start is the
// first day of the month after it. E.g. fiscal year ending in March,
// extension 1: completed 2026-03-31 → deadline 2026-06-30 → start
// 2026-07-01; completed 2026-04-01 → start 2027-07-01.
func RetentionStart(completed time.Time, loc *time.Location, set RetentionSettings) (civil.Date, string) {
	d := civil.DateOf(completed.In(loc))
	if !set.FiscalYear {
		return d, "completion"
	}
	m := set.FiscalYearEndMonth
	if m == 0 {
		m = 3
	}
	fyEndYear := d.Year
	if int(d.Month) > m {
		fyEndYear++
	}
	start := civil.Date{Year: fyEndYear, Month: time.Month(m), Day: 1}.AddMonths(3 + set.FilingExtensionMonths)
	return start, fmt.Sprintf("fiscal-year end=%d extension=%d", m, set.FilingExtensionMonths)
}

// RetentionUntil returns the first day on which a case that started on
// start may be deleted under action: start + RetentionYears for
// RetainDelete, + RetentionYears + ExtensionYears for RetainExtend.
func RetentionUntil(start civil.Date, action string) civil.Date {
	if action == RetainDelete {
		return start.AddYears(RetentionYears)
	}
	return start.AddYears(RetentionYears + ExtensionYears)
}

// companyRetention returns a company's settings and zone; a company the
// store does not know has the defaults.
func (s *Service) companyRetention(ctx context.Context, companyID string) (RetentionSettings, *time.Location, error) {
	loc, err := account.CompanyTimeZone(ctx, s.store, companyID)
	if err != nil {
		return RetentionSettings{}, nil, err
	}
	co, err := s.store.GetCompany(ctx, companyID)
	switch {
	case errors.Is(err, kerr.NotFound):
		return RetentionSettings{}, loc, nil
	case err != nil:
		return RetentionSettings{}, nil, err
	}
	if co.Retention == nil {
		return RetentionSettings{}, loc, nil
	}
	return *co.Retention, loc, nil
}

// retentionFor computes the retention a completion starts, under the
// owner company's settings.
func (s *Service) retentionFor(ctx context.Context, c *Case) (*Retention, error) {
	set, loc, err := s.companyRetention(ctx, c.RegistrantCompanyID)
	if err != nil {
		return nil, err
	}
	action := set.DefaultAction
	if action == "" {
		action = RetainExtend
	}
	start, rule := RetentionStart(c.CompletedAt, loc, set)
	return &Retention{
		CaseID: c.ID, CompanyID: c.RegistrantCompanyID, OwnerUserID: c.RegistrantUserID, CompletedAt: c.CompletedAt,
		Start: start, Until: RetentionUntil(start, action), Action: action, Rule: rule, SetAt: c.CompletedAt,
	}, nil
}

// deny audits a refused retention call (who, which case, what was
// refused) and returns err.
func (s *Service) deny(ctx context.Context, p account.Principal, op, caseID string, err error) error {
	entry := storage.AuditEntry{Time: s.now(), ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr,
		Action: ActionRetentionDenied, CaseID: caseID, Detail: fmt.Sprintf("%s refused: %s", op, kerr.Of(err))}
	if aerr := s.store.AppendAudit(ctx, []storage.AuditEntry{entry}); aerr != nil {
		s.log.ErrorContext(ctx, "auditing a refused call failed", "op", op, "error", aerr)
	}
	return err
}

// loadRetention loads a completed case p may see and its retention.
func (s *Service) loadRetention(ctx context.Context, op string, p account.Principal, id string) (*Case, *Retention, error) {
	c, _, err := s.load(ctx, op, p, id)
	if err != nil {
		if p.Valid() {
			return nil, nil, s.deny(ctx, p, op, id, err)
		}
		return nil, nil, err
	}
	if c.State != StateCompleted {
		return nil, nil, kerr.E(kerr.FailedPrecondition, op, "case %q is %s: only a completed case has a retention", id, c.State)
	}
	r, err := s.store.GetRetention(ctx, id)
	if err != nil {
		return nil, nil, kerr.Wrap(op, err)
	}
	return c, r, nil
}

// loadHeld loads a completed case p may see, for the hold calls: a case
// completed before retention existed may be held too.
func (s *Service) loadHeld(ctx context.Context, op string, p account.Principal, id string) error {
	c, _, err := s.load(ctx, op, p, id)
	if err != nil {
		if p.Valid() {
			return s.deny(ctx, p, op, id, err)
		}
		return err
	}
	if c.State != StateCompleted {
		return kerr.E(kerr.FailedPrecondition, op, "case %q is %s: only a completed case can be held", id, c.State)
	}
	return nil
}

// RetentionOf returns the retention of completed case id to anyone who
// may see the case (else kerr.NotFound). A case completed before
// retention existed (migration 00011) has none: kerr.NotFound.
func (s *Service) RetentionOf(ctx context.Context, p account.Principal, id string) (*Retention, error) {
	_, r, err := s.loadRetention(ctx, "casework.RetentionOf", p, id)
	return r, err
}

// SetRetention sets what happens to completed case id at the end of its
// 10 years: RetainExtend (kept 15 years in all) or RetainDelete. Only the
// owner side decides: the registrant, or an administrator of the
// registrant's company (kerr.PermissionDenied for anyone else who sees
// the case: a colleague, a counterparty user or administrator; kerr.NotFound
// for anyone who does not). The deletion date is recomputed from the
// case's start; a date already past makes the case due at the next sweep
// (after its notice). A case being deleted is kerr.FailedPrecondition.
// Audited (ActionRetentionSet); refusals too (ActionRetentionDenied).
func (s *Service) SetRetention(ctx context.Context, p account.Principal, id, action string) (*Retention, error) {
	const op = "casework.SetRetention"
	if action != RetainExtend && action != RetainDelete {
		return nil, kerr.E(kerr.Invalid, op, "action %q: use %q or %q", action, RetainExtend, RetainDelete)
	}
	c, r, err := s.loadRetention(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	if p.CompanyID != c.RegistrantCompanyID || (!p.Admin && p.UserID != c.RegistrantUserID) {
		return nil, s.deny(ctx, p, op, id, kerr.E(kerr.PermissionDenied, op,
			"only the registrant of case %q or an administrator of its company may set its retention", id))
	}
	if r.Deleting {
		return nil, kerr.E(kerr.FailedPrecondition, op, "case %q is being deleted", id)
	}
	now := s.now()
	until := RetentionUntil(r.Start, action)
	if until != r.Until {
		r.NoticeAt = time.Time{} // a new date gets its own notice
	}
	r.Action, r.Until, r.SetBy, r.SetAt = action, until, p.UserID, now
	entry := storage.AuditEntry{Time: now, ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr,
		Action: ActionRetentionSet, CaseID: id, Detail: fmt.Sprintf("action=%s until=%s", action, r.Until)}
	if err := s.store.PutRetention(ctx, r, []storage.AuditEntry{entry}); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return r, nil
}

// SetRetentionSettings sets the retention settings of p's company: the
// default action of its cases and how their 10 years are counted. They
// apply to the cases completed afterwards; a case completed before keeps
// its dates (SetRetention changes one). Only an administrator may
// (kerr.PermissionDenied, audited); bad settings are kerr.Invalid.
func (s *Service) SetRetentionSettings(ctx context.Context, p account.Principal, set RetentionSettings) error {
	const op = "casework.SetRetentionSettings"
	if !p.Valid() {
		return kerr.E(kerr.Unauthenticated, op, "no principal: log in first")
	}
	if !p.Admin {
		return s.deny(ctx, p, op, "", kerr.E(kerr.PermissionDenied, op, "only a company administrator may change the retention settings"))
	}
	if err := CheckRetentionSettings(set); err != nil {
		return kerr.Wrap(op, err)
	}
	co, err := s.store.GetCompany(ctx, p.CompanyID)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	now := s.now()
	co.Retention, co.UpdatedAt = &set, now
	b, _ := json.Marshal(set)
	entry := storage.AuditEntry{Time: now, ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr,
		Action: ActionRetentionSettings, Detail: string(b)}
	return kerr.Wrap(op, s.store.PutCompany(ctx, co, []storage.AuditEntry{entry}))
}

// PlaceHold places a legal hold of p's company on completed case id with
// a reason (1 to storage.MaxHoldReason bytes): while any hold is on it,
// the case is never deleted, whatever its policy and dates. An
// administrator of any party company may (the registrant's or a
// counterparty's: each answers to its own courts and auditors); another
// user who sees the case is kerr.PermissionDenied, anyone else
// kerr.NotFound (both audited). Placing again replaces the reason.
func (s *Service) PlaceHold(ctx context.Context, p account.Principal, id, reason string) error {
	const op = "casework.PlaceHold"
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > storage.MaxHoldReason || !utf8.ValidString(reason) || strings.IndexByte(reason, 0) >= 0 {
		return kerr.E(kerr.Invalid, op, "a hold needs a reason of 1 to %d bytes of UTF-8 without NUL", storage.MaxHoldReason)
	}
	if err := s.loadHeld(ctx, op, p, id); err != nil {
		return err
	}
	if !p.Admin {
		return s.deny(ctx, p, op, id, kerr.E(kerr.PermissionDenied, op, "only a company administrator may place a legal hold"))
	}
	now := s.now()
	entry := storage.AuditEntry{Time: now, ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr,
		Action: ActionHoldPlace, CaseID: id, Detail: reason}
	err := s.store.PutHold(ctx, &Hold{CaseID: id, CompanyID: p.CompanyID, UserID: p.UserID, Reason: reason, At: now}, []storage.AuditEntry{entry})
	return kerr.Wrap(op, err)
}

// LiftHold lifts the hold of p's company on case id, under PlaceHold's
// rules; a hold of another company stays (each company lifts its own).
// No hold of p's company is kerr.NotFound.
func (s *Service) LiftHold(ctx context.Context, p account.Principal, id, reason string) error {
	const op = "casework.LiftHold"
	if len(reason) > storage.MaxHoldReason || !utf8.ValidString(reason) {
		return kerr.E(kerr.Invalid, op, "the reason is at most %d bytes of UTF-8", storage.MaxHoldReason)
	}
	if err := s.loadHeld(ctx, op, p, id); err != nil {
		return err
	}
	if !p.Admin {
		return s.deny(ctx, p, op, id, kerr.E(kerr.PermissionDenied, op, "only a company administrator may lift a legal hold"))
	}
	entry := storage.AuditEntry{Time: s.now(), ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr,
		Action: ActionHoldLift, CaseID: id, Detail: reason}
	return kerr.Wrap(op, s.store.DeleteHold(ctx, id, p.CompanyID, []storage.AuditEntry{entry}))
}

// Holds returns the legal holds on case id to anyone who may see it.
func (s *Service) Holds(ctx context.Context, p account.Principal, id string) ([]Hold, error) {
	const op = "casework.Holds"
	if err := s.loadHeld(ctx, op, p, id); err != nil {
		return nil, err
	}
	h, err := s.store.ListHolds(ctx, id)
	return h, kerr.Wrap(op, err)
}

// UpcomingDeletions lists the cases p's company owns (registered) that
// are due for deletion on or before through and carry no hold, by date
// then case ID, limit (1 to storage.MaxRetentionPage) after cursor; pass
// the last one's (Until, CaseID) as the next cursor. Only an
// administrator may (kerr.PermissionDenied, audited).
func (s *Service) UpcomingDeletions(ctx context.Context, p account.Principal, through civil.Date, cursor RetentionCursor, limit int) ([]Retention, error) {
	const op = "casework.UpcomingDeletions"
	if !p.Valid() {
		return nil, kerr.E(kerr.Unauthenticated, op, "no principal: log in first")
	}
	if !p.Admin {
		return nil, s.deny(ctx, p, op, "", kerr.E(kerr.PermissionDenied, op, "only a company administrator may list upcoming deletions"))
	}
	if err := storage.CheckDate(op, "through", through); err != nil {
		return nil, err
	}
	rs, err := s.store.UpcomingDeletions(ctx, p.CompanyID, through, cursor, limit)
	return rs, kerr.Wrap(op, err)
}

// SweepReport says what one sweep did.
type SweepReport struct {
	Checked int // due or nearly due retentions looked at
	Noticed int // deletion notices queued
	Deleted int // cases deleted (including resumed ones)
	Resumed int // deletions a crashed sweep had begun, finished now
	Kept    int // blobs kept because another case (or a fresh pin) uses them
	Failed  int // deletions that failed (the sweep's error names the first)
}

// sweepPage is how many retentions the sweep reads at a time.
const sweepPage = 500

// SweepRetention runs one retention sweep (idempotent; a scheduled job
// runs it, see keiyaku.Service.RunJobs):
//
//  1. it finishes every deletion a crashed sweep began;
//  2. it pages through the retentions due within the notice period, by
//     date, from an index (never every case): a case whose Until is
//     within Config.RetentionNotice and that was not told yet gets its
//     deletion notice to the owner (once: storage MarkNoticed);
//  3. a case whose Until has come (in its owner company's zone), that
//     has no hold, and whose notice went out at least
//     Config.RetentionNotice ago is deleted (a few at a time); a case that
//     fails is logged and counted (SweepReport.Failed) and the others go
//     on; the sweep then returns the first such error, so the job retries.
//
// Deleting a case: the deletion record (every object the case held, by
// SHA-256: each blob it ever named and the case data's JSON; the
// companies; completion and deletion times; the policy and who set it)
// is time-stamped by the Config.Stamper TSA, then committed with its
// audit entry naming the record's digest (BeginDeletion; the case is now
// Deleting); then the blobs no other case uses are removed; then the
// case's rows (FinishDeletion). A crash between the steps leaves the
// case either intact or Deleting, which the next sweep finishes.
//
// Without Config.Stamper it is kerr.FailedPrecondition.
func (s *Service) SweepRetention(ctx context.Context) (*SweepReport, error) {
	const op = "casework.SweepRetention"
	if s.stamper == nil {
		return nil, kerr.E(kerr.FailedPrecondition, op, "no Config.Stamper: deletion records cannot be time-stamped")
	}
	rep := &SweepReport{}
	for {
		deleting, err := s.store.DeletingRetentions(ctx, sweepPage)
		if err != nil {
			return rep, kerr.Wrap(op, err)
		}
		for _, r := range deleting {
			rec, err := s.store.GetDeletionRecord(ctx, r.CaseID)
			if err != nil {
				return rep, kerr.Wrap(op, err)
			}
			if err := s.finishDeletion(ctx, rec, rep); err != nil {
				return rep, kerr.Wrap(op, err)
			}
			rep.Resumed++
		}
		if len(deleting) < sweepPage {
			break
		}
	}
	now := s.now()
	notice := s.notice
	// Read through the latest "today" of any zone (UTC+14), plus the
	// notice period; each case is then judged in its own company's zone.
	through := civil.DateOf(now.Add(14 * time.Hour)).AddDays(int(notice/(24*time.Hour)) + 1)
	zones := map[string]*time.Location{}
	var cur RetentionCursor
	var doomed []*Retention
	var failed error // the first failed deletion, reported at the end
	for {
		page, err := s.store.DueRetentions(ctx, through, cur, sweepPage)
		if err != nil {
			return rep, kerr.Wrap(op, err)
		}
		for i := range page {
			r := &page[i]
			rep.Checked++
			loc, ok := zones[r.CompanyID]
			if !ok {
				if loc, err = account.CompanyTimeZone(ctx, s.store, r.CompanyID); err != nil {
					return rep, kerr.Wrap(op, err)
				}
				zones[r.CompanyID] = loc
			}
			today := civil.DateOf(now.In(loc))
			noticeDay := civil.DateOf(r.Until.In(loc).Add(-notice))
			switch {
			case today.Before(noticeDay):
				continue
			case r.NoticeAt.IsZero():
				if err := s.sendDeletionNotice(ctx, r, now); err != nil {
					return rep, kerr.Wrap(op, err)
				}
				rep.Noticed++
			case !today.Before(r.Until) && !now.Before(r.NoticeAt.Add(notice)):
				doomed = append(doomed, r)
			}
		}
		if err := s.deleteCases(ctx, doomed, now, rep); err != nil {
			if ctx.Err() != nil {
				return rep, kerr.Wrap(op, err)
			}
			failed = cmpOr(failed, err)
		}
		doomed = doomed[:0]
		if len(page) < sweepPage {
			return rep, kerr.Wrap(op, failed)
		}
		last := page[len(page)-1]
		cur = RetentionCursor{Until: last.Until, CaseID: last.CaseID}
	}
}

// sendDeletionNotice queues the deletion notice of r to its owner, once.
func (s *Service) sendDeletionNotice(ctx context.Context, r *Retention, now time.Time) error {
	rec, err := s.store.GetCase(ctx, r.CaseID)
	if err != nil {
		return err
	}
	c, err := fromRecord(rec)
	if err != nil {
		return err
	}
	sys := account.Principal{UserID: SweepActor, CompanyID: r.CompanyID}
	c.UpdatedAt = now
	events := s.notices(ctx, NoticeRetentionDeletion, c, sys, r.Until.String(), r.OwnerUserID)
	for i := range events {
		events[i].NextAttemptAt = now
		events[i].FromUser = ""
	}
	entry := storage.AuditEntry{Time: now, ActorUserID: SweepActor, Action: ActionRetentionNotice, CaseID: r.CaseID,
		Detail: fmt.Sprintf("owner %s told of the deletion on %s", r.OwnerUserID, r.Until)}
	_, err = s.store.MarkNoticed(ctx, r.CaseID, now, events, []storage.AuditEntry{entry})
	return err
}

// sweepWorkers is how many cases the sweep deletes at once: their
// commits share the embedded store's group commits (fewer fsyncs) and a
// PostgreSQL pool's connections. Two cases that share a blob are safe to
// delete together: the per-key decision is serialized on the key's
// blob_pins row (see storage.RetentionStore.BeginDeletion).
const sweepWorkers = 4

// deleteCases deletes the due cases of one page, sweepWorkers at a time,
// and returns the first error after trying them all (a cancelled ctx
// stops it).
func (s *Service) deleteCases(ctx context.Context, rs []*Retention, now time.Time, rep *SweepReport) error {
	if len(rs) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var first error
	next := make(chan *Retention)
	var wg sync.WaitGroup
	for range min(sweepWorkers, len(rs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				var one SweepReport
				err := s.deleteCase(ctx, r, now, &one)
				mu.Lock()
				rep.Deleted += one.Deleted
				rep.Kept += one.Kept
				if err != nil {
					// One case that cannot be deleted now (its blob store
					// failed, say) does not hold up the others; the sweep
					// reports it at the end and River retries.
					rep.Failed++
					s.log.ErrorContext(ctx, "retention: deleting a case failed; the next sweep retries", "case", r.CaseID, "error", err)
					if first == nil {
						first = err
					}
					if ctx.Err() != nil {
						cancel()
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, r := range rs {
		if ctx.Err() != nil {
			break
		}
		next <- r
	}
	close(next)
	wg.Wait()
	return first
}

// deleteCase deletes one due case (see SweepRetention).
func (s *Service) deleteCase(ctx context.Context, r *Retention, now time.Time, rep *SweepReport) error {
	row, err := s.store.GetCase(ctx, r.CaseID)
	if err != nil {
		return err
	}
	keys, err := s.store.CaseBlobs(ctx, r.CaseID)
	if err != nil {
		return err
	}
	rec := &DeletionRecord{
		CaseID: r.CaseID, CompletedAt: r.CompletedAt, DeletedAt: now,
		Start: r.Start, Until: r.Until, Action: r.Action, Rule: r.Rule, SetBy: r.SetBy, SetAt: r.SetAt,
	}
	rec.CompanyIDs = append(rec.CompanyIDs, row.RegistrantCompanyID)
	for _, p := range row.Parties {
		if !containsString(rec.CompanyIDs, p.CompanyID) {
			rec.CompanyIDs = append(rec.CompanyIDs, p.CompanyID)
		}
	}
	names := map[string]storage.File{}
	for _, f := range append(append([]storage.File{row.Document, row.Acceptance}, row.Supplements...), row.Sealed...) {
		if f.Key != "" {
			names[f.Key] = f
		}
	}
	caseJSON, err := json.Marshal(row)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(caseJSON)
	rec.Objects = append(rec.Objects, storage.RemovedObject{Name: "case.json", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(caseJSON))})
	for _, k := range keys {
		f, ok := names[k]
		if !ok {
			f = storage.File{Name: "(an earlier version)", Size: -1}
		}
		rec.Objects = append(rec.Objects, storage.RemovedObject{Name: f.Name, SHA256: k, Size: f.Size})
	}
	rec.Digest = rec.Sum()
	if rec.Token, err = s.stamper.StampDeletion(ctx, rec.Digest); err != nil {
		return kerr.WrapKind(kerr.Unavailable, "casework.deleteCase", "time-stamping the deletion record", err)
	}
	hitFault(faultRetentionStamped)
	entry := storage.AuditEntry{Time: now, ActorUserID: SweepActor, Action: ActionRetentionDelete, CaseID: r.CaseID,
		Detail: fmt.Sprintf("deletion record sha256=%s; %d objects; action=%s until=%s set by %q", hex.EncodeToString(rec.Digest), len(rec.Objects), r.Action, r.Until, r.SetBy)}
	err = s.store.BeginDeletion(ctx, rec, now.Add(-storage.PinTTL), []storage.AuditEntry{entry})
	switch {
	case errors.Is(err, kerr.FailedPrecondition): // a hold came in meanwhile
		return nil
	case errors.Is(err, kerr.Conflict): // another sweep began it; it finishes it
		return nil
	case err != nil:
		return err
	}
	hitFault(faultRetentionRecorded)
	rep.Kept += len(keys) - len(rec.Removing)
	return s.finishDeletion(ctx, rec, rep)
}

// finishDeletion removes the blobs rec marks removing and then the case's
// rows; both steps may run again after a crash.
func (s *Service) finishDeletion(ctx context.Context, rec *DeletionRecord, rep *SweepReport) error {
	for _, k := range rec.Removing {
		if err := s.blobs.Delete(ctx, k); err != nil {
			return err
		}
		hitFault(faultRetentionBlobRemoved)
	}
	hitFault(faultRetentionBlobsRemoved)
	if err := s.store.FinishDeletion(ctx, rec.CaseID); err != nil {
		return err
	}
	hitFault(faultRetentionFinished)
	rep.Deleted++
	s.log.InfoContext(ctx, "case deleted at the end of its retention", "case", rec.CaseID, "removed", len(rec.Removing))
	return nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// DeletionRecordOf returns the deletion record of a case the sweep
// deleted, to an administrator of one of the companies it names (else
// kerr.NotFound, as for a case p could not see, audited).
func (s *Service) DeletionRecordOf(ctx context.Context, p account.Principal, id string) (*DeletionRecord, error) {
	const op = "casework.DeletionRecordOf"
	if !p.Valid() {
		return nil, kerr.E(kerr.Unauthenticated, op, "no principal: log in first")
	}
	rec, err := s.store.GetDeletionRecord(ctx, id)
	if err != nil && !errors.Is(err, kerr.NotFound) {
		return nil, kerr.Wrap(op, err)
	}
	if err != nil || !p.Admin || !containsString(rec.CompanyIDs, p.CompanyID) {
		return nil, s.deny(ctx, p, op, id, kerr.E(kerr.NotFound, op, "case %q has no deletion record you may see", id))
	}
	return rec, nil
}

// The fault points of a deletion (internal/failpoint).
const (
	faultRetentionStamped      = failpoint.RetentionStamped
	faultRetentionRecorded     = failpoint.RetentionRecorded
	faultRetentionBlobRemoved  = failpoint.RetentionBlobRemoved
	faultRetentionBlobsRemoved = failpoint.RetentionBlobsRemoved
	faultRetentionFinished     = failpoint.RetentionFinished
)

func hitFault(name string) { failpoint.Hit(name) }
