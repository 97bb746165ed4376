package webhook

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// The event types a subscription may choose. All but EventReceived are
// the mail outbox's notice types (notify.EventType); EventReceived has no
// notice (the registrant is not mailed when the counterparty downloads)
// but is a state change an integrating system wants to see.
const (
	EventReceiptRequested = "receipt_requested" // registered or resent: sent to the party on turn
	EventReceived         = "received"          // the party on turn downloaded it (受領)
	EventReturned         = "returned"          // signed and returned (返送)
	EventSentBack         = "sent_back"         // sent back with a reason (差し戻し)
	EventCompleted        = "completed"         // sealed (締結完了)
	EventDeleted          = "deleted"           // deleted before completion (削除)
	EventAcknowledged     = "acknowledged"      // send-only: receipt acknowledged (受領確認)
)

// EventTypes returns every event type, in lifecycle order.
func EventTypes() []string {
	return []string{EventReceiptRequested, EventReceived, EventReturned, EventSentBack, EventCompleted, EventDeleted, EventAcknowledged}
}

// Limits.
const (
	// DefaultMaxSubscriptions is Config.MaxSubscriptions' default.
	DefaultMaxSubscriptions = 10
	// MaxURLLen bounds a subscription URL, in bytes.
	MaxURLLen = 2048
	// MaxDescriptionLen bounds a description, in characters.
	MaxDescriptionLen = 200
	// RotationOverlap is how long the previous secret keeps signing (as a
	// second v1 signature) after RotateSecret, so that receivers can
	// switch without losing deliveries.
	RotationOverlap = 24 * time.Hour
	// MaxListLimit bounds Deliveries' limit.
	MaxListLimit = 100
)

// Config configures New.
type Config struct {
	// Store keeps subscriptions and deliveries. Required.
	Store storage.Store
	// Key seals secrets at rest with AES-256-GCM; 32 bytes, or nil to
	// store them as they are (see the package comment).
	Key []byte
	// Clock tells the time of every record, signature and retry; nil
	// means time.Now.
	Clock func() time.Time
	// AllowLoopback accepts http:// URLs to loopback hosts and lets
	// deliveries connect to loopback addresses (tests, same-host
	// receivers). false means https only and no loopback.
	AllowLoopback bool
	// AllowPrivate lets deliveries connect to private, link-local and
	// CGNAT addresses (receivers inside the operator's own network).
	AllowPrivate bool
	// MaxSubscriptions per company; zero means DefaultMaxSubscriptions.
	MaxSubscriptions int
	// Timeout bounds one delivery attempt; zero means 10 seconds.
	Timeout time.Duration
	// Backoff spaces retries: after the n-th failed attempt the next is
	// due BackoffInitial·2^(n-1) later, at most BackoffMax; zero values
	// mean 30 seconds and 6 hours.
	BackoffInitial, BackoffMax time.Duration
	// MaxAttempts before a delivery is given up; zero means 10.
	MaxAttempts int
	// BatchSize is how many deliveries one DeliverOnce claims; zero means 20.
	BatchSize int
	// Interval is how long Run waits when nothing was due; zero means 5 s.
	Interval time.Duration
	// Logger receives a line per failed attempt (never a secret); nil
	// discards.
	Logger *slog.Logger
}

// Service manages subscriptions and delivers webhooks. It is safe for
// concurrent use.
type Service struct {
	cfg  Config
	aead cipher.AEAD
	tr   *transport
}

