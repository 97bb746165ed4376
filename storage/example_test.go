package storage_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/keiyaku/keiyaku/storage"
)

func ExampleChainVerifier() {
	entries := []storage.AuditEntry{
		{Time: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC), ActorUserID: "u1", Action: "case.register", CaseID: "c1"},
		{Time: time.Date(2026, 4, 1, 9, 5, 0, 0, time.UTC), ActorUserID: "u2", Action: "case.receive", CaseID: "c1"},
	}
	storage.SealAudit(0, nil, entries) // what a backend does when appending

	var v storage.ChainVerifier
	fmt.Println(v.Next(entries) == nil)

	entries[0].ActorUserID = "mallory"
	var again storage.ChainVerifier
	fmt.Println(errors.Is(again.Next(entries), storage.ErrChainBroken))
	// Output:
	// true
	// true
}
