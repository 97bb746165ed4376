package casework_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// A deleted (cancelled) case keeps its data, every document and its
// audit trail, visible to both sides, and nothing leads out of it.
func TestDeletedCaseKeepsEverything(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	doc := sign(pdf("解約される契約書"), "co1")
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, doc))
	if err != nil {
		t.Fatal(err)
	}
	receive(t, e, u2, c.ID)
	if c, err = e.svc.Delete(ctx, u1, c.ID); err != nil || c.State != casework.StateDeleted {
		t.Fatalf("Delete: %v", err)
	}
	// Later, as if years had passed: the clock is moved ten years on.
	e.mu.Lock()
	e.now = e.now.AddDate(10, 0, 1)
	e.mu.Unlock()
	for name, p := range map[string]account.Principal{"registrant": u1, "counterparty": u2, "registrant admin": admin1, "counterparty admin": admin2} {
		got, err := e.svc.Get(ctx, p, c.ID)
		if err != nil || got.State != casework.StateDeleted || got.Name != c.Name || got.Document != c.Document ||
			len(got.Supplements) != 1 || len(got.Signers) != 1 || got.Parties[0].CompanyName != c.Parties[0].CompanyName {
			t.Errorf("%s: Get = %+v, %v", name, got, err)
			continue
		}
		r, _, err := e.svc.Open(ctx, p, c.ID, got.Document.Key)
		if err != nil {
			t.Errorf("%s: Open the contract: %v", name, err)
			continue
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(b, doc) {
			t.Errorf("%s: the kept contract differs: %v", name, err)
		}
		r, _, err = e.svc.Open(ctx, p, c.ID, got.Supplements[0].Key)
		if err != nil {
			t.Errorf("%s: Open the supplementary file: %v", name, err)
			continue
		}
		b, _ = io.ReadAll(r)
		r.Close()
		if string(b) != "spec" {
			t.Errorf("%s: supplementary file = %q", name, b)
		}
	}
	if _, err := e.svc.Get(ctx, u3, c.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("an outsider sees the deleted case: %v", err)
	}
	page, err := e.svc.Search(ctx, u2, &casework.Query{States: []casework.State{casework.StateDeleted}})
	if err != nil || len(page.Cases) != 1 || page.Cases[0].ID != c.ID {
		t.Errorf("search for deleted cases: %+v, %v", page, err)
	}
	if page, err := e.svc.Search(ctx, u2, nil); err != nil || len(page.Cases) != 0 {
		t.Errorf("the default list shows the deleted case: %+v, %v", page, err)
	}
	trail, err := e.svc.AuditTrail(ctx, u1, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var del storage.AuditEntry
	for _, a := range trail {
		if a.Action == "case.delete" {
			del = a
		}
	}
	if del.Action != "case.delete" || !strings.Contains(del.Detail, c.Document.Key) || !strings.Contains(del.Detail, c.Supplements[0].Key) {
		t.Errorf("the deletion's audit entry does not name what was kept: %+v", del)
	}
	if _, err := e.svc.Resend(ctx, u1, c.ID, nil); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("resending a deleted case: err = %v, want FailedPrecondition", err)
	}
	if _, err := e.svc.Delete(ctx, u1, c.ID); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("deleting twice: err = %v, want FailedPrecondition", err)
	}
	if _, _, err := e.svc.Receive(ctx, u2, c.ID); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("receiving a deleted case: err = %v, want FailedPrecondition", err)
	}
}
