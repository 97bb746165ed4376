package storagetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

func rule(key, subject string, limit int) storage.ThrottleRule {
	return storage.ThrottleRule{Key: key, Subject: subject, Limit: limit, Delay: time.Minute, MaxDelay: 3 * time.Minute, Window: time.Hour}
}

// testThrottleRace: of 40 concurrent reservations against a limit of 5,
// exactly 5 are allowed, and the key is then blocked for Delay.
func testThrottleRace(t *testing.T, s storage.Store) {
	ctx := context.Background()
	rules := []storage.ThrottleRule{rule("k-login", "subj", 5), rule("k-addr", "", 100)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	start := make(chan struct{})
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			v, err := s.ReserveAttempt(ctx, base, rules)
			if err != nil {
				t.Errorf("ReserveAttempt: %v", err)
				return
			}
			if v.Allowed {
				mu.Lock()
				allowed++
				mu.Unlock()
				if len(v.Tickets) != 2 {
					t.Errorf("tickets = %v, want one per rule", v.Tickets)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if allowed != 5 {
		t.Errorf("%d of 40 concurrent reservations allowed, want exactly 5", allowed)
	}
	th, err := s.GetThrottle(ctx, "k-login")
	if err != nil {
		t.Fatal(err)
	}
	if !th.BlockedUntil.Equal(base.Add(time.Minute)) || th.Blocks != 1 || th.Seq != 5 || th.Subject != "subj" {
		t.Errorf("throttle after the race = %+v", th)
	}
	// The refused reservations counted nothing, on any key.
	if a, err := s.GetThrottle(ctx, "k-addr"); err != nil || a.Count != 5 {
		t.Errorf("address key = %+v, %v; want a count of 5", a, err)
	}
}

// testThrottleRules: blocks double up to MaxDelay, a Window without
// attempts forgets, tickets reset only when no attempt came after them,
// subjects clear, old records are pruned, bad rules are refused.
func testThrottleRules(t *testing.T, s storage.Store) {
	ctx := context.Background()
	r := []storage.ThrottleRule{rule("k", "subj", 2)}
	reserve := func(at time.Time) storage.ThrottleVerdict {
		t.Helper()
		v, err := s.ReserveAttempt(ctx, at, r)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	now := base
	// Blocks of 1, 2, 3 (capped) minutes.
	for i, d := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
		reserve(now)
		reserve(now)
		if reserve(now.Add(d - time.Second)).Allowed {
			t.Fatalf("block %d: allowed before %v", i+1, d)
		}
		now = now.Add(d)
		if !reserve(now).Allowed {
			t.Fatalf("block %d: refused after %v", i+1, d)
		}
		if _, err := s.ResetAttempts(ctx, "nothing", 1); err != nil {
			t.Fatal(err)
		}
		// One attempt is counted; one more blocks again below.
		reserve(now)
	}
	now = now.Add(4 * time.Hour) // after a window the count and the blocks are forgotten
	reserve(now)
	reserve(now)
	if reserve(now.Add(time.Minute-time.Second)).Allowed || !reserve(now.Add(time.Minute)).Allowed {
		t.Fatal("after a quiet window: want a first block of 1 minute again")
	}
	now = now.Add(2 * time.Hour)
	v1 := reserve(now)
	v2 := reserve(now)
	if ok, err := s.ResetAttempts(ctx, "k", v1.Tickets[0]); err != nil || ok {
		t.Errorf("reset with a ticket another attempt followed: %v, %v; want false", ok, err)
	}
	if ok, err := s.ResetAttempts(ctx, "k", v2.Tickets[0]); err != nil || !ok {
		t.Errorf("reset with the latest ticket: %v, %v; want true", ok, err)
	}
	if !reserve(now).Allowed {
		t.Error("blocked after a reset")
	}
	if n, err := s.ClearThrottles(ctx, "subj", audit("account.unlock", "")); err != nil || n != 1 {
		t.Errorf("ClearThrottles = %d, %v; want 1", n, err)
	}
	if _, err := s.GetThrottle(ctx, "k"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("cleared throttle: %v", err)
	}
	reserve(now)
	if n, err := s.PruneThrottles(ctx, now); err != nil || n != 0 {
		t.Errorf("PruneThrottles of a fresh record = %d, %v", n, err)
	}
	if n, err := s.PruneThrottles(ctx, now.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("PruneThrottles = %d, %v; want 1", n, err)
	}
	for name, bad := range map[string][]storage.ThrottleRule{
		"none":          nil,
		"empty key":     {rule("", "", 1)},
		"zero limit":    {rule("k", "", 0)},
		"duplicate key": {rule("k", "", 1), rule("k", "", 1)},
	} {
		if _, err := s.ReserveAttempt(ctx, now, bad); !errors.Is(err, kerr.Invalid) {
			t.Errorf("%s: %v, want kerr.Invalid", name, err)
		}
	}
}

// testTally: a summary is due at most once per period, whatever the
// concurrency, and counts every event.
func testTally(t *testing.T, s storage.Store) {
	ctx := context.Background()
	tally := func(at time.Time) (int64, time.Time, bool) {
		n, since, due, err := s.Tally(ctx, "refused", at, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return n, since, due
	}
	for i := range 10 {
		if _, _, due := tally(base.Add(time.Duration(i) * time.Minute)); due {
			t.Fatalf("event %d: due within the first hour", i)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var dues []int64
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, since, due := tally(base.Add(time.Hour))
			if due {
				mu.Lock()
				dues = append(dues, n)
				mu.Unlock()
				if !since.Equal(base) {
					t.Errorf("since = %v, want %v", since, base)
				}
			}
		}()
	}
	wg.Wait()
	if len(dues) != 1 || dues[0] < 11 {
		t.Errorf("due summaries %v, want exactly one, counting at least 11 events", dues)
	}
	if _, _, _, err := s.Tally(ctx, "", base, time.Hour); !errors.Is(err, kerr.Invalid) {
		t.Errorf("empty key: %v", err)
	}
}

// testPutUserEndSessions: the user and the deletion of its other sessions
// commit together, or, on a stale version, not at all.
func testPutUserEndSessions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if err := s.PutCompany(ctx, &storage.Company{ID: "c1", Name: "C", CreatedAt: base}, audit("company.create", "")); err != nil {
		t.Fatal(err)
	}
	u := &storage.User{ID: "u1", CompanyID: "c1", LoginID: "taro", PasswordHash: "h1", CreatedAt: base}
	if err := s.PutUser(ctx, u, audit("user.create", "")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []byte{'a', 'b', 'c'} {
		ss := &storage.Session{TokenHash: hex64(c), UserID: "u1", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
		if err := s.PutSession(ctx, ss, audit("account.login", "")); err != nil {
			t.Fatal(err)
		}
	}
	other := &storage.Session{TokenHash: hex64('d'), UserID: "u2", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.PutSession(ctx, other, audit("account.login", "")); err != nil {
		t.Fatal(err)
	}
	stale := *u
	stale.Version = 0
	stale.ID = "u1"
	stale.Version = u.Version + 5
	if _, err := s.PutUserEndSessions(ctx, &stale, "", audit("user.disable", "")); !errors.Is(err, kerr.Conflict) {
		t.Errorf("stale version: %v, want kerr.Conflict", err)
	}
	if _, err := s.GetSession(ctx, hex64('a')); err != nil {
		t.Errorf("a refused PutUserEndSessions deleted a session: %v", err)
	}
	u.PasswordHash = "h2"
	a := audit("account.password-change", "")
	n, err := s.PutUserEndSessions(ctx, u, hex64('b'), a)
	if err != nil || n != 2 {
		t.Fatalf("PutUserEndSessions = %d, %v; want 2", n, err)
	}
	if a[0].Seq == 0 || u.Version != 2 {
		t.Errorf("audit seq %d, version %d after the commit", a[0].Seq, u.Version)
	}
	for c, want := range map[byte]bool{'a': false, 'b': true, 'c': false, 'd': true} {
		if _, err := s.GetSession(ctx, hex64(c)); (err == nil) != want {
			t.Errorf("session %c: %v, want kept=%v", c, err, want)
		}
	}
	if got, err := s.GetUser(ctx, "u1"); err != nil || got.PasswordHash != "h2" {
		t.Errorf("user after PutUserEndSessions = %+v, %v", got, err)
	}
}
