package account_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/postgres"
	"github.com/keiyaku/keiyaku/storage/sqlite"
)

// backendStore is what these tests need of a backend.
type backendStore interface {
	account.Store
	storage.TokenStore
	storage.UserAccessStore
}

// onBackends runs fn on a fresh SQLite store and on a fresh PostgreSQL
// schema (skipped, or failed under CI, without KEIYAKU_POSTGRES_DSN).
func onBackends(t *testing.T, fn func(t *testing.T, svc *account.Service, st backendStore, clk *clock)) {
	open := map[string]func(t *testing.T) backendStore{
		"sqlite": func(t *testing.T) backendStore {
			st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "a.db")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) backendStore {
			dsn := testenv.Env(t, "KEIYAKU_POSTGRES_DSN", "a PostgreSQL connection string for a database the tests may create schemas in")
			ctx := context.Background()
			var b [6]byte
			_, _ = rand.Read(b[:])
			schema := "kt_" + hex.EncodeToString(b[:])
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				conn, err := pgx.Connect(ctx, dsn)
				if err != nil {
					t.Errorf("cleanup: %v", err)
					return
				}
				defer conn.Close(ctx)
				if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			})
			st, err := postgres.Open(ctx, postgres.Config{DSN: dsn, Schema: schema})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			st := open[name](t)
			clk := &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
			svc, err := account.New(account.Config{Store: st, Clock: clk.now, Params: fast, MaxFailures: 3, Lockout: 10 * time.Minute, SessionTTL: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			fn(t, svc, st, clk)
		})
	}
}

const userPassword = "amber meadow quartz 77"

// member creates a user of admin's company that has changed its initial
// password to userPassword (logging in from addr), and returns it with
// its principal and session token.
func member(t *testing.T, svc *account.Service, admin account.Principal, login string, isAdmin bool, addr string) (account.Principal, string) {
	t.Helper()
	ctx := context.Background()
	_, pw, err := svc.CreateUser(ctx, admin, account.NewUser{LoginID: login, Admin: isAdmin, Profile: storage.Profile{Name: login}})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := svc.Login(ctx, login, pw, addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ChangePassword(ctx, ss.Token, pw, userPassword, addr); err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, ss.Token, addr)
	if err != nil {
		t.Fatal(err)
	}
	return p, ss.Token
}

