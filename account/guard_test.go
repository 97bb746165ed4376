package account_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
)

const adminPW = "violet harbor lantern 42"

func newGuarded(t testing.TB, cfg account.Config) (*account.Service, *sqlite.Store, *clock) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	cfg.Store, cfg.Clock = st, clk.now
	if cfg.Params == (account.Params{}) {
		cfg.Params = fast
	}
	svc, err := account.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc, st, clk
}

func countAudit(t *testing.T, st storage.AuditStore, keep func(storage.AuditEntry) bool) int {
	t.Helper()
	n := 0
	for after := int64(0); ; {
		page, err := st.ListAudit(context.Background(), after, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return n
		}
		for _, e := range page {
			if keep(e) {
				n++
			}
		}
		after = page[len(page)-1].Seq
	}
}

func isBadCredentials(err error) bool {
	return errors.Is(err, kerr.Unauthenticated) && errors.Is(err, account.ErrBadCredentials) &&
		!errors.Is(err, kerr.Conflict) && !errors.Is(err, account.ErrLocked)
}

// TestParallelLoginsCheckAtMostThreshold: 40 logins at once, 39 with wrong
// passwords and one right, against a threshold of 5: at most 5 passwords
// are checked (each check leaves either a login-failed entry or a
// session), and every failure is the same ErrBadCredentials, never a
// storage conflict.
func TestParallelLoginsCheckAtMostThreshold(t *testing.T) {
	svc, st, _ := newGuarded(t, account.Config{MaxFailures: 5})
	p := onboard(t, svc, "admin")
	ctx := context.Background()
	before := countAudit(t, st, func(e storage.AuditEntry) bool { return e.ActorUserID == p.UserID && e.Action == "account.login" })
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := "wrong guess " + strings.Repeat("x", i)
			if i == 17 {
				pw = adminPW
			}
			<-start
			_, errs[i] = svc.Login(ctx, "admin", pw, "198.51.100.7")
		}()
	}
	close(start)
	wg.Wait()
	var msg string
	for i, err := range errs {
		if err == nil {
			continue
		}
		if !isBadCredentials(err) {
			t.Errorf("login %d: %v, want only kerr.Unauthenticated wrapping ErrBadCredentials", i, err)
		}
		if msg == "" {
			msg = err.Error()
		} else if err.Error() != msg {
			t.Errorf("login %d answered %q, another %q: failures must look the same", i, err, msg)
		}
	}
	failed := countAudit(t, st, func(e storage.AuditEntry) bool {
		return e.ActorUserID == p.UserID && e.Action == "account.login-failed"
	})
	logins := countAudit(t, st, func(e storage.AuditEntry) bool { return e.ActorUserID == p.UserID && e.Action == "account.login" }) - before
	if failed+logins > 5 {
		t.Errorf("%d wrong and %d right passwords were checked; at most 5 may be", failed, logins)
	}
	if failed+logins == 0 {
		t.Error("no password was checked at all")
	}
}

