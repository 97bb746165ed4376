package keiyaku_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// TestRunJobsRenews: the scheduled job (River on the embedded SQLite)
// runs the renewal pass at start; the due evidence records of a completed
// case get renewed without anyone calling RenewDue.
func TestRunJobsRenews(t *testing.T) {
	w, clock, tsa := renewalWorld(t)
	a, b := w.m["A"], w.m["B"]
	c := w.complete(w.registerWithFile(a, b, "jobs", "添付"), a, b)
	var sup string
	for _, f := range c.Sealed {
		if f.Name == "estimate.txt.ers" {
			sup = f.Key
		}
	}
	clock.set(testpki.TSANotAfter.AddDate(0, -10, 0))
	tsa.use(w.pki.TSA2)

	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- w.svc.RunJobs(ctx, time.Hour) }()
	deadline := time.Now().Add(60 * time.Second)
	renewed := false
	for !renewed && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		now, err := w.svc.Cases.Get(w.ctx, a.P, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range now.Sealed {
			if f.Name == "estimate.txt.ers" && f.Key != sup {
				renewed = true
			}
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunJobs returned %v, want context.Canceled", err)
	}
	if !renewed {
		t.Fatal("the renewal job did not renew the due record within a minute")
	}
	clock.set(testpki.TSANotAfter.AddDate(1, 0, 0))
	oc, err := w.svc.VerifyOriginal(w.ctx, a.P, c.ID)
	if err != nil || !oc.Files[0].Verdict.Original {
		t.Fatalf("after the job's renewal, past TSA 1's expiry: %v %+v", err, oc)
	}
}

// TestRunJobsAnchorsAudit: the maintenance task of RunJobs time-stamps the
// head of the audit chain without anyone calling AnchorAudit, and the
// anchored chain verifies.
func TestRunJobsAnchorsAudit(t *testing.T) {
	w, _, _ := renewalWorld(t)
	a, b := w.m["A"], w.m["B"]
	w.complete(w.registerWithFile(a, b, "anchor", "添付"), a, b)
	if _, err := w.svc.Store.LastAuditAnchor(w.ctx); !errors.Is(err, kerr.NotFound) {
		t.Fatalf("an anchor before the jobs ran: %v", err)
	}
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- w.svc.RunJobs(ctx, time.Hour) }()
	var anchor *storage.AuditAnchor
	for deadline := time.Now().Add(60 * time.Second); anchor == nil && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		if got, err := w.svc.Store.LastAuditAnchor(w.ctx); err == nil {
			anchor = got
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunJobs returned %v, want context.Canceled", err)
	}
	if anchor == nil {
		t.Fatal("the audit anchor task did not anchor the chain within a minute")
	}
	entries, anchors, err := w.svc.Archive.VerifyAudit(w.ctx, w.svc.Store, nil)
	if err != nil || anchors < 1 || entries < anchor.Seq {
		t.Fatalf("VerifyAudit: %d entries, %d anchors, %v; the anchor is at entry %d", entries, anchors, err, anchor.Seq)
	}
}
