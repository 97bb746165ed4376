package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
)

// TestGroupCommit: many writers at once are committed in groups, and a
// write that fails inside a group (a duplicate outbox event, a stale
// version, an ended context) leaves nothing while the others of its group
// commit; the audit chain stays whole.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	defer s.Close()
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id string) *storage.Case {
		return &storage.Case{ID: id, Form: "bilateral", State: "sent", Category: "new", Name: "契約 " + id, Amount: 1, Currency: "JPY",
			TransactionDate: civil.DateOf(at), RegistrantCompanyID: "co1", RegistrantUserID: "u1",
			Parties: []storage.Party{{CompanyID: "co2", CompanyName: "B", UserID: "u2"}}, CreatedAt: at, UpdatedAt: at}
	}
	commit := func(ctx context.Context, c *storage.Case, eventID string) error {
		return s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: []storage.AuditEntry{{Time: at, Action: "case.register", CaseID: c.ID}},
			Events: []storage.Event{{ID: eventID, Type: "t", CaseID: c.ID, CreatedAt: at}}})
	}
	if err := commit(ctx, mk("old"), "taken"); err != nil {
		t.Fatal(err)
	}
	const rounds, writers = 20, 16
	ended, cancel := context.WithCancel(ctx)
	cancel()
	want := map[string]bool{}
	var mu sync.Mutex
	for round := range rounds {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			id := fmt.Sprintf("c%02d-%02d", round, w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var err error
				switch w % 4 {
				case 1: // a duplicate event: Conflict, nothing of it stays
					err = commit(ctx, mk(id), "taken")
					if !errors.Is(err, kerr.Conflict) {
						t.Errorf("%s with a taken event ID: err = %v, want Conflict", id, err)
					}
				case 2: // a stale version of a case that does not exist
					c := mk(id)
					c.Version = 3
					err = commit(ctx, c, "e-"+id)
					if !errors.Is(err, kerr.NotFound) {
						t.Errorf("%s updating a missing case: err = %v, want NotFound", id, err)
					}
				case 3:
					if w == 3 { // an ended context
						err = commit(ended, mk(id), "e-"+id)
						if !errors.Is(err, context.Canceled) {
							t.Errorf("%s with an ended context: err = %v", id, err)
						}
						return
					}
					fallthrough
				default:
					if err = commit(ctx, mk(id), "e-"+id); err != nil {
						t.Errorf("%s: %v", id, err)
					}
					mu.Lock()
					want[id] = true
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		for w := range writers {
			id := fmt.Sprintf("c%02d-%02d", round, w)
			_, err := s.GetCase(ctx, id)
			if want[id] != (err == nil) {
				t.Errorf("case %s stored = %v, want %v", id, err == nil, want[id])
			}
		}
	}
	n, err := storage.VerifyChain(ctx, s)
	if err != nil || n != int64(len(want))+1 {
		t.Errorf("audit chain: %d entries, %v; want %d", n, err, len(want)+1)
	}
	due, err := s.DueEvents(ctx, at.Add(time.Hour), 1000)
	if err != nil || len(due) != len(want)+1 {
		t.Errorf("outbox: %d events, %v; want %d", len(due), err, len(want)+1)
	}
	groups, writes := sqlite.GroupStats(s)
	t.Logf("%d writes in %d groups", writes, groups)
	if groups >= writes {
		t.Errorf("%d writes in %d groups: none was grouped", writes, groups)
	}
}

// TestWritePanicReleasesStore: a write whose function panics fails its
// group, rolls its transaction back and leaves the store usable.
func TestWritePanicReleasesStore(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	defer s.Close()
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not reach the caller")
			}
		}()
		sqlite.PanicInWrite(ctx, s)
	}()
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	done := make(chan error, 1)
	go func() {
		done <- s.AppendAudit(ctx, []storage.AuditEntry{{Time: at, Action: "after.panic"}})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the store is stuck after a panicking write")
	}
	if n, err := storage.VerifyChain(ctx, s); err != nil || n != 1 {
		t.Fatalf("audit after the panic: %d entries, %v; want only the later one", n, err)
	}
}