// TestAdminAuthorization runs every administration operation as the
// company administrator, an ordinary user of the same company, another
// company's administrator and a disabled administrator.
func TestAdminAuthorization(t *testing.T) {
	onBackends(t, func(t *testing.T, svc *account.Service, st backendStore, clk *clock) {
		ctx := context.Background()
		admin := onboard(t, svc, "admin-a")
		other := onboard(t, svc, "admin-b")
		user, _ := member(t, svc, admin, "taro", false, "192.0.2.1")
		gone, _ := member(t, svc, admin, "jiro", true, "192.0.2.1")
		if err := svc.SetDisabled(ctx, admin, gone.UserID, true); err != nil {
			t.Fatal(err)
		}
		target := user.UserID
		n := 0
		ops := map[string]func(p account.Principal) error{
			"ListUsers": func(p account.Principal) error {
				list, err := svc.ListUsers(ctx, p)
				for _, u := range list {
					if u.CompanyID != p.CompanyID {
						t.Errorf("ListUsers of %s shows user %s of company %s", p.CompanyID, u.ID, u.CompanyID)
					}
				}
				return err
			},
			"ViewUser": func(p account.Principal) error { _, err := svc.ViewUser(ctx, p, target); return err },
			"CreateUser": func(p account.Principal) error {
				n++
				u, _, err := svc.CreateUser(ctx, p, account.NewUser{LoginID: fmt.Sprintf("new%d", n)})
				if err == nil && u.CompanyID != p.CompanyID {
					t.Errorf("CreateUser made a user of %s for %s", u.CompanyID, p.CompanyID)
				}
				return err
			},
			"ResetPassword": func(p account.Principal) error { _, err := svc.ResetPassword(ctx, p, target); return err },
			"SetAllowList": func(p account.Principal) error {
				_, err := svc.SetAllowList(ctx, p, target, []string{"192.0.2.0/24"})
				return err
			},
			"DeleteAllowList": func(p account.Principal) error { _, err := svc.SetAllowList(ctx, p, target, nil); return err },
			"Unlock":          func(p account.Principal) error { return svc.Unlock(ctx, p, target) },
			"EndSessions":     func(p account.Principal) error { _, err := svc.EndSessions(ctx, p, target); return err },
			"Disable":         func(p account.Principal) error { return svc.SetDisabled(ctx, p, target, true) },
			"Enable":          func(p account.Principal) error { return svc.SetDisabled(ctx, p, target, false) },
		}
		// Operations without a target act on the caller's own company,
		// so another company's administrator may run them there.
		untargeted := map[string]bool{"ListUsers": true, "CreateUser": true}
		principals := []struct {
			name string
			p    account.Principal
			want func(op string) error
		}{
			{"ordinary user", user, func(string) error { return kerr.PermissionDenied }},
			{"other company's admin", other, func(op string) error {
				if untargeted[op] {
					return nil
				}
				return kerr.NotFound
			}},
			{"disabled admin", gone, func(string) error { return kerr.Unauthenticated }},
			{"no principal", account.Principal{}, func(string) error { return kerr.Unauthenticated }},
			{"company admin", admin, func(string) error { return nil }},
		}
		names := make([]string, 0, len(ops))
		for name := range ops {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, pr := range principals {
			for _, name := range names {
				err := ops[name](pr.p)
				want := pr.want(name)
				if want == nil && err != nil || want != nil && !errors.Is(err, want) {
					t.Errorf("%s by %s: err = %v, want %v", name, pr.name, err, want)
				}
			}
		}
	})
}

// TestUserManagement checks what the administrator sees and does.
func TestUserManagement(t *testing.T) {
	onBackends(t, func(t *testing.T, svc *account.Service, st backendStore, clk *clock) {
		ctx := context.Background()
		admin := onboard(t, svc, "admin-a")
		onboard(t, svc, "admin-b")
		loginAt := clk.now()
		user, token := member(t, svc, admin, "taro", false, "192.0.2.1")
		if _, _, err := svc.CreateUser(ctx, admin, account.NewUser{LoginID: "taro"}); !errors.Is(err, kerr.Conflict) {
			t.Errorf("CreateUser with a taken login ID err = %v", err)
		}

		// Three wrong passwords block the login ID (MaxFailures 3).
		clk.add(time.Minute)
		for range 3 {
			if _, err := svc.Login(ctx, "taro", "wrong password 123", "198.51.100.1"); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("wrong password err = %v", err)
			}
		}
		list, err := svc.ListUsers(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 {
			t.Fatalf("ListUsers = %d users, want 2 (the administrator and taro)", len(list))
		}
		var got *account.UserInfo
		for _, u := range list {
			if u.ID == user.UserID {
				got = u
			}
		}
		if got == nil || got.LoginID != "taro" || got.Admin || got.Disabled || got.MustChangePassword || got.Profile.Name != "taro" ||
			!got.Blocked() || !got.BlockedUntil.Equal(clk.now().Add(10*time.Minute)) || !got.LastLoginAt.Equal(loginAt) {
			t.Errorf("ListUsers entry of taro = %+v (blocked %v)", got, got.Blocked())
		}
		if err := svc.Unlock(ctx, admin, user.UserID); err != nil {
			t.Fatal(err)
		}
		if v, err := svc.ViewUser(ctx, admin, user.UserID); err != nil || v.Blocked() {
			t.Errorf("after Unlock: %+v, %v", v, err)
		}
		if err := svc.SetDisabled(ctx, admin, user.UserID, true); err != nil {
			t.Fatal(err)
		}
		if v, err := svc.ViewUser(ctx, admin, user.UserID); err != nil || !v.Disabled {
			t.Errorf("after SetDisabled: %+v, %v", v, err)
		}
		if err := svc.SetDisabled(ctx, admin, user.UserID, false); err != nil {
			t.Fatal(err)
		}

		// Reset: a new initial password, the old one and the sessions gone.
		ss2, err := svc.Login(ctx, "taro", userPassword, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		pw, err := svc.ResetPassword(ctx, admin, user.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, ss2.Token, "192.0.2.1"); !errors.Is(err, account.ErrSessionExpired) {
			t.Errorf("session after reset err = %v", err)
		}
		_ = token
		if _, err := svc.Login(ctx, "taro", userPassword, "192.0.2.1"); !errors.Is(err, account.ErrBadCredentials) {
			t.Errorf("old password after reset err = %v", err)
		}
		clk.add(time.Minute)
		ss3, err := svc.Login(ctx, "taro", pw, "192.0.2.1")
		if err != nil || !ss3.MustChangePassword {
			t.Fatalf("login with the reset password = %+v, %v", ss3, err)
		}
		if _, err := svc.Authenticate(ctx, ss3.Token, "192.0.2.1"); !errors.Is(err, account.ErrPasswordChangeRequired) {
			t.Errorf("Authenticate before changing the reset password err = %v", err)
		}
		if v, err := svc.ViewUser(ctx, admin, user.UserID); err != nil || !v.MustChangePassword || !v.LastLoginAt.Equal(clk.now()) {
			t.Errorf("after reset and login: %+v, %v", v, err)
		}
		if _, err := svc.ResetPassword(ctx, admin, admin.UserID); !errors.Is(err, kerr.FailedPrecondition) {
			t.Errorf("ResetPassword of oneself err = %v", err)
		}
		if n := countAudit(t, st, func(e storage.AuditEntry) bool { return e.Action == "account.password-reset" }); n != 1 {
			t.Errorf("password-reset audit entries = %d, want 1", n)
		}
	})
}

// TestAllowList locks a user out with an allow-list at login (after the
// right password), at Authenticate of an existing session and at
// AuthenticateToken, and lets it back in when the administrator changes
// the list.
func TestAllowList(t *testing.T) {
	onBackends(t, func(t *testing.T, svc *account.Service, st backendStore, clk *clock) {
		ctx := context.Background()
		admin := onboard(t, svc, "admin-a")
		const office = "192.0.2.10"
		user, session := member(t, svc, admin, "taro", false, office)
		_, secret, err := svc.CreateToken(ctx, user, account.NewToken{Name: "ERP", Scope: account.ScopeRead})
		if err != nil {
			t.Fatal(err)
		}
		set, err := svc.SetAllowList(ctx, admin, user.UserID, []string{" 198.51.100.0/24", "2001:db8:1::9/48", "198.51.100.3"})
		if err != nil {
			t.Fatal(err)
		}
		want := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:1::/48"), netip.MustParsePrefix("198.51.100.3/32")}
		if !slices.Equal(set, want) {
			t.Errorf("SetAllowList = %v, want %v", set, want)
		}
		if v, err := svc.ViewUser(ctx, admin, user.UserID); err != nil || !slices.Equal(v.AllowList, want) {
			t.Errorf("ViewUser allow-list = %v, %v", v.AllowList, err)
		}

		denied := func(err error) bool {
			return errors.Is(err, account.ErrAddressNotAllowed) && errors.Is(err, kerr.PermissionDenied)
		}
		calls := map[string]func(addr string) error{
			"Login": func(addr string) error { _, err := svc.Login(ctx, "taro", userPassword, addr); return err },
			"Authenticate": func(addr string) error {
				_, err := svc.Authenticate(ctx, session, addr)
				return err
			},
			"AuthenticateToken": func(addr string) error { _, _, err := svc.AuthenticateToken(ctx, secret, addr); return err },
		}
		addrs := []struct {
			addr string
			ok   bool
		}{
			{office, false},
			{office + ":443", false},
			{"", false},
			{"not an address", false},
			{"2001:db8:2::1", false},
			{"198.51.100.77", true},
			{"198.51.100.77:52000", true},
			{"::ffff:198.51.100.77", true},
			{"[2001:db8:1:ffff::1]:8443", true},
			{"2001:db8:1::1", true},
		}
		for name, call := range calls {
			for _, a := range addrs {
				err := call(a.addr)
				if a.ok && err != nil || !a.ok && !denied(err) {
					t.Errorf("%s from %q: err = %v, want allowed %v", name, a.addr, err, a.ok)
				}
			}
		}
		// A wrong password from outside is a wrong password: the address
		// refusal comes only after the password is verified.
		if _, err := svc.Login(ctx, "taro", "wrong password 123", office); !errors.Is(err, account.ErrBadCredentials) || denied(err) {
			t.Errorf("wrong password from outside err = %v", err)
		}
		if err := svc.ChangePassword(ctx, session, userPassword, "new violet lantern 88", office); !denied(err) {
			t.Errorf("ChangePassword from outside err = %v", err)
		}
		refused := countAudit(t, st, func(e storage.AuditEntry) bool {
			return e.Action == "account.address-refused" && e.ActorUserID == user.UserID && e.RemoteAddr == office && e.Time.Equal(clk.now())
		})
		if refused != 4 { // Login, Authenticate, AuthenticateToken and ChangePassword from the bare office address
			t.Errorf("address-refused audit entries from %s = %d, want 4", office, refused)
		}

		// The administrator adds the office: every way in works again.
		if _, err := svc.SetAllowList(ctx, admin, user.UserID, []string{"198.51.100.0/24", "192.0.2.0/24"}); err != nil {
			t.Fatal(err)
		}
		for name, call := range calls {
			if err := call(office); err != nil {
				t.Errorf("%s from the office after the change: %v", name, err)
			}
			if err := call("2001:db8:1::1"); !denied(err) {
				t.Errorf("%s from a removed prefix: %v", name, err)
			}
		}
		// Deleting the list lifts the restriction, even for no address.
		if _, err := svc.SetAllowList(ctx, admin, user.UserID, nil); err != nil {
			t.Fatal(err)
		}
		for name, call := range calls {
			if err := call(""); err != nil {
				t.Errorf("%s without a list: %v", name, err)
			}
		}
		if v, err := svc.ViewUser(ctx, admin, user.UserID); err != nil || len(v.AllowList) != 0 {
			t.Errorf("after delete: %v, %v", v.AllowList, err)
		}
		for _, action := range []string{"account.allowlist-set", "account.allowlist-delete"} {
			if n := countAudit(t, st, func(e storage.AuditEntry) bool { return e.Action == action && e.ActorUserID == admin.UserID }); n == 0 {
				t.Errorf("no %s audit entry", action)
			}
		}

		// Bad lists, and an administrator locking itself out.
		self := admin
		self.RemoteAddr = "203.0.113.5"
		bad := []struct {
			name    string
			p       account.Principal
			user    string
			entries []string
			want    kerr.Kind
		}{
			{"unparsable", admin, user.UserID, []string{"192.0.2.300/24"}, kerr.Invalid},
			{"too many", admin, user.UserID, make([]string, account.MaxAllowListEntries+1), kerr.Invalid},
			{"own address left out", self, admin.UserID, []string{"192.0.2.0/24"}, kerr.FailedPrecondition},
		}
		for _, tc := range bad {
			if _, err := svc.SetAllowList(ctx, tc.p, tc.user, tc.entries); !errors.Is(err, tc.want) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
			}
		}
		if _, err := svc.SetAllowList(ctx, self, admin.UserID, []string{"203.0.113.0/24"}); err != nil {
			t.Errorf("own list including own address: %v", err)
		}
	})
}

func TestParseAllowList(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		want    []string
		ok      bool
	}{
		{"empty", nil, nil, true},
		{"ipv4 cidr", []string{"192.0.2.0/24"}, []string{"192.0.2.0/24"}, true},
		{"host bits cleared", []string{"192.0.2.77/24"}, []string{"192.0.2.0/24"}, true},
		{"single ipv4", []string{"192.0.2.7"}, []string{"192.0.2.7/32"}, true},
		{"ipv6 cidr", []string{"2001:DB8::/32"}, []string{"2001:db8::/32"}, true},
		{"single ipv6", []string{"2001:db8::1"}, []string{"2001:db8::1/128"}, true},
		{"duplicates dropped", []string{"192.0.2.0/24", "192.0.2.1/24"}, []string{"192.0.2.0/24"}, true},
		{"spaces", []string{"  10.0.0.0/8 "}, []string{"10.0.0.0/8"}, true},
		{"empty entry", []string{""}, nil, false},
		{"bad prefix length", []string{"192.0.2.0/33"}, nil, false},
		{"hostname", []string{"example.com"}, nil, false},
		{"zone", []string{"fe80::1%eth0"}, nil, false},
		{"4in6", []string{"::ffff:192.0.2.1"}, nil, false},
		{"too long", []string{"192.0.2.0/24" + string(make([]byte, 64))}, nil, false},
		{"21 entries", make([]string, 21), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := account.ParseAllowList(tc.entries)
			if !tc.ok {
				if !errors.Is(err, kerr.Invalid) {
					t.Errorf("err = %v, want kerr.Invalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if !slices.Equal(s, tc.want) {
				t.Errorf("got %v, want %v", s, tc.want)
			}
		})
	}
}

// FuzzParseAllowList: any input is either refused as kerr.Invalid or
// yields at most MaxAllowListEntries distinct, masked prefixes that parse
// back to themselves.
func FuzzParseAllowList(f *testing.F) {
	for _, s := range []string{"192.0.2.0/24", "2001:db8::/32", "192.0.2.1", "::ffff:1.2.3.4", "fe80::1%x", "1.2.3.4/0", " ::/0 ", "1.2.3.4/99"} {
		f.Add(s, "10.0.0.0/8")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := account.ParseAllowList([]string{a, b})
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("err = %v, want kerr.Invalid", err)
			}
			return
		}
		if len(got) == 0 || len(got) > 2 {
			t.Fatalf("%d prefixes from 2 entries", len(got))
		}
		var back []string
		for i, p := range got {
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("prefix %v is not canonical", p)
			}
			if slices.Contains(got[:i], p) {
				t.Fatalf("duplicate %v", p)
			}
			back = append(back, p.String())
		}
		again, err := account.ParseAllowList(back)
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("round trip of %v = %v, %v", back, again, err)
		}
	})
}
