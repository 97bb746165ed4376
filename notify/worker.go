package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
)

// Outbox is the store of pending notices. casework writes the rows in the
// same transaction as the state change they report; the Worker claims and
// settles them. Implementations must be safe for concurrent use (several
// workers may share one outbox).
type Outbox interface {
	// Claim returns at most limit (>= 1) messages that are due at now - not
	// yet sent, not given up, NextAttemptAt zero or not after now - ordered
	// by NextAttemptAt, then in the order they were written. A claimed
	// message must not be returned by another Claim until it is marked or
	// a claim period chosen by the implementation lapses (after which it
	// is due again: delivery is at least once). None due is an empty slice
	// and a nil error. A message the store cannot decode should be given
	// up by the store, not returned half-filled.
	Claim(ctx context.Context, now time.Time, limit int) ([]Message, error)

	// MarkSent records that message id was delivered at at; it is never
	// claimed again. An unknown id is an error. Marking a message whose
	// claim has lapsed and that another worker has claimed since may
	// succeed; the duplicate delivery is the at-least-once cost.
	MarkSent(ctx context.Context, id string, at time.Time) error

	// MarkFailed records a failed attempt: attempts is the number of
	// failed attempts so far and lastErr describes the latest. A non-zero
	// nextAttempt makes the message due again at that time; a zero
	// nextAttempt means the worker gave up, and the message must be kept
	// (with lastErr, for operators) but never claimed again. An unknown id
	// is an error.
	MarkFailed(ctx context.Context, id string, attempts int, nextAttempt time.Time, lastErr string) error
}

// Backoff spaces retries exponentially: after the n-th failed attempt the
// next one is due Initial·2^(n-1) later, but never more than Max later.
// There is no jitter, so a schedule is reproducible with a fixed clock.
type Backoff struct {
	// Initial is the delay after the first failure; zero means one minute.
	Initial time.Duration
	// Max caps the delay; zero means one hour.
	Max time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial == 0 {
		b.Initial = time.Minute
	}
	if b.Max == 0 {
		b.Max = time.Hour
	}
	return b
}

// Delay returns the wait after the given number of failed attempts (values
// below 1 count as 1), applying the defaults for zero fields. It does not
// overflow for any attempts.
func (b Backoff) Delay(attempts int) time.Duration {
	b = b.withDefaults()
	d := b.Initial
	for i := 1; i < attempts && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Sender delivers one outbox message over one channel. at is the delivery
// time from the worker's clock (the Date of a mail, the timestamp of a
// webhook signature). The error contract is the Mailer's: nil once
// accepted, ErrPermanent wrapped when retrying cannot help. Implementations
// must be safe for concurrent use and honour ctx.
type Sender interface {
	Deliver(ctx context.Context, m *Message, at time.Time) error
}

// mailSender renders a message and hands it to a Mailer.
type mailSender struct {
	templates *Templates
	mailer    Mailer
}

func (s mailSender) Deliver(ctx context.Context, m *Message, at time.Time) error {
	mail, err := s.templates.Render(m)
	if err != nil {
		return Permanent(err)
	}
	mail.Date = at
	return s.mailer.Send(ctx, mail)
}

// WorkerConfig configures a Worker. At least one of Mailer and Webhook is
// required.
type WorkerConfig struct {
	// Outbox holds the pending notices. Required.
	Outbox Outbox
	// Mailer delivers the rendered ChannelEmail notices; nil means such
	// notices are given up with an error wrapping ErrInvalidConfig.
	Mailer Mailer
	// Templates renders notices; nil means DefaultTemplates().
	Templates *Templates
	// Webhook delivers the ChannelWebhook notices (normally a
	// *WebhookSender); nil means such notices are given up with an error
	// wrapping ErrInvalidConfig.
	Webhook Sender
	// Clock tells the time for claiming, the Date header, MarkSent and the
	// backoff schedule; nil means time.Now.
	Clock func() time.Time
	// Backoff spaces retries; see Backoff for its zero values.
	Backoff Backoff
	// MaxAttempts is how many attempts a notice gets before it is given
	// up; zero means 10 (about five hours with the default Backoff).
	MaxAttempts int
	// BatchSize is how many notices one RunOnce claims; zero means 20.
	BatchSize int
	// Interval is how long Run waits when the outbox had nothing more due;
	// zero means 30 seconds.
	Interval time.Duration
	// Logger receives one record per failed attempt and per outbox error;
	// nil discards them. Records name the message and case IDs; the error
	// text may include the recipient's address as the server echoed it.
	Logger *slog.Logger
}

// Worker delivers notices from an Outbox through a Mailer or a webhook
// Sender, by the message's Channel. It is safe for concurrent use; several
// workers may share an Outbox whose Claim honours its contract.
type Worker struct {
	cfg     WorkerConfig
	senders map[Channel]Sender
}

// NewWorker validates cfg and returns a worker. An invalid cfg yields an
// error wrapping ErrInvalidConfig.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.Outbox == nil {
		return nil, fmt.Errorf("%w: WorkerConfig.Outbox is required", ErrInvalidConfig)
	}
	if cfg.Mailer == nil && cfg.Webhook == nil {
		return nil, fmt.Errorf("%w: WorkerConfig needs a Mailer, a Webhook or both", ErrInvalidConfig)
	}
	if cfg.Templates == nil {
		t, err := DefaultTemplates()
		if err != nil {
			return nil, err
		}
		cfg.Templates = t
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Backoff.Initial < 0 || cfg.Backoff.Max < 0 {
		return nil, fmt.Errorf("%w: WorkerConfig.Backoff durations must not be negative", ErrInvalidConfig)
	}
	cfg.Backoff = cfg.Backoff.withDefaults()
	if cfg.Backoff.Max < cfg.Backoff.Initial {
		return nil, fmt.Errorf("%w: WorkerConfig.Backoff.Max %v is below Initial %v", ErrInvalidConfig, cfg.Backoff.Max, cfg.Backoff.Initial)
	}
	if cfg.MaxAttempts < 0 || cfg.BatchSize < 0 || cfg.Interval < 0 {
		return nil, fmt.Errorf("%w: WorkerConfig.MaxAttempts, BatchSize and Interval must not be negative", ErrInvalidConfig)
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 20
	}
	if cfg.Interval == 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Worker{cfg: cfg, senders: make(map[Channel]Sender)}
	if cfg.Mailer != nil {
		w.senders[ChannelEmail] = mailSender{templates: cfg.Templates, mailer: cfg.Mailer}
	}
	if cfg.Webhook != nil {
		w.senders[ChannelWebhook] = cfg.Webhook
	}
	return w, nil
}

