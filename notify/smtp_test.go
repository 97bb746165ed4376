package notify_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/notify"
)

const testFrom = "keiyaku 通知 <no-reply@keiyaku.example.jp>"

func newTestMailer(t *testing.T, s *testSMTP, edit func(*notify.SMTPConfig)) *notify.SMTPMailer {
	t.Helper()
	cfg := notify.SMTPConfig{
		Host: s.Host, Port: s.Port, From: testFrom,
		TLSPolicy: notify.TLSNone, Timeout: 5 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	m, err := notify.NewSMTPMailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewSMTPMailerValidates(t *testing.T) {
	valid := notify.SMTPConfig{Host: "smtp.example.jp", From: "no-reply@example.jp"}
	tests := []struct {
		name string
		edit func(*notify.SMTPConfig)
		ok   bool
	}{
		{"minimal", func(*notify.SMTPConfig) {}, true},
		{"display name and auth", func(c *notify.SMTPConfig) {
			c.From, c.Username, c.Password = testFrom, "u", "p"
		}, true},
		{"no host", func(c *notify.SMTPConfig) { c.Host = "" }, false},
		{"host with space", func(c *notify.SMTPConfig) { c.Host = "smtp example" }, false},
		{"port too big", func(c *notify.SMTPConfig) { c.Port = 65536 }, false},
		{"negative port", func(c *notify.SMTPConfig) { c.Port = -1 }, false},
		{"no from", func(c *notify.SMTPConfig) { c.From = "" }, false},
		{"from without domain", func(c *notify.SMTPConfig) { c.From = "no-reply" }, false},
		{"username without password", func(c *notify.SMTPConfig) { c.Username = "u" }, false},
		{"password without username", func(c *notify.SMTPConfig) { c.Password = "p" }, false},
		{"unknown TLS policy", func(c *notify.SMTPConfig) { c.TLSPolicy = 7 }, false},
		{"negative timeout", func(c *notify.SMTPConfig) { c.Timeout = -time.Second }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.edit(&cfg)
			m, err := notify.NewSMTPMailer(cfg)
			if tc.ok {
				if err != nil || m == nil {
					t.Fatalf("NewSMTPMailer = %v, %v; want a mailer", m, err)
				}
				return
			}
			if !errors.Is(err, notify.ErrInvalidConfig) {
				t.Fatalf("NewSMTPMailer error = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// TestSMTPEveryEventAndLanguage renders and sends every notice in both
// languages through a real SMTP server and checks what arrived.
func TestSMTPEveryEventAndLanguage(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	mailer := newTestMailer(t, srv, nil)
	tmpl, err := notify.DefaultTemplates()
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	n := 0
	for _, lang := range notify.Languages() {
		for _, typ := range notify.EventTypes() {
			t.Run(string(lang)+"/"+string(typ), func(t *testing.T) {
				id := "ob-" + string(lang) + "-" + string(typ)
				m := sampleMessage(id, typ, lang)
				mail, err := tmpl.Render(&m)
				if err != nil {
					t.Fatal(err)
				}
				mail.Date = date
				if err := mailer.Send(context.Background(), mail); err != nil {
					t.Fatal(err)
				}
				n++
				got := srv.Mails()
				if len(got) != n {
					t.Fatalf("server holds %d mails, want %d", len(got), n)
				}
				c := got[n-1]
				if c.From != "no-reply@keiyaku.example.jp" || len(c.To) != 1 || c.To[0] != "hanako@example.jp" {
					t.Errorf("envelope = %q -> %q", c.From, c.To)
				}
				p := parseMail(t, c.Data)
				if p.From.Address != "no-reply@keiyaku.example.jp" || p.From.Name != "keiyaku 通知" {
					t.Errorf("From = %q <%s>", p.From.Name, p.From.Address)
				}
				if len(p.To) != 1 || p.To[0].Address != m.Recipient.Email || p.To[0].Name != m.Recipient.Name {
					t.Errorf("To = %v", p.To)
				}
				if !strings.HasPrefix(p.ContentType, "text/plain") || !strings.Contains(strings.ToLower(p.ContentType), "charset=utf-8") {
					t.Errorf("Content-Type = %q", p.ContentType)
				}
				wantCTE := map[notify.Language]string{notify.LanguageJapanese: "base64", notify.LanguageEnglish: "quoted-printable"}[lang]
				if p.Encoding != wantCTE {
					t.Errorf("Content-Transfer-Encoding = %q, want %q", p.Encoding, wantCTE)
				}
				headers := map[string]string{
					"Message-Id":       "<" + id + "@keiyaku.example.jp>",
					"Content-Language": string(lang),
					"Auto-Submitted":   "auto-generated",
				}
				for k, want := range headers {
					if got := p.Header.Get(k); got != want {
						t.Errorf("%s = %q, want %q", k, got, want)
					}
				}
				if d, err := p.Header.Date(); err != nil || !d.Equal(date) {
					t.Errorf("Date = %v, %v; want %v", d, err, date)
				}
				checkNotice(t, m, lang, p.Subject, p.Body)
			})
		}
	}
}

func TestSMTPStartTLSWithAuth(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	srv := startSMTP(t, smtpOptions{tls: serverTLS, user: "keiyaku", pass: "s3cret"})
	m := sampleMessage("ob-tls", notify.EventCompleted, notify.LanguageJapanese)
	tmpl, _ := notify.DefaultTemplates()
	mail, err := tmpl.Render(&m)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		edit      func(*notify.SMTPConfig)
		delivered bool
	}{
		{"mandatory TLS, right password", func(c *notify.SMTPConfig) {
			c.TLSPolicy, c.TLSConfig, c.Username, c.Password = notify.TLSMandatory, clientTLS, "keiyaku", "s3cret"
		}, true},
		{"TLS config without server name gets Host", func(c *notify.SMTPConfig) {
			noName := clientTLS.Clone()
			noName.ServerName = ""
			c.TLSPolicy, c.TLSConfig, c.Username, c.Password = notify.TLSMandatory, noName, "keiyaku", "s3cret"
		}, true},
		{"mandatory TLS, wrong password", func(c *notify.SMTPConfig) {
			c.TLSPolicy, c.TLSConfig, c.Username, c.Password = notify.TLSMandatory, clientTLS, "keiyaku", "wrong"
		}, false},
		{"mandatory TLS, untrusted certificate", func(c *notify.SMTPConfig) {
			c.TLSPolicy, c.Username, c.Password = notify.TLSMandatory, "keiyaku", "s3cret"
		}, false},
		{"no TLS refuses to send the password in clear", func(c *notify.SMTPConfig) {
			c.TLSPolicy, c.Username, c.Password = notify.TLSNone, "keiyaku", "s3cret"
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(srv.Mails())
			err := newTestMailer(t, srv, tc.edit).Send(context.Background(), mail)
			after := len(srv.Mails())
			if tc.delivered {
				if err != nil || after != before+1 {
					t.Fatalf("Send = %v, mails %d -> %d; want delivered", err, before, after)
				}
				return
			}
			if err == nil || after != before {
				t.Fatalf("Send = %v, mails %d -> %d; want refused", err, before, after)
			}
			// Configuration faults can be fixed by the operator: retry.
			if errors.Is(err, notify.ErrPermanent) {
				t.Errorf("Send error %v is permanent, want temporary", err)
			}
		})
	}
}

func TestSMTPMandatoryTLSWithoutStartTLS(t *testing.T) {
	srv := startSMTP(t, smtpOptions{}) // offers no STARTTLS
	mailer := newTestMailer(t, srv, func(c *notify.SMTPConfig) { c.TLSPolicy = notify.TLSMandatory })
	m := sampleMessage("ob-1", notify.EventDeleted, notify.LanguageEnglish)
	tmpl, _ := notify.DefaultTemplates()
	mail, _ := tmpl.Render(&m)
	err := mailer.Send(context.Background(), mail)
	if err == nil {
		t.Fatal("sent in clear text despite TLSMandatory")
	}
	if errors.Is(err, notify.ErrPermanent) {
		t.Errorf("error %v is permanent, want temporary", err)
	}
	if srv.DataCalls() != 0 {
		t.Errorf("server saw %d DATA commands, want 0", srv.DataCalls())
	}
	// Opportunistic TLS falls back to clear text on the same server.
	opp := newTestMailer(t, srv, func(c *notify.SMTPConfig) { c.TLSPolicy = notify.TLSOpportunistic })
	if err := opp.Send(context.Background(), mail); err != nil {
		t.Fatalf("opportunistic: %v", err)
	}
	if len(srv.Mails()) != 1 {
		t.Fatalf("server holds %d mails, want 1", len(srv.Mails()))
	}
}

func TestSMTPErrorClasses(t *testing.T) {
	tmpl, _ := notify.DefaultTemplates()
	m := sampleMessage("ob-1", notify.EventReturned, notify.LanguageJapanese)
	mail, _ := tmpl.Render(&m)

	t.Run("550 unknown recipient is permanent", func(t *testing.T) {
		srv := startSMTP(t, smtpOptions{})
		srv.rejectRcpt = true
		err := newTestMailer(t, srv, nil).Send(context.Background(), mail)
		if !errors.Is(err, notify.ErrPermanent) {
			t.Fatalf("Send error = %v, want ErrPermanent", err)
		}
	})
	t.Run("530 authentication required is temporary", func(t *testing.T) {
		srv := startSMTP(t, smtpOptions{user: "keiyaku", pass: "s3cret"})
		err := newTestMailer(t, srv, nil).Send(context.Background(), mail) // no credentials configured
		if err == nil || errors.Is(err, notify.ErrPermanent) {
			t.Fatalf("Send error = %v, want a temporary error", err)
		}
	})
	t.Run("451 is temporary", func(t *testing.T) {
		srv := startSMTP(t, smtpOptions{})
		srv.failData = 1
		err := newTestMailer(t, srv, nil).Send(context.Background(), mail)
		if err == nil || errors.Is(err, notify.ErrPermanent) {
			t.Fatalf("Send error = %v, want a temporary error", err)
		}
	})
	t.Run("connection refused is temporary", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		mailer, err := notify.NewSMTPMailer(notify.SMTPConfig{
			Host: "127.0.0.1", Port: port, From: testFrom, TLSPolicy: notify.TLSNone, Timeout: time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		err = mailer.Send(context.Background(), mail)
		if err == nil || errors.Is(err, notify.ErrPermanent) {
			t.Fatalf("Send error = %v, want a temporary error", err)
		}
	})
	t.Run("bad recipient address is permanent", func(t *testing.T) {
		srv := startSMTP(t, smtpOptions{})
		bad := mail
		bad.To = "not an address"
		err := newTestMailer(t, srv, nil).Send(context.Background(), bad)
		if !errors.Is(err, notify.ErrPermanent) || !errors.Is(err, notify.ErrInvalidMessage) {
			t.Fatalf("Send error = %v, want ErrPermanent and ErrInvalidMessage", err)
		}
		if srv.DataCalls() != 0 {
			t.Errorf("server saw %d DATA commands", srv.DataCalls())
		}
	})
}

func TestSMTPSendHonoursCancellation(t *testing.T) {
	srv := startSMTP(t, smtpOptions{})
	srv.stall = make(chan string, 1)
	mailer := newTestMailer(t, srv, func(c *notify.SMTPConfig) { c.Timeout = 30 * time.Second })
	tmpl, _ := notify.DefaultTemplates()
	m := sampleMessage("ob-1", notify.EventReturned, notify.LanguageJapanese)
	mail, _ := tmpl.Render(&m)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-srv.stall // the server holds the mail, as a hung server would
		cancel()
	}()
	start := time.Now()
	err := mailer.Send(ctx, mail)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Send took %v after cancellation", d)
	}
}
