package keiyaku_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/webhook"
)

// hookRequest is one POST a test receiver got.
type hookRequest struct {
	ID, Timestamp, Signature string
	Body                     []byte
	Status                   int
}

// receiver is a real HTTP endpoint that records every request and answers
// 503 to the first failN of them.
type receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	got   []hookRequest
	failN int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusNoContent
		if r.failN > 0 {
			r.failN--
			status = http.StatusServiceUnavailable
		}
		r.got = append(r.got, hookRequest{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
			Signature: req.Header.Get("webhook-signature"), Body: body, Status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) take() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

// standardWebhooksValid is the receiver's check, written here from the
// Standard Webhooks specification and independent of package webhook:
// the key is the base64 after "whsec_"; the signed content is
// id "." timestamp "." body; the header holds space-separated "v1,<base64
// HMAC-SHA256>" entries, one of which must match; the timestamp must lie
// within 5 minutes of now.
func standardWebhooksValid(secret string, r hookRequest, now time.Time) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || r.ID == "" {
		return false
	}
	ts, err := strconv.ParseInt(r.Timestamp, 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(r.ID + "." + r.Timestamp + "."))
	m.Write(r.Body)
	want := m.Sum(nil)
	for _, sig := range strings.Split(r.Signature, " ") {
		v, b64, ok := strings.Cut(sig, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

type hookBody struct {
	Type string `json:"type"`
	Data struct {
		CaseID  string `json:"case_id"`
		Event   string `json:"event"`
		State   string `json:"state"`
		Version int64  `json:"version"`
	} `json:"data"`
}

// TestWebhooksEndToEnd: subscriptions of two companies receive, through
// the facade, one signed delivery per state change of their cases in
// order; a failing receiver gets retries with backoff and then success;
// a replay repeats the webhook-id; a wrong secret does not verify; a
// rotated secret signs beside the old one; non-administrators are refused.
func TestWebhooksEndToEnd(t *testing.T) {
	var clock atomic.Int64
	clock.Store(testpki.Now.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	w := newWorldWith(t, func(_ *world, cfg *keiyaku.Config) {
		cfg.Clock = now
		cfg.Webhook.AllowLoopback = true
		cfg.Webhook.Key = []byte("0123456789abcdef0123456789abcdef")
		cfg.NotifyInterval = 10 * time.Millisecond
	})
	a, b := w.m["A"], w.m["B"]
	ra, rb := newReceiver(t), newReceiver(t)

	subA, secretA, err := w.svc.Webhooks.Create(w.ctx, a.P, webhook.Input{URL: ra.srv.URL + "/hooks", Events: webhook.EventTypes(), Description: "基幹システム"})
	if err != nil {
		t.Fatal(err)
	}
	_, secretB, err := w.svc.Webhooks.Create(w.ctx, b.P, webhook.Input{URL: rb.srv.URL, Events: []string{webhook.EventReceived, webhook.EventCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secretA, "whsec_") || secretA == secretB {
		t.Fatalf("secrets %q, %q: want distinct whsec_ secrets", secretA, secretB)
	}

	// Who may manage them.
	u, _, err := w.svc.Accounts.CreateUser(w.ctx, a.P, account.NewUser{LoginID: "clerk-a", Profile: storage.Profile{Name: "事務 一郎", Email: "clerk@a.example"}})
	if err != nil {
		t.Fatal(err)
	}
	clerk := account.Principal{UserID: u.ID, CompanyID: a.P.CompanyID}
	if _, _, err := w.svc.Webhooks.Create(w.ctx, clerk, webhook.Input{URL: ra.srv.URL, Events: []string{"completed"}}); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("Create by a non-administrator = %v, want kerr.PermissionDenied", err)
	}
	if _, err := w.svc.Webhooks.List(w.ctx, clerk); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("List by a non-administrator = %v, want kerr.PermissionDenied", err)
	}
	if _, err := w.svc.Webhooks.Get(w.ctx, b.P, subA.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("Get of another company's subscription = %v, want kerr.NotFound", err)
	}
	if _, err := w.svc.Webhooks.Get(w.ctx, account.Principal{}, subA.ID); !errors.Is(err, kerr.Unauthenticated) {
		t.Errorf("Get without a principal = %v, want kerr.Unauthenticated", err)
	}
	if _, _, err := w.svc.Webhooks.Create(w.ctx, a.P, webhook.Input{URL: "http://hooks.example.jp/x", Events: []string{"completed"}}); !errors.Is(err, kerr.Invalid) {
		t.Errorf("Create with plain http to a remote host = %v, want kerr.Invalid", err)
	}
	denied := 0
	entries, err := w.svc.Store.ListAudit(w.ctx, 0, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Action == "webhook.denied" {
			denied++
		}
		if strings.Contains(e.Detail, strings.TrimPrefix(secretA, "whsec_")) {
			t.Errorf("audit entry %q holds the secret", e.Action)
		}
	}
	if denied != 3 {
		t.Errorf("audited denials = %d, want 3", denied)
	}

	// A lifecycle: A registers, B receives and returns, A completes.
	c := w.complete(w.register(a, b, "webhook lifecycle"), a, b)
	if d, f, err := w.svc.Webhooks.DeliverOnce(w.ctx); err != nil || d != 6 || f != 0 {
		t.Fatalf("DeliverOnce = %d delivered, %d failed, %v; want 6, 0", d, f, err)
	}
	check := func(r *receiver, secret string, want ...string) []hookRequest {
		t.Helper()
		got := r.take()
		if len(got) != len(want) {
			t.Fatalf("got %d deliveries, want %d (%v)", len(got), len(want), want)
		}
		for i, req := range got {
			if !standardWebhooksValid(secret, req, now()) {
				t.Errorf("delivery %d (%s) does not verify with its secret", i, req.ID)
			}
			var body hookBody
			if err := json.Unmarshal(req.Body, &body); err != nil {
				t.Fatalf("body %s: %v", req.Body, err)
			}
			if body.Type != "case."+want[i] || body.Data.Event != want[i] || body.Data.CaseID == "" {
				t.Errorf("delivery %d = %s, want event %s", i, req.Body, want[i])
			}
			if strings.Contains(string(req.Body), "webhook lifecycle") {
				t.Errorf("delivery %d carries the case name: %s", i, req.Body)
			}
		}
		return got
	}
	gotA := check(ra, secretA, "receipt_requested", "received", "returned", "completed")
	for i, req := range gotA {
		var body hookBody
		_ = json.Unmarshal(req.Body, &body)
		if body.Data.CaseID != c.ID || body.Data.Version != int64(i+1) {
			t.Errorf("A's delivery %d: case %s version %d, want %s version %d", i, body.Data.CaseID, body.Data.Version, c.ID, i+1)
		}
	}
	if last := gotA[3]; !strings.Contains(string(last.Body), `"state":"completed"`) {
		t.Errorf("completion delivery = %s, want state completed", last.Body)
	}
	gotB := check(rb, secretB, "received", "completed")
	if standardWebhooksValid(secretA, gotB[0], now()) || standardWebhooksValid(secretB, gotA[0], now()) {
		t.Error("a delivery verifies with the other company's secret")
	}
	if standardWebhooksValid(secretB, hookRequest{ID: gotB[0].ID, Timestamp: gotB[0].Timestamp, Signature: gotB[0].Signature, Body: append(gotB[0].Body, ' ')}, now()) {
		t.Error("a changed body verifies")
	}
	if standardWebhooksValid(secretB, gotB[0], now().Add(10*time.Minute)) {
		t.Error("a 10-minute-old delivery passes the tolerance check")
	}
	if err := webhook.Verify(secretB, gotB[0].ID, gotB[0].Timestamp, gotB[0].Signature, gotB[0].Body, now(), 0); err != nil {
		t.Errorf("webhook.Verify with the right secret: %v", err)
	}
	if err := webhook.Verify(secretA, gotB[0].ID, gotB[0].Timestamp, gotB[0].Signature, gotB[0].Body, now(), 0); !errors.Is(err, kerr.Unauthenticated) {
		t.Errorf("webhook.Verify with the wrong secret = %v, want kerr.Unauthenticated", err)
	}

	// A failing receiver: two 503s, retried after the backoff, then 204.
	ra.mu.Lock()
	ra.failN = 2
	ra.mu.Unlock()
	w.register(a, b, "webhook retry")
	if d, f, err := w.svc.Webhooks.DeliverOnce(w.ctx); err != nil || d != 0 || f != 1 {
		t.Fatalf("first attempt: %d delivered, %d failed, %v; want 0, 1", d, f, err)
	}
	if d, f, _ := w.svc.Webhooks.DeliverOnce(w.ctx); d+f != 0 {
		t.Errorf("attempted again before its backoff: %d, %d", d, f)
	}
	advance(31 * time.Second)
	if d, f, err := w.svc.Webhooks.DeliverOnce(w.ctx); err != nil || f != 1 {
		t.Fatalf("second attempt: %d delivered, %d failed, %v; want a failure", d, f, err)
	}
	advance(61 * time.Second)
	if d, f, err := w.svc.Webhooks.DeliverOnce(w.ctx); err != nil || d != 1 || f != 0 {
		t.Fatalf("third attempt: %d delivered, %d failed, %v; want delivered", d, f, err)
	}
	tries := ra.take()
	if len(tries) != 3 || tries[0].ID != tries[2].ID || tries[0].Status != 503 || tries[2].Status != 204 || string(tries[0].Body) != string(tries[2].Body) {
		t.Fatalf("retries = %+v; want the same delivery 503, 503, 204", tries)
	}
	for _, req := range tries {
		if !standardWebhooksValid(secretA, req, now()) {
			t.Errorf("retry at %s does not verify", req.Timestamp)
		}
	}
	ds, err := w.svc.Webhooks.Deliveries(w.ctx, a.P, subA.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 5 {
		t.Fatalf("A's delivery log has %d deliveries, want 5", len(ds))
	}
	last := ds[4]
	if last.ID != tries[0].ID || last.Attempts != 3 || len(last.Log) != 3 || last.Log[0].StatusCode != 503 || last.Log[2].StatusCode != 204 || last.DeliveredAt.IsZero() {
		t.Errorf("logged delivery = %+v, want 3 attempts 503, 503, 204 and delivered", last)
	}
	if _, err := w.svc.Webhooks.Deliveries(w.ctx, b.P, subA.ID, 0, 10); !errors.Is(err, kerr.NotFound) {
		t.Errorf("another company's delivery log = %v, want kerr.NotFound", err)
	}

	// Replay: a new attempt with the same webhook-id.
	if err := w.svc.Webhooks.Replay(w.ctx, b.P, subA.ID, ds[0].ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("replay of another company's delivery = %v, want kerr.NotFound", err)
	}
	if err := w.svc.Webhooks.Replay(w.ctx, clerk, subA.ID, ds[0].ID); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("replay by a non-administrator = %v, want kerr.PermissionDenied", err)
	}
	advance(time.Minute)
	if err := w.svc.Webhooks.Replay(w.ctx, a.P, subA.ID, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	if d, _, err := w.svc.Webhooks.DeliverOnce(w.ctx); err != nil || d != 1 {
		t.Fatalf("replay delivery: %d, %v", d, err)
	}
	re := ra.take()
	if len(re) != 1 || re[0].ID != gotA[0].ID || string(re[0].Body) != string(gotA[0].Body) || re[0].Timestamp == gotA[0].Timestamp || !standardWebhooksValid(secretA, re[0], now()) {
		t.Errorf("replay = %+v; want the first delivery's id and body, newly signed", re)
	}

	// Rotation: the new secret and, during the overlap, the old one verify.
	newSecret, err := w.svc.Webhooks.RotateSecret(w.ctx, a.P, subA.ID)
	if err != nil || newSecret == secretA {
		t.Fatalf("RotateSecret = %q, %v", newSecret, err)
	}
	w.register(a, b, "webhook rotation")
	if d, _, err := w.svc.Webhooks.DeliverOnce(w.ctx); err != nil || d != 1 {
		t.Fatalf("after rotation: %d, %v", d, err)
	}
	rot := ra.take()
	if len(rot) != 1 || !standardWebhooksValid(newSecret, rot[0], now()) || !standardWebhooksValid(secretA, rot[0], now()) {
		t.Errorf("after rotation the delivery does not verify with both secrets: %+v", rot)
	}

	// The notifier delivers webhooks as they are written.
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- w.svc.RunNotifier(ctx) }()
	w.register(a, b, "webhook notifier")
	deadline := time.Now().Add(10 * time.Second)
	var got []hookRequest
	for len(got) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		got = ra.take()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunNotifier = %v", err)
	}
	if len(got) != 1 || !standardWebhooksValid(newSecret, got[0], now()) {
		t.Errorf("RunNotifier delivered %d webhooks, want the new case's one", len(got))
	}

	// Deleting the subscription ends its deliveries.
	if err := w.svc.Webhooks.Delete(w.ctx, a.P, subA.ID); err != nil {
		t.Fatal(err)
	}
	w.register(a, b, "after delete")
	if d, f, err := w.svc.Webhooks.DeliverOnce(w.ctx); err != nil || d+f != 0 {
		t.Errorf("after delete: %d delivered, %d failed, %v; want nothing", d, f, err)
	}
}
