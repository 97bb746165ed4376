package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
)

// Webhook signatures.
//
// A webhook is an HTTP POST of a JSON WebhookPayload. Its SignatureHeader
// reads "t=<unix seconds>,v1=<hex>", where v1 is HMAC-SHA256 (RFC 2104,
// FIPS 180-4) keyed with the shared secret over the bytes
// "<unix seconds>." followed by the body. Binding the time into the MAC
// lets a receiver refuse replays outside a tolerance window. A header may
// carry several v1 values (one per secret during a key rotation); unknown
// keys are ignored so that later schemes can be added beside v1. The
// scheme is hand-written because it is a few lines over crypto/hmac and a
// receiver in any language must be able to re-implement it from this
// comment.

// SignatureHeader is the HTTP header that carries a webhook's signature.
const SignatureHeader = "X-Keiyaku-Signature"

// Limits of the signature header accepted by VerifySignature.
const (
	MaxSignatureHeaderLen = 1024
	maxSignatureItems     = 16
)

// Default tolerance of VerifySignature between the signature time and now.
const DefaultSignatureTolerance = 5 * time.Minute

// MinWebhookSecretLen is the shortest secret NewWebhookSender accepts, in
// bytes: the output size of SHA-256 (RFC 2104 §3 recommends a key no
// shorter than the hash output).
const MinWebhookSecretLen = 32

var (
	// ErrInvalidSignature (kerr.Unauthenticated): the signature header is malformed or no v1
	// value matches the body under the secret.
	ErrInvalidSignature error = &kerr.Error{Kind: kerr.Unauthenticated, Op: "notify", Msg: "invalid webhook signature"}
	// ErrStaleSignature (kerr.Unauthenticated): the signature is valid but its time lies outside
	// the tolerance around now (a replay, or a badly skewed clock).
	ErrStaleSignature error = &kerr.Error{Kind: kerr.Unauthenticated, Op: "notify", Msg: "webhook signature outside tolerance"}
)

// Sign returns the SignatureHeader value for body sent at at. at is
// truncated to whole seconds.
func Sign(secret []byte, at time.Time, body []byte) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// VerifySignature checks a SignatureHeader value against body and secret.
// It returns nil when some v1 value matches (compared in constant time) and
// the signature time is within tolerance of now (zero tolerance means
// DefaultSignatureTolerance); an error wrapping ErrInvalidSignature for a
// malformed header (longer than MaxSignatureHeaderLen, more than 16 items,
// not exactly one t, no v1, bad digits) or no match; ErrStaleSignature for
// a match outside the tolerance. An empty secret never verifies.
func VerifySignature(header string, body, secret []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: empty secret", ErrInvalidSignature)
	}
	if len(header) > MaxSignatureHeaderLen {
		return fmt.Errorf("%w: header longer than %d bytes", ErrInvalidSignature, MaxSignatureHeaderLen)
	}
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	items := strings.Split(header, ",")
	if len(items) > maxSignatureItems {
		return fmt.Errorf("%w: more than %d items", ErrInvalidSignature, maxSignatureItems)
	}
	var ts string
	var sigs [][]byte
	for _, item := range items {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return fmt.Errorf("%w: item %q is not key=value", ErrInvalidSignature, item)
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: more than one t", ErrInvalidSignature)
			}
			if v == "" || len(v) > 18 || strings.Trim(v, "0123456789") != "" {
				return fmt.Errorf("%w: t %q is not a decimal Unix time", ErrInvalidSignature, v)
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("%w: v1 is not %d hex digits", ErrInvalidSignature, 2*sha256.Size)
			}
			sigs = append(sigs, sig)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return fmt.Errorf("%w: header needs t and v1", ErrInvalidSignature)
	}
	want := mac(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return fmt.Errorf("%w: no v1 value matches", ErrInvalidSignature)
	}
	sec, _ := strconv.ParseInt(ts, 10, 64) // at most 18 digits: fits
	signed := time.Unix(sec, 0)
	if d := now.Sub(signed); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, now %s, tolerance %s", ErrStaleSignature,
			signed.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), tolerance)
	}
	return nil
}

