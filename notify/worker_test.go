package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/notify"
)

// fakeClock is a settable clock for the worker.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func newTestWorker(t *testing.T, ob notify.Outbox, mailer notify.Mailer, clock *fakeClock, edit func(*notify.WorkerConfig)) *notify.Worker {
	t.Helper()
	cfg := notify.WorkerConfig{
		Outbox: ob, Mailer: mailer, Clock: clock.Now,
		Backoff:     notify.Backoff{Initial: time.Minute, Max: 3 * time.Minute},
		MaxAttempts: 4,
	}
	if edit != nil {
		edit(&cfg)
	}
	w, err := notify.NewWorker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func runOnce(t *testing.T, w *notify.Worker, wantDelivered, wantFailed int) {
	t.Helper()
	d, f, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if d != wantDelivered || f != wantFailed {
		t.Fatalf("RunOnce = %d delivered, %d failed; want %d, %d", d, f, wantDelivered, wantFailed)
	}
}

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		name     string
		b        notify.Backoff
		attempts int
		want     time.Duration
	}{
		{"defaults first", notify.Backoff{}, 1, time.Minute},
		{"defaults doubling", notify.Backoff{}, 4, 8 * time.Minute},
		{"defaults capped", notify.Backoff{}, 7, time.Hour},
		{"zero attempts count as one", notify.Backoff{Initial: time.Second}, 0, time.Second},
		{"custom", notify.Backoff{Initial: 10 * time.Second, Max: time.Minute}, 3, 40 * time.Second},
		{"custom capped", notify.Backoff{Initial: 10 * time.Second, Max: time.Minute}, 4, time.Minute},
		{"huge attempts do not overflow", notify.Backoff{Initial: time.Second, Max: 24 * time.Hour}, 1 << 30, 24 * time.Hour},
		{"max below doubling step", notify.Backoff{Initial: 50 * time.Second, Max: 70 * time.Second}, 2, 70 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.Delay(tc.attempts); got != tc.want {
				t.Errorf("Delay(%d) = %v, want %v", tc.attempts, got, tc.want)
			}
		})
	}
}

