package storage

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/kerr"
)

// WebhookSubscription is one company's webhook endpoint (issue 13): where
// signed case events go and which ones.
type WebhookSubscription struct {
	ID        string
	CompanyID string
	// URL is the endpoint; package webhook checks its scheme and host.
	URL string
	// Events are the event types delivered (package webhook names them).
	Events []string
	// Description is the administrator's own label; may be empty.
	Description string
	// Secret is the signing secret as package webhook stores it (sealed
	// with its key, or as-is when it has none); the store keeps it opaque.
	Secret    []byte
	CreatedBy string // user ID
	CreatedAt time.Time
	UpdatedAt time.Time
}

// WebhookDelivery is one webhook message for one subscription: written
// with the case commit it reports (CaseCommit.Webhooks), then attempted
// by a delivery worker until delivered or given up.
type WebhookDelivery struct {
	// ID is the message ID receivers deduplicate on (the Standard
	// Webhooks webhook-id): unique, 1 to 128 characters of A-Z a-z 0-9
	// . - _. A replay keeps it.
	ID             string
	Seq            int64 // assigned by the store, growing in write order
	SubscriptionID string
	CompanyID      string
	Type           string
	CaseID         string
	// Body is the JSON payload, fixed when the event happened so that
	// every attempt and replay sends the same bytes. At most
	// MaxWebhookBody bytes.
	Body      []byte
	CreatedAt time.Time
	// Delivery state, kept by RecordWebhookAttempt and
	// RequeueWebhookDelivery.
	Attempts      int
	NextAttemptAt time.Time
	DeliveredAt   time.Time
	GaveUp        bool
	LastStatus    int
	LastError     string
}

// WebhookAttempt is one try at delivering a WebhookDelivery: the delivery
// log an administrator reads.
type WebhookAttempt struct {
	DeliveryID string
	At         time.Time
	StatusCode int // 0 when no answer came
	Error      string
	Duration   time.Duration
}

// Limits the stores enforce on webhook records.
const (
	MaxWebhookURL      = 2048 // bytes
	MaxWebhookBody     = 16 << 10
	MaxWebhookError    = 1000 // bytes of WebhookAttempt.Error kept
	MaxWebhookEvents   = 32
	MaxWebhookText     = 200 // bytes of Description
	MaxWebhookSecret   = 256 // bytes of the stored secret
	MaxWebhookAttempts = 100 // attempts kept per delivery (older ones dropped)
)

