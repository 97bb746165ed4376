package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/storage"
)

// Rewriter replaces stored audit rows, as someone with write access to the
// database would: for each entry, the row with its Seq gets every field of
// the entry (Hash, PrevHash and KeyID included), bypassing the
// append-only triggers.
type Rewriter func(t *testing.T, s storage.Store, entries []storage.AuditEntry)

// TestAuditKey is the secret the keyed-chain suite seals with.
var TestAuditKey = storage.AuditKey{ID: "test-2026", Secret: []byte("0123456789abcdef0123456789abcdef")}

// RunAuditKey checks a backend's keyed audit chain (issue 11): open must
// return a new, empty store sealing with the given key; rewrite changes
// stored rows behind the store's back.
func RunAuditKey(t *testing.T, open func(t *testing.T, key *storage.AuditKey) storage.Store, rewrite Rewriter) {
	keys := map[string][]byte{TestAuditKey.ID: TestAuditKey.Secret}
	fill := func(t *testing.T) (storage.Store, []storage.AuditEntry) {
		s := open(t, &TestAuditKey)
		t.Cleanup(func() { _ = s.Close() })
		ctx := context.Background()
		for i := range 5 {
			e := []storage.AuditEntry{{Time: base.Add(time.Duration(i) * time.Second), ActorUserID: "u1", Action: "case.complete", CaseID: "c1", Detail: "step"}}
			if err := s.AppendAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
			if e[0].KeyID != TestAuditKey.ID {
				t.Fatalf("appended entry names key %q, want %q", e[0].KeyID, TestAuditKey.ID)
			}
		}
		es, err := s.ListAudit(ctx, 0, "", 100)
		if err != nil || len(es) != 5 {
			t.Fatalf("ListAudit = %d entries, %v", len(es), err)
		}
		return s, es
	}
	verify := func(s storage.Store) (int64, error) {
		return storage.VerifyChainWith(context.Background(), s, &storage.ChainVerifier{Keys: keys})
	}
	t.Run("Intact", func(t *testing.T) {
		s, es := fill(t)
		if n, err := verify(s); err != nil || n != 5 {
			t.Errorf("keyed verification = %d, %v", n, err)
		}
		for _, e := range es {
			if e.KeyID != TestAuditKey.ID {
				t.Errorf("stored entry %d names key %q", e.Seq, e.KeyID)
			}
		}
		if _, err := storage.VerifyChain(context.Background(), s); err == nil {
			t.Error("a keyed chain verified without its keys")
		}
	})
	t.Run("RewrittenWithPlainHashes", func(t *testing.T) {
		// Change who completed the case in entry 2 and recompute every
		// later hash with the public, unkeyed function.
		s, es := fill(t)
		es[1].ActorUserID = "mallory"
		prev := es[0].Hash
		for i := 1; i < len(es); i++ {
			es[i].KeyID, es[i].PrevHash = "", prev
			es[i].Hash = storage.ChainHash(prev, &es[i])
			prev = es[i].Hash
		}
		rewrite(t, s, es[1:])
		if n, err := verify(s); err == nil || n != 1 {
			t.Errorf("rewritten chain: verified %d entries, %v; want entry 2 named as the first that does not hold", n, err)
		}
	})
	t.Run("RewrittenUnderAnotherKey", func(t *testing.T) {
		s, es := fill(t)
		forged := []byte("an attacker's guess of the key..")
		es[3].Detail = "forged"
		prev := es[2].Hash
		for i := 3; i < len(es); i++ {
			es[i].PrevHash = prev
			es[i].Hash = storage.KeyedChainHash(forged, TestAuditKey.ID, prev, &es[i])
			prev = es[i].Hash
		}
		rewrite(t, s, es[3:])
		if n, err := verify(s); err == nil || n != 3 {
			t.Errorf("chain rewritten under a guessed key: verified %d, %v; want entry 4 named", n, err)
		}
	})
}
