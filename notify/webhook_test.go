package notify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/notify"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-webhook")

func TestSignMatchesHMAC(t *testing.T) {
	body := []byte(`{"id":"ob-1"}`)
	got := notify.Sign(testSecret, t0, body)
	// Recompute independently from the documented scheme.
	h := hmac.New(sha256.New, testSecret)
	h.Write([]byte(strconv.FormatInt(t0.Unix(), 10) + "." + string(body)))
	want := "t=" + strconv.FormatInt(t0.Unix(), 10) + ",v1=" + hex.EncodeToString(h.Sum(nil))
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"id":"ob-1","type":"completed"}`)
	good := notify.Sign(testSecret, t0, body)
	otherSecret := []byte("ffffffffffffffffffffffffffffffff-other")
	ts := strconv.FormatInt(t0.Unix(), 10)
	v1 := strings.SplitN(good, "v1=", 2)[1]
	tests := []struct {
		name   string
		header string
		body   []byte
		secret []byte
		now    time.Time
		want   error
	}{
		{"valid", good, body, testSecret, t0, nil},
		{"valid within tolerance after", good, body, testSecret, t0.Add(5 * time.Minute), nil},
		{"valid within tolerance before", good, body, testSecret, t0.Add(-5 * time.Minute), nil},
		{"spaces after commas", "t=" + ts + ", v1=" + v1, body, testSecret, t0, nil},
		{"rotation: second v1 matches", notify.Sign(otherSecret, t0, body) + ",v1=" + v1, body, testSecret, t0, nil},
		{"unknown scheme ignored", good + ",v9=zz", body, testSecret, t0, nil},
		{"wrong secret", good, body, otherSecret, t0, notify.ErrInvalidSignature},
		{"tampered body", good, []byte(`{"id":"ob-2","type":"completed"}`), testSecret, t0, notify.ErrInvalidSignature},
		{"tampered time", "t=" + strconv.FormatInt(t0.Unix()+1, 10) + ",v1=" + v1, body, testSecret, t0, notify.ErrInvalidSignature},
		{"too old", good, body, testSecret, t0.Add(5*time.Minute + time.Second), notify.ErrStaleSignature},
		{"from the future", good, body, testSecret, t0.Add(-6 * time.Minute), notify.ErrStaleSignature},
		{"empty header", "", body, testSecret, t0, notify.ErrInvalidSignature},
		{"no t", "v1=" + v1, body, testSecret, t0, notify.ErrInvalidSignature},
		{"no v1", "t=" + ts, body, testSecret, t0, notify.ErrInvalidSignature},
		{"two t", "t=" + ts + ",t=" + ts + ",v1=" + v1, body, testSecret, t0, notify.ErrInvalidSignature},
		{"negative t", "t=-" + ts + ",v1=" + v1, body, testSecret, t0, notify.ErrInvalidSignature},
		{"huge t", "t=99999999999999999999999,v1=" + v1, body, testSecret, t0, notify.ErrInvalidSignature},
		{"short v1", "t=" + ts + ",v1=" + v1[:10], body, testSecret, t0, notify.ErrInvalidSignature},
		{"non-hex v1", "t=" + ts + ",v1=" + strings.Repeat("g", 64), body, testSecret, t0, notify.ErrInvalidSignature},
		{"item without =", good + ",junk", body, testSecret, t0, notify.ErrInvalidSignature},
		{"too many items", good + strings.Repeat(",x=1", 20), body, testSecret, t0, notify.ErrInvalidSignature},
		{"too long", good + ",x=" + strings.Repeat("a", notify.MaxSignatureHeaderLen), body, testSecret, t0, notify.ErrInvalidSignature},
		{"empty secret", good, body, nil, t0, notify.ErrInvalidSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := notify.VerifySignature(tc.header, tc.body, tc.secret, tc.now, 0)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("VerifySignature = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifySignature = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzVerifySignature: arbitrary headers never panic, and a header only
// verifies if it carries the true MAC of the body at its time.
func FuzzVerifySignature(f *testing.F) {
	body := []byte(`{"id":"ob-1"}`)
	f.Add(notify.Sign(testSecret, t0, body), body)
	f.Add("t=1,v1=00", body)
	f.Add("t=,v1=", []byte{})
	f.Add(",,,,", []byte("x"))
	f.Add("t=1795681500,v1="+strings.Repeat("0", 64)+",v1=zz", body)
	f.Add("t=1795681500 ,v1=", body)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := notify.VerifySignature(header, body, testSecret, t0, time.Hour)
		if err == nil {
			var ts string
			for _, item := range strings.Split(header, ",") {
				if k, v, _ := strings.Cut(strings.TrimSpace(item), "="); k == "t" {
					ts = v
				}
			}
			sec, perr := strconv.ParseInt(ts, 10, 64)
			if perr != nil {
				t.Fatalf("verified header %q with unparsable t", header)
			}
			want := notify.Sign(testSecret, time.Unix(sec, 0), body)
			if ts != strconv.FormatInt(sec, 10) {
				// Non-canonical t (leading zeros): the MAC covers the
				// string as sent, so recompute over it.
				h := hmac.New(sha256.New, testSecret)
				h.Write([]byte(ts + "."))
				h.Write(body)
				want = "v1=" + hex.EncodeToString(h.Sum(nil))
			}
			if !strings.Contains(header, strings.SplitN(want, "v1=", 2)[1]) {
				t.Fatalf("verified header %q without the true MAC", header)
			}
		} else if !errors.Is(err, notify.ErrInvalidSignature) && !errors.Is(err, notify.ErrStaleSignature) {
			t.Fatalf("error %v wraps neither signature error", err)
		}
	})
}

func TestNewWebhookSenderValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  notify.WebhookConfig
		ok   bool
	}{
		{"https", notify.WebhookConfig{URL: "https://hooks.example.jp/keiyaku", Secret: testSecret}, true},
		{"http allowed", notify.WebhookConfig{URL: "http://127.0.0.1:8080/hook", Secret: testSecret, AllowHTTP: true}, true},
		{"http not allowed", notify.WebhookConfig{URL: "http://127.0.0.1:8080/hook", Secret: testSecret}, false},
		{"no URL", notify.WebhookConfig{Secret: testSecret}, false},
		{"relative URL", notify.WebhookConfig{URL: "/hook", Secret: testSecret}, false},
		{"ftp URL", notify.WebhookConfig{URL: "ftp://example.jp/x", Secret: testSecret, AllowHTTP: true}, false},
		{"short secret", notify.WebhookConfig{URL: "https://hooks.example.jp/", Secret: []byte("short")}, false},
		{"negative timeout", notify.WebhookConfig{URL: "https://hooks.example.jp/", Secret: testSecret, Timeout: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := notify.NewWebhookSender(tc.cfg)
			if tc.ok {
				if err != nil || s == nil {
					t.Fatalf("NewWebhookSender = %v, %v", s, err)
				}
				return
			}
			if !errors.Is(err, notify.ErrInvalidConfig) {
				t.Fatalf("NewWebhookSender error = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// hookReceiver is an HTTPS endpoint that verifies and records webhooks,
// answering with the queued statuses first and 204 afterwards.
type hookReceiver struct {
	srv *httptest.Server
	now func() time.Time

	mu       sync.Mutex
	statuses []int
	calls    int
	got      []notify.WebhookPayload
	headers  []http.Header
	verifyOK []bool
}

func startReceiver(t *testing.T, now func() time.Time, statuses ...int) *hookReceiver {
	t.Helper()
	h := &hookReceiver{now: now, statuses: statuses}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	p, err := notify.ParseWebhook(r, testSecret, h.now(), 0)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	h.verifyOK = append(h.verifyOK, err == nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if len(h.statuses) > 0 {
		code := h.statuses[0]
		h.statuses = h.statuses[1:]
		if code == http.StatusFound {
			w.Header().Set("Location", h.srv.URL+"/elsewhere")
		}
		w.WriteHeader(code)
		return
	}
	h.got = append(h.got, *p)
	h.headers = append(h.headers, r.Header.Clone())
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) snapshot() (calls int, got []notify.WebhookPayload, headers []http.Header, verifyOK []bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls, append([]notify.WebhookPayload(nil), h.got...), append([]http.Header(nil), h.headers...), append([]bool(nil), h.verifyOK...)
}

func newTestWebhook(t *testing.T, h *hookReceiver, secret []byte) *notify.WebhookSender {
	t.Helper()
	s, err := notify.NewWebhookSender(notify.WebhookConfig{
		URL: h.srv.URL + "/hook", Secret: secret, Client: h.srv.Client(), Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func webhookMessage(id string, typ notify.EventType) notify.Message {
	m := sampleMessage(id, typ, notify.LanguageJapanese)
	m.Channel = notify.ChannelWebhook
	return m
}

func TestWorkerWebhookRetriesThenDelivers(t *testing.T) {
	clock := &fakeClock{now: t0}
	h := startReceiver(t, clock.Now, http.StatusServiceUnavailable, http.StatusTooManyRequests)
	m := webhookMessage("wh-1", notify.EventSentBack)
	ob := newMemOutbox(m)
	w, err := notify.NewWorker(notify.WorkerConfig{
		Outbox: ob, Webhook: newTestWebhook(t, h, testSecret), Clock: clock.Now,
		Backoff: notify.Backoff{Initial: time.Minute, Max: time.Hour}, MaxAttempts: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	runOnce(t, w, 0, 1)
	if r := ob.row("wh-1"); r.msg.Attempts != 1 || !r.msg.NextAttemptAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after 503: attempts %d, next %v", r.msg.Attempts, r.msg.NextAttemptAt)
	}
	clock.Set(t0.Add(time.Minute))
	runOnce(t, w, 0, 1)
	if r := ob.row("wh-1"); r.msg.Attempts != 2 || !r.msg.NextAttemptAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("after 429: attempts %d, next %v", r.msg.Attempts, r.msg.NextAttemptAt)
	}
	clock.Set(t0.Add(3 * time.Minute))
	runOnce(t, w, 1, 0)
	runOnce(t, w, 0, 0)

	calls, got, headers, verified := h.snapshot()
	if calls != 3 || len(got) != 1 {
		t.Fatalf("receiver saw %d calls, accepted %d; want 3, 1", calls, len(got))
	}
	for i, ok := range verified {
		if !ok {
			t.Errorf("call %d did not verify", i+1)
		}
	}
	want := notify.NewWebhookPayload(&m)
	gotJSON, _ := json.Marshal(got[0])
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("payload = %s\nwant %s", gotJSON, wantJSON)
	}
	if got[0].Reason != m.Reason || !got[0].CreatedAt.Equal(eventCreated) || got[0].Type != notify.EventSentBack {
		t.Errorf("payload fields = %+v", got[0])
	}
	hd := headers[0]
	if hd.Get("X-Keiyaku-Event") != "sent_back" || hd.Get("X-Keiyaku-Delivery") != "wh-1" || hd.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", hd)
	}
	if sig := hd.Get(notify.SignatureHeader); !strings.HasPrefix(sig, "t="+strconv.FormatInt(t0.Add(3*time.Minute).Unix(), 10)+",") {
		t.Errorf("signature %q not made at the worker clock", sig)
	}
}

func TestWebhookFailureClasses(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		secret    []byte
		permanent bool
	}{
		{"400 is permanent", http.StatusBadRequest, testSecret, true},
		{"404 is permanent", http.StatusNotFound, testSecret, true},
		{"redirect is not followed", http.StatusFound, testSecret, true},
		{"500 is temporary", http.StatusInternalServerError, testSecret, false},
		{"408 is temporary", http.StatusRequestTimeout, testSecret, false},
		{"receiver rejects a wrong secret (401)", 0, []byte("ffffffffffffffffffffffffffffffff-other"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var statuses []int
			if tc.status != 0 {
				statuses = []int{tc.status}
			}
			h := startReceiver(t, func() time.Time { return t0 }, statuses...)
			m := webhookMessage("wh-1", notify.EventCompleted)
			err := newTestWebhook(t, h, tc.secret).Deliver(context.Background(), &m, t0)
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			if errors.Is(err, notify.ErrPermanent) != tc.permanent {
				t.Fatalf("Deliver error %v: permanent = %v, want %v", err, !tc.permanent, tc.permanent)
			}
			if calls, _, _, _ := h.snapshot(); calls != 1 {
				t.Fatalf("receiver saw %d calls, want 1 (redirects not followed)", calls)
			}
		})
	}
}

// TestWorkerRoutesByChannel: one outbox holding e-mail and webhook notices.
func TestWorkerRoutesByChannel(t *testing.T) {
	clock := &fakeClock{now: t0}
	h := startReceiver(t, clock.Now)
	srv := startSMTP(t, smtpOptions{})
	mailMsg := sampleMessage("ob-mail", notify.EventReturned, notify.LanguageEnglish)
	hookMsg := webhookMessage("ob-hook", notify.EventReturned)
	hookMsg.Recipient = notify.Recipient{} // no e-mail needed for a webhook
	unknown := sampleMessage("ob-sms", notify.EventReturned, notify.LanguageJapanese)
	unknown.Channel = "sms"

	t.Run("both senders", func(t *testing.T) {
		ob := newMemOutbox(mailMsg, hookMsg, unknown)
		w, err := notify.NewWorker(notify.WorkerConfig{
			Outbox: ob, Mailer: newTestMailer(t, srv, nil), Webhook: newTestWebhook(t, h, testSecret), Clock: clock.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		runOnce(t, w, 2, 1)
		_, got, _, _ := h.snapshot()
		if len(got) != 1 || got[0].ID != "ob-hook" || got[0].Recipient != nil {
			t.Fatalf("webhooks = %+v", got)
		}
		if mails := srv.Mails(); len(mails) != 1 || parseMail(t, mails[0].Data).Header.Get("Message-Id") != "<ob-mail@keiyaku.example.jp>" {
			t.Fatalf("mails = %d", len(mails))
		}
		if r := ob.row("ob-sms"); !r.gaveUp {
			t.Errorf("unknown channel not given up: %+v", r)
		}
	})
	t.Run("webhook without sender is given up", func(t *testing.T) {
		ob := newMemOutbox(webhookMessage("ob-hook2", notify.EventDeleted))
		w, err := notify.NewWorker(notify.WorkerConfig{Outbox: ob, Mailer: newTestMailer(t, srv, nil), Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		runOnce(t, w, 0, 1)
		if r := ob.row("ob-hook2"); !r.gaveUp || r.msg.Attempts != 1 {
			t.Fatalf("row = %+v", r)
		}
	})
}

func TestParseWebhookRejects(t *testing.T) {
	body := []byte(`{"id":"ob-1","type":"completed","case_id":"c","case_name":"n","from":{}}`)
	tests := []struct {
		name string
		body []byte
		sig  string
		want error
	}{
		{"valid", body, notify.Sign(testSecret, t0, body), nil},
		{"unsigned", body, "", notify.ErrInvalidSignature},
		{"not JSON", []byte("hello"), notify.Sign(testSecret, t0, []byte("hello")), notify.ErrInvalidMessage},
		{"unknown type", []byte(`{"id":"x","type":"nope"}`), notify.Sign(testSecret, t0, []byte(`{"id":"x","type":"nope"}`)), notify.ErrInvalidMessage},
		{"too large", bytes.Repeat([]byte("a"), notify.MaxWebhookBody+1), "t=1,v1=" + strings.Repeat("0", 64), notify.ErrInvalidMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(tc.body))
			if tc.sig != "" {
				r.Header.Set(notify.SignatureHeader, tc.sig)
			}
			p, err := notify.ParseWebhook(r, testSecret, t0, 0)
			if tc.want == nil {
				if err != nil || p.ID != "ob-1" || p.Type != notify.EventCompleted {
					t.Fatalf("ParseWebhook = %+v, %v", p, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseWebhook error = %v, want %v", err, tc.want)
			}
		})
	}
}