// WebhookStore keeps webhook subscriptions, their deliveries and the
// delivery log. Deliveries are created only through CaseCommit.Webhooks, in
// the transaction of the state change they report. Each write commits with
// its audit entries (at least one, where the method takes them) or not at
// all. Deleting a subscription deletes its deliveries and their log.
type WebhookStore interface {
	// CreateWebhook stores a new subscription unless its company has max
	// already (kerr.FailedPrecondition). An existing ID is kerr.Conflict;
	// a malformed record (CheckWebhook) kerr.Invalid.
	CreateWebhook(ctx context.Context, w *WebhookSubscription, max int, audit []AuditEntry) error
	// UpdateWebhook replaces the subscription with w.ID (its CompanyID and
	// CreatedAt/CreatedBy are kept); none is kerr.NotFound.
	UpdateWebhook(ctx context.Context, w *WebhookSubscription, audit []AuditEntry) error
	// DeleteWebhook removes the subscription, its deliveries and their
	// attempts; none is kerr.NotFound.
	DeleteWebhook(ctx context.Context, id string, audit []AuditEntry) error
	// GetWebhook returns a subscription or kerr.NotFound.
	GetWebhook(ctx context.Context, id string) (*WebhookSubscription, error)
	// ListWebhooks returns the subscriptions of a company, oldest first.
	ListWebhooks(ctx context.Context, companyID string) ([]WebhookSubscription, error)

	// ClaimWebhookDeliveries returns up to limit (1 to 1000) deliveries due
	// at now (not delivered, not given up, NextAttemptAt not after now) in
	// Seq order, and moves their NextAttemptAt to now+lease (positive) in
	// the same transaction, so that no other claim returns them until the
	// lease lapses. They are returned as they were before the claim.
	ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]WebhookDelivery, error)
	// RecordWebhookAttempt appends a to the log of its delivery and updates
	// the delivery: Attempts+1, LastStatus, LastError; delivered sets
	// DeliveredAt to a.At; otherwise a non-zero next makes it due at next
	// and a zero next gives up. A missing delivery is kerr.NotFound.
	RecordWebhookAttempt(ctx context.Context, a *WebhookAttempt, delivered bool, next time.Time) error
	// RequeueWebhookDelivery makes a delivery due at at again, whatever its
	// state (a replay: same ID and body), with its audit entries. A
	// missing delivery is kerr.NotFound.
	RequeueWebhookDelivery(ctx context.Context, id string, at time.Time, audit []AuditEntry) error
	// GetWebhookDelivery returns a delivery or kerr.NotFound.
	GetWebhookDelivery(ctx context.Context, id string) (*WebhookDelivery, error)
	// ListWebhookDeliveries returns up to limit (1 to 1000) deliveries of a
	// subscription with Seq > afterSeq, in Seq order.
	ListWebhookDeliveries(ctx context.Context, subscriptionID string, afterSeq int64, limit int) ([]WebhookDelivery, error)
	// ListWebhookAttempts returns the log of a delivery, oldest first (at
	// most MaxWebhookAttempts).
	ListWebhookAttempts(ctx context.Context, deliveryID string) ([]WebhookAttempt, error)
}

// CheckWebhook returns the kerr.Invalid error, under op, that every backend
// gives a malformed subscription. Backends call it first.
func CheckWebhook(op string, w *WebhookSubscription) error {
	switch {
	case w == nil || w.ID == "" || w.CompanyID == "":
		return kerr.E(kerr.Invalid, op, "a webhook subscription needs an ID and a company")
	case w.URL == "" || len(w.URL) > MaxWebhookURL || !utf8.ValidString(w.URL):
		return kerr.E(kerr.Invalid, op, "webhook URL must be 1 to %d bytes of UTF-8", MaxWebhookURL)
	case len(w.Events) == 0 || len(w.Events) > MaxWebhookEvents:
		return kerr.E(kerr.Invalid, op, "a webhook subscription needs 1 to %d event types", MaxWebhookEvents)
	case len(w.Description) > MaxWebhookText || !utf8.ValidString(w.Description):
		return kerr.E(kerr.Invalid, op, "webhook description must be at most %d bytes of UTF-8", MaxWebhookText)
	case len(w.Secret) == 0 || len(w.Secret) > MaxWebhookSecret:
		return kerr.E(kerr.Invalid, op, "webhook secret must be 1 to %d bytes", MaxWebhookSecret)
	}
	for _, e := range w.Events {
		if e == "" || len(e) > 64 {
			return kerr.E(kerr.Invalid, op, "webhook event type %q must be 1 to 64 bytes", e)
		}
	}
	return nil
}

// CheckWebhookDelivery returns the kerr.Invalid error, under op, that
// every backend gives a malformed delivery in a CaseCommit.
func CheckWebhookDelivery(op string, d *WebhookDelivery) error {
	if d.ID == "" || len(d.ID) > 128 || d.SubscriptionID == "" || d.CaseID == "" || d.Type == "" {
		return kerr.E(kerr.Invalid, op, "a webhook delivery needs an ID (at most 128 bytes), a subscription, a case and a type")
	}
	if len(d.Body) == 0 || len(d.Body) > MaxWebhookBody {
		return kerr.E(kerr.Invalid, op, "webhook delivery body must be 1 to %d bytes", MaxWebhookBody)
	}
	return nil
}

// TrimWebhookError cuts s to MaxWebhookError bytes on a rune boundary.
func TrimWebhookError(s string) string {
	if len(s) <= MaxWebhookError {
		return s
	}
	s = s[:MaxWebhookError]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
