package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/keiyaku/keiyaku/kerr"
)

// Mailer delivers one rendered notice. Send returns nil once the mail was
// accepted by the next hop. An error that wraps ErrPermanent means retrying
// cannot help; any other error is treated as temporary. Implementations
// must be safe for concurrent use and honour ctx.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// TLSPolicy says whether the SMTP connection must be encrypted with
// STARTTLS (RFC 3207).
type TLSPolicy int

const (
	// TLSMandatory (the zero value) refuses to send unless the server
	// offers STARTTLS and the handshake succeeds with a verified
	// certificate.
	TLSMandatory TLSPolicy = iota
	// TLSOpportunistic uses STARTTLS when the server offers it and sends in
	// clear text otherwise.
	TLSOpportunistic
	// TLSNone never starts TLS; for a relay on the same host or in tests.
	TLSNone
)

// String returns "mandatory", "opportunistic" or "none".
func (p TLSPolicy) String() string {
	switch p {
	case TLSMandatory:
		return "mandatory"
	case TLSOpportunistic:
		return "opportunistic"
	case TLSNone:
		return "none"
	}
	return fmt.Sprintf("TLSPolicy(%d)", int(p))
}

// SMTPConfig configures an SMTPMailer.
type SMTPConfig struct {
	// Host is the submission server's host name or IP address. Required.
	Host string
	// Port is the server's TCP port; zero means 587, message submission
	// (RFC 6409).
	Port int
	// From is the sender mailbox (RFC 5322 §3.4), with or without a display
	// name: "keiyaku <no-reply@example.jp>". Its domain also names the
	// Message-ID. Required.
	From string
	// Username and Password enable SMTP AUTH (RFC 4954); set both or
	// neither. The strongest mechanism the server offers is used, and
	// PLAIN or LOGIN only over an encrypted connection.
	Username, Password string
	// TLSPolicy: zero means TLSMandatory.
	TLSPolicy TLSPolicy
	// TLSConfig, if not nil, replaces the TLS settings (for example to
	// trust a private CA); it is copied, and an empty ServerName becomes
	// Host. Nil means the system roots, Host as the server name and TLS 1.2
	// or later.
	TLSConfig *tls.Config
	// Timeout bounds connecting and then each exchange with the server;
	// zero means 30 seconds.
	Timeout time.Duration
}

// SMTPMailer sends notices through an SMTP submission server, one
// connection per mail, using github.com/wneessen/go-mail. It is safe for
// concurrent use.
type SMTPMailer struct {
	cfg    SMTPConfig
	from   *netmail.Address
	domain string
}

var _ Mailer = (*SMTPMailer)(nil)

// NewSMTPMailer validates cfg and returns a mailer. It does not connect; an
// unreachable server shows up as a temporary error from Send. An invalid
// cfg yields an error wrapping ErrInvalidConfig.
func NewSMTPMailer(cfg SMTPConfig) (*SMTPMailer, error) {
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, " \t\r\n/") {
		return nil, fmt.Errorf("%w: SMTPConfig.Host %q must be a host name or IP address", ErrInvalidConfig, cfg.Host)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("%w: SMTPConfig.Port %d out of range 1-65535", ErrInvalidConfig, cfg.Port)
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("%w: SMTPConfig.From %q is not a mailbox like \"keiyaku <no-reply@example.jp>\": %v", ErrInvalidConfig, cfg.From, err)
	}
	at := strings.LastIndexByte(from.Address, '@')
	if at < 1 || at == len(from.Address)-1 {
		return nil, fmt.Errorf("%w: SMTPConfig.From %q has no domain", ErrInvalidConfig, cfg.From)
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, fmt.Errorf("%w: set both SMTPConfig.Username and Password, or neither", ErrInvalidConfig)
	}
	if cfg.TLSPolicy < TLSMandatory || cfg.TLSPolicy > TLSNone {
		return nil, fmt.Errorf("%w: SMTPConfig.TLSPolicy %v unknown", ErrInvalidConfig, cfg.TLSPolicy)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: SMTPConfig.Timeout %v is negative", ErrInvalidConfig, cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.TLSConfig != nil {
		cfg.TLSConfig = cfg.TLSConfig.Clone()
		if cfg.TLSConfig.ServerName == "" {
			cfg.TLSConfig.ServerName = cfg.Host
		}
	}
	return &SMTPMailer{cfg: cfg, from: from, domain: from.Address[at+1:]}, nil
}