// WebhookPayload is the JSON body of a webhook: the outbox message without
// its delivery bookkeeping.
type WebhookPayload struct {
	ID          string            `json:"id"` // the outbox row ID; repeats on redelivery
	Type        EventType         `json:"type"`
	CaseID      string            `json:"case_id"`
	CaseName    string            `json:"case_name"`
	OrderNumber string            `json:"order_number,omitempty"`
	From        WebhookParty      `json:"from"`
	Recipient   *WebhookRecipient `json:"recipient,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	URL         string            `json:"url,omitempty"`
	CreatedAt   time.Time         `json:"created_at,omitzero"`
}

// WebhookParty is Party in a WebhookPayload.
type WebhookParty struct {
	Company string `json:"company,omitempty"`
	User    string `json:"user,omitempty"`
}

// WebhookRecipient is Recipient in a WebhookPayload.
type WebhookRecipient struct {
	Company  string   `json:"company,omitempty"`
	Name     string   `json:"name,omitempty"`
	Email    string   `json:"email,omitempty"`
	Language Language `json:"language,omitempty"`
}

// NewWebhookPayload returns the payload for m.
func NewWebhookPayload(m *Message) WebhookPayload {
	p := WebhookPayload{
		ID: m.ID, Type: m.Type, CaseID: m.CaseID, CaseName: m.CaseName,
		OrderNumber: m.OrderNumber,
		From:        WebhookParty{Company: m.From.Company, User: m.From.User},
		Reason:      m.Reason, URL: m.URL, CreatedAt: m.CreatedAt,
	}
	if m.Recipient != (Recipient{}) {
		p.Recipient = &WebhookRecipient{
			Company: m.Recipient.Company, Name: m.Recipient.Name,
			Email: m.Recipient.Email, Language: m.Recipient.Language,
		}
	}
	return p
}

// MaxWebhookBody caps the body ParseWebhook reads, in bytes.
const MaxWebhookBody = 64 << 10

// ParseWebhook is the receiving side: it reads at most MaxWebhookBody bytes
// of r's body, verifies r's SignatureHeader with VerifySignature and
// decodes the payload. Errors wrap ErrInvalidSignature, ErrStaleSignature,
// or ErrInvalidMessage (body too large or not a payload). Unknown JSON
// fields are ignored, so receivers keep working when fields are added.
func ParseWebhook(r *http.Request, secret []byte, now time.Time, tolerance time.Duration) (*WebhookPayload, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
	if err != nil {
		return nil, kerr.E(kerr.Invalid, "notify.ParseWebhook", "read body: %w", err)
	}
	if len(body) > MaxWebhookBody {
		return nil, fmt.Errorf("%w: webhook body larger than %d bytes", ErrInvalidMessage, MaxWebhookBody)
	}
	if err := VerifySignature(r.Header.Get(SignatureHeader), body, secret, now, tolerance); err != nil {
		return nil, err
	}
	var p WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("%w: webhook body: %v", ErrInvalidMessage, err)
	}
	if p.ID == "" || !p.Type.Known() {
		return nil, fmt.Errorf("%w: webhook body lacks id or a known type", ErrInvalidMessage)
	}
	return &p, nil
}

// WebhookConfig configures a WebhookSender.
type WebhookConfig struct {
	// URL is the endpoint that receives every ChannelWebhook notice.
	// Required; https unless AllowHTTP.
	URL string
	// Secret keys the signatures; at least MinWebhookSecretLen bytes.
	// Required.
	Secret []byte
	// AllowHTTP permits a plain http URL (a receiver on the same host).
	AllowHTTP bool
	// Client sends the requests; nil means a new http.Client. Either way
	// redirects are not followed: a signed notice goes only where it was
	// configured to go.
	Client *http.Client
	// Timeout bounds each request; zero means 30 seconds.
	Timeout time.Duration
}

// WebhookSender delivers ChannelWebhook notices as signed JSON POSTs. It
// implements Sender and is safe for concurrent use.
type WebhookSender struct {
	url     string
	secret  []byte
	client  *http.Client
	timeout time.Duration
}

var _ Sender = (*WebhookSender)(nil)

// NewWebhookSender validates cfg and returns a sender; an invalid cfg
// yields an error wrapping ErrInvalidConfig.
func NewWebhookSender(cfg WebhookConfig) (*WebhookSender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(cfg.AllowHTTP && u.Scheme == "http")) {
		return nil, fmt.Errorf("%w: WebhookConfig.URL %q must be an absolute https URL (http only with AllowHTTP)", ErrInvalidConfig, cfg.URL)
	}
	if len(cfg.Secret) < MinWebhookSecretLen {
		return nil, fmt.Errorf("%w: WebhookConfig.Secret has %d bytes, at least %d required", ErrInvalidConfig, len(cfg.Secret), MinWebhookSecretLen)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: WebhookConfig.Timeout %v is negative", ErrInvalidConfig, cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	var client http.Client
	if cfg.Client != nil {
		client = *cfg.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &WebhookSender{
		url: cfg.URL, secret: bytes.Clone(cfg.Secret), client: &client, timeout: cfg.Timeout,
	}, nil
}

// Deliver POSTs the WebhookPayload of m, signed at at, with the headers
// SignatureHeader, X-Keiyaku-Event (the type) and X-Keiyaku-Delivery (the
// row ID, for the receiver to drop repeats). A 2xx answer is success;
// 408, 425, 429, 5xx and transport errors are temporary; any other status
// (redirects included) wraps ErrPermanent, as does a message that fails
// Validate.
const opDeliver = "notify.WebhookSender.Deliver"

func (s *WebhookSender) Deliver(ctx context.Context, m *Message, at time.Time) error {
	if err := m.Validate(); err != nil {
		return Permanent(err)
	}
	body, err := json.Marshal(NewWebhookPayload(m))
	if err != nil {
		return Permanent(kerr.E(kerr.Internal, opDeliver, "encode webhook %s: %w", m.ID, err))
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return Permanent(kerr.E(kerr.Internal, opDeliver, "webhook request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "keiyaku-webhook/1")
	req.Header.Set("X-Keiyaku-Event", string(m.Type))
	req.Header.Set("X-Keiyaku-Delivery", m.ID)
	req.Header.Set(SignatureHeader, Sign(s.secret, at, body))
	resp, err := s.client.Do(req)
	if err != nil {
		return kerr.E(kerr.Unavailable, opDeliver, "webhook %s not delivered, retry later: %w", m.ID, err)
	}
	// Drain a little so the connection can be reused; ignore the rest.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c <= 299:
		return nil
	case c == http.StatusRequestTimeout, c == http.StatusTooEarly, c == http.StatusTooManyRequests, c >= 500:
		return kerr.E(kerr.Unavailable, opDeliver, "webhook %s: endpoint answered %s, retry later", m.ID, resp.Status)
	default:
		return Permanent(kerr.E(kerr.Invalid, opDeliver, "webhook %s: endpoint refused it with %s", m.ID, resp.Status))
	}
}
