package keiyaku_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/notify"
)

// TestRenewalFailureAlerts: with the TSA down when renewal is due, the
// pass fails with kerr.Unavailable (the job retries it), changes no sealed
// file, audits the failure and alerts the registrant company's
// administrator through the outbox (a mail with the cause) — once, not
// on every retry; when the TSA is back the next pass renews.
func TestRenewalFailureAlerts(t *testing.T) {
	w, clock, tsa := renewalWorld(t)
	a, b := w.m["A"], w.m["B"]
	c := w.complete(w.registerWithFile(a, b, "renewal alert", "見積書"), a, b)
	if _, _, err := w.svc.DeliverOnce(w.ctx); err != nil {
		t.Fatal(err)
	}
	w.smtp.take() // the lifecycle notices

	clock.set(testpki.TSANotAfter.AddDate(0, -10, 0))
	w.pki.SetNow(clock.now())
	tsa.use(w.pki.TSA2)
	tsa.mu.Lock()
	tsa.down = errors.New("TSA unreachable: connection refused")
	tsa.mu.Unlock()
	for try := range 2 {
		rep, err := w.svc.Renewal.RenewDue(w.ctx)
		if !errors.Is(err, kerr.Unavailable) || rep.PDFs != 0 || rep.Renewed != 0 {
			t.Fatalf("try %d with the TSA down: %+v %v; want kerr.Unavailable, nothing renewed", try, rep, err)
		}
	}
	after, err := w.svc.Cases.Get(w.ctx, a.P, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range after.Sealed {
		if f != c.Sealed[i] {
			t.Fatalf("a failed pass changed %s", f.Name)
		}
	}
	trail, err := w.svc.Cases.AuditTrail(w.ctx, a.P, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	failures := 0
	for _, e := range trail {
		if e.Action == "case.evidence_renewal_failed" {
			failures++
			if e.ActorUserID != "system:renewal" || !strings.Contains(e.Detail, "TSA unreachable") {
				t.Errorf("audit entry %+v", e)
			}
		}
	}
	if failures != 1 {
		t.Fatalf("%d failure entries in the audit trail; want 1 (alerts are not repeated on retries)", failures)
	}
	delivered, failed, err := w.svc.DeliverOnce(w.ctx)
	if err != nil || failed != 0 || delivered != 1 {
		t.Fatalf("DeliverOnce: %d delivered, %d failed, %v; want the one alert", delivered, failed, err)
	}
	mails := w.smtp.take()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	m := decodeMail(t, mails[0])
	want, err := w.tpl.Render(&notify.Message{ID: "x", Type: notify.EventEvidenceRenewalFailed, CaseID: c.ID, CaseName: c.Name,
		Recipient: notify.Recipient{Email: a.Email, Language: notify.Language(a.Lang)}})
	if err != nil {
		t.Fatal(err)
	}
	if m.To != a.Email || m.Subject != want.Subject || !strings.Contains(m.Body, "TSA unreachable") {
		t.Fatalf("alert to %s, subject %q, body:\n%s", m.To, m.Subject, m.Body)
	}

	tsa.mu.Lock()
	tsa.down = nil
	tsa.mu.Unlock()
	rep, err := w.svc.Renewal.RenewDue(w.ctx)
	if err != nil || rep.PDFs != 1 || rep.Renewed != 2 {
		t.Fatalf("with the TSA back: %+v %v", rep, err)
	}
}

// TestRunJobsRetriesFailedRenewal: through the scheduled job (River on
// the embedded SQLite), a renewal pass that fails because the TSA is down
// is audited and alerted, and River tries it again with backoff: once
// the TSA is back, the evidence is renewed without anyone calling
// RenewDue.
func TestRunJobsRetriesFailedRenewal(t *testing.T) {
	w, clock, tsa := renewalWorld(t)
	a, b := w.m["A"], w.m["B"]
	c := w.complete(w.registerWithFile(a, b, "retry", "添付"), a, b)
	clock.set(testpki.TSANotAfter.AddDate(0, -10, 0))
	w.pki.SetNow(clock.now())
	tsa.use(w.pki.TSA2)
	tsa.mu.Lock()
	tsa.down = errors.New("TSA unreachable: connection refused")
	tsa.mu.Unlock()

	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- w.svc.RunJobs(ctx, time.Hour) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("RunJobs returned %v, want context.Canceled", err)
		}
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("no %s within 90 s", what)
	}
	waitFor("failure alert", func() bool {
		trail, err := w.svc.Cases.AuditTrail(w.ctx, a.P, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return trail[len(trail)-1].Action == "case.evidence_renewal_failed"
	})
	tsa.mu.Lock()
	tsa.down = nil
	tsa.mu.Unlock()
	waitFor("renewal on River's retry", func() bool {
		now, err := w.svc.Cases.Get(w.ctx, a.P, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range now.Sealed {
			if f.Key == c.Sealed[i].Key {
				return false
			}
		}
		return true
	})
}

// TestRenewalGoesOnPastABrokenPDF: one case's sealed PDF corrupted in
// storage does not hold up the pass: the other case's PDF and both cases'
// records are renewed, the broken case is alerted, and the pass returns
// the error (so the job tries again).
func TestRenewalGoesOnPastABrokenPDF(t *testing.T) {
	w, clock, tsa := renewalWorld(t)
	a, b := w.m["A"], w.m["B"]
	broken := w.complete(w.registerWithFile(a, b, "broken", "壊れた"), a, b)
	fine := w.complete(w.registerWithFile(a, b, "fine", "無事"), a, b)
	pdf := broken.Sealed[0]
	if pdf.ContentType != "application/pdf" {
		t.Fatalf("test setup: Sealed[0] is %s", pdf.Name)
	}
	path := filepath.Join(w.dir, "blobs", "sha256", pdf.Key)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	clock.set(testpki.TSANotAfter.AddDate(0, -10, 0))
	w.pki.SetNow(clock.now())
	tsa.use(w.pki.TSA2)
	rep, err := w.svc.Renewal.RenewDue(w.ctx)
	if err == nil || rep.PDFs != 1 || rep.Renewed != 4 || rep.Cases != 2 {
		t.Fatalf("pass: %+v %v; want the fine PDF and all four records renewed, and the broken PDF's error", rep, err)
	}
	got, err := w.svc.Cases.Get(w.ctx, a.P, fine.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Sealed[0].Key == fine.Sealed[0].Key {
		t.Fatal("the fine case's PDF was not renewed")
	}
	trail, err := w.svc.Cases.AuditTrail(w.ctx, a.P, broken.ID)
	if err != nil {
		t.Fatal(err)
	}
	alerted := false
	for _, e := range trail {
		alerted = alerted || e.Action == "case.evidence_renewal_failed"
	}
	if !alerted {
		t.Fatal("the broken case was not alerted")
	}
}
