package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/notify"
)

func TestPermanent(t *testing.T) {
	base := kerr.E(kerr.Invalid, "op", "refused")
	p := notify.Permanent(base)
	if !errors.Is(p, notify.ErrPermanent) || !errors.Is(p, base) || kerr.Of(p) != kerr.Invalid {
		t.Fatalf("Permanent(%v): is permanent %v, is base %v, kind %v", base, errors.Is(p, notify.ErrPermanent), errors.Is(p, base), kerr.Of(p))
	}
	if notify.Permanent(nil) != nil {
		t.Fatal("Permanent(nil) != nil")
	}
	if errors.Is(fmt.Errorf("x: %w", base), notify.ErrPermanent) {
		t.Fatal("unmarked error reported permanent")
	}
}

// TestErrorKinds: the errors of this package carry the kerr kinds their
// documentation promises, besides the package sentinels.
func TestErrorKinds(t *testing.T) {
	tmpl, _ := notify.DefaultTemplates()
	badLang := sampleMessage("ob-1", notify.EventDeleted, "fr")
	_, renderErr := tmpl.Render(&badLang)
	_, cfgErr := notify.NewSMTPMailer(notify.SMTPConfig{})

	srv := startSMTP(t, smtpOptions{})
	srv.failData = 1
	m := sampleMessage("ob-1", notify.EventDeleted, notify.LanguageJapanese)
	mail, _ := tmpl.Render(&m)
	tempErr := newTestMailer(t, srv, nil).Send(context.Background(), mail)

	srv2 := startSMTP(t, smtpOptions{})
	srv2.rejectRcpt = true
	permErr := newTestMailer(t, srv2, nil).Send(context.Background(), mail)

	body := []byte("{}")
	sigErr := notify.VerifySignature("t=1,v1=00", body, testSecret, t0, 0)
	staleErr := notify.VerifySignature(notify.Sign(testSecret, t0, body), body, testSecret, t0.Add(time.Hour), 0)

	h := startReceiver(t, func() time.Time { return t0 }, http.StatusBadGateway)
	hook := webhookMessage("wh-1", notify.EventDeleted)
	hookErr := newTestWebhook(t, h, testSecret).Deliver(context.Background(), &hook, t0)

	tests := []struct {
		name     string
		err      error
		sentinel error
		kind     kerr.Kind
	}{
		{"unknown language", renderErr, notify.ErrUnknownLanguage, kerr.Invalid},
		{"bad SMTP config", cfgErr, notify.ErrInvalidConfig, kerr.Invalid},
		{"451", tempErr, nil, kerr.Unavailable},
		{"550", permErr, notify.ErrPermanent, kerr.Invalid},
		{"malformed signature", sigErr, notify.ErrInvalidSignature, kerr.Unauthenticated},
		{"stale signature", staleErr, notify.ErrStaleSignature, kerr.Unauthenticated},
		{"webhook 502", hookErr, nil, kerr.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error")
			}
			if tc.sentinel != nil && !errors.Is(tc.err, tc.sentinel) {
				t.Errorf("%v is not %v", tc.err, tc.sentinel)
			}
			if !errors.Is(tc.err, tc.kind) || kerr.Of(tc.err) != tc.kind {
				t.Errorf("%v: kind %v, want %v", tc.err, kerr.Of(tc.err), tc.kind)
			}
		})
	}
}
