package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

func testAuditChain(t *testing.T, s storage.Store) {
	ctx := context.Background()
	commit(t, s, sample("c1"))
	commit(t, s, sample("c2"))
	extra := []storage.AuditEntry{
		{Time: base.Add(time.Nanosecond), ActorUserID: "u9", Action: "account.login-failed", RemoteAddr: "2001:db8::1"},
		{Time: base.Add(2 * time.Second), ActorUserID: "u1", Action: "case.download", CaseID: "c1", Detail: "contract.pdf"},
	}
	if err := s.AppendAudit(ctx, extra); err != nil {
		t.Fatal(err)
	}
	if extra[0].Seq != 3 || extra[1].Seq != 4 {
		t.Errorf("appended Seq = %d, %d; want 3, 4", extra[0].Seq, extra[1].Seq)
	}
	if err := s.AppendAudit(ctx, nil); !errors.Is(err, kerr.Invalid) {
		t.Errorf("AppendAudit(nil) err = %v, want Invalid", err)
	}
	n, err := storage.VerifyChain(ctx, s)
	if err != nil || n != 4 {
		t.Fatalf("VerifyChain = %d, %v; want 4, nil", n, err)
	}
	all, err := s.ListAudit(ctx, 0, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[3].Detail != "contract.pdf" || !all[2].Time.Equal(extra[0].Time) || all[2].RemoteAddr != "2001:db8::1" {
		t.Errorf("stored entries differ from written: %+v", all)
	}
	byCase, err := s.ListAudit(ctx, 0, "c1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(byCase) != 2 || byCase[0].Seq != 1 || byCase[1].Seq != 4 {
		t.Errorf("entries of c1 = %+v, want Seq 1 and 4", byCase)
	}
	after, err := s.ListAudit(ctx, 2, "", 1)
	if err != nil || len(after) != 1 || after[0].Seq != 3 {
		t.Errorf("ListAudit(after 2, limit 1) = %+v, %v", after, err)
	}
	for _, limit := range []int{0, -1, 1001} {
		if _, err := s.ListAudit(ctx, 0, "", limit); !errors.Is(err, kerr.Invalid) {
			t.Errorf("ListAudit(limit %d) err = %v, want Invalid", limit, err)
		}
	}
	// What was read back verifies, and a change to any part of it does not.
	var v storage.ChainVerifier
	if err := v.Next(all); err != nil {
		t.Fatal(err)
	}
	all[1].Detail = "changed"
	var v2 storage.ChainVerifier
	if err := v2.Next(all); !errors.Is(err, storage.ErrChainBroken) {
		t.Errorf("altered entry not detected: %v", err)
	}
}

func testOutbox(t *testing.T, s storage.Store) {
	ctx := context.Background()
	evs := []storage.Event{
		{ID: "e2", Type: "receipt_requested", CaseID: "c1", Recipients: []string{"u2", "u3"}, Language: "en", Reason: "", CreatedAt: base.Add(time.Second)},
		{ID: "e1", Type: "sent_back", CaseID: "c1", Recipients: []string{"u1"}, Language: "ja", Reason: "金額が違います", ActorUserID: "u2", CreatedAt: base},
	}
	commit(t, s, sample("c1"), evs...)
	due, err := s.DueEvents(ctx, base.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].ID != "e1" || due[1].ID != "e2" {
		t.Fatalf("due = %v, want [e1 e2] (by CreatedAt)", ids(due))
	}
	if due[0].Reason != "金額が違います" || due[1].Language != "en" || len(due[1].Recipients) != 2 {
		t.Errorf("stored event differs: %+v", due)
	}
	if err := s.MarkFailed(ctx, "e1", 1, base.Add(time.Hour), "smtp: 451"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDelivered(ctx, "e2", base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueEvents(ctx, base.Add(time.Minute), 10); len(due) != 0 {
		t.Errorf("due after failure and delivery = %v, want none", ids(due))
	}
	due, _ = s.DueEvents(ctx, base.Add(time.Hour), 10)
	if len(due) != 1 || due[0].ID != "e1" || due[0].Attempts != 1 || due[0].LastError != "smtp: 451" {
		t.Errorf("retry due = %+v", due)
	}
	for _, err := range []error{
		s.MarkDelivered(ctx, "nope", base),
		s.MarkFailed(ctx, "nope", 1, base, "x"),
	} {
		if !errors.Is(err, kerr.NotFound) {
			t.Errorf("marking a missing event: err = %v, want NotFound", err)
		}
	}
	if _, err := s.DueEvents(ctx, base, 0); !errors.Is(err, kerr.Invalid) {
		t.Errorf("DueEvents(limit 0) err = %v", err)
	}

	// Giving up: never due again, but kept.
	if err := s.MarkFailed(ctx, "e1", 5, time.Time{}, "smtp: 550 no such user"); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueEvents(ctx, base.AddDate(10, 0, 0), 10); len(due) != 0 {
		t.Errorf("given-up event still due: %v", ids(due))
	}
}

func testOutboxClaim(t *testing.T, s storage.Store) {
	ctx := context.Background()
	var evs []storage.Event
	for i := range 3 {
		evs = append(evs, storage.Event{ID: fmt.Sprintf("e%d", i), Type: "completed", CaseID: "c1", Recipients: []string{"u2"},
			CreatedAt: base.Add(time.Duration(i) * time.Second), CaseName: "保守契約", RecipientEmail: "u2@example.jp", FromCompany: "株式会社ケイヤク"})
	}
	evs[0].NextAttemptAt = base.Add(time.Minute) // due later than the others
	commit(t, s, sample("c1"), evs...)
	now := base.Add(2 * time.Minute)
	got, err := s.ClaimEvents(ctx, now, 5*time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), []string{"e1", "e2"}) {
		t.Fatalf("first claim = %v, want [e1 e2] (by NextAttemptAt, then written order)", ids(got))
	}
	if got[0].CaseName != "保守契約" || got[0].RecipientEmail != "u2@example.jp" || got[0].FromCompany != "株式会社ケイヤク" {
		t.Errorf("claimed event lost its fields: %+v", got[0])
	}
	again, err := s.ClaimEvents(ctx, now, 5*time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(again), []string{"e0"}) {
		t.Errorf("second claim = %v, want only the unclaimed e0", ids(again))
	}
	if err := s.MarkDelivered(ctx, "e1", now); err != nil {
		t.Fatal(err)
	}
	later, err := s.ClaimEvents(ctx, now.Add(6*time.Minute), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(later), []string{"e0", "e2"}) {
		t.Errorf("after the lease lapsed = %v, want [e0 e2] (e1 was delivered)", ids(later))
	}
	if _, err := s.ClaimEvents(ctx, now, 0, 10); !errors.Is(err, kerr.Invalid) {
		t.Errorf("zero lease err = %v", err)
	}
}

func testAccounts(t *testing.T, s storage.Store) {
	ctx := context.Background()
	co := &storage.Company{ID: "co1", Name: "株式会社ケイヤク", CreatedAt: base}
	if err := s.PutCompany(ctx, co, audit("company.create", "")); err != nil {
		t.Fatal(err)
	}
	if co.Version != 1 {
		t.Errorf("company version = %d", co.Version)
	}
	if err := s.PutCompany(ctx, &storage.Company{ID: "co1"}, audit("company.create", "")); !errors.Is(err, kerr.Conflict) {
		t.Errorf("duplicate company err = %v", err)
	}
	co.Name = "株式会社ケイヤク（新）"
	if err := s.PutCompany(ctx, co, audit("company.rename", "")); err != nil || co.Version != 2 {
		t.Fatalf("rename: %v version %d", err, co.Version)
	}
	stale := *co
	stale.Version = 1
	if err := s.PutCompany(ctx, &stale, audit("company.rename", "")); !errors.Is(err, kerr.Conflict) {
		t.Errorf("stale company update err = %v", err)
	}
	if got, err := s.GetCompany(ctx, "co1"); err != nil || got.Name != co.Name || got.Version != 2 {
		t.Errorf("GetCompany = %+v, %v", got, err)
	}
	if _, err := s.GetCompany(ctx, "co9"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("GetCompany(missing) err = %v", err)
	}

	u := &storage.User{ID: "u1", CompanyID: "co1", LoginID: "taro", PasswordHash: "$argon2id$...", MustChangePassword: true,
		Profile: storage.Profile{Name: "山田 太郎", Furigana: "やまだ たろう", Email: "taro@example.com", Language: "ja"}, CreatedAt: base}
	if err := s.PutUser(ctx, u, audit("user.create", "")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		u    *storage.User
		want kerr.Kind
	}{
		{"login taken", &storage.User{ID: "u2", CompanyID: "co1", LoginID: "taro"}, kerr.Conflict},
		{"no such company", &storage.User{ID: "u3", CompanyID: "co9", LoginID: "jiro"}, kerr.FailedPrecondition},
		{"id taken", &storage.User{ID: "u1", CompanyID: "co1", LoginID: "other"}, kerr.Conflict},
		{"no login", &storage.User{ID: "u4", CompanyID: "co1"}, kerr.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.PutUser(ctx, tt.u, audit("user.create", "")); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	got, err := s.GetUserByLogin(ctx, "taro")
	if err != nil || got.ID != "u1" || got.Profile.Furigana != "やまだ たろう" || !got.MustChangePassword || got.Version != 1 {
		t.Errorf("GetUserByLogin = %+v, %v", got, err)
	}
	if _, err := s.GetUserByLogin(ctx, "TARO"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("login IDs must compare exactly: err = %v", err)
	}
	got.FailedLogins = 3
	got.LockedUntil = base.Add(time.Hour)
	if err := s.PutUser(ctx, got, audit("user.lock", "")); err != nil {
		t.Fatal(err)
	}
	again, err := s.GetUser(ctx, "u1")
	if err != nil || again.FailedLogins != 3 || !again.LockedUntil.Equal(base.Add(time.Hour)) || again.Version != 2 {
		t.Errorf("GetUser after update = %+v, %v", again, err)
	}
	if err := s.PutUser(ctx, &storage.User{ID: "u0", CompanyID: "co1", LoginID: "hanako"}, audit("user.create", "")); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListUsers(ctx, "co1")
	if err != nil || len(list) != 2 || list[0].ID != "u0" || list[1].ID != "u1" {
		t.Errorf("ListUsers = %v, %v", list, err)
	}
}

func testSessions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	ss := &storage.Session{TokenHash: hex64('c'), UserID: "u1", RemoteAddr: "192.0.2.7", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.PutSession(ctx, ss, audit("account.login", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSession(ctx, ss, audit("account.login", "")); !errors.Is(err, kerr.Conflict) {
		t.Errorf("duplicate session err = %v", err)
	}
	old := &storage.Session{TokenHash: hex64('d'), UserID: "u1", CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	if err := s.PutSession(ctx, old, audit("account.login", "")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSession(ctx, ss.TokenHash)
	if err != nil || got.UserID != "u1" || !got.ExpiresAt.Equal(ss.ExpiresAt) || got.RemoteAddr != "192.0.2.7" {
		t.Errorf("GetSession = %+v, %v", got, err)
	}
	n, err := s.DeleteSessionsBefore(ctx, base.Add(30*time.Minute))
	if err != nil || n != 1 {
		t.Errorf("DeleteSessionsBefore = %d, %v; want 1", n, err)
	}
	if _, err := s.GetSession(ctx, old.TokenHash); !errors.Is(err, kerr.NotFound) {
		t.Errorf("expired session still there: %v", err)
	}
	if err := s.DeleteSession(ctx, ss.TokenHash, audit("account.logout", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, ss.TokenHash, audit("account.logout", "")); !errors.Is(err, kerr.NotFound) {
		t.Errorf("second logout err = %v", err)
	}
	if _, err := s.GetSession(ctx, ss.TokenHash); !errors.Is(err, kerr.NotFound) {
		t.Errorf("deleted session still there: %v", err)
	}
}
