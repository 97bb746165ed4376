package casework_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// completedCase registers a bilateral case as p with co2 (u2) and, if
// complete, carries it through return and completion.
func completedCase(t *testing.T, e *env, p account.Principal, name string, complete bool) *casework.Case {
	t.Helper()
	ctx := context.Background()
	nc := newCase(casework.FormBilateral, sign(pdf(name), p.CompanyID), partyCo2)
	nc.Name = name
	c, err := e.svc.Register(ctx, p, nc)
	if err != nil {
		t.Fatal(err)
	}
	if !complete {
		return c
	}
	if _, err := e.svc.Return(ctx, u2, c.ID, upload(sign(receive(t, e, u2, c.ID), "co2"))); err != nil {
		t.Fatal(err)
	}
	if c, err = e.svc.Complete(ctx, p, c.ID); err != nil {
		t.Fatal(err)
	}
	return c
}

// searchIDs pages through Search with q, a page of size 1 at a time, so
// that every cursor is exercised with the hidden filter.
func searchIDs(t *testing.T, e *env, p account.Principal, q casework.Query) []string {
	t.Helper()
	q.Limit = 1
	var got []string
	for range 100 {
		page, err := e.svc.Search(context.Background(), p, &q)
		if err != nil {
			t.Fatalf("Search as %s: %v", p.UserID, err)
		}
		for _, c := range page.Cases {
			got = append(got, c.ID)
		}
		if page.Next == "" {
			return got
		}
		q.Cursor = page.Next
	}
	t.Fatal("paging did not end")
	return nil
}

