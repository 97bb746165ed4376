package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/httpapi"
)

type gotHook struct {
	id, ts, sig string
	body        []byte
}

// verifyStandardWebhook is the receiver's own check from the Standard
// Webhooks specification, independent of package webhook.
func verifyStandardWebhook(secret string, h gotHook) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(h.id + "." + h.ts + "."))
	m.Write(h.body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, s := range strings.Fields(h.sig) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

// TestWebhooksOverHTTP: an administrator manages a subscription over the
// API; a case registered over the API reaches a real receiver signed; the
// delivery log and a replay (same webhook-id) work over the API; a
// colleague, a read token and another company are refused.
func TestWebhooksOverHTTP(t *testing.T) {
	e := newEnvWith(t, nil, func(cfg *keiyaku.Config) { cfg.Webhook.AllowLoopback = true })
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	var mu sync.Mutex
	var got []gotHook
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, gotHook{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body})
		mu.Unlock()
	}))
	defer recv.Close()
	take := func() []gotHook {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}

	input := `{"url":"` + recv.URL + `/in","events":["receipt_requested","completed"],"description":"基幹"}`
	clerk, _ := e.member(a, "clerk-a")
	e.wantStatus("colleague", "POST", "/v1/webhooks", clerk, input, 403, "permission-denied")
	e.wantStatus("colleague", "GET", "/v1/webhooks", clerk, "", 403, "permission-denied")
	_, _, _, tok := e.rawBody("POST", "/v1/me/tokens", a.token, "application/json", `{"name":"r","scope":"read"}`)
	e.wantStatus("read token", "GET", "/v1/webhooks", jsonField(t, tok, "secret"), "", 403, "")
	e.wantStatus("anonymous", "GET", "/v1/webhooks", "", "", 401, "unauthenticated")
	e.wantStatus("A", "POST", "/v1/webhooks", a.token, `{"url":"http://hooks.example.jp/x","events":["completed"]}`, 400, "invalid")
	e.wantStatus("A", "POST", "/v1/webhooks", a.token, `{"url":"https://hooks.example.jp/x","events":["nope"]}`, 400, "invalid")

	res, err := a.c.CreateWebhookWithResponse(e.ctx, nil, httpapi.WebhookInput{Url: recv.URL + "/in",
		Events: []httpapi.WebhookEvent{"receipt_requested", "completed"}})
	if err != nil || res.JSON201 == nil || !strings.HasPrefix(res.JSON201.Secret, "whsec_") {
		t.Fatalf("create: %v %s", err, res.Body)
	}
	sub, secret := res.JSON201.Webhook, res.JSON201.Secret
	e.wantStatus("B", "GET", "/v1/webhooks/"+sub.Id, b.token, "", 404, "not-found")
	e.wantStatus("B", "DELETE", "/v1/webhooks/"+sub.Id, b.token, "", 404, "not-found")
	if l, err := a.c.ListWebhooksWithResponse(e.ctx); err != nil || l.JSON200 == nil || len(l.JSON200.Webhooks) != 1 || strings.Contains(string(l.Body), "whsec_") {
		t.Fatalf("list: %v %s", err, l.Body)
	}

	if status, _ := e.tryRegister(a, b, e.sign(a, contract("webhook over http"))); status != 201 {
		t.Fatalf("register: %d", status)
	}
	if d, _, err := e.svc.Webhooks.DeliverOnce(e.ctx); err != nil || d != 1 {
		t.Fatalf("DeliverOnce = %d, %v", d, err)
	}
	first := take()
	if len(first) != 1 || !verifyStandardWebhook(secret, first[0]) || !strings.Contains(string(first[0].body), `"type":"case.receipt_requested"`) {
		t.Fatalf("received %+v; want one signed receipt_requested", first)
	}
	if verifyStandardWebhook("whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 32)), first[0]) {
		t.Error("verifies with a wrong secret")
	}

	dl, err := a.c.ListWebhookDeliveriesWithResponse(e.ctx, sub.Id, nil)
	if err != nil || dl.JSON200 == nil || len(dl.JSON200.Deliveries) != 1 {
		t.Fatalf("deliveries: %v %s", err, dl.Body)
	}
	d := dl.JSON200.Deliveries[0]
	if d.Id != first[0].id || d.Status != httpapi.WebhookDeliveryStatusDelivered || len(d.Log) != 1 || d.Log[0].StatusCode != 200 {
		t.Errorf("delivery = %+v", d)
	}
	e.wantStatus("B", "GET", "/v1/webhooks/"+sub.Id+"/deliveries", b.token, "", 404, "not-found")
	e.wantStatus("B", "POST", "/v1/webhooks/"+sub.Id+"/deliveries/"+d.Id+"/replay", b.token, "", 404, "not-found")
	e.wantStatus("A", "POST", "/v1/webhooks/"+sub.Id+"/deliveries/"+d.Id+"/replay", a.token, "", 202, "")
	if n, _, err := e.svc.Webhooks.DeliverOnce(e.ctx); err != nil || n != 1 {
		t.Fatalf("replay DeliverOnce = %d, %v", n, err)
	}
	if again := take(); len(again) != 1 || again[0].id != first[0].id || !verifyStandardWebhook(secret, again[0]) {
		t.Errorf("replay = %+v; want the same webhook-id, signed", again)
	}

	rot := e.wantStatus("A", "POST", "/v1/webhooks/"+sub.Id+"/secret", a.token, "", 200, "")
	var ns struct{ Secret string }
	if json.Unmarshal([]byte(rot), &ns) != nil || ns.Secret == secret || !strings.HasPrefix(ns.Secret, "whsec_") {
		t.Errorf("rotate: %s", rot)
	}
	up := e.wantStatus("A", "PUT", "/v1/webhooks/"+sub.Id, a.token, `{"url":"`+recv.URL+`/v2","events":["completed"]}`, 200, "")
	if !strings.Contains(up, "/v2") {
		t.Errorf("update: %s", up)
	}
	e.wantStatus("A", "DELETE", "/v1/webhooks/"+sub.Id, a.token, "", 204, "")
	e.wantStatus("A", "GET", "/v1/webhooks/"+sub.Id, a.token, "", 404, "not-found")
}