// RunOnce claims one batch of due notices and tries each once, in order.
// delivered counts the notices the Mailer accepted; failed counts those
// whose attempt failed, whether rescheduled (MarkFailed with the next
// attempt at Clock()+Backoff.Delay(attempts)) or given up (MarkFailed with
// a zero time: after MaxAttempts attempts, on an error wrapping
// ErrPermanent, when the notice cannot be rendered, or when no sender is
// configured for its Channel).
//
// err is non-nil when the Outbox failed (joined with the others, the batch
// goes on) or ctx was cancelled (the attempt in flight is not recorded and
// the rest of the batch is left to a later claim); a failed delivery is not
// an error of RunOnce.
const opRunOnce = "notify.Worker.RunOnce"

func (w *Worker) RunOnce(ctx context.Context) (delivered, failed int, err error) {
	msgs, err := w.cfg.Outbox.Claim(ctx, w.cfg.Clock(), w.cfg.BatchSize)
	if err != nil {
		return 0, 0, kerr.Wrap(opRunOnce, err)
	}
	var errs []error
	for i := range msgs {
		if ctxErr := ctx.Err(); ctxErr != nil {
			errs = append(errs, kerr.Wrap(opRunOnce, ctxErr))
			break
		}
		res, markErr := w.deliver(ctx, &msgs[i])
		switch res {
		case resultDelivered:
			delivered++
		case resultFailed:
			failed++
		case resultInterrupted:
			errs = append(errs, kerr.Wrap(opRunOnce, markErr))
			return delivered, failed, joinErrs(errs)
		}
		if markErr != nil {
			w.cfg.Logger.ErrorContext(ctx, "notify: outbox update failed",
				"message_id", msgs[i].ID, "error", markErr)
			errs = append(errs, markErr)
		}
	}
	return delivered, failed, joinErrs(errs)
}

// joinErrs returns nil, the only error (keeping its kind visible to
// kerr.Of), or all of them joined.
func joinErrs(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return kerr.Wrap(opRunOnce, errors.Join(errs...))
}

type result int

const (
	resultDelivered result = iota
	resultFailed
	resultInterrupted // ctx ended during the attempt; nothing recorded
)

// deliver makes one attempt at m and records the outcome; err is an Outbox
// error, or the ctx error for resultInterrupted. An attempt cut short by
// ctx is not recorded: it was not the server's fault, so it costs the
// message no attempt, and the message is due again once its claim lapses.
func (w *Worker) deliver(ctx context.Context, m *Message) (res result, err error) {
	var sendErr error
	if ch, err := m.Channel.resolve(); err != nil {
		sendErr = Permanent(err)
	} else if s := w.senders[ch]; s == nil {
		sendErr = Permanent(fmt.Errorf("%w: no sender for channel %s", ErrInvalidConfig, ch))
	} else {
		sendErr = s.Deliver(ctx, m, w.cfg.Clock())
	}
	if sendErr == nil {
		if err := w.cfg.Outbox.MarkSent(ctx, m.ID, w.cfg.Clock()); err != nil {
			return resultDelivered, kerr.Wrap(opRunOnce, fmt.Errorf("mark %s sent: %w", m.ID, err))
		}
		return resultDelivered, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return resultInterrupted, ctxErr
	}

	attempts := max(m.Attempts, 0) + 1
	var next time.Time
	if !errors.Is(sendErr, ErrPermanent) && attempts < w.cfg.MaxAttempts {
		next = w.cfg.Clock().Add(w.cfg.Backoff.Delay(attempts))
	}
	log := w.cfg.Logger.With("message_id", m.ID, "case_id", m.CaseID, "event", string(m.Type),
		"attempts", attempts, "error", sendErr)
	if next.IsZero() {
		log.WarnContext(ctx, "notify: delivery failed, giving up")
	} else {
		log.InfoContext(ctx, "notify: delivery failed, will retry", "next_attempt", next)
	}
	if err := w.cfg.Outbox.MarkFailed(ctx, m.ID, attempts, next, sendErr.Error()); err != nil {
		return resultFailed, kerr.Wrap(opRunOnce, fmt.Errorf("mark %s failed: %w", m.ID, err))
	}
	return resultFailed, nil
}

// Run calls RunOnce until ctx is done: again at once while batches come
// back full, otherwise after Interval. Errors of RunOnce are logged, not
// returned. Run returns ctx.Err() when ctx is done.
func (w *Worker) Run(ctx context.Context) error {
	for {
		d, f, err := w.RunOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			w.cfg.Logger.ErrorContext(ctx, "notify: outbox run failed", "error", err)
		} else if d+f == w.cfg.BatchSize {
			continue
		}
		t := time.NewTimer(w.cfg.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