// Send delivers m in one SMTP transaction. The mail is UTF-8 plain text
// (base64 for Japanese, quoted-printable otherwise; RFC 2045 §6) with the
// Subject encoded per RFC 2047, a Message-ID of
// "<m.ID@domain-of-From>", Content-Language, and "Auto-Submitted:
// auto-generated" (RFC 3834 §5) so that auto-responders stay quiet.
//
// A 5yz reply from the server (RFC 5321 §4.2.1: permanent negative
// completion, e.g. an unknown recipient) yields an error wrapping
// ErrPermanent. Everything else - a 4yz reply, a connection, TLS or
// authentication failure, including the replies 530, 535 and 538 (RFC 4954
// §6; configuration faults the operator can fix) - is temporary. Cancelling ctx closes the connection.
const opSend = "notify.SMTPMailer.Send"

func (s *SMTPMailer) Send(ctx context.Context, m Mail) error {
	// Japanese text is about a third the size in base64 as in
	// quoted-printable (three bytes per character, each escaped); English
	// stays readable in quoted-printable.
	enc := gomail.EncodingQP
	if m.Language == LanguageJapanese {
		enc = gomail.EncodingB64
	}
	msg := gomail.NewMsg(gomail.WithEncoding(enc))
	msg.FromMailAddress(s.from)
	if err := msg.AddToFormat(m.ToName, m.To); err != nil {
		return Permanent(fmt.Errorf("%w: recipient %q: %v", ErrInvalidMessage, m.To, err))
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	if m.ID != "" {
		msg.SetMessageIDWithValue(m.ID + "@" + s.domain)
	}
	if !m.Date.IsZero() {
		msg.SetDateWithValue(m.Date)
	}
	if m.Language != "" {
		msg.SetGenHeader(gomail.Header("Content-Language"), string(m.Language))
	}
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")

	// The dialer ties the connection to ctx: go-mail itself only watches
	// ctx while connecting. The hooks are removed when Send returns so a
	// long-lived ctx does not accumulate them.
	var stops []func() bool
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		stops = append(stops, context.AfterFunc(ctx, func() { _ = conn.Close() }))
		return conn, nil
	}
	policy := map[TLSPolicy]gomail.TLSPolicy{
		TLSMandatory:     gomail.TLSMandatory,
		TLSOpportunistic: gomail.TLSOpportunistic,
		TLSNone:          gomail.NoTLS,
	}[s.cfg.TLSPolicy]
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSPolicy(policy),
		gomail.WithDialContextFunc(dial),
	}
	if s.cfg.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.cfg.TLSConfig))
	}
	if s.cfg.Username != "" {
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return kerr.Wrap(opSend, err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return kerr.E(kerr.Unavailable, opSend, "mail to %s interrupted: %w", m.To, errors.Join(ctxErr, err))
	}
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() <= 599 && !authReply(se.ErrorCode()) {
		return Permanent(kerr.E(kerr.Invalid, opSend, "server refused the mail to %s: %w", m.To, err))
	}
	return kerr.E(kerr.Unavailable, opSend, "mail to %s not delivered, retry later: %w", m.To, err)
}

// authReply reports whether an SMTP reply code is about authentication
// (RFC 4954 §6: 530 authentication required, 535 credentials invalid, 538
// encryption required). They say the sender is misconfigured, not that the
// notice is undeliverable, so the notice is kept for a retry.
func authReply(code int) bool { return code == 530 || code == 535 || code == 538 }
