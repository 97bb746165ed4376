package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// How password guessing is throttled (issue 11). Every password check —
// a login or the old password of ChangePassword — first reserves an
// attempt, atomically, against three keys (storage.GuardStore's
// ReserveAttempt):
//
//   - the login ID from this address: MaxFailures attempts, then a block
//     of Lockout, doubling with each block in a row up to MaxLockout;
//   - the login ID from anywhere: MaxFailuresPerAccount attempts (a
//     guesser spread over many addresses), same delays;
//   - the address, whatever login ID: MaxFailuresPerAddress attempts (one
//     address spraying many accounts), same delays.
//
// An attempt is counted before the password is checked, so concurrent
// logins can never check more than the limit between blocks; a right
// password resets the two login-ID keys if no other attempt was reserved
// in the meantime. A blocked key does not prevent the victim from logging
// in from another address until the per-account limit is reached, and
// never for longer than MaxLockout; an administrator lifts every block
// with Unlock.
//
// Keys are HMAC-SHA-256 under Config.Key of the login ID and address, so
// the store never holds what a caller typed into the login field.

// Refused logins (unknown login ID or a blocked key) are not audited one
// by one: they are tallied, and one "account.login-refused" entry per
// SummaryEvery records how many there were.
const refusedTally = "login-refused"

type guardKeys struct {
	rules   []storage.ThrottleRule
	subject string
}

func (s *Service) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// subject is the throttle subject of a login ID (for Unlock).
func (s *Service) subject(loginID string) string { return "u:" + s.mac("login", loginID) }

