package storage

import (
	"context"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
)

// GuardStore keeps what account needs to resist password guessing and to
// end sessions: attempt throttles and session revocation. Like every Store
// method these are safe for concurrent use, and every decision named
// "atomic" below is taken inside one transaction, so that concurrent
// callers see each other's effect.
type GuardStore interface {
	// ReserveAttempt decides, atomically for all rules together, whether
	// one more password check may run at now. If any rule's key is blocked
	// at now (BlockedUntil after now), nothing is written and the verdict
	// is not Allowed. Otherwise every rule's key counts one more attempt
	// (the attempt is counted before the check, so that concurrent
	// callers can never check more than Limit passwords between two
	// blocks), and a key whose count reaches its Limit is blocked for its
	// next delay; the verdict is Allowed and carries one Ticket per rule.
	//
	// Count rules: a key's count restarts at zero when its last attempt
	// is older than the rule's Window; a block lasts Delay·2^(n-1),
	// capped at MaxDelay, for the n-th block in a row; n restarts when a
	// Window passes after a block ended without an attempt. Rules must
	// have a Key of 1 to 128 bytes, a positive Limit, Delay, MaxDelay and
	// Window (else kerr.Invalid); at most 8 rules.
	ReserveAttempt(ctx context.Context, now time.Time, rules []ThrottleRule) (ThrottleVerdict, error)
	// ResetAttempts forgets the count and blocks of key if the key's last
	// reservation is still the one that returned ticket (no other attempt
	// was reserved since); otherwise it changes nothing. It reports
	// whether it reset. A missing key is not an error (false).
	ResetAttempts(ctx context.Context, key string, ticket int64) (bool, error)
	// ClearThrottles removes every throttle record whose Subject is
	// subject (an administrator's unlock) together with the audit
	// entries, and reports how many it removed.
	ClearThrottles(ctx context.Context, subject string, audit []AuditEntry) (int, error)
	// GetThrottle returns the record of key, or kerr.NotFound.
	GetThrottle(ctx context.Context, key string) (*Throttle, error)
	// PruneThrottles deletes the records whose last attempt is before t
	// and that are not blocked at t, and reports how many.
	PruneThrottles(ctx context.Context, t time.Time) (int, error)

	// Tally counts one event under key (e.g. a refused login whose
	// attempt is not audited one by one) and decides, atomically, whether
	// the caller must now write the summary: when the key's tally began
	// at least every before now, Tally returns the count including this
	// event and the time the tally began, with due true, and restarts the
	// tally; otherwise due is false. So at most one summary per key per
	// period is ever due, whatever the rate of events.
	Tally(ctx context.Context, key string, now time.Time, every time.Duration) (n int64, since time.Time, due bool, err error)

	// PutUserEndSessions writes u under PutUser's rules and, in the same
	// transaction, deletes every session of u.ID except the one whose
	// token hash is keep (empty keeps none), with the audit entries. It
	// reports how many sessions it deleted. On any error nothing is
	// written.
	PutUserEndSessions(ctx context.Context, u *User, keep string, audit []AuditEntry) (int, error)
}

// ThrottleRule is one key an attempt counts against, with its limits.
type ThrottleRule struct {
	// Key names the record (account keeps keyed hashes here, never what
	// a caller typed). Subject groups records for ClearThrottles; may be
	// empty.
	Key     string
	Subject string
	Limit   int
	// Delay is the first block; each further block in a row doubles it,
	// up to MaxDelay. Window is how long an attempt is remembered.
	Delay    time.Duration
	MaxDelay time.Duration
	Window   time.Duration
}

// CheckThrottleRules returns the kerr.Invalid error, under op, that every
// backend gives for rules ReserveAttempt refuses.
func CheckThrottleRules(op string, rules []ThrottleRule) error {
	if len(rules) == 0 || len(rules) > 8 {
		return kerr.E(kerr.Invalid, op, "give 1 to 8 throttle rules, not %d", len(rules))
	}
	seen := map[string]bool{}
	for _, r := range rules {
		if len(r.Key) == 0 || len(r.Key) > 128 || len(r.Subject) > 128 || seen[r.Key] {
			return kerr.E(kerr.Invalid, op, "throttle keys and subjects must be 1 to 128 bytes and keys distinct")
		}
		seen[r.Key] = true
		if r.Limit <= 0 || r.Delay <= 0 || r.MaxDelay <= 0 || r.Window <= 0 {
			return kerr.E(kerr.Invalid, op, "throttle rule %q needs a positive Limit, Delay, MaxDelay and Window", r.Key)
		}
	}
	return nil
}

// ThrottleVerdict is the outcome of ReserveAttempt.
type ThrottleVerdict struct {
	Allowed bool
	// Tickets, when Allowed, hold one reservation number per rule, in
	// rule order, for ResetAttempts.
	Tickets []int64
}

// Throttle is the stored state of one throttle key.
type Throttle struct {
	Key     string
	Subject string
	// Count is the attempts counted since the last block or reset; Seq
	// numbers every reservation ever made (the ticket); Blocks is the
	// number of blocks in a row.
	Count        int
	Seq          int64
	Blocks       int
	LastAt       time.Time
	BlockedUntil time.Time
}

// Next applies one reserved attempt at now under rule r to t and returns
// the new state (Seq grows by one). Backends call it inside the
// transaction, after checking that t is not blocked at now, so that every
// backend counts alike.
func (t Throttle) Next(r ThrottleRule, now time.Time) Throttle {
	if !t.LastAt.IsZero() && now.Sub(t.LastAt) >= r.Window {
		t.Count = 0
		if !t.BlockedUntil.IsZero() && now.Sub(t.BlockedUntil) >= r.Window {
			t.Blocks = 0
		}
	}
	t.Key, t.Subject = r.Key, r.Subject
	t.Seq++
	t.Count++
	t.LastAt = now
	if t.Count >= r.Limit {
		t.Blocks++
		d := r.Delay
		for i := 1; i < t.Blocks && d < r.MaxDelay; i++ {
			d *= 2
		}
		t.BlockedUntil = now.Add(min(d, r.MaxDelay))
		t.Count = 0
	}
	return t
}
