package storagetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// testUserAccess checks storage.UserAccessStore: a store that does not
// have the ability fails the suite, since both backends must.
func testUserAccess(t *testing.T, s storage.Store) {
	ctx := context.Background()
	us, ok := s.(storage.UserAccessStore)
	if !ok {
		t.Fatalf("%T does not implement storage.UserAccessStore", s)
	}
	for _, co := range []string{"co1", "co2"} {
		if err := s.PutCompany(ctx, &storage.Company{ID: co, Name: co, CreatedAt: base}, audit("company.create", "")); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []*storage.User{{ID: "u1", CompanyID: "co1", LoginID: "one"}, {ID: "u2", CompanyID: "co1", LoginID: "two"},
		{ID: "u3", CompanyID: "co2", LoginID: "three"}} {
		if err := s.PutUser(ctx, u, audit("user.create", "")); err != nil {
			t.Fatal(err)
		}
	}
	if a, err := us.GetUserAccess(ctx, "u1"); err != nil || len(a.AllowList) != 0 || !a.LastLoginAt.IsZero() {
		t.Errorf("GetUserAccess before any write = %+v, %v", a, err)
	}
	before := auditCount(t, s)
	list := []string{"192.0.2.0/24", "2001:db8::/32"}
	if err := us.PutAllowList(ctx, "u1", list, audit("account.allowlist-set", "")); err != nil {
		t.Fatal(err)
	}
	if got := auditCount(t, s); got != before+1 {
		t.Errorf("audit entries after PutAllowList = %d, want %d", got, before+1)
	}
	if a, err := us.GetUserAccess(ctx, "u1"); err != nil || !slices.Equal(a.AllowList, list) {
		t.Errorf("GetUserAccess = %+v, %v; want list %v", a, err, list)
	}

	// Refusals write nothing, the audit entry included.
	before = auditCount(t, s)
	refusals := []struct {
		name  string
		user  string
		list  []string
		audit []storage.AuditEntry
		want  kerr.Kind
	}{
		{"missing user", "u9", list, audit("account.allowlist-set", ""), kerr.NotFound},
		{"no audit", "u1", nil, nil, kerr.Invalid},
		{"empty entry", "u1", []string{""}, audit("account.allowlist-set", ""), kerr.Invalid},
		{"long entry", "u1", []string{strings.Repeat("1", storage.MaxAllowEntryLen+1)}, audit("account.allowlist-set", ""), kerr.Invalid},
		{"too many", "u1", make([]string, storage.MaxAllowListStored+1), audit("account.allowlist-set", ""), kerr.Invalid},
	}
	for _, tc := range refusals {
		if err := us.PutAllowList(ctx, tc.user, tc.list, tc.audit); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if got := auditCount(t, s); got != before {
		t.Errorf("refused PutAllowList wrote %d audit entries", got-before)
	}
	if a, _ := us.GetUserAccess(ctx, "u1"); !slices.Equal(a.AllowList, list) {
		t.Errorf("refused PutAllowList changed the list to %v", a.AllowList)
	}

	// Last login is kept apart from the list, and each survives the other's write.
	at := base.Add(90 * time.Minute)
	if err := us.RecordLogin(ctx, "u1", at); err != nil {
		t.Fatal(err)
	}
	if err := us.RecordLogin(ctx, "u3", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := us.RecordLogin(ctx, "u9", at); !errors.Is(err, kerr.NotFound) {
		t.Errorf("RecordLogin(missing user) err = %v", err)
	}
	if a, err := us.GetUserAccess(ctx, "u1"); err != nil || !a.LastLoginAt.Equal(at) || !slices.Equal(a.AllowList, list) {
		t.Errorf("after RecordLogin = %+v, %v", a, err)
	}
	if err := us.PutAllowList(ctx, "u1", nil, audit("account.allowlist-delete", "")); err != nil {
		t.Fatal(err)
	}
	if a, err := us.GetUserAccess(ctx, "u1"); err != nil || len(a.AllowList) != 0 || !a.LastLoginAt.Equal(at) {
		t.Errorf("after deleting the list = %+v, %v", a, err)
	}
	if err := us.PutAllowList(ctx, "u2", []string{"198.51.100.7/32"}, audit("account.allowlist-set", "")); err != nil {
		t.Fatal(err)
	}

	// Listing is per company.
	m, err := us.ListUserAccess(ctx, "co1")
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || !m["u1"].LastLoginAt.Equal(at) || !slices.Equal(m["u2"].AllowList, []string{"198.51.100.7/32"}) {
		t.Errorf("ListUserAccess(co1) = %+v", m)
	}
	if _, ok := m["u3"]; ok {
		t.Errorf("ListUserAccess(co1) holds a user of co2")
	}
	if m, err := us.ListUserAccess(ctx, "co9"); err != nil || len(m) != 0 {
		t.Errorf("ListUserAccess(unknown) = %v, %v", m, err)
	}

	// BlockedUntil reads the throttles of a subject.
	if until, err := us.BlockedUntil(ctx, "subj", base); err != nil || !until.IsZero() {
		t.Errorf("BlockedUntil with no throttle = %v, %v", until, err)
	}
	r := rule("k-block", "subj", 1)
	if _, err := s.ReserveAttempt(ctx, base, []storage.ThrottleRule{r}); err != nil {
		t.Fatal(err)
	}
	want := base.Add(r.Delay)
	if until, err := us.BlockedUntil(ctx, "subj", base); err != nil || !until.Equal(want) {
		t.Errorf("BlockedUntil = %v, %v; want %v", until, err, want)
	}
	if until, err := us.BlockedUntil(ctx, "other", base); err != nil || !until.IsZero() {
		t.Errorf("BlockedUntil(other subject) = %v, %v", until, err)
	}
	if until, err := us.BlockedUntil(ctx, "subj", want); err != nil || !until.IsZero() {
		t.Errorf("BlockedUntil once the block ended = %v, %v", until, err)
	}
}
