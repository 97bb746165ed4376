package notify

import (
	"fmt"
	"net/mail"
	"net/url"
	"time"
	"unicode"
	"unicode/utf8"
)

// EventType names the lifecycle event a notice reports. Its string form is
// what an outbox row stores.
type EventType string

// The event types. Each has a template in every supported language.
const (
	// EventReceiptRequested: a case was sent to the recipient, who is asked
	// to receive (download), check and sign it (受領依頼).
	EventReceiptRequested EventType = "receipt_requested"
	// EventReturned: the counterparty signed and returned the contract to
	// the recipient, the registrant (返送).
	EventReturned EventType = "returned"
	// EventSentBack: the other side sent the case back instead of signing
	// (差し戻し); Message.Reason carries its reason.
	EventSentBack EventType = "sent_back"
	// EventCompleted: the registrant completed the case and it was sealed
	// (締結完了).
	EventCompleted EventType = "completed"
	// EventDeleted: the registrant deleted the case before completion (削除).
	EventDeleted EventType = "deleted"
	// EventAcknowledged: for a send-only case (送付のみ), the counterparty
	// acknowledged receipt (受領確認).
	EventAcknowledged EventType = "acknowledged"
	// EventEvidenceRenewalFailed: the scheduled renewal of a completed
	// case's evidence (document timestamps, evidence records) failed, e.g.
	// the TSA or revocation data was unreachable; the evidence is as it
	// was and the pass is retried. Message.Reason carries the error. Sent
	// to the administrators of the registrant company.
	EventEvidenceRenewalFailed EventType = "evidence_renewal_failed"
	// EventReminder: the case has waited for the recipient's action for
	// the interval its registrant's company set (beyond the seed).
	EventReminder EventType = "reminder"
	// EventOverdue: the case's reply-by date passed before it finished;
	// both sides are told once. Message.Reason carries the date.
	EventOverdue EventType = "overdue"
	// EventRetentionDeletion: a completed case the recipient owns will be
	// deleted at the end of its retention (保管期間) on the date in
	// Message.Reason (YYYY-MM-DD), unless its policy is changed or a
	// legal hold is placed.
	EventRetentionDeletion EventType = "retention_deletion"
)

// EventTypes returns every event type, in lifecycle order.
func EventTypes() []EventType {
	return []EventType{
		EventReceiptRequested, EventReturned, EventSentBack,
		EventCompleted, EventDeleted, EventAcknowledged,
		EventEvidenceRenewalFailed,
		EventReminder, EventOverdue,
		EventRetentionDeletion,
	}
}

// Known reports whether t is one of the EventType constants.
func (t EventType) Known() bool {
	for _, k := range EventTypes() {
		if t == k {
			return true
		}
	}
	return false
}

// Language selects the template set of a notice.
type Language string

// The supported languages (BCP 47 tags, RFC 5646).
const (
	LanguageJapanese Language = "ja"
	LanguageEnglish  Language = "en"
)

// Languages returns every supported language.
func Languages() []Language { return []Language{LanguageJapanese, LanguageEnglish} }

// Channel says how a notice is delivered.
type Channel string

// The channels.
const (
	// ChannelEmail: an e-mail to Message.Recipient, rendered from the
	// templates. The empty Channel means ChannelEmail.
	ChannelEmail Channel = "email"
	// ChannelWebhook: a signed JSON POST to the embedder's endpoint (see
	// WebhookSender); Recipient.Email is optional.
	ChannelWebhook Channel = "webhook"
)

func (c Channel) resolve() (Channel, error) {
	switch c {
	case "", ChannelEmail:
		return ChannelEmail, nil
	case ChannelWebhook:
		return c, nil
	}
	return "", fmt.Errorf("%w: Channel %q (supported: email, webhook)", ErrInvalidMessage, string(c))
}

// Party names the company and the user on whose behalf an action was taken,
// as they are shown to the recipient.
type Party struct {
	Company string // 会社名, e.g. "株式会社サンプル"; may be empty
	User    string // 担当者名, e.g. "山田 太郎"; may be empty
}

// Recipient is the person a notice is addressed to.
type Recipient struct {
	Company string // shown in the salutation; may be empty
	Name    string // shown in the salutation and the To header; may be empty
	// Email is a bare address (local@domain), without a display name.
	// Required for ChannelEmail.
	Email string
	// Language selects the templates. Empty means LanguageJapanese; any
	// other value than the Language constants is ErrUnknownLanguage.
	Language Language
}

