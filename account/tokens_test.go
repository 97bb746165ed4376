package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

func TestAPITokens(t *testing.T) {
	ctx := context.Background()
	svc, _, clk := newService(t)
	p := onboard(t, svc, "alice")

	tok, secret, err := svc.CreateToken(ctx, p, account.NewToken{Name: "ERP", Scope: account.ScopeWrite, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	got, scope, err := svc.AuthenticateToken(ctx, secret, "192.0.2.1")
	if err != nil || got.UserID != p.UserID || got.CompanyID != p.CompanyID || scope != account.ScopeWrite || got.Admin {
		t.Fatalf("AuthenticateToken = %+v %s %v", got, scope, err)
	}
	list, err := svc.ListTokens(ctx, p)
	if err != nil || len(list) != 1 || list[0].ID != tok.ID || list[0].LastUsedAddr != "192.0.2.1" {
		t.Fatalf("ListTokens = %+v %v", list, err)
	}
	for _, tc := range []struct {
		name string
		nt   account.NewToken
		kind kerr.Kind
	}{
		{"no name", account.NewToken{Scope: account.ScopeRead}, kerr.Invalid},
		{"bad scope", account.NewToken{Name: "x", Scope: "root"}, kerr.Invalid},
		{"too long", account.NewToken{Name: "x", Scope: account.ScopeRead, TTL: 400 * 24 * time.Hour}, kerr.Invalid},
	} {
		if _, _, err := svc.CreateToken(ctx, p, tc.nt); !errors.Is(err, tc.kind) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.kind)
		}
	}
	if _, _, err := svc.AuthenticateToken(ctx, secret+"x", ""); !errors.Is(err, kerr.Unauthenticated) || !errors.Is(err, account.ErrTokenInvalid) {
		t.Errorf("wrong secret err = %v", err)
	}
	// Failed logins do not stop the user's tokens: login throttling must
	// not let a guesser cut off a company's integration.
	for range 6 {
		svc.Login(ctx, "alice", "wrong password!", "198.51.100.7")
	}
	if _, _, err := svc.AuthenticateToken(ctx, secret, ""); err != nil {
		t.Errorf("token after failed logins: %v", err)
	}
	// The token is held to its user's state: a disabled user's token is
	// refused, and works again once the user is enabled.
	// A second administrator of the company does it (none may disable
	// itself); its Principal is the first's with another user ID.
	second, _, err := svc.CreateUser(ctx, p, account.NewUser{LoginID: "alice2", Admin: true, Profile: storage.Profile{Name: "二人目"}})
	if err != nil {
		t.Fatal(err)
	}
	p2 := account.Principal{UserID: second.ID, CompanyID: p.CompanyID, Admin: true}
	if err := svc.SetDisabled(ctx, p2, p.UserID, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.AuthenticateToken(ctx, secret, ""); !errors.Is(err, kerr.Unauthenticated) || !errors.Is(err, account.ErrTokenInvalid) {
		t.Errorf("disabled user's token err = %v", err)
	}
	if err := svc.SetDisabled(ctx, p2, p.UserID, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.AuthenticateToken(ctx, secret, ""); err != nil {
		t.Errorf("after the user is enabled again: %v", err)
	}
	// Expiry and revocation.
	short, shortSecret, err := svc.CreateToken(ctx, p, account.NewToken{Name: "short", Scope: account.ScopeRead, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	clk.add(2 * time.Minute)
	if _, _, err := svc.AuthenticateToken(ctx, shortSecret, ""); !errors.Is(err, account.ErrTokenInvalid) {
		t.Errorf("expired token err = %v", err)
	}
	if err := svc.RevokeToken(ctx, p, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.AuthenticateToken(ctx, secret, ""); !errors.Is(err, account.ErrTokenInvalid) {
		t.Errorf("revoked token err = %v", err)
	}
	other := onboard(t, svc, "bob")
	if err := svc.RevokeToken(ctx, other, short.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("revoking another user's token err = %v", err)
	}
}
