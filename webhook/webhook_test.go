package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
	"github.com/keiyaku/keiyaku/webhook"
)

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

func openB(b *testing.B) (*webhook.Service, storage.Store) { return open(b, webhook.Config{}) }

func open(t testing.TB, cfg webhook.Config) (*webhook.Service, storage.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg.Store = st
	if cfg.Clock == nil {
		cfg.Clock = func() time.Time { return t0 }
	}
	s, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

var admin = account.Principal{UserID: "u1", CompanyID: "co1", Admin: true}

// commitCase writes a case of co1 with co2 as party, with the deliveries
// the service plans for event.
func commitCase(t *testing.T, s *webhook.Service, st storage.Store, id, event string) {
	t.Helper()
	c := &storage.Case{ID: id, Form: "bilateral", State: "sent", Category: "new", Name: "n", Currency: "JPY",
		TransactionDate: civil.Date{Year: 2026, Month: 4, Day: 1}, RegistrantCompanyID: "co1", RegistrantUserID: "u1",
		Parties: []storage.Party{{CompanyID: "co2", UserID: "u2"}}, CreatedAt: t0, UpdatedAt: t0}
	hooks, err := s.PlanWebhooks(context.Background(), c, 1, event)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CommitCase(context.Background(), &storage.CaseCommit{Case: c, Webhooks: hooks,
		Audit: []storage.AuditEntry{{Time: t0, Action: "case.register", CaseID: id}}}); err != nil {
		t.Fatal(err)
	}
}

// TestAddressPolicy: without AllowLoopback an https URL that resolves to
// a loopback address is never connected to; the attempt is logged as a
// refusal and retried later like any failure.
func TestAddressPolicy(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	s, st := open(t, webhook.Config{})
	sub, _, err := s.Create(context.Background(), admin, webhook.Input{URL: srv.URL, Events: []string{webhook.EventReceiptRequested}})
	if err != nil {
		t.Fatal(err)
	}
	commitCase(t, s, st, "c1", webhook.EventReceiptRequested)
	if d, f, err := s.DeliverOnce(context.Background()); err != nil || d != 0 || f != 1 {
		t.Fatalf("DeliverOnce = %d, %d, %v; want one failure", d, f, err)
	}
	if hits.Load() != 0 {
		t.Error("the loopback receiver was reached")
	}
	ds, err := s.Deliveries(context.Background(), admin, sub.ID, 0, 0)
	if err != nil || len(ds) != 1 || len(ds[0].Log) != 1 || !strings.Contains(ds[0].Log[0].Error, "SSRF policy") || ds[0].NextAttemptAt.IsZero() {
		t.Fatalf("log = %+v, %v; want one refused attempt, retry scheduled", ds, err)
	}
	if _, _, err := s.Create(context.Background(), admin, webhook.Input{URL: "http://127.0.0.1:1/x", Events: []string{webhook.EventCompleted}}); !errors.Is(err, kerr.Invalid) {
		t.Errorf("plain http without AllowLoopback = %v, want kerr.Invalid", err)
	}
}

// TestNoRedirects: a 302 is a failed attempt; the redirect target is never
// asked. After MaxAttempts the delivery is given up.
func TestNoRedirects(t *testing.T) {
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { targetHits.Add(1) }))
	defer target.Close()
	redir := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer redir.Close()
	now := t0
	s, st := open(t, webhook.Config{AllowLoopback: true, MaxAttempts: 2, Clock: func() time.Time { return now }})
	sub, _, err := s.Create(context.Background(), admin, webhook.Input{URL: redir.URL, Events: []string{webhook.EventCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	commitCase(t, s, st, "c1", webhook.EventCompleted)
	commitCase(t, s, st, "c2", webhook.EventReturned) // not subscribed: no delivery
	for range 2 {
		if _, f, err := s.DeliverOnce(context.Background()); err != nil || f != 1 {
			t.Fatalf("DeliverOnce: %d failed, %v", f, err)
		}
		now = now.Add(time.Hour)
	}
	if targetHits.Load() != 0 {
		t.Error("the redirect was followed")
	}
	ds, err := s.Deliveries(context.Background(), admin, sub.ID, 0, 10)
	if err != nil || len(ds) != 1 || !ds[0].GaveUp || ds[0].LastStatus != 302 || len(ds[0].Log) != 2 {
		t.Fatalf("deliveries = %+v, %v; want one given up after 2 attempts answered 302", ds, err)
	}
}

// TestSubscriptionRules: input limits, the per-company maximum, secrets
// sealed at rest.
func TestSubscriptionRules(t *testing.T) {
	ctx := context.Background()
	s, st := open(t, webhook.Config{MaxSubscriptions: 2, Key: make([]byte, 32)})
	for _, in := range []webhook.Input{
		{URL: "https://h.example/x"},
		{URL: "https://h.example/x", Events: []string{"nope"}},
		{URL: "https://h.example/x", Events: []string{"completed", "completed"}},
		{URL: "ftp://h.example/x", Events: []string{"completed"}},
		{URL: "https://user:pw@h.example/x", Events: []string{"completed"}},
		{URL: "https://h.example/" + strings.Repeat("a", webhook.MaxURLLen), Events: []string{"completed"}},
		{URL: "https://h.example/x", Events: []string{"completed"}, Description: "a\nb"},
		{URL: "/relative", Events: []string{"completed"}},
	} {
		if _, _, err := s.Create(ctx, admin, in); !errors.Is(err, kerr.Invalid) {
			t.Errorf("Create(%+v) = %v, want kerr.Invalid", in, err)
		}
	}
	var secret string
	for i := range 2 {
		_, sec, err := s.Create(ctx, admin, webhook.Input{URL: "https://h.example/x", Events: []string{"completed"}})
		if err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
		secret = sec
	}
	if _, _, err := s.Create(ctx, admin, webhook.Input{URL: "https://h.example/x", Events: []string{"completed"}}); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("third subscription = %v, want kerr.FailedPrecondition", err)
	}
	ws, err := st.ListWebhooks(ctx, "co1")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if strings.Contains(string(w.Secret), strings.TrimPrefix(secret, webhook.SecretPrefix)) {
			t.Error("the secret is stored in the clear although a Key is given")
		}
	}
	if _, err := webhook.New(webhook.Config{Store: st, Key: []byte("short")}); !errors.Is(err, kerr.Invalid) {
		t.Errorf("short key = %v, want kerr.Invalid", err)
	}
}

// FuzzVerify: any header, timestamp and secret is answered with nil or an
// error, never a panic; what Sign makes verifies.
func FuzzVerify(f *testing.F) {
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", "1775034000", "v1,abc=", []byte(`{}`))
	f.Add("whsec_", "", "-1", "v1, v2,", []byte(nil))
	f.Fuzz(func(t *testing.T, secret, id, ts, sig string, body []byte) {
		_ = webhook.Verify(secret, id, ts, sig, body, t0, 0)
		if key, err := webhook.DecodeSecret(secret); err == nil && id != "" {
			good := webhook.Sign(key, id, t0.Unix(), body)
			if err := webhook.Verify(secret, id, "1775034000", good, body, t0, 0); err != nil {
				t.Errorf("own signature does not verify: %v", err)
			}
		}
	})
}
