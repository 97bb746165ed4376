package keiyaku_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/keiyakutest"
	"github.com/keiyaku/keiyaku/kerr"
)

// TestAllowListScenario: through the facade, as an embedder would, a
// user is locked out by the IP allow-list its administrator sets — at
// login (with the right password), on its open session and on its API
// token — and is back in once the administrator adds its address.
func TestAllowListScenario(t *testing.T) {
	ctx := context.Background()
	env := keiyakutest.NewService(t, nil)
	a := env.NewCompany(t, "株式会社エー商事", "山田 太郎")
	clerk := env.NewUser(t, a, "鈴木 一郎")
	const home = "198.51.100.7"
	sess, err := env.Accounts.Login(ctx, clerk.LoginID, clerk.Password, home)
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.Accounts.Authenticate(ctx, sess.Token, home)
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := env.Accounts.CreateToken(ctx, p, account.NewToken{Name: "ERP", Scope: account.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := env.Accounts.SetAllowList(ctx, a.Admin.Principal, clerk.Principal.UserID, []string{"192.0.2.0/24", "2001:db8::/32"}); err != nil {
		t.Fatal(err)
	}
	locked := func(err error) bool {
		return errors.Is(err, kerr.PermissionDenied) && errors.Is(err, account.ErrAddressNotAllowed)
	}
	if _, err := env.Accounts.Login(ctx, clerk.LoginID, clerk.Password, home); !locked(err) {
		t.Errorf("Login from home: %v", err)
	}
	if _, err := env.Accounts.Authenticate(ctx, sess.Token, home); !locked(err) {
		t.Errorf("Authenticate from home: %v", err)
	}
	if _, _, err := env.Accounts.AuthenticateToken(ctx, secret, home); !locked(err) {
		t.Errorf("AuthenticateToken from home: %v", err)
	}
	if _, err := env.Accounts.Authenticate(ctx, sess.Token, "[2001:db8::10]:443"); err != nil {
		t.Errorf("Authenticate from the office: %v", err)
	}
	if v, err := env.Accounts.ViewUser(ctx, a.Admin.Principal, clerk.Principal.UserID); err != nil || len(v.AllowList) != 2 || v.LastLoginAt.IsZero() {
		t.Errorf("ViewUser = %+v, %v", v, err)
	}

	if _, err := env.Accounts.SetAllowList(ctx, a.Admin.Principal, clerk.Principal.UserID, []string{"192.0.2.0/24", home}); err != nil {
		t.Fatal(err)
	}
	again, err := env.Accounts.Login(ctx, clerk.LoginID, clerk.Password, home)
	if err != nil {
		t.Fatalf("Login from home after the change: %v", err)
	}
	p, err = env.Accounts.Authenticate(ctx, again.Token, home+":50000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Cases.Search(ctx, p, nil); err != nil {
		t.Errorf("Search after the change: %v", err)
	}
	if _, _, err := env.Accounts.AuthenticateToken(ctx, secret, home); err != nil {
		t.Errorf("AuthenticateToken from home after the change: %v", err)
	}
}
