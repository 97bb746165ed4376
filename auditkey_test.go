package keiyaku_test

import (
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
}
