package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
)

// TestDisclosureLoginGuard: a disclosure account's password is guarded
// exactly like a user's — the same throttle (MaxFailures 3 here), the
// same answer for a wrong password, a blocked attempt and an unknown
// login ID — and without a CaseGate no case can be given.
func TestDisclosureLoginGuard(t *testing.T) {
	svc, _, clk := newService(t)
	ctx := context.Background()
	admin := onboard(t, svc, "admin")
	until := clk.now().Add(24 * time.Hour)
	if _, _, err := svc.CreateDisclosure(ctx, admin, account.NewDisclosure{LoginID: "audit", Label: "監査", Until: until, Cases: []string{"c1"}}); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("a case without a CaseGate: %v, want FailedPrecondition", err)
	}
	d, pw, err := svc.CreateDisclosure(ctx, admin, account.NewDisclosure{LoginID: "audit", Label: "監査", Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if !d.ActiveAt(clk.now()) || d.ActiveAt(until) {
		t.Errorf("ActiveAt: a period from creation to %s", until)
	}
	bad := func(err error) bool {
		return errors.Is(err, kerr.Unauthenticated) && errors.Is(err, account.ErrBadCredentials)
	}
	for i := range 3 {
		if _, err := svc.Login(ctx, "audit", "wrong password "+string(rune('a'+i)), "192.0.2.9"); !bad(err) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	if _, err := svc.Login(ctx, "audit", pw, "192.0.2.9"); !bad(err) {
		t.Errorf("the right password while blocked: %v, want ErrBadCredentials", err)
	}
	if _, err := svc.Login(ctx, "no-such-login", pw, "192.0.2.9"); !bad(err) {
		t.Errorf("an unknown login ID: %v, want ErrBadCredentials", err)
	}
	clk.add(11 * time.Minute)
	ss, err := svc.Login(ctx, "audit", pw, "192.0.2.9")
	if err != nil {
		t.Fatalf("the right password after the block: %v", err)
	}
	if !ss.MustChangePassword || ss.Principal.DisclosureID != d.ID || ss.Principal.UserID != d.ID || ss.Principal.CompanyID != admin.CompanyID {
		t.Errorf("session = %+v", ss)
	}
	if err := svc.Logout(ctx, ss.Token, "192.0.2.9"); err != nil {
		t.Errorf("Logout: %v", err)
	}
	if _, err := svc.Authenticate(ctx, ss.Token, "192.0.2.9"); !errors.Is(err, account.ErrSessionExpired) {
		t.Errorf("Authenticate after Logout: %v", err)
	}
	if err := svc.RevokeDisclosure(ctx, admin, d.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.RevokeDisclosure(ctx, admin, d.ID); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("revoking twice: %v, want FailedPrecondition", err)
	}
	label := "x"
	if _, err := svc.UpdateDisclosure(ctx, admin, d.ID, account.DisclosureUpdate{Label: &label}); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("updating a revoked account: %v, want FailedPrecondition", err)
	}
	if _, err := svc.SetDisclosureLimit(ctx, admin, account.MaxDisclosureLimit+1); !errors.Is(err, kerr.Invalid) {
		t.Errorf("a limit over MaxDisclosureLimit: %v, want Invalid", err)
	}
	if _, err := svc.AccessLog(ctx, admin, d.ID, 0, 0); !errors.Is(err, kerr.Invalid) {
		t.Errorf("AccessLog page size 0: %v, want Invalid", err)
	}
	log, err := svc.AccessLog(ctx, admin, d.ID, 0, account.MaxAccessPage)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	// Three wrong passwords, then the login; the blocked and the unknown
	// attempts are summarised without a login ID, never per account.
	want := []string{"disclosure.login-failed", "disclosure.login-failed", "disclosure.login-failed", "disclosure.login", "disclosure.logout"}
	if len(actions) != len(want) {
		t.Fatalf("access log = %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Errorf("access log = %v, want %v", actions, want)
			break
		}
	}
}