// New validates cfg (kerr.Invalid) and returns a Service.
func New(cfg Config) (*Service, error) {
	const op = "webhook.New"
	if cfg.Store == nil {
		return nil, kerr.E(kerr.Invalid, op, "Config.Store is required")
	}
	if cfg.MaxSubscriptions < 0 || cfg.Timeout < 0 || cfg.BackoffInitial < 0 || cfg.BackoffMax < 0 || cfg.MaxAttempts < 0 || cfg.BatchSize < 0 || cfg.Interval < 0 {
		return nil, kerr.E(kerr.Invalid, op, "Config limits and durations may not be negative")
	}
	s := &Service{cfg: cfg}
	if cfg.Key != nil {
		if len(cfg.Key) != 32 {
			return nil, kerr.E(kerr.Invalid, op, "Config.Key must be 32 bytes (AES-256), not %d", len(cfg.Key))
		}
		b, _ := aes.NewCipher(cfg.Key)
		s.aead, _ = cipher.NewGCM(b)
	}
	d := &s.cfg
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.MaxSubscriptions == 0 {
		d.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if d.Timeout == 0 {
		d.Timeout = 10 * time.Second
	}
	if d.BackoffInitial == 0 {
		d.BackoffInitial = 30 * time.Second
	}
	if d.BackoffMax == 0 {
		d.BackoffMax = 6 * time.Hour
	}
	if d.MaxAttempts == 0 {
		d.MaxAttempts = 10
	}
	if d.BatchSize == 0 {
		d.BatchSize = 20
	}
	if d.Interval == 0 {
		d.Interval = 5 * time.Second
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s.tr = newTransport(cfg.AllowLoopback, cfg.AllowPrivate, d.Timeout)
	return s, nil
}

func (s *Service) now() time.Time { return s.cfg.Clock().UTC() }

// Subscription is a subscription as its administrator sees it (never with
// its secret).
type Subscription struct {
	ID          string
	CompanyID   string
	URL         string
	Events      []string
	Description string
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Input is what an administrator gives to create or update a subscription.
type Input struct {
	// URL: https (http only to a loopback host with Config.AllowLoopback),
	// no user info or fragment, at most MaxURLLen bytes.
	URL string
	// Events: 1 or more of EventTypes, each once.
	Events []string
	// Description: at most MaxDescriptionLen characters, no control
	// characters; may be empty.
	Description string
}

// secrets is what the store keeps (sealed) as the subscription's Secret.
type secrets struct {
	Current  string    `json:"current"`
	Previous string    `json:"previous,omitempty"`
	PrevTill time.Time `json:"previous_until,omitzero"`
}

func (s *Service) seal(sec secrets) ([]byte, error) {
	plain, err := json.Marshal(sec)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Internal, "webhook.seal", "", err)
	}
	if s.aead == nil {
		return append([]byte{0}, plain...), nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return append(append([]byte{1}, nonce...), s.aead.Seal(nil, nonce, plain, nil)...), nil
}

func (s *Service) unseal(b []byte) (secrets, error) {
	const op = "webhook.unseal"
	var sec secrets
	if len(b) < 1 {
		return sec, kerr.E(kerr.Internal, op, "stored secret is empty")
	}
	plain := b[1:]
	switch b[0] {
	case 0:
	case 1:
		if s.aead == nil {
			return sec, kerr.E(kerr.FailedPrecondition, op, "the secret is sealed but no Config.Key is given")
		}
		n := s.aead.NonceSize()
		if len(plain) < n {
			return sec, kerr.E(kerr.Internal, op, "stored secret is truncated")
		}
		var err error
		if plain, err = s.aead.Open(nil, plain[:n], plain[n:], nil); err != nil {
			return sec, kerr.E(kerr.FailedPrecondition, op, "the secret cannot be opened with Config.Key (another key?)")
		}
	default:
		return sec, kerr.E(kerr.Internal, op, "stored secret has an unknown format")
	}
	if err := json.Unmarshal(plain, &sec); err != nil {
		return sec, kerr.WrapKind(kerr.Internal, op, "stored secret", err)
	}
	return sec, nil
}

func newID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// checkInput returns kerr.Invalid naming what is wrong with in.
func (s *Service) checkInput(op string, in *Input) error {
	if len(in.URL) == 0 || len(in.URL) > MaxURLLen {
		return kerr.E(kerr.Invalid, op, "url must be 1 to %d bytes", MaxURLLen)
	}
	u, err := url.Parse(in.URL)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return kerr.E(kerr.Invalid, op, "url %q must be an absolute https URL without user info or fragment", in.URL)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !s.cfg.AllowLoopback || !loopbackHost(u.Hostname()) {
			return kerr.E(kerr.Invalid, op, "url %q must use https (plain http only to a loopback host, when the service allows it)", in.URL)
		}
	default:
		return kerr.E(kerr.Invalid, op, "url %q must use https", in.URL)
	}
	if len(in.Events) == 0 {
		return kerr.E(kerr.Invalid, op, "events must name at least one of %s", strings.Join(EventTypes(), ", "))
	}
	seen := map[string]bool{}
	for _, e := range in.Events {
		if !slices.Contains(EventTypes(), e) {
			return kerr.E(kerr.Invalid, op, "unknown event %q: use %s", e, strings.Join(EventTypes(), ", "))
		}
		if seen[e] {
			return kerr.E(kerr.Invalid, op, "event %q is listed twice", e)
		}
		seen[e] = true
	}
	if !utf8.ValidString(in.Description) || utf8.RuneCountInString(in.Description) > MaxDescriptionLen {
		return kerr.E(kerr.Invalid, op, "description must be at most %d characters of UTF-8", MaxDescriptionLen)
	}
	for _, r := range in.Description {
		if unicode.IsControl(r) {
			return kerr.E(kerr.Invalid, op, "description may not contain control characters")
		}
	}
	return nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func toSubscription(w *storage.WebhookSubscription) Subscription {
	return Subscription{ID: w.ID, CompanyID: w.CompanyID, URL: w.URL, Events: slices.Clone(w.Events), Description: w.Description,
		CreatedBy: w.CreatedBy, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

func (s *Service) audit(p account.Principal, action, detail string) []storage.AuditEntry {
	return []storage.AuditEntry{{Time: s.now(), ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr,
		Action: action, Detail: detail}}
}

// admin returns nil when p is an administrator, else kerr.Unauthenticated
// (no principal) or kerr.PermissionDenied, the denial audited.
func (s *Service) admin(ctx context.Context, op string, p account.Principal) error {
	if !p.Valid() {
		return kerr.E(kerr.Unauthenticated, op, "no principal: log in first")
	}
	if !p.Admin {
		_ = s.cfg.Store.AppendAudit(ctx, s.audit(p, "webhook.denied", op+": not an administrator"))
		return kerr.E(kerr.PermissionDenied, op, "only a company administrator manages webhooks")
	}
	return nil
}

// own loads subscription id of p's company; another company's (audited)
// or none is kerr.NotFound.
func (s *Service) own(ctx context.Context, op string, p account.Principal, id string) (*storage.WebhookSubscription, error) {
	if err := s.admin(ctx, op, p); err != nil {
		return nil, err
	}
	w, err := s.cfg.Store.GetWebhook(ctx, id)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if w.CompanyID != p.CompanyID {
		_ = s.cfg.Store.AppendAudit(ctx, s.audit(p, "webhook.denied", op+": subscription "+id+" of another company"))
		return nil, kerr.E(kerr.NotFound, op, "webhook subscription %q does not exist", id)
	}
	return w, nil
}

// Create stores a new subscription of p's company and returns it with its
// secret, which is shown this once. Errors: kerr.Unauthenticated,
// kerr.PermissionDenied (not an administrator), kerr.Invalid (input),
// kerr.FailedPrecondition (the company has MaxSubscriptions already).
func (s *Service) Create(ctx context.Context, p account.Principal, in Input) (*Subscription, string, error) {
	const op = "webhook.Create"
	if err := s.admin(ctx, op, p); err != nil {
		return nil, "", err
	}
	if err := s.checkInput(op, &in); err != nil {
		return nil, "", err
	}
	secret := NewSecret()
	sealed, err := s.seal(secrets{Current: secret})
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	w := &storage.WebhookSubscription{ID: newID("wh_"), CompanyID: p.CompanyID, URL: in.URL, Events: slices.Clone(in.Events),
		Description: in.Description, Secret: sealed, CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now}
	if err := s.cfg.Store.CreateWebhook(ctx, w, s.cfg.MaxSubscriptions, s.audit(p, "webhook.create", w.ID+" "+w.URL)); err != nil {
		return nil, "", kerr.Wrap(op, err)
	}
	sub := toSubscription(w)
	return &sub, secret, nil
}

// List returns the subscriptions of p's company (administrators only).
func (s *Service) List(ctx context.Context, p account.Principal) ([]Subscription, error) {
	const op = "webhook.List"
	if err := s.admin(ctx, op, p); err != nil {
		return nil, err
	}
	ws, err := s.cfg.Store.ListWebhooks(ctx, p.CompanyID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	out := make([]Subscription, len(ws))
	for i := range ws {
		out[i] = toSubscription(&ws[i])
	}
	return out, nil
}

// Get returns one subscription of p's company; another company's is
// kerr.NotFound.
func (s *Service) Get(ctx context.Context, p account.Principal, id string) (*Subscription, error) {
	w, err := s.own(ctx, "webhook.Get", p, id)
	if err != nil {
		return nil, err
	}
	sub := toSubscription(w)
	return &sub, nil
}

// Update replaces URL, events and description of a subscription; its
// secret and pending deliveries stay.
func (s *Service) Update(ctx context.Context, p account.Principal, id string, in Input) (*Subscription, error) {
	const op = "webhook.Update"
	w, err := s.own(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	if err := s.checkInput(op, &in); err != nil {
		return nil, err
	}
	w.URL, w.Events, w.Description, w.UpdatedAt = in.URL, slices.Clone(in.Events), in.Description, s.now()
	if err := s.cfg.Store.UpdateWebhook(ctx, w, s.audit(p, "webhook.update", w.ID+" "+w.URL)); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	sub := toSubscription(w)
	return &sub, nil
}

// Delete removes a subscription with its deliveries and their log.
func (s *Service) Delete(ctx context.Context, p account.Principal, id string) error {
	const op = "webhook.Delete"
	if _, err := s.own(ctx, op, p, id); err != nil {
		return err
	}
	return kerr.Wrap(op, s.cfg.Store.DeleteWebhook(ctx, id, s.audit(p, "webhook.delete", id)))
}

// RotateSecret gives a subscription a new secret, returned this once; the
// previous one keeps signing beside it for RotationOverlap.
func (s *Service) RotateSecret(ctx context.Context, p account.Principal, id string) (string, error) {
	const op = "webhook.RotateSecret"
	w, err := s.own(ctx, op, p, id)
	if err != nil {
		return "", err
	}
	old, err := s.unseal(w.Secret)
	if err != nil {
		return "", kerr.Wrap(op, err)
	}
	secret := NewSecret()
	now := s.now()
	if w.Secret, err = s.seal(secrets{Current: secret, Previous: old.Current, PrevTill: now.Add(RotationOverlap)}); err != nil {
		return "", err
	}
	w.UpdatedAt = now
	if err := s.cfg.Store.UpdateWebhook(ctx, w, s.audit(p, "webhook.rotate", w.ID)); err != nil {
		return "", kerr.Wrap(op, err)
	}
	return secret, nil
}

// Delivery is one delivery with its log, as an administrator sees it.
type Delivery struct {
	ID             string // the webhook-id
	Seq            int64  // paging cursor
	SubscriptionID string
	Type           string
	CaseID         string
	Body           []byte
	CreatedAt      time.Time
	Attempts       int
	NextAttemptAt  time.Time // zero when delivered or given up
	DeliveredAt    time.Time
	GaveUp         bool
	LastStatus     int
	LastError      string
	Log            []storage.WebhookAttempt
}

// Deliveries returns up to limit (1 to MaxListLimit; 0 means 20)
// deliveries of a subscription after the cursor afterSeq, oldest first,
// each with its log.
func (s *Service) Deliveries(ctx context.Context, p account.Principal, subscriptionID string, afterSeq int64, limit int) ([]Delivery, error) {
	const op = "webhook.Deliveries"
	if limit == 0 {
		limit = 20
	}
	if limit < 1 || limit > MaxListLimit || afterSeq < 0 {
		return nil, kerr.E(kerr.Invalid, op, "limit must be 1 to %d and the cursor not negative", MaxListLimit)
	}
	if _, err := s.own(ctx, op, p, subscriptionID); err != nil {
		return nil, err
	}
	ds, err := s.cfg.Store.ListWebhookDeliveries(ctx, subscriptionID, afterSeq, limit)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	out := make([]Delivery, len(ds))
	for i := range ds {
		d := &ds[i]
		out[i] = Delivery{ID: d.ID, Seq: d.Seq, SubscriptionID: d.SubscriptionID, Type: d.Type, CaseID: d.CaseID, Body: d.Body,
			CreatedAt: d.CreatedAt, Attempts: d.Attempts, DeliveredAt: d.DeliveredAt, GaveUp: d.GaveUp,
			LastStatus: d.LastStatus, LastError: d.LastError}
		if d.DeliveredAt.IsZero() && !d.GaveUp {
			out[i].NextAttemptAt = d.NextAttemptAt
		}
		if out[i].Log, err = s.cfg.Store.ListWebhookAttempts(ctx, d.ID); err != nil {
			return nil, kerr.Wrap(op, err)
		}
	}
	return out, nil
}

// Replay makes delivery deliveryID of subscription subscriptionID (of
// p's company) due now again, with the same webhook-id and body
// (receivers deduplicate it), whatever its state. A delivery of another
// subscription or company is kerr.NotFound.
func (s *Service) Replay(ctx context.Context, p account.Principal, subscriptionID, deliveryID string) error {
	const op = "webhook.Replay"
	if err := s.admin(ctx, op, p); err != nil {
		return err
	}
	d, err := s.cfg.Store.GetWebhookDelivery(ctx, deliveryID)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	if d.CompanyID != p.CompanyID || d.SubscriptionID != subscriptionID {
		_ = s.cfg.Store.AppendAudit(ctx, s.audit(p, "webhook.denied", op+": delivery "+deliveryID+" of another company or subscription"))
		return kerr.E(kerr.NotFound, op, "webhook delivery %q does not exist", deliveryID)
	}
	return kerr.Wrap(op, s.cfg.Store.RequeueWebhookDelivery(ctx, deliveryID, s.now(), s.audit(p, "webhook.replay", deliveryID)))
}

// Payload is the JSON body of every delivery.
type Payload struct {
	Type      string      `json:"type"` // "case." + the event type
	Timestamp time.Time   `json:"timestamp"`
	Data      PayloadData `json:"data"`
}

// PayloadData says what happened to which case.
type PayloadData struct {
	CaseID  string    `json:"case_id"`
	Event   string    `json:"event"`
	State   string    `json:"state"`
	Version int64     `json:"version"`
	Time    time.Time `json:"time"`
}

// PlanWebhooks implements casework.WebhookPlanner: one delivery per
// subscription, of the registrant's company and of every party's company,
// that chose event, reporting that c (at its new version) reached its
// state. An unknown event plans nothing.
func (s *Service) PlanWebhooks(ctx context.Context, c *storage.Case, version int64, event string) ([]storage.WebhookDelivery, error) {
	const op = "webhook.PlanWebhooks"
	if !slices.Contains(EventTypes(), event) {
		return nil, nil
	}
	companies := []string{c.RegistrantCompanyID}
	for _, p := range c.Parties {
		if !slices.Contains(companies, p.CompanyID) {
			companies = append(companies, p.CompanyID)
		}
	}
	at := c.UpdatedAt.UTC()
	body, err := json.Marshal(Payload{Type: "case." + event, Timestamp: at,
		Data: PayloadData{CaseID: c.ID, Event: event, State: c.State, Version: version, Time: at}})
	if err != nil {
		return nil, kerr.WrapKind(kerr.Internal, op, "", err)
	}
	var out []storage.WebhookDelivery
	for _, co := range companies {
		ws, err := s.cfg.Store.ListWebhooks(ctx, co)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		for _, w := range ws {
			if slices.Contains(w.Events, event) {
				out = append(out, storage.WebhookDelivery{ID: newID("msg_"), SubscriptionID: w.ID, CompanyID: co, Type: event,
					CaseID: c.ID, Body: body, CreatedAt: at})
			}
		}
	}
	return out, nil
}