// TestIdenticalAnswers: an unknown login ID, a wrong password, a blocked
// account and a disabled user get the same error, message included.
func TestIdenticalAnswers(t *testing.T) {
	svc, _, _ := newGuarded(t, account.Config{MaxFailures: 3})
	ctx := context.Background()
	admin := onboard(t, svc, "admin")
	onboard(t, svc, "victim")
	u, _, err := svc.CreateUser(ctx, admin, account.NewUser{LoginID: "leaver"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetDisabled(ctx, admin, u.ID, true); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, _ = svc.Login(ctx, "victim", "wrong password", "")
	}
	answers := map[string]error{}
	_, answers["unknown"] = svc.Login(ctx, "nobody", "whatever password", "")
	_, answers["wrong"] = svc.Login(ctx, "admin", "wrong password", "")
	_, answers["blocked, right password"] = svc.Login(ctx, "victim", adminPW, "")
	_, answers["disabled"] = svc.Login(ctx, "leaver", "anything at all", "")
	_, answers["oversized password"] = svc.Login(ctx, "admin", strings.Repeat("x", account.MaxPasswordLen+1), "")
	want := answers["wrong"].Error()
	for name, err := range answers {
		if !isBadCredentials(err) || err.Error() != want {
			t.Errorf("%s: %v, want the same answer as a wrong password (%s)", name, err, want)
		}
	}
}

// TestThrottleIsPerAddressAndGrows: a guesser's address is blocked for
// Lockout, then twice as long; the victim logs in meanwhile from its own
// address; an administrator's Unlock lifts the block.
func TestThrottleIsPerAddressAndGrows(t *testing.T) {
	svc, _, clk := newGuarded(t, account.Config{MaxFailures: 3, Lockout: 10 * time.Minute})
	ctx := context.Background()
	admin := onboard(t, svc, "admin")
	onboard(t, svc, "victim")
	const attacker, home = "203.0.113.66:4431", "192.0.2.10:5000"
	guess := func() {
		for range 3 {
			if _, err := svc.Login(ctx, "victim", "wrong password", attacker); !isBadCredentials(err) {
				t.Fatalf("guess: %v", err)
			}
		}
	}
	login := func(addr string) error { _, err := svc.Login(ctx, "victim", adminPW, addr); return err }
	guess()
	if err := login(attacker); !isBadCredentials(err) {
		t.Fatalf("right password from the blocked address: %v, want refused", err)
	}
	if err := login(home); err != nil {
		t.Fatalf("the victim from its own address: %v", err)
	}
	// Other ports of the same host are the same address.
	if err := login("203.0.113.66:9999"); !isBadCredentials(err) {
		t.Fatalf("another port of the blocked host: %v, want refused", err)
	}
	clk.add(10*time.Minute + time.Second)
	guess() // the second block in a row lasts 20 minutes
	clk.add(10*time.Minute + time.Second)
	if err := login(attacker); !isBadCredentials(err) {
		t.Fatalf("second block after 10 minutes: %v, want still refused", err)
	}
	clk.add(10 * time.Minute)
	if err := login(attacker); err != nil {
		t.Fatalf("second block after 20 minutes: %v", err)
	}
	guess()
	if err := login(attacker); !isBadCredentials(err) {
		t.Fatalf("blocked again: %v", err)
	}
	victim, err := svc.Login(ctx, "victim", adminPW, home)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Unlock(ctx, victim.Principal, "x"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("Unlock of an unknown user: %v", err)
	}
	if err := svc.Unlock(ctx, admin, victim.Principal.UserID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("Unlock by another company's administrator: %v, want kerr.NotFound", err)
	}
	if err := svc.Unlock(ctx, victim.Principal, victim.Principal.UserID); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := login(attacker); err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
}

// TestRefusedLoginsAreSummarised: unknown login IDs add at most one audit
// entry per SummaryEvery, and what was typed as the login ID is stored
// nowhere in the audit log.
func TestRefusedLoginsAreSummarised(t *testing.T) {
	svc, st, clk := newGuarded(t, account.Config{MaxFailures: 3, SummaryEvery: time.Hour})
	ctx := context.Background()
	onboard(t, svc, "admin")
	all := func(storage.AuditEntry) bool { return true }
	before := countAudit(t, st, all)
	const typed = "Hunter2-my-real-password"
	for i := range 50 {
		if _, err := svc.Login(ctx, typed+strings.Repeat("!", i%3), "x", "198.51.100.1"); !isBadCredentials(err) {
			t.Fatal(err)
		}
	}
	if n := countAudit(t, st, all) - before; n > 1 {
		t.Errorf("50 unknown logins added %d audit entries, want at most 1", n)
	}
	clk.add(time.Hour)
	_, _ = svc.Login(ctx, typed, "x", "198.51.100.2")
	if n := countAudit(t, st, func(e storage.AuditEntry) bool { return e.Action == "account.login-refused" }); n != 1 {
		t.Errorf("%d summaries after an hour, want 1", n)
	}
	if n := countAudit(t, st, func(e storage.AuditEntry) bool {
		return strings.Contains(e.Detail+e.ActorUserID+e.Action, "Hunter2")
	}); n != 0 {
		t.Errorf("%d audit entries hold what was typed as the login ID", n)
	}
	if _, err := st.GetThrottle(ctx, typed); !errors.Is(err, kerr.NotFound) {
		t.Errorf("a throttle is stored under the typed login ID: %v", err)
	}
}

// TestPasswordChangeEndsOtherSessions: the session used keeps working, the
// others end; a wrong old password is throttled like a login.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	svc, _, _ := newGuarded(t, account.Config{MaxFailures: 3})
	ctx := context.Background()
	onboard(t, svc, "admin")
	a, err := svc.Login(ctx, "admin", adminPW, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Login(ctx, "admin", adminPW, "192.0.2.2")
	if err != nil {
		t.Fatal(err)
	}
	const next = "saffron kettle meadow 88"
	if err := svc.ChangePassword(ctx, a.Token, adminPW, next, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, a.Token, ""); err != nil {
		t.Errorf("the session that changed the password: %v", err)
	}
	if _, err := svc.Authenticate(ctx, b.Token, ""); !errors.Is(err, account.ErrSessionExpired) {
		t.Errorf("another session after a password change: %v, want ErrSessionExpired", err)
	}
	for range 3 {
		if err := svc.ChangePassword(ctx, a.Token, "not the password", "orchid lantern river 5", "192.0.2.1"); !isBadCredentials(err) {
			t.Fatalf("wrong old password: %v", err)
		}
	}
	if err := svc.ChangePassword(ctx, a.Token, next, "orchid lantern river 5", "192.0.2.1"); !isBadCredentials(err) {
		t.Errorf("right old password after 3 wrong: %v, want refused like a login", err)
	}
	if _, err := svc.Login(ctx, "admin", next, "192.0.2.1"); !isBadCredentials(err) {
		t.Errorf("login from the same address after 3 wrong old passwords: %v, want refused", err)
	}
}

// TestEndSessionsAndDisable: an administrator ends a user's sessions, and
// disabling a user ends them too and refuses its logins until enabled.
func TestEndSessionsAndDisable(t *testing.T) {
	svc, _, _ := newGuarded(t, account.Config{})
	ctx := context.Background()
	admin := onboard(t, svc, "admin")
	other := onboard(t, svc, "other")
	u, pw, err := svc.CreateUser(ctx, admin, account.NewUser{LoginID: "hanako"})
	if err != nil {
		t.Fatal(err)
	}
	s1, err := svc.Login(ctx, "hanako", pw, "")
	if err != nil {
		t.Fatal(err)
	}
	const newPW = "tangerine glacier violin 3"
	if err := svc.ChangePassword(ctx, s1.Token, pw, newPW, ""); err != nil {
		t.Fatal(err)
	}
	user := s1.Principal
	for _, tc := range []struct {
		name string
		p    account.Principal
		want error
	}{
		{"the user itself", user, kerr.PermissionDenied},
		{"another company's administrator", other, kerr.NotFound},
		{"no principal", account.Principal{}, kerr.Unauthenticated},
	} {
		if _, err := svc.EndSessions(ctx, tc.p, u.ID); !errors.Is(err, tc.want) {
			t.Errorf("EndSessions by %s: %v, want %v", tc.name, err, tc.want)
		}
		if err := svc.SetDisabled(ctx, tc.p, u.ID, true); !errors.Is(err, tc.want) {
			t.Errorf("SetDisabled by %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	s2, err := svc.Login(ctx, "hanako", newPW, "")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := svc.EndSessions(ctx, admin, u.ID); err != nil || n != 2 {
		t.Fatalf("EndSessions = %d, %v; want 2 sessions ended", n, err)
	}
	for _, tok := range []string{s1.Token, s2.Token} {
		if _, err := svc.Authenticate(ctx, tok, ""); !errors.Is(err, account.ErrSessionExpired) {
			t.Errorf("session after EndSessions: %v", err)
		}
	}
	s3, err := svc.Login(ctx, "hanako", newPW, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetDisabled(ctx, admin, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, s3.Token, ""); !errors.Is(err, account.ErrSessionExpired) {
		t.Errorf("session of a disabled user: %v", err)
	}
	if _, err := svc.Login(ctx, "hanako", newPW, ""); !isBadCredentials(err) {
		t.Errorf("login of a disabled user: %v", err)
	}
	if err := svc.SetDisabled(ctx, admin, admin.UserID, true); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("disabling oneself: %v", err)
	}
	if err := svc.SetDisabled(ctx, admin, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, "hanako", newPW, ""); err != nil {
		t.Errorf("login after enabling: %v", err)
	}
}

// TestPrune: throttle records of guessed login IDs go once nothing in them
// matters any more, and so do expired sessions.
func TestPrune(t *testing.T) {
	svc, _, clk := newGuarded(t, account.Config{MaxFailures: 3, Lockout: time.Minute, MaxLockout: time.Hour, SessionTTL: time.Hour})
	ctx := context.Background()
	onboard(t, svc, "admin")
	for i := range 5 {
		_, _ = svc.Login(ctx, "guess"+strings.Repeat("x", i), "pw", "198.51.100.1")
	}
	if _, n, err := svc.Prune(ctx); err != nil || n != 0 {
		t.Fatalf("Prune at once = %d, %v; want nothing pruned", n, err)
	}
	clk.add(time.Hour + time.Minute)
	sessions, throttles, err := svc.Prune(ctx)
	// 5 guessed login IDs × 2 keys, the address, and the keys of
	// onboard's logins; onboard's session expired.
	if err != nil || throttles < 11 || sessions != 1 {
		t.Errorf("Prune after an hour = %d sessions, %d throttles, %v", sessions, throttles, err)
	}
}