// Message is one outbox row: a notice waiting to be delivered.
type Message struct {
	// ID identifies the outbox row; the Worker passes it back to the Outbox
	// and derives the Message-ID header from it. Required: 1 to 128
	// characters from A-Z a-z 0-9 '.' '-' '_'.
	ID string
	// Type is the lifecycle event. Required.
	Type EventType
	// Channel selects the delivery; empty means ChannelEmail.
	Channel Channel
	// CaseID identifies the contract case. Required.
	CaseID string
	// CaseName is the case title shown in the subject and body. Required.
	CaseName string
	// OrderNumber is the registrant's own reference (発注番号 etc.); may be
	// empty.
	OrderNumber string
	// From is who acted: the sender of the case, the one who returned it,
	// sent it back, completed or deleted it.
	From Party
	// Recipient is who is told. Recipient.Email is required for
	// ChannelEmail.
	Recipient Recipient
	// Reason is the free-text reason given when sending a case back; may be
	// empty. Line breaks are kept.
	Reason string
	// URL links to the case in the portal; may be empty. When set it must
	// be an absolute http or https URL.
	URL string
	// CreatedAt is when the event happened; shown in the body in Japan
	// Standard Time. May be zero, in which case the line is left out.
	CreatedAt time.Time
	// Attempts is how many delivery attempts have already failed.
	Attempts int
	// NextAttemptAt is when the row becomes due; zero means at once.
	NextAttemptAt time.Time
}

// Limits on Message fields, in characters (runes) unless noted. They keep a
// notice a reasonable size whatever a user typed.
const (
	MaxIDLen     = 128
	MaxNameLen   = 200  // CaseID, CaseName, OrderNumber and every name
	MaxReasonLen = 2000 // Reason
	MaxURLLen    = 2048 // URL, in bytes
	MaxEmailLen  = 254  // Recipient.Email, in bytes (RFC 5321 §4.5.3.1.3)
)

// Validate reports whether m can be rendered and sent. It returns nil, or an
// error wrapping ErrUnknownEvent, ErrUnknownLanguage or ErrInvalidMessage
// that names the offending field. Text fields must be valid UTF-8 without
// control characters (Reason may contain line breaks and tabs).
func (m *Message) Validate() error {
	if m.ID == "" || len(m.ID) > MaxIDLen {
		return fmt.Errorf("%w: ID must be 1 to %d characters", ErrInvalidMessage, MaxIDLen)
	}
	for _, r := range m.ID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("%w: ID %q may hold only A-Z a-z 0-9 . - _", ErrInvalidMessage, m.ID)
		}
	}
	if !m.Type.Known() {
		return fmt.Errorf("%w: %q", ErrUnknownEvent, m.Type)
	}
	if _, err := m.Recipient.Language.resolve(); err != nil {
		return err
	}
	ch, err := m.Channel.resolve()
	if err != nil {
		return err
	}
	fields := []struct {
		name, value string
		required    bool
		max         int
		multiline   bool
	}{
		{"CaseID", m.CaseID, true, MaxNameLen, false},
		{"CaseName", m.CaseName, true, MaxNameLen, false},
		{"OrderNumber", m.OrderNumber, false, MaxNameLen, false},
		{"From.Company", m.From.Company, false, MaxNameLen, false},
		{"From.User", m.From.User, false, MaxNameLen, false},
		{"Recipient.Company", m.Recipient.Company, false, MaxNameLen, false},
		{"Recipient.Name", m.Recipient.Name, false, MaxNameLen, false},
		{"Reason", m.Reason, false, MaxReasonLen, true},
	}
	for _, f := range fields {
		if err := checkText(f.name, f.value, f.required, f.max, f.multiline); err != nil {
			return err
		}
	}
	if m.Recipient.Email != "" || ch == ChannelEmail {
		if err := checkEmail(m.Recipient.Email); err != nil {
			return err
		}
	}
	if m.URL != "" {
		if len(m.URL) > MaxURLLen {
			return fmt.Errorf("%w: URL longer than %d bytes", ErrInvalidMessage, MaxURLLen)
		}
		u, err := url.Parse(m.URL)
		if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: URL %q must be an absolute http or https URL", ErrInvalidMessage, m.URL)
		}
		if err := checkText("URL", m.URL, false, MaxURLLen, false); err != nil {
			return err
		}
	}
	if m.Attempts < 0 {
		return fmt.Errorf("%w: Attempts %d is negative", ErrInvalidMessage, m.Attempts)
	}
	return nil
}

func checkText(name, v string, required bool, max int, multiline bool) error {
	if v == "" {
		if required {
			return fmt.Errorf("%w: %s is required", ErrInvalidMessage, name)
		}
		return nil
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidMessage, name)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return fmt.Errorf("%w: %s has %d characters, at most %d allowed", ErrInvalidMessage, name, n, max)
	}
	for _, r := range v {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("%w: %s contains control character %U", ErrInvalidMessage, name, r)
		}
	}
	return nil
}

func checkEmail(addr string) error {
	if addr == "" {
		return fmt.Errorf("%w: Recipient.Email is required", ErrInvalidMessage)
	}
	if len(addr) > MaxEmailLen {
		return fmt.Errorf("%w: Recipient.Email longer than %d bytes", ErrInvalidMessage, MaxEmailLen)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return fmt.Errorf("%w: Recipient.Email %q is not a bare address like user@example.jp", ErrInvalidMessage, addr)
	}
	return nil
}

// resolve maps the empty language to Japanese and rejects unknown ones.
func (l Language) resolve() (Language, error) {
	switch l {
	case "":
		return LanguageJapanese, nil
	case LanguageJapanese, LanguageEnglish:
		return l, nil
	}
	return "", fmt.Errorf("%w: %q (supported: ja, en)", ErrUnknownLanguage, string(l))
}
