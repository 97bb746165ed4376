package keiyaku_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
)

// TestReminders: with a 3-day interval set by the registrant's company, a
// case waiting for B sends B exactly one reminder once 3 days have passed,
// none again in the same interval, another after the next 3 days; a
// reply-by date that passes tells both sides once; nothing about the case
// changes. The mails are read from a real SMTP server.
func TestReminders(t *testing.T) {
	var clock atomic.Int64
	clock.Store(testpki.Now.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	w := newWorldWith(t, func(_ *world, cfg *keiyaku.Config) { cfg.Clock = now })
	a, b := w.m["A"], w.m["B"]
	day := 24 * time.Hour

	if _, err := w.svc.Accounts.SetReminderDays(w.ctx, a.P, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Accounts.SetReminderDays(w.ctx, a.P, -1); !errors.Is(err, kerr.Invalid) {
		t.Errorf("negative interval = %v, want kerr.Invalid", err)
	}
	c := w.register(a, b, "reminder case")
	flush := func() []mail {
		t.Helper()
		if _, _, err := w.svc.DeliverOnce(w.ctx); err != nil {
			t.Fatal(err)
		}
		var out []mail
		for _, m := range w.smtp.take() {
			out = append(out, decodeMail(t, m))
		}
		return out
	}
	pass := func(wantReminders, wantOverdue int) {
		t.Helper()
		rep, err := w.svc.Cases.SendReminders(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Reminders != wantReminders || rep.Overdue != wantOverdue {
			t.Errorf("at +%s: %+v, want %d reminders, %d overdue", now().Sub(testpki.Now), rep, wantReminders, wantOverdue)
		}
	}
	flush() // the receipt request

	advance(2*day + 23*time.Hour)
	pass(0, 0)
	if ms := flush(); len(ms) != 0 {
		t.Errorf("before 3 days: %d mails", len(ms))
	}
	advance(2 * time.Hour) // 3 days and 1 hour
	pass(1, 0)
	pass(0, 0) // same interval: nothing more
	ms := flush()
	if len(ms) != 1 || ms[0].To != b.Email || !strings.Contains(ms[0].Subject, "Reminder") || !strings.Contains(ms[0].Body, "reminder case") {
		t.Fatalf("after 3 days: %+v; want one reminder to B", ms)
	}
	advance(3 * day)
	pass(1, 0)
	if ms := flush(); len(ms) != 1 || ms[0].To != b.Email {
		t.Errorf("after 6 days: %d mails, want one more reminder to B", len(ms))
	}

	// Once B receives it the case waits for B's return: the clock of
	// reminders restarts from that change.
	w.receive(b, c.ID)
	flush()
	advance(day)
	pass(0, 0)

	// Reply-by date: set by the registrant only, and only on open cases.
	if _, err := w.svc.Cases.SetReplyBy(w.ctx, b.P, c.ID, civil.DateOf(now())); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("SetReplyBy by the counterparty = %v, want kerr.PermissionDenied", err)
	}
	if _, err := w.svc.Cases.SetReplyBy(w.ctx, w.m["C"].P, c.ID, civil.DateOf(now())); !errors.Is(err, kerr.NotFound) {
		t.Errorf("SetReplyBy by a third company = %v, want kerr.NotFound", err)
	}
	got, err := w.svc.Cases.SetReplyBy(w.ctx, a.P, c.ID, civil.DateOf(now()))
	if err != nil {
		t.Fatal(err)
	}
	if got.State != casework.StateReceived {
		t.Errorf("after SetReplyBy the case is %s", got.State)
	}
	pass(0, 0) // the reply-by day itself is not overdue
	advance(day)
	pass(0, 1)
	pass(0, 0)
	ms = flush()
	to := map[string]bool{}
	for _, m := range ms {
		to[m.To] = true
		if !strings.Contains(m.Body, civil.DateOf(now()).AddDays(-1).String()) {
			t.Errorf("overdue notice does not name the reply-by date:\n%s", m.Body)
		}
	}
	if len(ms) != 2 || !to[a.Email] || !to[b.Email] {
		t.Fatalf("overdue notices to %v, want A and B once each", to)
	}
	after, err := w.svc.Cases.Get(w.ctx, a.P, c.ID)
	if err != nil || after.State != casework.StateReceived {
		t.Errorf("after the reminders the case is %v, %v; want unchanged (received)", after, err)
	}

	// Reminders off: nothing more, whatever the time.
	if _, err := w.svc.Accounts.SetReminderDays(w.ctx, a.P, 0); err != nil {
		t.Fatal(err)
	}
	advance(30 * day)
	pass(0, 0)
}

// TestRunJobsReminds: the scheduled reminder job (River on the embedded
// SQLite, run at start) records the due reminder without anyone calling
// SendReminders, and the notifier mails it.
func TestRunJobsReminds(t *testing.T) {
	var clock atomic.Int64
	clock.Store(testpki.Now.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	w := newWorldWith(t, func(_ *world, cfg *keiyaku.Config) { cfg.Clock = now })
	a, b := w.m["A"], w.m["B"]
	if _, err := w.svc.Accounts.SetReminderDays(w.ctx, a.P, 2); err != nil {
		t.Fatal(err)
	}
	c := w.register(a, b, "job reminder")
	if _, _, err := w.svc.DeliverOnce(w.ctx); err != nil {
		t.Fatal(err)
	}
	w.smtp.take()
	clock.Add(int64(50 * time.Hour))

	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- w.svc.RunJobs(ctx, time.Hour) }()
	var got []rawMail
	for deadline := time.Now().Add(60 * time.Second); len(got) == 0 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		if _, _, err := w.svc.DeliverOnce(w.ctx); err != nil {
			t.Fatal(err)
		}
		got = w.smtp.take()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunJobs = %v, want context.Canceled", err)
	}
	if len(got) != 1 {
		t.Fatalf("the reminder job mailed %d notices within a minute, want 1", len(got))
	}
	if m := decodeMail(t, got[0]); m.To != b.Email || !strings.Contains(m.Body, "job reminder") {
		t.Errorf("reminder = %+v", m)
	}
	entries, err := w.svc.Store.ListAudit(w.ctx, 0, c.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == "case.reminder" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("case.reminder audit entries = %d, want 1", n)
	}
}
