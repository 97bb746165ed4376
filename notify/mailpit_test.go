package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/notify"
)

// TestMailpit sends a notice through an external mailpit when
// KEIYAKU_SMTP_ADDR (host:port of its SMTP side) and KEIYAKU_MAILPIT_API
// (base URL of its HTTP API, e.g. http://127.0.0.1:8025) are set, and reads
// it back through mailpit's API (GET /api/v1/messages, /api/v1/message/{ID}).
// It skips otherwise (and fails under CI, where .ci/run starts mailpit).
func TestMailpit(t *testing.T) {
	addr := testenv.Env(t, "KEIYAKU_SMTP_ADDR", "host:port of a mailpit SMTP listener")
	api := strings.TrimRight(testenv.Env(t, "KEIYAKU_MAILPIT_API", "the base URL of that mailpit's HTTP API"), "/")
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("KEIYAKU_SMTP_ADDR %q: %v", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		t.Fatalf("KEIYAKU_SMTP_ADDR %q: %v", addr, err)
	}
	mailer, err := notify.NewSMTPMailer(notify.SMTPConfig{
		Host: host, Port: port, From: testFrom, TLSPolicy: notify.TLSOpportunistic, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("mailpit-%d", time.Now().UnixNano())
	m := sampleMessage(id, notify.EventSentBack, notify.LanguageJapanese)
	ob := newMemOutbox(m)
	w, err := notify.NewWorker(notify.WorkerConfig{Outbox: ob, Mailer: mailer, Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	runOnce(t, w, 1, 0)

	wantMsgID := id + "@keiyaku.example.jp"
	var summary struct {
		Messages []struct {
			ID, MessageID, Subject string
		}
	}
	var found string
	deadline := time.Now().Add(10 * time.Second)
	for found == "" && time.Now().Before(deadline) {
		getJSON(t, api+"/api/v1/messages?limit=50", &summary)
		for _, s := range summary.Messages {
			if strings.Trim(s.MessageID, "<>") == wantMsgID {
				found = s.ID
			}
		}
		if found == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if found == "" {
		t.Fatalf("mailpit has no message with Message-ID %s", wantMsgID)
	}
	var full struct {
		Subject string
		From    struct{ Name, Address string }
		To      []struct{ Name, Address string }
		Text    string
	}
	getJSON(t, api+"/api/v1/message/"+found, &full)
	if full.From.Address != "no-reply@keiyaku.example.jp" || len(full.To) != 1 || full.To[0].Address != m.Recipient.Email {
		t.Errorf("From %v, To %v", full.From, full.To)
	}
	checkNotice(t, m, notify.LanguageJapanese, full.Subject, strings.ReplaceAll(full.Text, "\r\n", "\n"))
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
