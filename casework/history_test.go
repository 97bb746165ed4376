package casework_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// TestVerifyHistory: a case's audit entries match its versions through a
// lifecycle; a commit that bypasses casework (a new state and version
// with no "case.<event>" entry, as someone writing the database directly
// would leave it) is found.
func TestVerifyHistory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("v1"), "co1")))
	if err != nil {
		t.Fatal(err)
	}
	receive(t, e, u2, c.ID)
	if err := e.svc.VerifyHistory(ctx, c.ID); err != nil {
		t.Fatalf("intact history: %v", err)
	}
	if err := e.svc.VerifyHistory(ctx, "no-such-case"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("unknown case: %v", err)
	}
	rec, err := e.store.GetCase(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	rec.State = casework.StateCompleted.String()
	forged := &storage.CaseCommit{Case: rec, Audit: []storage.AuditEntry{{Time: e.now, ActorUserID: "u1", Action: "case.note", CaseID: c.ID}}}
	if err := e.store.CommitCase(ctx, forged); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.VerifyHistory(ctx, c.ID); !errors.Is(err, storage.ErrChainBroken) || !errors.Is(err, kerr.Internal) {
		t.Errorf("a state changed without its entry: %v, want ErrChainBroken", err)
	}
}
