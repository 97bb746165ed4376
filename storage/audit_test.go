package storage_test

import (
	"errors"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/storage"
)

func chain(n int) []storage.AuditEntry {
	var es []storage.AuditEntry
	for i := range n {
		es = append(es, storage.AuditEntry{Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), ActorUserID: "u", Action: "a", Detail: string(rune('a' + i))})
	}
	storage.SealAudit(0, nil, es)
	return es
}

func TestChainVerifier(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(es []storage.AuditEntry) []storage.AuditEntry
		ok     bool
	}{
		{"intact", func(es []storage.AuditEntry) []storage.AuditEntry { return es }, true},
		{"detail changed", func(es []storage.AuditEntry) []storage.AuditEntry { es[2].Detail = "x"; return es }, false},
		{"time changed", func(es []storage.AuditEntry) []storage.AuditEntry { es[1].Time = es[1].Time.Add(1); return es }, false},
		{"actor changed", func(es []storage.AuditEntry) []storage.AuditEntry { es[0].ActorUserID = "v"; return es }, false},
		{"entry removed", func(es []storage.AuditEntry) []storage.AuditEntry { return append(es[:1], es[2:]...) }, false},
		{"entries swapped", func(es []storage.AuditEntry) []storage.AuditEntry { es[1], es[2] = es[2], es[1]; return es }, false},
		{"rehashed without its successor", func(es []storage.AuditEntry) []storage.AuditEntry {
			es[1].Detail = "forged"
			es[1].Hash = storage.ChainHash(es[1].PrevHash, &es[1])
			return es
		}, false},
		{"field boundary shifted", func(es []storage.AuditEntry) []storage.AuditEntry {
			// "u"+"a" vs ""+"ua": the length prefixes must tell them apart.
			es[3].ActorUserID, es[3].ActorCompanyID = "", es[3].ActorUserID+es[3].ActorCompanyID
			return es
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v storage.ChainVerifier
			err := v.Next(tt.tamper(chain(5)))
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok && !errors.Is(err, storage.ErrChainBroken) {
				t.Errorf("err = %v, want ErrChainBroken", err)
			}
		})
	}
	// Verifying piece by piece equals verifying at once.
	es := chain(6)
	var v storage.ChainVerifier
	if err := v.Next(es[:2]); err != nil {
		t.Fatal(err)
	}
	if err := v.Next(es[2:]); err != nil {
		t.Fatal(err)
	}
	if seq, h := v.Last(); seq != 6 || string(h) != string(es[5].Hash) {
		t.Errorf("Last = %d", seq)
	}
}

// TestKeyedChainRotation: a log sealed first under one key, then under the
// next, verifies with both keys and not with the new one alone; plain
// entries pass only before the first keyed one, and only when allowed.
func TestKeyedChainRotation(t *testing.T) {
	k1 := &storage.AuditKey{ID: "2026a", Secret: []byte("first secret, 32 bytes long.....")}
	k2 := &storage.AuditKey{ID: "2026b", Secret: []byte("second secret, 32 bytes long....")}
	es := chain(2) // plain, from before keys were configured
	more := make([]storage.AuditEntry, 4)
	for i := range more {
		more[i] = storage.AuditEntry{Time: time.Date(2026, 2, 1, 0, 0, i, 0, time.UTC), Action: "a"}
	}
	storage.SealAuditWith(k1, es[1].Seq, es[1].Hash, more[:2])
	storage.SealAuditWith(k2, more[1].Seq, more[1].Hash, more[2:])
	es = append(es, more...)
	both := map[string][]byte{k1.ID: k1.Secret, k2.ID: k2.Secret}
	for _, tc := range []struct {
		name string
		v    storage.ChainVerifier
		es   []storage.AuditEntry
		ok   bool
	}{
		{"both keys, plain prefix allowed", storage.ChainVerifier{Keys: both, AllowUnkeyed: true}, es, true},
		{"plain prefix not allowed", storage.ChainVerifier{Keys: both}, es, false},
		{"old key missing", storage.ChainVerifier{Keys: map[string][]byte{k2.ID: k2.Secret}, AllowUnkeyed: true}, es, false},
		{"no keys", storage.ChainVerifier{}, es, false},
		{"keyed only", storage.ChainVerifier{Keys: both}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.es == nil {
				// A log that began keyed.
				tc.es = make([]storage.AuditEntry, 3)
				for i := range tc.es {
					tc.es[i] = storage.AuditEntry{Time: time.Date(2026, 3, 1, 0, 0, i, 0, time.UTC), Action: "a"}
				}
				storage.SealAuditWith(k1, 0, nil, tc.es)
			}
			err := tc.v.Next(tc.es)
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, storage.ErrChainBroken) {
				t.Errorf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	// A plain entry after a keyed one never passes.
	tail := []storage.AuditEntry{{Time: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), Action: "forged"}}
	storage.SealAudit(es[len(es)-1].Seq, es[len(es)-1].Hash, tail)
	v := storage.ChainVerifier{Keys: both, AllowUnkeyed: true}
	if err := v.Next(append(es, tail...)); !errors.Is(err, storage.ErrChainBroken) {
		t.Errorf("plain entry after keyed ones: %v", err)
	}
}
