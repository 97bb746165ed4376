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
