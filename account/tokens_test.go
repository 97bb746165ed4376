package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
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
	// The token is held to its user's lockout.
	for range 3 {
		svc.Login(ctx, "alice", "wrong password!", "")
	}
	if _, _, err := svc.AuthenticateToken(ctx, secret, ""); !errors.Is(err, account.ErrLocked) {
		t.Errorf("locked user's token err = %v", err)
	}
	clk.add(11 * time.Minute)
	if _, _, err := svc.AuthenticateToken(ctx, secret, ""); err != nil {
		t.Errorf("after the lockout: %v", err)
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
