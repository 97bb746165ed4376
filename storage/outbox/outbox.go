package outbox

import (
	"context"
	"time"

	"github.com/keiyaku/keiyaku/internal/failpoint"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/notify"
	"github.com/keiyaku/keiyaku/storage"
)

// Config configures New.
type Config struct {
	// Store holds the events. Required.
	Store storage.OutboxStore
	// Lease is how long a claimed event stays invisible to other claims
	// before it is due again (at-least-once delivery after a crash). Zero
	// means 5 minutes.
	Lease time.Duration
	// CaseURL returns the portal link of a case for the notice; nil means
	// notices carry no link. It must return an absolute http(s) URL or "".
	CaseURL func(caseID string) string
}

// Outbox implements notify.Outbox. It is safe for concurrent use if the
// Store is.
type Outbox struct {
	store   storage.OutboxStore
	lease   time.Duration
	caseURL func(string) string
}

var _ notify.Outbox = (*Outbox)(nil)

// New returns an Outbox, or kerr.Invalid for a bad Config.
func New(cfg Config) (*Outbox, error) {
	if cfg.Store == nil {
		return nil, kerr.E(kerr.Invalid, "outbox.New", "Config.Store is required")
	}
	if cfg.Lease < 0 {
		return nil, kerr.E(kerr.Invalid, "outbox.New", "Config.Lease may not be negative")
	}
	if cfg.Lease == 0 {
		cfg.Lease = 5 * time.Minute
	}
	return &Outbox{store: cfg.Store, lease: cfg.Lease, caseURL: cfg.CaseURL}, nil
}

// Claim implements notify.Outbox with storage.OutboxStore.ClaimEvents.
// Each stored event names one recipient (casework writes one per
// recipient); an event naming several is delivered to the first, whose
// address the event captured.
func (o *Outbox) Claim(ctx context.Context, now time.Time, limit int) ([]notify.Message, error) {
	if limit > 1000 {
		limit = 1000
	}
	evs, err := o.store.ClaimEvents(ctx, now, o.lease, limit)
	if err != nil {
		return nil, kerr.Wrap("outbox.Claim", err)
	}
	out := make([]notify.Message, 0, len(evs))
	for _, ev := range evs {
		m := notify.Message{
			ID: ev.ID, Type: notify.EventType(ev.Type), CaseID: ev.CaseID, CaseName: ev.CaseName, OrderNumber: ev.OrderNumber,
			From: notify.Party{Company: ev.FromCompany, User: ev.FromUser},
			Recipient: notify.Recipient{Company: ev.RecipientCompany, Name: ev.RecipientName, Email: ev.RecipientEmail,
				Language: notify.Language(ev.Language)},
			Reason: ev.Reason, CreatedAt: ev.CreatedAt, Attempts: ev.Attempts, NextAttemptAt: ev.NextAttemptAt,
		}
		if o.caseURL != nil {
			m.URL = o.caseURL(ev.CaseID)
		}
		out = append(out, m)
	}
	return out, nil
}

// MarkSent implements notify.Outbox.
func (o *Outbox) MarkSent(ctx context.Context, id string, at time.Time) error {
	failpoint.Hit(failpoint.OutboxSent)
	return kerr.Wrap("outbox.MarkSent", o.store.MarkDelivered(ctx, id, at))
}

// MarkFailed implements notify.Outbox.
func (o *Outbox) MarkFailed(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error {
	return kerr.Wrap("outbox.MarkFailed", o.store.MarkFailed(ctx, id, attempts, next, lastErr))
}
