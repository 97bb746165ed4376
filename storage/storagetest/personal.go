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

// personal.go: the PersonalStore duties (hidden marks and private
// comments) and the CaseQuery hidden filter.

func hide(t *testing.T, s storage.Store, user, id string, hidden bool) {
	t.Helper()
	action := "case.hide"
	if !hidden {
		action = "case.unhide"
	}
	if err := s.SetHidden(context.Background(), user, id, hidden, base, audit(action, id)); err != nil {
		t.Fatalf("SetHidden(%s, %s, %v): %v", user, id, hidden, err)
	}
}

func testHiddenMarks(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, c := range searchFixture() {
		commit(t, s, c)
	}
	n := auditCount(t, s)
	if err := s.SetHidden(ctx, "u1", "nope", true, base, audit("case.hide", "nope")); !errors.Is(err, kerr.NotFound) {
		t.Errorf("hiding a missing case: %v, want NotFound", err)
	}
	for _, ids := range [][2]string{{"", "k02"}, {"u1", ""}} {
		if err := s.SetHidden(ctx, ids[0], ids[1], true, base, audit("case.hide", ids[1])); !errors.Is(err, kerr.Invalid) {
			t.Errorf("SetHidden(%q, %q): %v, want Invalid", ids[0], ids[1], err)
		}
	}
	if err := s.SetHidden(ctx, "u1", "k02", true, base, nil); !errors.Is(err, kerr.Invalid) {
		t.Errorf("SetHidden without audit: %v, want Invalid", err)
	}
	if got := auditCount(t, s); got != n {
		t.Errorf("refused writes appended %d audit entries", got-n)
	}
	if h, err := s.IsHidden(ctx, "u1", "k02"); err != nil || h {
		t.Fatalf("IsHidden after refused writes = %v, %v; want false", h, err)
	}

	entries := audit("case.hide", "k02")
	if err := s.SetHidden(ctx, "u1", "k02", true, base, entries); err != nil {
		t.Fatal(err)
	}
	if entries[0].Seq == 0 || len(entries[0].Hash) == 0 {
		t.Errorf("SetHidden did not seal its audit entry: %+v", entries[0])
	}
	hide(t, s, "u1", "k02", true) // again: no change, still audited
	hide(t, s, "u1", "k04", true)
	hide(t, s, "u3", "k08", true)
	if got := auditCount(t, s); got != n+4 {
		t.Errorf("4 SetHidden calls appended %d audit entries", got-n)
	}
	for _, tc := range []struct {
		user, id string
		want     bool
	}{{"u1", "k02", true}, {"u1", "k04", true}, {"u1", "k08", false}, {"u3", "k08", true}, {"u3", "k02", false}, {"u2", "k02", false}, {"u1", "nope", false}} {
		if h, err := s.IsHidden(ctx, tc.user, tc.id); err != nil || h != tc.want {
			t.Errorf("IsHidden(%s, %s) = %v, %v; want %v", tc.user, tc.id, h, err, tc.want)
		}
	}

	// Hand-worked from searchFixture: u1's personal scope is k01 k02 k04
	// k05 k06 k08 k09 (k03 is u1b's; k06 names u1 as a party); co1's is
	// every case but k07; co3/u3's is k02 k03 k04 k08 k09.
	u1 := storage.Scope{CompanyID: "co1", UserID: "u1"}
	co1 := storage.Scope{CompanyID: "co1"}
	u3 := storage.Scope{CompanyID: "co3", UserID: "u3"}
	tests := []struct {
		name string
		q    storage.CaseQuery
		want []string
	}{
		{"u1 default excludes", storage.CaseQuery{Scope: u1, HiddenFor: "u1"}, []string{"k01", "k05", "k06", "k08", "k09"}},
		{"u1 only", storage.CaseQuery{Scope: u1, HiddenFor: "u1", Hidden: storage.HiddenOnly}, []string{"k02", "k04"}},
		{"u1 include", storage.CaseQuery{Scope: u1, HiddenFor: "u1", Hidden: storage.HiddenInclude}, []string{"k01", "k02", "k04", "k05", "k06", "k08", "k09"}},
		{"no HiddenFor hides nothing", storage.CaseQuery{Scope: u1}, []string{"k01", "k02", "k04", "k05", "k06", "k08", "k09"}},
		{"u1 as admin of co1", storage.CaseQuery{Scope: co1, HiddenFor: "u1"}, []string{"k01", "k03", "k05", "k06", "k08", "k09"}},
		{"u1 as admin, only", storage.CaseQuery{Scope: co1, HiddenFor: "u1", Hidden: storage.HiddenOnly}, []string{"k02", "k04"}},
		{"u3's marks are u3's", storage.CaseQuery{Scope: u3, HiddenFor: "u3"}, []string{"k02", "k03", "k04", "k09"}},
		{"u3 only", storage.CaseQuery{Scope: u3, HiddenFor: "u3", Hidden: storage.HiddenOnly}, []string{"k08"}},
		{"the marks of the user named, not the scope's", storage.CaseQuery{Scope: u3, HiddenFor: "u1", Hidden: storage.HiddenOnly}, []string{"k02", "k04"}},
		{"only, with a filter", storage.CaseQuery{Scope: u1, HiddenFor: "u1", Hidden: storage.HiddenOnly, OriginalID: "k02"}, []string{"k04"}},
		{"excluded, with a filter", storage.CaseQuery{Scope: u1, HiddenFor: "u1", States: []string{"completed"}}, []string{"k08"}},
		{"only, no scope", storage.CaseQuery{HiddenFor: "u3", Hidden: storage.HiddenOnly}, []string{"k08"}},
		{"a user who hid nothing", storage.CaseQuery{Scope: u1, HiddenFor: "u9", Hidden: storage.HiddenOnly}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Sort = storage.SortCreated
			if got := searchAll(t, s, q); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	// Every sort key and direction, a page at a time (cursors with the
	// filter), agrees with the unfiltered order less (or restricted to)
	// the hidden cases.
	hidden := map[string]bool{"k02": true, "k04": true}
	for _, scope := range []storage.Scope{u1, co1, {}} {
		for _, key := range []storage.SortKey{storage.SortUpdated, storage.SortCreated, storage.SortTransactionDate, storage.SortAmount, storage.SortCompleted, storage.SortName} {
			for _, desc := range []bool{false, true} {
				all := searchAll(t, s, storage.CaseQuery{Scope: scope, Sort: key, Desc: desc, Limit: 1})
				var wantEx, wantOnly []string
				for _, id := range all {
					if hidden[id] {
						wantOnly = append(wantOnly, id)
					} else {
						wantEx = append(wantEx, id)
					}
				}
				for mode, want := range map[storage.HiddenMode][]string{storage.HiddenExclude: wantEx, storage.HiddenOnly: wantOnly, storage.HiddenInclude: all} {
					q := storage.CaseQuery{Scope: scope, Sort: key, Desc: desc, Limit: 1, HiddenFor: "u1", Hidden: mode}
					if got := searchAll(t, s, q); !slices.Equal(got, want) {
						t.Errorf("scope %+v sort %s desc=%v mode %s: got %v, want %v", scope, key, desc, mode, got, want)
					}
				}
			}
		}
	}

	hide(t, s, "u1", "k04", false)
	hide(t, s, "u1", "k05", false) // not hidden: no change
	if got := searchAll(t, s, storage.CaseQuery{Scope: u1, HiddenFor: "u1", Hidden: storage.HiddenOnly, Sort: storage.SortCreated}); !slices.Equal(got, []string{"k02"}) {
		t.Errorf("after unhiding k04, only hidden = %v, want [k02]", got)
	}
	if got := searchAll(t, s, storage.CaseQuery{Scope: u1, HiddenFor: "u1", Sort: storage.SortCreated}); !slices.Equal(got, []string{"k01", "k04", "k05", "k06", "k08", "k09"}) {
		t.Errorf("after unhiding k04, default = %v", got)
	}

	// A case changed after it was hidden stays hidden.
	c, err := s.GetCase(ctx, "k02")
	if err != nil {
		t.Fatal(err)
	}
	c.UpdatedAt = base.Add(time.Hour)
	commit(t, s, c)
	if got := searchAll(t, s, storage.CaseQuery{Scope: u1, HiddenFor: "u1", Hidden: storage.HiddenOnly}); !slices.Equal(got, []string{"k02"}) {
		t.Errorf("after updating k02, only hidden = %v, want [k02]", got)
	}

	for name, q := range map[string]storage.CaseQuery{
		"only without HiddenFor": {Hidden: storage.HiddenOnly},
		"unknown mode":           {HiddenFor: "u1", Hidden: storage.HiddenMode(7)},
		"negative mode":          {HiddenFor: "u1", Hidden: storage.HiddenMode(-1)},
		"HiddenFor too long":     {HiddenFor: strings.Repeat("u", storage.MaxFilterText+1)},
	} {
		if _, err := s.SearchCases(ctx, &q); !errors.Is(err, kerr.Invalid) {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
}

func testComments(t *testing.T, s storage.Store) {
	ctx := context.Background()
	commit(t, s, sample("c1"))
	commit(t, s, sample("c2"))
	n := auditCount(t, s)

	if _, err := s.GetComment(ctx, "u1", "c1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("GetComment before any: %v, want NotFound", err)
	}
	if err := s.PutComment(ctx, &storage.Comment{UserID: "u1", CaseID: "nope", Text: "x", UpdatedAt: base}, audit("case.comment", "nope")); !errors.Is(err, kerr.NotFound) {
		t.Errorf("comment on a missing case: %v, want NotFound", err)
	}
	for name, c := range map[string]*storage.Comment{
		"nil":          nil,
		"no user":      {CaseID: "c1", Text: "x"},
		"no case":      {UserID: "u1", Text: "x"},
		"too long":     {UserID: "u1", CaseID: "c1", Text: strings.Repeat("a", storage.MaxCommentBytes+1)},
		"invalid UTF8": {UserID: "u1", CaseID: "c1", Text: "a\xffb"},
		"NUL":          {UserID: "u1", CaseID: "c1", Text: "a\x00b"},
	} {
		if err := s.PutComment(ctx, c, audit("case.comment", "c1")); !errors.Is(err, kerr.Invalid) {
			t.Errorf("PutComment %s: %v, want Invalid", name, err)
		}
	}
	if err := s.PutComment(ctx, &storage.Comment{UserID: "u1", CaseID: "c1", Text: "x", UpdatedAt: base}, nil); !errors.Is(err, kerr.Invalid) {
		t.Errorf("PutComment without audit: %v, want Invalid", err)
	}
	if err := s.DeleteComment(ctx, "u1", "c1", audit("case.comment", "c1")); !errors.Is(err, kerr.NotFound) {
		t.Errorf("DeleteComment of none: %v, want NotFound", err)
	}
	if got := auditCount(t, s); got != n {
		t.Errorf("refused writes appended %d audit entries", got-n)
	}
	if _, err := s.GetComment(ctx, "u1", "c1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("refused writes stored a comment: %v", err)
	}

	// The largest comment: MaxCommentBytes of UTF-8, Japanese included.
	long := strings.Repeat("契", storage.MaxCommentBytes/3) + strings.Repeat("a", storage.MaxCommentBytes%3)
	put := func(user, id, text string, at time.Time) {
		t.Helper()
		entries := audit("case.comment", id)
		if err := s.PutComment(ctx, &storage.Comment{UserID: user, CaseID: id, Text: text, UpdatedAt: at}, entries); err != nil {
			t.Fatalf("PutComment(%s, %s): %v", user, id, err)
		}
		if entries[0].Seq == 0 {
			t.Errorf("PutComment did not seal its audit entry")
		}
	}
	get := func(user, id string) *storage.Comment {
		t.Helper()
		c, err := s.GetComment(ctx, user, id)
		if err != nil {
			t.Fatalf("GetComment(%s, %s): %v", user, id, err)
		}
		return c
	}
	put("u1", "c1", "初回メモ", base)
	put("u2", "c1", long, base.Add(time.Minute))
	put("u1", "c2", "", base) // empty text is a comment too
	if c := get("u1", "c1"); c.Text != "初回メモ" || !c.UpdatedAt.Equal(base) || c.UserID != "u1" || c.CaseID != "c1" {
		t.Errorf("GetComment(u1, c1) = %+v", c)
	}
	if c := get("u2", "c1"); c.Text != long {
		t.Errorf("the longest comment came back %d bytes, want %d", len(c.Text), len(long))
	}
	if c := get("u1", "c2"); c.Text != "" {
		t.Errorf("empty comment came back %q", c.Text)
	}
	if _, err := s.GetComment(ctx, "u3", "c1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("another user's comment: %v, want NotFound", err)
	}
	// Editing replaces text and time; one comment per user and case.
	later := base.Add(48 * time.Hour)
	put("u1", "c1", "改訂\n二行目", later)
	if c := get("u1", "c1"); c.Text != "改訂\n二行目" || !c.UpdatedAt.Equal(later) {
		t.Errorf("edited comment = %+v", c)
	}
	if c := get("u2", "c1"); c.Text != long {
		t.Errorf("editing u1's comment changed u2's")
	}
	if err := s.DeleteComment(ctx, "u1", "c1", audit("case.comment", "c1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetComment(ctx, "u1", "c1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("after delete: %v, want NotFound", err)
	}
	if err := s.DeleteComment(ctx, "u1", "c1", audit("case.comment", "c1")); !errors.Is(err, kerr.NotFound) {
		t.Errorf("second delete: %v, want NotFound", err)
	}
	get("u2", "c1")
	if got := auditCount(t, s); got != n+5 {
		t.Errorf("5 comment writes appended %d audit entries", got-n)
	}
	// No text of any comment reaches the audit log through the store.
	entries, err := s.ListAudit(ctx, 0, "c1", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Detail, "メモ") || strings.Contains(e.Detail, "改訂") {
			t.Errorf("audit entry %d holds comment text: %q", e.Seq, e.Detail)
		}
	}
}
