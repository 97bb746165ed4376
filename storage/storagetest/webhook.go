package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

func sampleWebhook(id, company string) *storage.WebhookSubscription {
	return &storage.WebhookSubscription{
		ID: id, CompanyID: company, URL: "https://hooks.example.jp/" + id, Events: []string{"completed", "returned"},
		Description: "基幹システム", Secret: []byte("sealed-secret-" + id), CreatedBy: "u1", CreatedAt: base, UpdatedAt: base,
	}
}

func delivery(id, sub, caseID string) storage.WebhookDelivery {
	return storage.WebhookDelivery{ID: id, SubscriptionID: sub, CompanyID: "co1", Type: "completed", CaseID: caseID,
		Body: []byte(`{"type":"case.completed"}`), CreatedAt: base}
}

// testWebhookSubscriptions: create with a per-company limit, update keeps
// the owner, delete cascades to deliveries; each write is audited.
func testWebhookSubscriptions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if err := s.CreateWebhook(ctx, sampleWebhook("w1", "co1"), 2, audit("webhook.create", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWebhook(ctx, sampleWebhook("w1", "co1"), 2, audit("webhook.create", "")); !errors.Is(err, kerr.Conflict) {
		t.Errorf("same ID again = %v, want kerr.Conflict", err)
	}
	if err := s.CreateWebhook(ctx, sampleWebhook("w2", "co1"), 2, audit("webhook.create", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWebhook(ctx, sampleWebhook("w3", "co1"), 2, audit("webhook.create", "")); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("third of at most 2 = %v, want kerr.FailedPrecondition", err)
	}
	if err := s.CreateWebhook(ctx, sampleWebhook("w4", "co2"), 2, audit("webhook.create", "")); err != nil {
		t.Errorf("another company's first = %v", err)
	}
	bad := sampleWebhook("w5", "co2")
	bad.Events = nil
	if err := s.CreateWebhook(ctx, bad, 2, audit("webhook.create", "")); !errors.Is(err, kerr.Invalid) {
		t.Errorf("no events = %v, want kerr.Invalid", err)
	}
	list, err := s.ListWebhooks(ctx, "co1")
	if err != nil || len(list) != 2 || list[0].ID != "w1" || list[1].ID != "w2" {
		t.Fatalf("ListWebhooks(co1) = %+v, %v; want w1, w2", list, err)
	}
	if string(list[0].Secret) != "sealed-secret-w1" || list[0].Description != "基幹システム" || len(list[0].Events) != 2 {
		t.Errorf("stored subscription = %+v", list[0])
	}
	up := sampleWebhook("w1", "co-other")
	up.URL, up.Events, up.CreatedBy = "https://hooks.example.jp/new", []string{"deleted"}, "intruder"
	if err := s.UpdateWebhook(ctx, up, audit("webhook.update", "")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetWebhook(ctx, "w1")
	if err != nil || got.URL != "https://hooks.example.jp/new" || got.Events[0] != "deleted" || got.CompanyID != "co1" || got.CreatedBy != "u1" {
		t.Errorf("after update = %+v, %v; want new URL and events, owner kept", got, err)
	}
	if err := s.UpdateWebhook(ctx, sampleWebhook("nope", "co1"), audit("webhook.update", "")); !errors.Is(err, kerr.NotFound) {
		t.Errorf("update missing = %v, want kerr.NotFound", err)
	}
	before := auditCount(t, s)
	c := sample("wc1")
	if err := s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: audit("case.register", c.ID),
		Webhooks: []storage.WebhookDelivery{delivery("d1", "w1", c.ID)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, "w1", audit("webhook.delete", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetWebhook(ctx, "w1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("deleted subscription: %v, want kerr.NotFound", err)
	}
	if _, err := s.GetWebhookDelivery(ctx, "d1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("delivery of a deleted subscription: %v, want kerr.NotFound", err)
	}
	if err := s.DeleteWebhook(ctx, "w1", audit("webhook.delete", "")); !errors.Is(err, kerr.NotFound) {
		t.Errorf("delete twice = %v, want kerr.NotFound", err)
	}
	if n := auditCount(t, s) - before; n != 2 {
		t.Errorf("audit entries for a commit and a delete = %d, want 2", n)
	}
}

// testWebhookDeliveries: deliveries commit with their case or not at all,
// are claimed under a lease, logged per attempt, given up, requeued.
func testWebhookDeliveries(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if err := s.CreateWebhook(ctx, sampleWebhook("w1", "co1"), 10, audit("webhook.create", "")); err != nil {
		t.Fatal(err)
	}
	// A delivery naming no subscription fails the whole commit.
	c0 := sample("wd0")
	err := s.CommitCase(ctx, &storage.CaseCommit{Case: c0, Audit: audit("case.register", c0.ID),
		Webhooks: []storage.WebhookDelivery{delivery("x1", "w1", c0.ID), delivery("x2", "missing", c0.ID)}})
	if !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("delivery to no subscription = %v, want kerr.FailedPrecondition", err)
	}
	if _, err := s.GetCase(ctx, "wd0"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("case of the failed commit: %v, want kerr.NotFound", err)
	}
	if _, err := s.GetWebhookDelivery(ctx, "x1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("delivery of the failed commit: %v, want kerr.NotFound", err)
	}
	c := sample("wd1")
	if err := s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: audit("case.register", c.ID),
		Webhooks: []storage.WebhookDelivery{delivery("d1", "w1", c.ID), delivery("d2", "w1", c.ID)}}); err != nil {
		t.Fatal(err)
	}
	c2 := sample("wd2")
	if err := s.CommitCase(ctx, &storage.CaseCommit{Case: c2, Audit: audit("case.register", c2.ID),
		Webhooks: []storage.WebhookDelivery{delivery("d1", "w1", c2.ID)}}); !errors.Is(err, kerr.Conflict) {
		t.Errorf("repeated delivery ID = %v, want kerr.Conflict", err)
	}
	now := base.Add(time.Hour)
	got, err := s.ClaimWebhookDeliveries(ctx, now, time.Minute, 10)
	if err != nil || len(got) != 2 || got[0].ID != "d1" || got[1].ID != "d2" || got[0].Seq >= got[1].Seq {
		t.Fatalf("claim = %+v, %v; want d1, d2 in order", got, err)
	}
	if string(got[0].Body) != `{"type":"case.completed"}` || got[0].CaseID != "wd1" || got[0].SubscriptionID != "w1" {
		t.Errorf("claimed delivery = %+v", got[0])
	}
	if again, _ := s.ClaimWebhookDeliveries(ctx, now, time.Minute, 10); len(again) != 0 {
		t.Errorf("claimed twice within the lease: %d", len(again))
	}
	// d1: fails with 503, retried later, then delivered.
	if err := s.RecordWebhookAttempt(ctx, &storage.WebhookAttempt{DeliveryID: "d1", At: now, StatusCode: 503, Error: "503 Service Unavailable", Duration: 20 * time.Millisecond}, false, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// At 90 s d2's lease has lapsed (due again) but d1 waits for its retry.
	if due, _ := s.ClaimWebhookDeliveries(ctx, now.Add(90*time.Second), time.Minute, 10); len(due) != 1 || due[0].ID != "d2" {
		t.Errorf("due at 90 s = %+v, want only d2", due)
	}
	due, err := s.ClaimWebhookDeliveries(ctx, now.Add(3*time.Minute), time.Minute, 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("after lease and backoff = %+v, %v; want d1 and d2", due, err)
	}
	if err := s.RecordWebhookAttempt(ctx, &storage.WebhookAttempt{DeliveryID: "d1", At: now.Add(3 * time.Minute), StatusCode: 204, Duration: time.Millisecond}, true, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// d2: given up.
	if err := s.RecordWebhookAttempt(ctx, &storage.WebhookAttempt{DeliveryID: "d2", At: now.Add(3 * time.Minute), StatusCode: 410, Error: "gone"}, false, time.Time{}); err != nil {
		t.Fatal(err)
	}
	d1, err := s.GetWebhookDelivery(ctx, "d1")
	if err != nil || d1.Attempts != 2 || !d1.DeliveredAt.Equal(now.Add(3*time.Minute)) || d1.LastStatus != 204 || d1.GaveUp {
		t.Errorf("d1 = %+v, %v; want delivered after 2 attempts", d1, err)
	}
	d2, err := s.GetWebhookDelivery(ctx, "d2")
	if err != nil || !d2.GaveUp || d2.LastError != "gone" || d2.LastStatus != 410 {
		t.Errorf("d2 = %+v, %v; want given up", d2, err)
	}
	log, err := s.ListWebhookAttempts(ctx, "d1")
	if err != nil || len(log) != 2 || log[0].StatusCode != 503 || log[0].Duration != 20*time.Millisecond || log[0].Error != "503 Service Unavailable" || log[1].StatusCode != 204 {
		t.Errorf("log of d1 = %+v, %v", log, err)
	}
	if none, _ := s.ClaimWebhookDeliveries(ctx, now.Add(time.Hour), time.Minute, 10); len(none) != 0 {
		t.Errorf("delivered and given-up deliveries claimed: %+v", none)
	}
	// Replay both.
	for _, id := range []string{"d1", "d2"} {
		if err := s.RequeueWebhookDelivery(ctx, id, now.Add(time.Hour), audit("webhook.replay", "")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RequeueWebhookDelivery(ctx, "nope", now, audit("webhook.replay", "")); !errors.Is(err, kerr.NotFound) {
		t.Errorf("requeue missing = %v, want kerr.NotFound", err)
	}
	re, err := s.ClaimWebhookDeliveries(ctx, now.Add(time.Hour), time.Minute, 10)
	if err != nil || len(re) != 2 || re[0].ID != "d1" || re[0].Attempts != 2 {
		t.Errorf("after replay = %+v, %v; want d1 and d2 due again, attempts kept", re, err)
	}
	if err := s.RecordWebhookAttempt(ctx, &storage.WebhookAttempt{DeliveryID: "nope", At: now}, true, time.Time{}); !errors.Is(err, kerr.NotFound) {
		t.Errorf("attempt on missing = %v, want kerr.NotFound", err)
	}
	page, err := s.ListWebhookDeliveries(ctx, "w1", 0, 1)
	if err != nil || len(page) != 1 || page[0].ID != "d1" {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	page, err = s.ListWebhookDeliveries(ctx, "w1", page[0].Seq, 10)
	if err != nil || len(page) != 1 || page[0].ID != "d2" {
		t.Errorf("second page = %+v, %v", page, err)
	}
	if _, err := s.ListWebhookDeliveries(ctx, "w1", 0, 0); !errors.Is(err, kerr.Invalid) {
		t.Errorf("limit 0 = %v, want kerr.Invalid", err)
	}
}