func auditTotal(t *testing.T, e *env) []storage.AuditEntry {
	t.Helper()
	var out []storage.AuditEntry
	var after int64
	for {
		page, err := e.store.ListAudit(context.Background(), after, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

func TestHide(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c1 := completedCase(t, e, u1, "契約1", true)
	c2 := completedCase(t, e, u1, "契約2", true)
	c3 := completedCase(t, e, u1, "契約3", false) // still sent
	all := []string{c1.ID, c2.ID, c3.ID}
	before := len(auditTotal(t, e))

	// Refusals, none of which writes anything.
	for _, tc := range []struct {
		name string
		p    account.Principal
		id   string
		want error
	}{
		{"not completed", u1, c3.ID, kerr.FailedPrecondition},
		{"counterparty, not completed", u2, c3.ID, kerr.FailedPrecondition},
		{"another company", u3, c1.ID, kerr.NotFound},
		{"outsider administrator", out, c1.ID, kerr.NotFound},
		{"colleague without access", u1b, c1.ID, kerr.NotFound},
		{"no such case", u1, "nope", kerr.NotFound},
		{"no principal", account.Principal{}, c1.ID, kerr.Unauthenticated},
	} {
		if err := e.svc.Hide(ctx, tc.p, tc.id); !errors.Is(err, tc.want) {
			t.Errorf("Hide %s: %v, want %v", tc.name, err, tc.want)
		}
		if err := e.svc.Unhide(ctx, tc.p, tc.id); !errors.Is(err, tc.want) {
			t.Errorf("Unhide %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if n := len(auditTotal(t, e)); n != before {
		t.Errorf("refused calls appended %d audit entries", n-before)
	}

	if err := e.svc.Hide(ctx, u1, c1.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Hide(ctx, u1, c1.ID); err != nil { // again: no change
		t.Fatal(err)
	}
	if err := e.svc.Hide(ctx, admin1, c2.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Hide(ctx, u2, c2.ID); err != nil { // the counterparty hides too
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    account.Principal
		mode casework.HiddenMode
		want []string
	}{
		{"registrant, default", u1, casework.HiddenExclude, []string{c2.ID, c3.ID}},
		{"registrant, only hidden", u1, casework.HiddenOnly, []string{c1.ID}},
		{"registrant, include hidden", u1, casework.HiddenInclude, all},
		{"administrator's own marks", admin1, casework.HiddenExclude, []string{c1.ID, c3.ID}},
		{"administrator, only hidden", admin1, casework.HiddenOnly, []string{c2.ID}},
		{"counterparty's own marks", u2, casework.HiddenExclude, []string{c1.ID, c3.ID}},
		{"counterparty, only hidden", u2, casework.HiddenOnly, []string{c2.ID}},
		{"counterparty administrator hid nothing", admin2, casework.HiddenExclude, all},
		{"counterparty administrator, only hidden", admin2, casework.HiddenOnly, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, desc := range []bool{false, true} {
				want := slices.Clone(tc.want)
				if desc {
					slices.Reverse(want)
				}
				got := searchIDs(t, e, tc.p, casework.Query{Hidden: tc.mode, Sort: storage.SortCreated, Desc: desc})
				if !slices.Equal(got, want) {
					t.Errorf("desc=%v: got %v, want %v", desc, got, want)
				}
			}
		})
	}
	// The filter combines with the others.
	if got := searchIDs(t, e, u1, casework.Query{States: []casework.State{casework.StateCompleted}, Sort: storage.SortCompleted}); !slices.Equal(got, []string{c2.ID}) {
		t.Errorf("completed, not hidden: %v", got)
	}
	if _, err := e.svc.Search(ctx, u1, &casework.Query{Hidden: casework.HiddenMode(9)}); !errors.Is(err, kerr.Invalid) {
		t.Errorf("unknown hidden mode: %v, want Invalid", err)
	}
	// A hidden case is still there by ID.
	if _, err := e.svc.Get(ctx, u1, c1.ID); err != nil {
		t.Errorf("Get of a hidden case: %v", err)
	}
	for _, tc := range []struct {
		p    account.Principal
		id   string
		want bool
	}{{u1, c1.ID, true}, {u1, c2.ID, false}, {admin1, c1.ID, false}, {admin1, c2.ID, true}, {u2, c2.ID, true}, {u2, c1.ID, false}} {
		if h, err := e.svc.IsHidden(ctx, tc.p, tc.id); err != nil || h != tc.want {
			t.Errorf("IsHidden(%s, %s) = %v, %v; want %v", tc.p.UserID, tc.id, h, err, tc.want)
		}
	}
	if _, err := e.svc.IsHidden(ctx, u3, c1.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("IsHidden by an outsider: %v, want NotFound", err)
	}
	// The export follows the list.
	var sb strings.Builder
	if n, err := e.svc.ExportCSV(ctx, u1, &casework.Query{}, &sb); err != nil || n != 2 {
		t.Errorf("ExportCSV default = %d, %v; want 2", n, err)
	}
	sb.Reset()
	if n, err := e.svc.ExportCSV(ctx, u1, &casework.Query{Hidden: casework.HiddenOnly}, &sb); err != nil || n != 1 {
		t.Errorf("ExportCSV only hidden = %d, %v; want 1", n, err)
	}

	if err := e.svc.Unhide(ctx, u1, c1.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Unhide(ctx, u1, c2.ID); err != nil { // not hidden by u1: no change
		t.Fatal(err)
	}
	if got := searchIDs(t, e, u1, casework.Query{Sort: storage.SortCreated}); !slices.Equal(got, all) {
		t.Errorf("after unhide: %v, want %v", got, all)
	}
	if got := searchIDs(t, e, admin1, casework.Query{Hidden: casework.HiddenOnly}); !slices.Equal(got, []string{c2.ID}) {
		t.Errorf("u1's unhide changed the administrator's marks: %v", got)
	}

	// Every act is audited, and each user's trail shows their own marks
	// only.
	var acts []string
	for _, a := range auditTotal(t, e)[before:] {
		acts = append(acts, a.ActorUserID+" "+a.Action)
	}
	wantActs := []string{"u1 case.hide", "u1 case.hide", "admin1 case.hide", "u2 case.hide", "u1 case.unhide", "u1 case.unhide"}
	if !slices.Equal(acts, wantActs) {
		t.Errorf("audit = %q, want %q", acts, wantActs)
	}
	trail := func(p account.Principal, id string) []string {
		entries, err := e.svc.AuditTrail(ctx, p, id)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range entries {
			if strings.HasPrefix(a.Action, "case.hide") || strings.HasPrefix(a.Action, "case.unhide") {
				out = append(out, a.ActorUserID+" "+a.Action)
			}
		}
		return out
	}
	if got := trail(u1, c1.ID); !slices.Equal(got, []string{"u1 case.hide", "u1 case.hide", "u1 case.unhide"}) {
		t.Errorf("u1's trail of c1 = %q", got)
	}
	if got := trail(u2, c2.ID); !slices.Equal(got, []string{"u2 case.hide"}) {
		t.Errorf("u2's trail of c2 = %q (must not show u1's or admin1's marks)", got)
	}
	if got := trail(admin2, c2.ID); len(got) != 0 {
		t.Errorf("admin2's trail of c2 = %q, want none", got)
	}
}

func TestComments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c1 := completedCase(t, e, u1, "契約1", true)
	open := completedCase(t, e, u1, "契約2", false)
	before := len(auditTotal(t, e))
	const secret = "値引き交渉メモ: 社外秘"

	for _, tc := range []struct {
		name, text string
		p          account.Principal
		id         string
		want       error
	}{
		{"not completed", secret, u1, open.ID, kerr.FailedPrecondition},
		{"another company", secret, u3, c1.ID, kerr.NotFound},
		{"colleague without access", secret, u1b, c1.ID, kerr.NotFound},
		{"no principal", secret, account.Principal{}, c1.ID, kerr.Unauthenticated},
		{"empty", "", u1, c1.ID, kerr.Invalid},
		{"blank", " \n\t　", u1, c1.ID, kerr.Invalid},
		{"too long", strings.Repeat("契", casework.MaxCommentRunes+1), u1, c1.ID, kerr.Invalid},
		{"control character", "a\x07b", u1, c1.ID, kerr.Invalid},
		{"bidi override", "abc\u202Efdp.exe", u1, c1.ID, kerr.Invalid},
		{"zero width", "a\u200Bb", u1, c1.ID, kerr.Invalid},
		{"invalid UTF-8", "a\xffb", u1, c1.ID, kerr.Invalid},
	} {
		if _, err := e.svc.SetComment(ctx, tc.p, tc.id, tc.text); !errors.Is(err, tc.want) {
			t.Errorf("SetComment %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, p := range []account.Principal{u3, u1b, out} {
		if _, err := e.svc.Comment(ctx, p, c1.ID); !errors.Is(err, kerr.NotFound) {
			t.Errorf("Comment by %s: %v, want NotFound", p.UserID, err)
		}
		if err := e.svc.DeleteComment(ctx, p, c1.ID); !errors.Is(err, kerr.NotFound) {
			t.Errorf("DeleteComment by %s: %v, want NotFound", p.UserID, err)
		}
	}
	if err := e.svc.DeleteComment(ctx, u1, c1.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("DeleteComment of none: %v, want NotFound", err)
	}
	if n := len(auditTotal(t, e)); n != before {
		t.Errorf("refused calls appended %d audit entries", n-before)
	}
	if c, err := e.svc.Comment(ctx, u1, c1.ID); err != nil || c != nil {
		t.Fatalf("Comment before any = %+v, %v; want nil", c, err)
	}

	got, err := e.svc.SetComment(ctx, u1, c1.ID, secret+"\r\n二行目\tタブ")
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != secret+"\n二行目\tタブ" || got.CaseID != c1.ID || got.UpdatedAt.IsZero() {
		t.Errorf("SetComment returned %+v", got)
	}
	first := got.UpdatedAt
	// Author-only: the administrator, a colleague's administrator view, the
	// counterparty and its administrator see no comment of u1's.
	for _, p := range []account.Principal{admin1, u2, admin2} {
		if c, err := e.svc.Comment(ctx, p, c1.ID); err != nil || c != nil {
			t.Errorf("Comment as %s = %+v, %v; want nil", p.UserID, c, err)
		}
	}
	// Each keeps their own.
	if _, err := e.svc.SetComment(ctx, admin1, c1.ID, "管理者のメモ"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetComment(ctx, u2, c1.ID, "相手方のメモ"); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[account.Principal]string{u1: secret + "\n二行目\tタブ", admin1: "管理者のメモ", u2: "相手方のメモ"} {
		c, err := e.svc.Comment(ctx, p, c1.ID)
		if err != nil || c == nil || c.Text != want {
			t.Errorf("Comment as %s = %+v, %v; want %q", p.UserID, c, err, want)
		}
	}
	// Editable at any time; the longest allowed.
	long := strings.Repeat("契", casework.MaxCommentRunes)
	got, err = e.svc.SetComment(ctx, u1, c1.ID, long)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := e.svc.Comment(ctx, u1, c1.ID); c == nil || c.Text != long || !c.UpdatedAt.After(first) || !c.UpdatedAt.Equal(got.UpdatedAt) {
		t.Errorf("edited comment = %+v", c)
	}
	if err := e.svc.DeleteComment(ctx, u1, c1.ID); err != nil {
		t.Fatal(err)
	}
	if c, err := e.svc.Comment(ctx, u1, c1.ID); err != nil || c != nil {
		t.Errorf("after delete: %+v, %v", c, err)
	}
	if c, _ := e.svc.Comment(ctx, admin1, c1.ID); c == nil {
		t.Error("deleting u1's comment removed admin1's")
	}

	// The audit log records each change, never the text.
	var acts []string
	for _, a := range auditTotal(t, e)[before:] {
		acts = append(acts, a.ActorUserID+" "+a.Action+" "+a.Detail)
		if strings.Contains(a.Detail, "メモ") || strings.Contains(a.Detail, "契") || strings.Contains(a.Detail, "値引き") {
			t.Errorf("audit entry %d holds comment text: %q", a.Seq, a.Detail)
		}
	}
	want := []string{"u1 case.comment set", "admin1 case.comment set", "u2 case.comment set", "u1 case.comment set", "u1 case.comment deleted"}
	if !slices.Equal(acts, want) {
		t.Errorf("audit = %q, want %q", acts, want)
	}
	entries, err := e.svc.AuditTrail(ctx, u2, c1.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range entries {
		if a.Action == casework.ActionComment && a.ActorUserID != "u2" {
			t.Errorf("u2's trail shows %s's comment entry", a.ActorUserID)
		}
	}
}

func TestCheckComment(t *testing.T) {
	for _, ok := range []string{"a", "一行\n二行", "tab\there", strings.Repeat("🙂", casework.MaxCommentRunes)} {
		if _, err := casework.CheckComment(ok); err != nil {
			t.Errorf("CheckComment(%.20q): %v", ok, err)
		}
	}
	if got, err := casework.CheckComment("a\r\nb\rc"); err != nil || got != "a\nb\nc" {
		t.Errorf("line breaks: %q, %v", got, err)
	}
}

func FuzzCheckComment(f *testing.F) {
	for _, s := range []string{"", "a", "a\r\nb", "\x00", "a\u202Eb", "契約\tメモ", "\r", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := casework.CheckComment(in)
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			return
		}
		if !utf8.ValidString(out) || utf8.RuneCountInString(out) > casework.MaxCommentRunes || len(out) > storage.MaxCommentBytes || strings.ContainsRune(out, '\r') {
			t.Fatalf("accepted %q as %q", in, out)
		}
		again, err := casework.CheckComment(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
	})
}
