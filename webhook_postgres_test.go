package keiyaku_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/webhook"
)

// TestWebhooksAndRemindersOnPostgres: the facade on storage/postgres
// writes a lifecycle's webhook deliveries with its commits and delivers
// them signed, in order; the reminder pass reminds once per interval.
func TestWebhooksAndRemindersOnPostgres(t *testing.T) {
	st := postgresStore(t, "kw_")

	var clock atomic.Int64
	clock.Store(testpki.Now.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	w := newWorldWith(t, func(_ *world, cfg *keiyaku.Config) {
		cfg.Store, cfg.Clock = st, now
		cfg.Webhook.AllowLoopback = true
	})
	a, bm := w.m["A"], w.m["B"]
	recv := newReceiver(t)
	_, secret, err := w.svc.Webhooks.Create(w.ctx, a.P, webhook.Input{URL: recv.srv.URL, Events: webhook.EventTypes()})
	if err != nil {
		t.Fatal(err)
	}
	w.complete(w.register(a, bm, "postgres webhooks"), a, bm)
	if d, f, err := w.svc.Webhooks.DeliverOnce(w.ctx); err != nil || d != 4 || f != 0 {
		t.Fatalf("DeliverOnce = %d, %d, %v; want 4 delivered", d, f, err)
	}
	got := recv.take()
	want := []string{"receipt_requested", "received", "returned", "completed"}
	if len(got) != len(want) {
		t.Fatalf("received %d deliveries, want %d", len(got), len(want))
	}
	for i, req := range got {
		if !standardWebhooksValid(secret, req, now()) || !strings.Contains(string(req.Body), `"type":"case.`+want[i]+`"`) {
			t.Errorf("delivery %d: %s (signature valid: %v)", i, req.Body, standardWebhooksValid(secret, req, now()))
		}
	}

	if _, err := w.svc.Accounts.SetReminderDays(w.ctx, a.P, 1); err != nil {
		t.Fatal(err)
	}
	w.register(a, bm, "postgres reminder")
	clock.Add(int64(25 * time.Hour))
	for i, want := range []int{1, 0} {
		rep, err := w.svc.Cases.SendReminders(w.ctx)
		if err != nil || rep.Reminders != want {
			t.Errorf("pass %d: %+v, %v; want %d reminders", i, rep, err, want)
		}
	}
}