// addressKey reduces a remote address to what a guesser controls: the
// host without port, and for IPv6 the /64 network (one customer line).
func addressKey(remoteAddr string) string {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func (s *Service) keys(loginID, remoteAddr string) guardKeys {
	addr := addressKey(remoteAddr)
	subject := s.subject(loginID)
	rule := func(key, subject string, limit int) storage.ThrottleRule {
		return storage.ThrottleRule{Key: key, Subject: subject, Limit: limit, Delay: s.lockout, MaxDelay: s.maxLockout, Window: s.window}
	}
	g := guardKeys{subject: subject, rules: []storage.ThrottleRule{
		rule("la:"+s.mac("login-addr", loginID, addr), subject, s.maxFailures),
		rule("l:"+s.mac("login", loginID), subject, s.perAccount),
	}}
	if addr != "" {
		g.rules = append(g.rules, rule("a:"+s.mac("addr", addr), "", s.perAddress))
	}
	return g
}

// reserve reserves one password check for loginID from remoteAddr. It
// returns whether the check may run, and the tickets to release on success.
func (s *Service) reserve(ctx context.Context, loginID, remoteAddr string, now time.Time) (guardKeys, storage.ThrottleVerdict, error) {
	g := s.keys(loginID, remoteAddr)
	v, err := s.store.ReserveAttempt(ctx, now, g.rules)
	return g, v, err
}

// release resets the login-ID keys after a right password, unless other
// attempts were reserved since ours (then they keep counting).
func (s *Service) release(ctx context.Context, g guardKeys, v storage.ThrottleVerdict) {
	for i := 0; i < 2 && i < len(v.Tickets); i++ {
		// A failed reset leaves the count as it was: the user may meet a
		// block sooner, never later, so the error is not the caller's.
		_, _ = s.store.ResetAttempts(ctx, g.rules[i].Key, v.Tickets[i])
	}
}

// refused tallies a refused attempt and, once per SummaryEvery, writes
// the summary entry. Errors are dropped: the caller's answer is the same
// whatever happens here.
func (s *Service) refused(ctx context.Context, now time.Time) {
	n, since, due, err := s.store.Tally(ctx, refusedTally, now, s.summaryEvery)
	if err != nil || !due {
		return
	}
	_ = s.store.AppendAudit(ctx, []storage.AuditEntry{{Time: now, Action: "account.login-refused",
		Detail: "refused logins (unknown login ID or throttled) since " + since.Format(time.RFC3339) + ": " + itoa(n)}})
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// adminTarget returns the user userID if admin may manage it (an
// administrator of the user's company), else kerr.NotFound or
// kerr.PermissionDenied.
func (s *Service) adminTarget(ctx context.Context, op string, admin Principal, userID string) (*storage.User, error) {
	if !admin.Valid() {
		return nil, kerr.E(kerr.Unauthenticated, op, "log in first")
	}
	u, err := s.store.GetUser(ctx, userID)
	if errors.Is(err, kerr.NotFound) || err == nil && u.CompanyID != admin.CompanyID {
		return nil, kerr.E(kerr.NotFound, op, "user %q does not exist", userID)
	}
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if !admin.Admin {
		return nil, kerr.E(kerr.PermissionDenied, op, "only a company administrator may do this")
	}
	return u, nil
}

// Unlock lifts every login block of user userID (from every address) and
// forgets its failed attempts. Only an active administrator of the user's
// company may (kerr.PermissionDenied; a user of another company is
// kerr.NotFound). It is audited.
func (s *Service) Unlock(ctx context.Context, admin Principal, userID string) error {
	const op = "account.Unlock"
	u, err := s.manage(ctx, op, admin, userID)
	if err != nil {
		return err
	}
	_, err = s.store.ClearThrottles(ctx, s.subject(u.LoginID), s.audit(admin, "account.unlock", "user "+u.ID))
	return kerr.Wrap(op, err)
}

// EndSessions ends every session of user userID (e.g. a lost laptop) and
// reports how many there were. Only an administrator of the user's company
// may (kerr.PermissionDenied; another company's user is kerr.NotFound).
// Principals obtained before stay valid in the embedder's hands (see
// Principal); the next Authenticate with an ended session fails.
func (s *Service) EndSessions(ctx context.Context, admin Principal, userID string) (int, error) {
	const op = "account.EndSessions"
	u, err := s.manage(ctx, op, admin, userID)
	if err != nil {
		return 0, err
	}
	u.UpdatedAt = s.now()
	n, err := s.store.PutUserEndSessions(ctx, u, "", s.audit(admin, "account.sessions-end", "user "+u.ID))
	return n, kerr.Wrap(op, err)
}

// SetDisabled disables (true) or enables (false) user userID. A disabled
// user cannot log in (the answer is the same as for a wrong password) and
// every session of the user ends at once. Only an administrator of the
// user's company may, and not on itself (kerr.FailedPrecondition: the
// company would lose its last way in).
func (s *Service) SetDisabled(ctx context.Context, admin Principal, userID string, disabled bool) error {
	const op = "account.SetDisabled"
	u, err := s.manage(ctx, op, admin, userID)
	if err != nil {
		return err
	}
	if u.ID == admin.UserID {
		return kerr.E(kerr.FailedPrecondition, op, "an administrator cannot disable itself; ask another administrator")
	}
	u.Disabled, u.UpdatedAt = disabled, s.now()
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	_, err = s.store.PutUserEndSessions(ctx, u, "", s.audit(admin, action, "user "+u.ID))
	return kerr.Wrap(op, err)
}

// Prune deletes expired sessions and the throttle records that no longer
// hold anything (last attempt older than the longest block, not blocked),
// and reports how many of each. Throttle records are keyed by what callers
// typed (hashed), so guessing with many login IDs grows them: run Prune
// regularly, e.g. hourly, from a scheduled job.
func (s *Service) Prune(ctx context.Context) (sessions, throttles int, err error) {
	const op = "account.Prune"
	now := s.now()
	if sessions, err = s.store.DeleteSessionsBefore(ctx, now); err != nil {
		return 0, 0, kerr.Wrap(op, err)
	}
	throttles, err = s.store.PruneThrottles(ctx, now.Add(-s.window))
	return sessions, throttles, kerr.Wrap(op, err)
}