func TestNewWorkerValidates(t *testing.T) {
	ob := newMemOutbox()
	mailer := mailerFunc(func(context.Context, notify.Mail) error { return nil })
	tests := []struct {
		name string
		cfg  notify.WorkerConfig
		ok   bool
	}{
		{"minimal", notify.WorkerConfig{Outbox: ob, Mailer: mailer}, true},
		{"no outbox", notify.WorkerConfig{Mailer: mailer}, false},
		{"no mailer", notify.WorkerConfig{Outbox: ob}, false},
		{"negative backoff", notify.WorkerConfig{Outbox: ob, Mailer: mailer, Backoff: notify.Backoff{Initial: -1}}, false},
		{"max below initial", notify.WorkerConfig{Outbox: ob, Mailer: mailer, Backoff: notify.Backoff{Initial: time.Hour, Max: time.Minute}}, false},
		{"negative attempts", notify.WorkerConfig{Outbox: ob, Mailer: mailer, MaxAttempts: -1}, false},
		{"negative batch", notify.WorkerConfig{Outbox: ob, Mailer: mailer, BatchSize: -1}, false},
		{"negative interval", notify.WorkerConfig{Outbox: ob, Mailer: mailer, Interval: -time.Second}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := notify.NewWorker(tc.cfg)
			if tc.ok {
				if err != nil || w == nil {
					t.Fatalf("NewWorker = %v, %v", w, err)
				}
				return
			}
			if !errors.Is(err, notify.ErrInvalidConfig) {
				t.Fatalf("NewWorker error = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// mailerFunc adapts a function to notify.Mailer, to inject outcomes that a
// real server cannot be made to produce on demand.
type mailerFunc func(context.Context, notify.Mail) error

func (f mailerFunc) Send(ctx context.Context, m notify.Mail) error { return f(ctx, m) }

// TestWorkerRetriesThenDelivers: the SMTP server answers 451 twice, then
// accepts. The notice arrives exactly once and the schedule follows Backoff.
func TestWorkerRetriesThenDelivers(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	srv.failData = 2
	ob := newMemOutbox(sampleMessage("ob-1", notify.EventReceiptRequested, notify.LanguageJapanese))
	clock := &fakeClock{now: t0}
	w := newTestWorker(t, ob, newTestMailer(t, srv, nil), clock, nil)

	runOnce(t, w, 0, 1)
	r := ob.row("ob-1")
	if r.msg.Attempts != 1 || !r.msg.NextAttemptAt.Equal(t0.Add(time.Minute)) || r.gaveUp || r.lastErr == "" {
		t.Fatalf("after 1st failure: attempts %d, next %v, gave up %v, last error %q", r.msg.Attempts, r.msg.NextAttemptAt, r.gaveUp, r.lastErr)
	}

	// Not yet due: nothing is claimed.
	clock.Set(t0.Add(59 * time.Second))
	runOnce(t, w, 0, 0)

	clock.Set(t0.Add(time.Minute))
	runOnce(t, w, 0, 1)
	r = ob.row("ob-1")
	if want := t0.Add(time.Minute + 2*time.Minute); r.msg.Attempts != 2 || !r.msg.NextAttemptAt.Equal(want) {
		t.Fatalf("after 2nd failure: attempts %d, next %v; want 2, %v", r.msg.Attempts, r.msg.NextAttemptAt, want)
	}

	t3 := t0.Add(3 * time.Minute)
	clock.Set(t3)
	runOnce(t, w, 1, 0)
	r = ob.row("ob-1")
	if !r.sentAt.Equal(t3) || r.msg.Attempts != 2 || r.gaveUp {
		t.Fatalf("after delivery: sent %v, attempts %d, gave up %v", r.sentAt, r.msg.Attempts, r.gaveUp)
	}

	clock.Set(t0.Add(time.Hour))
	runOnce(t, w, 0, 0)
	mails := srv.Mails()
	if len(mails) != 1 || srv.DataCalls() != 3 {
		t.Fatalf("server got %d mails in %d DATA commands, want 1 in 3", len(mails), srv.DataCalls())
	}
	p := parseMail(t, mails[0].Data)
	if d, err := p.Header.Date(); err != nil || !d.Equal(t3) {
		t.Errorf("Date header = %v, %v; want the worker clock %v", d, err, t3)
	}
	if got := p.Header.Get("Message-Id"); got != "<ob-1@keiyaku.example.jp>" {
		t.Errorf("Message-ID = %q", got)
	}
}

// TestWorkerGivesUpAfterMaxAttempts: a server that keeps answering 451.
func TestWorkerGivesUpAfterMaxAttempts(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	srv.failData = 1000
	ob := newMemOutbox(sampleMessage("ob-1", notify.EventCompleted, notify.LanguageEnglish))
	clock := &fakeClock{now: t0}
	w := newTestWorker(t, ob, newTestMailer(t, srv, nil), clock, nil) // MaxAttempts 4, 1m..3m

	// Due times: t0, +1m, +2m (cum. 3m), +3m capped (cum. 6m).
	wantNext := []time.Duration{time.Minute, 3 * time.Minute, 6 * time.Minute}
	at := t0
	for i, off := range wantNext {
		clock.Set(at)
		runOnce(t, w, 0, 1)
		r := ob.row("ob-1")
		if r.msg.Attempts != i+1 || !r.msg.NextAttemptAt.Equal(t0.Add(off)) || r.gaveUp {
			t.Fatalf("after failure %d: attempts %d, next %v, gave up %v; want next %v", i+1, r.msg.Attempts, r.msg.NextAttemptAt, r.gaveUp, t0.Add(off))
		}
		at = t0.Add(off)
	}
	clock.Set(at)
	runOnce(t, w, 0, 1)
	r := ob.row("ob-1")
	if r.msg.Attempts != 4 || !r.gaveUp || !r.msg.NextAttemptAt.IsZero() || r.lastErr == "" {
		t.Fatalf("after failure 4: attempts %d, gave up %v, next %v, last error %q", r.msg.Attempts, r.gaveUp, r.msg.NextAttemptAt, r.lastErr)
	}
	clock.Set(t0.Add(24 * time.Hour))
	runOnce(t, w, 0, 0)
	if srv.DataCalls() != 4 || len(srv.Mails()) != 0 {
		t.Fatalf("server saw %d DATA commands and kept %d mails, want 4 and 0", srv.DataCalls(), len(srv.Mails()))
	}
}

func TestWorkerGivesUpAtOnce(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*notify.Message)
		setup func(*testSMTP)
		data  int // DATA commands the server should see
	}{
		{"550 from the server", nil, func(s *testSMTP) { s.rejectRcpt = true }, 0},
		{"unknown language is never sent", func(m *notify.Message) { m.Recipient.Language = "fr" }, nil, 0},
		{"invalid message is never sent", func(m *notify.Message) { m.CaseName = "" }, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSMTP(t, smtpOptions{})
			if tc.setup != nil {
				tc.setup(srv)
			}
			m := sampleMessage("ob-1", notify.EventSentBack, notify.LanguageJapanese)
			if tc.edit != nil {
				tc.edit(&m)
			}
			ob := newMemOutbox(m)
			clock := &fakeClock{now: t0}
			w := newTestWorker(t, ob, newTestMailer(t, srv, nil), clock, nil)
			runOnce(t, w, 0, 1)
			r := ob.row("ob-1")
			if r.msg.Attempts != 1 || !r.gaveUp || r.lastErr == "" {
				t.Fatalf("attempts %d, gave up %v, last error %q; want 1, true, an error", r.msg.Attempts, r.gaveUp, r.lastErr)
			}
			if srv.DataCalls() != tc.data || len(srv.Mails()) != 0 {
				t.Fatalf("server saw %d DATA commands, kept %d mails", srv.DataCalls(), len(srv.Mails()))
			}
		})
	}
}

func TestWorkerBatchesInOrder(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	ob := newMemOutbox(
		sampleMessage("ob-a", notify.EventReceiptRequested, notify.LanguageJapanese),
		sampleMessage("ob-b", notify.EventReturned, notify.LanguageEnglish),
		sampleMessage("ob-c", notify.EventCompleted, notify.LanguageJapanese),
	)
	clock := &fakeClock{now: t0}
	w := newTestWorker(t, ob, newTestMailer(t, srv, nil), clock, func(c *notify.WorkerConfig) { c.BatchSize = 2 })
	runOnce(t, w, 2, 0)
	runOnce(t, w, 1, 0)
	runOnce(t, w, 0, 0)
	var ids []string
	for _, m := range srv.Mails() {
		ids = append(ids, parseMail(t, m.Data).Header.Get("Message-Id"))
	}
	want := fmt.Sprint([]string{"<ob-a@keiyaku.example.jp>", "<ob-b@keiyaku.example.jp>", "<ob-c@keiyaku.example.jp>"})
	if fmt.Sprint(ids) != want {
		t.Fatalf("delivered %v, want %v", ids, want)
	}
}

// failingOutbox wraps memOutbox and fails the chosen operation.
type failingOutbox struct {
	*memOutbox
	claimErr, sentErr error
}

var errOutboxDown = errors.New("outbox down")

func (f *failingOutbox) Claim(ctx context.Context, now time.Time, limit int) ([]notify.Message, error) {
	if f.claimErr != nil {
		return nil, f.claimErr
	}
	return f.memOutbox.Claim(ctx, now, limit)
}

func (f *failingOutbox) MarkSent(ctx context.Context, id string, at time.Time) error {
	if f.sentErr != nil {
		return f.sentErr
	}
	return f.memOutbox.MarkSent(ctx, id, at)
}

func TestWorkerReportsOutboxErrors(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	clock := &fakeClock{now: t0}
	mailer := newTestMailer(t, srv, nil)

	t.Run("claim", func(t *testing.T) {
		ob := &failingOutbox{memOutbox: newMemOutbox(sampleMessage("ob-1", notify.EventDeleted, notify.LanguageJapanese)), claimErr: errOutboxDown}
		d, f, err := newTestWorker(t, ob, mailer, clock, nil).RunOnce(context.Background())
		if !errors.Is(err, errOutboxDown) || d != 0 || f != 0 {
			t.Fatalf("RunOnce = %d, %d, %v; want 0, 0, errOutboxDown", d, f, err)
		}
	})
	t.Run("mark sent", func(t *testing.T) {
		before := len(srv.Mails())
		ob := &failingOutbox{memOutbox: newMemOutbox(
			sampleMessage("ob-1", notify.EventDeleted, notify.LanguageJapanese),
			sampleMessage("ob-2", notify.EventDeleted, notify.LanguageEnglish),
		), sentErr: errOutboxDown}
		d, f, err := newTestWorker(t, ob, mailer, clock, nil).RunOnce(context.Background())
		if !errors.Is(err, errOutboxDown) || d != 2 || f != 0 {
			t.Fatalf("RunOnce = %d, %d, %v; want 2, 0, errOutboxDown", d, f, err)
		}
		if got := len(srv.Mails()) - before; got != 2 {
			t.Fatalf("server got %d mails, want 2 (the batch goes on)", got)
		}
	})
}

// TestWorkerCancelledMidSend: an attempt cut short by ctx costs no attempt
// and is not recorded.
func TestWorkerCancelledMidSend(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	srv.stall = make(chan string, 1)
	ob := newMemOutbox(
		sampleMessage("ob-1", notify.EventReturned, notify.LanguageJapanese),
		sampleMessage("ob-2", notify.EventReturned, notify.LanguageJapanese),
	)
	clock := &fakeClock{now: t0}
	w := newTestWorker(t, ob, newTestMailer(t, srv, nil), clock, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-srv.stall
		cancel()
	}()
	d, f, err := w.RunOnce(ctx)
	if !errors.Is(err, context.Canceled) || d != 0 || f != 0 {
		t.Fatalf("RunOnce = %d, %d, %v; want 0, 0, context.Canceled", d, f, err)
	}
	for _, id := range []string{"ob-1", "ob-2"} {
		r := ob.row(id)
		if r.msg.Attempts != 0 || r.gaveUp || !r.sentAt.IsZero() || r.lastErr != "" {
			t.Errorf("%s was recorded: attempts %d, gave up %v, sent %v, error %q", id, r.msg.Attempts, r.gaveUp, r.sentAt, r.lastErr)
		}
	}
	if srv.DataCalls() != 1 {
		t.Errorf("server saw %d DATA commands, want 1", srv.DataCalls())
	}
}

func TestWorkerRun(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	ob := newMemOutbox(
		sampleMessage("ob-1", notify.EventAcknowledged, notify.LanguageJapanese),
		sampleMessage("ob-2", notify.EventAcknowledged, notify.LanguageEnglish),
		sampleMessage("ob-3", notify.EventAcknowledged, notify.LanguageJapanese),
	)
	clock := &fakeClock{now: t0}
	w := newTestWorker(t, ob, newTestMailer(t, srv, nil), clock, func(c *notify.WorkerConfig) {
		c.BatchSize = 2
		c.Interval = 10 * time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	// Wait until every row is marked sent: the server may hold the third
	// mail a moment before the worker records its delivery.
	allSent := func() bool {
		for _, id := range []string{"ob-1", "ob-2", "ob-3"} {
			if ob.row(id).sentAt.IsZero() {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(10 * time.Second)
	for !allSent() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	if n := len(srv.Mails()); n != 3 {
		t.Fatalf("server got %d mails, want 3", n)
	}
	for _, id := range []string{"ob-1", "ob-2", "ob-3"} {
		if r := ob.row(id); !r.sentAt.Equal(t0) {
			t.Errorf("%s sent at %v, want %v", id, r.sentAt, t0)
		}
	}
}

func TestWorkerLogsFailures(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	srv.failData = 1
	ob := newMemOutbox(sampleMessage("ob-1", notify.EventReturned, notify.LanguageJapanese))
	clock := &fakeClock{now: t0}
	var buf bytes.Buffer
	w := newTestWorker(t, ob, newTestMailer(t, srv, nil), clock, func(c *notify.WorkerConfig) {
		c.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	})
	runOnce(t, w, 0, 1)
	var rec map[string]any
	if err := json.NewDecoder(&buf).Decode(&rec); err != nil {
		t.Fatalf("no log record: %v", err)
	}
	want := map[string]any{
		"level": "INFO", "message_id": "ob-1", "case_id": "case-42", "event": "returned",
		"attempts": float64(1), "next_attempt": t0.Add(time.Minute).Format(time.RFC3339Nano),
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("log %s = %v, want %v", k, rec[k], v)
		}
	}
	if e, _ := rec["error"].(string); e == "" {
		t.Errorf("log record has no error: %v", rec)
	}
}
