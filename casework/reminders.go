package casework

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Reminder and overdue notices (beyond the seed; issue 12 "Reminders").
const (
	NoticeReminder = "reminder"
	NoticeOverdue  = "overdue"
)

// reminderPage is how many open cases one read of SendReminders takes.
const reminderPage = 200

// waitingStates are the states in which a case waits for someone.
var waitingStates = []string{StateSent.String(), StateReceived.String(), StateReturned.String(),
	StateSentBack.String(), StateSentBackToParty.String()}

// waiter returns the user whose action c waits for: the party on turn
// while it is with the counterparty side, the registrant once returned or
// sent back to it.
func waiter(c *Case) string {
	switch c.State {
	case StateSent, StateReceived, StateSentBackToParty:
		return c.Parties[c.Turn].UserID
	case StateReturned, StateSentBack:
		return c.RegistrantUserID
	}
	return ""
}

// ReminderReport says what one SendReminders pass did.
type ReminderReport struct {
	Checked   int // open cases read
	Reminders int // reminder notices recorded (one recipient each)
	Overdue   int // cases newly found overdue (both sides told)
}

// SendReminders is the reminder pass, run periodically by the scheduled
// jobs (keiyaku.Service.RunJobs). It pages through the cases waiting for
// someone (sent, received, returned, sent back), in order of their last
// change, from the store's (state, updated_at) index, and for each:
//
//   - when the registrant's company set a reminder interval of N days
//     (account.Service.SetReminderDays) and the case has waited k·N days
//     (k ≥ 1) since its last change, the user it waits for gets the k-th
//     reminder notice - at most one per interval, even when several
//     processes run the pass;
//   - when its reply-by date (NewCase.ReplyBy, SetReplyBy) lies before
//     today in the registrant company's time zone, the registrant and
//     every counterparty user get an overdue notice, once per date.
//
// Each notice commits with its audit entry and its once-only mark in one
// transaction; the case itself is not changed, nothing is deleted or
// ended. Time is the service clock.
func (s *Service) SendReminders(ctx context.Context) (*ReminderReport, error) {
	const op = "casework.SendReminders"
	now := s.now()
	rep := &ReminderReport{}
	companies := map[string]*storage.Company{}
	company := func(id string) *storage.Company {
		if co, ok := companies[id]; ok {
			return co
		}
		co, err := s.store.GetCompany(ctx, id)
		if err != nil {
			co = &storage.Company{ID: id}
		}
		companies[id] = co
		return co
	}
	var cur storage.ReminderCursor
	for {
		page, err := s.store.OpenCases(ctx, waitingStates, cur, reminderPage)
		if err != nil {
			return rep, kerr.Wrap(op, err)
		}
		for _, rec := range page {
			rep.Checked++
			c, err := fromRecord(rec)
			if err != nil {
				s.log.ErrorContext(ctx, "reminders: case skipped", "case", rec.ID, "error", err)
				continue
			}
			co := company(c.RegistrantCompanyID)
			if err := s.remind(ctx, op, c, co, now, rep); err != nil {
				return rep, err
			}
		}
		if len(page) < reminderPage {
			return rep, nil
		}
		last := page[len(page)-1]
		cur = storage.ReminderCursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
	}
}

func (s *Service) remind(ctx context.Context, op string, c *Case, co *storage.Company, now time.Time, rep *ReminderReport) error {
	from := account.Principal{UserID: c.RegistrantUserID, CompanyID: c.RegistrantCompanyID}
	audit := func(action, detail string) []storage.AuditEntry {
		return []storage.AuditEntry{{Time: now, ActorCompanyID: c.RegistrantCompanyID, Action: action, CaseID: c.ID, Detail: detail}}
	}
	if co.ReminderDays > 0 {
		interval := time.Duration(co.ReminderDays) * 24 * time.Hour
		if k := int(now.Sub(c.UpdatedAt) / interval); k >= 1 {
			if uid := waiter(c); uid != "" {
				key := fmt.Sprintf("wait:%d:%d", c.UpdatedAt.UnixNano(), k)
				evs := s.notices(ctx, NoticeReminder, c, from, "", uid)
				ok, err := s.store.RecordReminder(ctx, c.ID, key, now, evs,
					audit("case.reminder", fmt.Sprintf("reminder %d to %s after %d days in %s", k, uid, k*co.ReminderDays, c.State)))
				if err != nil {
					return kerr.Wrap(op, err)
				}
				if ok {
					rep.Reminders++
				}
			}
		}
	}
	if !c.ReplyBy.IsZero() {
		loc, err := account.LoadTimeZone(co.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		if civil.DateOf(now.In(loc)).After(c.ReplyBy) {
			users := []string{c.RegistrantUserID}
			for _, p := range c.Parties {
				users = append(users, p.UserID)
			}
			evs := s.notices(ctx, NoticeOverdue, c, from, c.ReplyBy.String(), users...)
			ok, err := s.store.RecordReminder(ctx, c.ID, "overdue:"+c.ReplyBy.String(), now, evs,
				audit("case.overdue", "reply-by date "+c.ReplyBy.String()+" passed in "+c.State.String()))
			if err != nil {
				return kerr.Wrap(op, err)
			}
			if ok {
				rep.Overdue++
			}
		}
	}
	return nil
}

// SetReplyBy sets (or, with the zero Date, clears) the reply-by date of a
// case that is not finished. Only the registrant (or its company's
// administrator) may: anyone else who sees the case gets
// kerr.PermissionDenied, one who does not kerr.NotFound; a completed or
// deleted case is kerr.FailedPrecondition; a date outside 0001..9999 is
// kerr.Invalid. The case's version grows, its state and last-change time
// (from which reminders count) stay. Audited as case.reply-by.
func (s *Service) SetReplyBy(ctx context.Context, p account.Principal, id string, date civil.Date) (*Case, error) {
	const op = "casework.SetReplyBy"
	if !date.IsZero() {
		if err := storage.CheckDate(op, "the reply-by date", date); err != nil {
			return nil, err
		}
	}
	c, role, err := s.load(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	if role != RoleRegistrant {
		return nil, kerr.E(kerr.PermissionDenied, op, "only the registrant sets the reply-by date")
	}
	if c.State.Terminal() {
		return nil, kerr.E(kerr.FailedPrecondition, op, "case %q is %s: a finished case has no reply-by date", id, c.State)
	}
	c.ReplyBy = date
	rec := toRecord(c)
	detail := "cleared"
	if !date.IsZero() {
		detail = date.String()
	}
	entry := storage.AuditEntry{Time: s.now(), ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr,
		Action: "case.reply-by", CaseID: c.ID, Detail: detail}
	if err := s.store.CommitCase(ctx, &storage.CaseCommit{Case: rec, Audit: []storage.AuditEntry{entry}}); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	c.Version = rec.Version
	return c, nil
}
