package keiyaku_test

import (
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/storagetest"
)

// TestAuditKeyWired: Config.AuditKey reaches the embedded store, so every
// entry of a real service's log is keyed and needs the key to verify.
func TestAuditKeyWired(t *testing.T) {
	w := newWorldWith(t, func(_ *world, cfg *keiyaku.Config) { cfg.AuditKey = &storagetest.TestAuditKey })
	v := &storage.ChainVerifier{Keys: map[string][]byte{storagetest.TestAuditKey.ID: storagetest.TestAuditKey.Secret}}
	n, err := storage.VerifyChainWith(w.ctx, w.svc.Store, v)
	if err != nil || n == 0 {
		t.Fatalf("keyed verification of the service's log: %d entries, %v", n, err)
	}
	if _, err := storage.VerifyChain(w.ctx, w.svc.Store); err == nil {
		t.Error("the service's log verifies without the key: it is not keyed")
	}
	if m, err := w.svc.Cases.VerifyAudit(w.ctx); err != nil || m != n {
		t.Errorf("Cases.VerifyAudit = %d, %v; want %d entries", m, err, n)
	}
}

// TestAuditKeyRotation: after a restart with a new AuditKey, entries are
// sealed with it, and Cases.VerifyAudit verifies the whole log given the
// old key in OldAuditKeys (and not without it).
func TestAuditKeyRotation(t *testing.T) {
	next := storage.AuditKey{ID: "test-2027", Secret: []byte("the next audit key, 32 bytes....")}
	w := newWorldWith(t, func(_ *world, cfg *keiyaku.Config) { cfg.AuditKey = &storagetest.TestAuditKey })
	if err := w.svc.Close(); err != nil {
		t.Fatal(err)
	}
	w.mutate = func(cfg *keiyaku.Config) {
		cfg.AuditKey, cfg.OldAuditKeys = &next, []storage.AuditKey{storagetest.TestAuditKey}
	}
	w.svc = w.open()
	if _, err := w.svc.Accounts.Login(w.ctx, w.m["A"].LoginID, w.m["A"].Password, ""); err != nil {
		t.Fatal(err)
	}
	n, err := w.svc.Cases.VerifyAudit(w.ctx)
	if err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	last, err := w.svc.Store.ListAudit(w.ctx, n-1, "", 1)
	if err != nil || len(last) != 1 || last[0].KeyID != next.ID {
		t.Errorf("the newest entry = %+v, %v; want it sealed with %s", last, err, next.ID)
	}
	v := &storage.ChainVerifier{Keys: map[string][]byte{next.ID: next.Secret}}
	if _, err := storage.VerifyChainWith(w.ctx, w.svc.Store, v); !errors.Is(err, storage.ErrChainBroken) {
		t.Errorf("verified without the rotated-out key: %v", err)
	}
}
