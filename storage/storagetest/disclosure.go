package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// disclosure.go: the DisclosureStore duties (disclosure accounts, their
// cases, sessions and access log) and the CaseQuery disclosure filter.

func newDisclosure(id, login string) *storage.Disclosure {
	return &storage.Disclosure{ID: id, OwnerUserID: "u1", CompanyID: "co1", LoginID: login, PasswordHash: "h", MustChangePassword: true,
		Label: "監査法人 " + id, From: base, Until: base.Add(30 * 24 * time.Hour), CreatedAt: base, UpdatedAt: base}
}

func putDisclosure(t *testing.T, s storage.Store, w *storage.DisclosureWrite) {
	t.Helper()
	if w.Audit == nil {
		w.Audit = audit("disclosure.create", "")
	}
	if err := s.PutDisclosure(context.Background(), w); err != nil {
		t.Fatalf("PutDisclosure(%s): %v", w.Disclosure.ID, err)
	}
}

func testDisclosures(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, c := range searchFixture() {
		commit(t, s, c)
	}
	if err := s.PutCompany(ctx, &storage.Company{ID: "co1", Name: "C", CreatedAt: base}, audit("company.create", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUser(ctx, &storage.User{ID: "u1", CompanyID: "co1", LoginID: "alice", PasswordHash: "h", CreatedAt: base}, audit("user.create", "")); err != nil {
		t.Fatal(err)
	}
	n := auditCount(t, s)

	// Refused writes change nothing.
	refused := []struct {
		name string
		w    *storage.DisclosureWrite
		want kerr.Kind
	}{
		{"login of a user", &storage.DisclosureWrite{Disclosure: newDisclosure("d0", "alice")}, kerr.Conflict},
		{"unknown owner", &storage.DisclosureWrite{Disclosure: func() *storage.Disclosure { d := newDisclosure("d0", "aud0"); d.OwnerUserID = "nobody"; return d }()}, kerr.FailedPrecondition},
		{"missing case", &storage.DisclosureWrite{Disclosure: newDisclosure("d0", "aud0"), Cases: []string{"k02", "nope"}}, kerr.NotFound},
		{"update of a missing account", &storage.DisclosureWrite{Disclosure: func() *storage.Disclosure { d := newDisclosure("d0", "aud0"); d.Version = 3; return d }()}, kerr.NotFound},
		{"long label", &storage.DisclosureWrite{Disclosure: func() *storage.Disclosure {
			d := newDisclosure("d0", "aud0")
			d.Label = strings.Repeat("x", storage.MaxDisclosureLabelBytes+1)
			return d
		}()}, kerr.Invalid},
		{"too many cases", &storage.DisclosureWrite{Disclosure: newDisclosure("d0", "aud0"), Cases: make([]string, storage.MaxDisclosureCases+1)}, kerr.Invalid},
		{"empty case ID", &storage.DisclosureWrite{Disclosure: newDisclosure("d0", "aud0"), Cases: []string{""}}, kerr.Invalid},
		{"no audit", &storage.DisclosureWrite{Disclosure: newDisclosure("d0", "aud0"), Audit: []storage.AuditEntry{}}, kerr.Invalid},
		{"nil", &storage.DisclosureWrite{}, kerr.Invalid},
	}
	for _, tc := range refused {
		if tc.w.Audit == nil && tc.w.Disclosure != nil {
			tc.w.Audit = audit("disclosure.create", "")
		}
		if err := s.PutDisclosure(ctx, tc.w); !errors.Is(err, tc.want) {
			t.Errorf("%s: PutDisclosure = %v, want %v", tc.name, err, tc.want)
		}
	}
	if got := auditCount(t, s); got != n {
		t.Errorf("refused writes appended %d audit entries", got-n)
	}
	if _, err := s.GetDisclosure(ctx, "d0"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("GetDisclosure after refused writes: %v, want NotFound", err)
	}

	// Create with cases, sorted and deduplicated.
	d1 := newDisclosure("d1", "aud1")
	d1.AllowList = []string{"192.0.2.0/24"}
	w := &storage.DisclosureWrite{Disclosure: d1, Cases: []string{"k05", "k02", "k03", "k05"}, MaxPerOwner: 2, Audit: audit("disclosure.create", "")}
	putDisclosure(t, s, w)
	if d1.Version != 1 || w.Audit[0].Seq == 0 {
		t.Errorf("after create: version %d, audit seq %d; want 1 and sealed", d1.Version, w.Audit[0].Seq)
	}
	got, err := s.GetDisclosure(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if got.LoginID != "aud1" || got.Label != d1.Label || !got.Until.Equal(d1.Until) || !got.MustChangePassword || !slices.Equal(got.AllowList, d1.AllowList) || got.Version != 1 {
		t.Errorf("GetDisclosure = %+v, want %+v", got, d1)
	}
	if byLogin, err := s.GetDisclosureByLogin(ctx, "aud1"); err != nil || byLogin.ID != "d1" {
		t.Errorf("GetDisclosureByLogin(aud1) = %v, %v", byLogin, err)
	}
	if _, err := s.GetDisclosureByLogin(ctx, "alice"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("GetDisclosureByLogin of a user's login: %v, want NotFound", err)
	}
	if cs, err := s.DisclosureCases(ctx, "d1"); err != nil || !slices.Equal(cs, []string{"k02", "k03", "k05"}) {
		t.Errorf("DisclosureCases = %v, %v; want [k02 k03 k05]", cs, err)
	}
	for _, tc := range []struct {
		id, c string
		want  bool
	}{{"d1", "k02", true}, {"d1", "k04", false}, {"d9", "k02", false}} {
		if ok, err := s.Discloses(ctx, tc.id, tc.c); err != nil || ok != tc.want {
			t.Errorf("Discloses(%s, %s) = %v, %v; want %v", tc.id, tc.c, ok, err, tc.want)
		}
	}

	// Login IDs are unique across users and disclosure accounts.
	if err := s.PutUser(ctx, &storage.User{ID: "u9", CompanyID: "co1", LoginID: "aud1", CreatedAt: base}, audit("user.create", "")); !errors.Is(err, kerr.Conflict) {
		t.Errorf("PutUser with a disclosure account's login ID: %v, want Conflict", err)
	}
	if err := s.PutDisclosure(ctx, &storage.DisclosureWrite{Disclosure: newDisclosure("d9", "aud1"), Audit: audit("disclosure.create", "")}); !errors.Is(err, kerr.Conflict) {
		t.Errorf("second disclosure account with login aud1: %v, want Conflict", err)
	}

	// The owner's limit counts unrevoked accounts.
	putDisclosure(t, s, &storage.DisclosureWrite{Disclosure: newDisclosure("d2", "aud2"), MaxPerOwner: 2})
	if err := s.PutDisclosure(ctx, &storage.DisclosureWrite{Disclosure: newDisclosure("d3", "aud3"), MaxPerOwner: 2, Audit: audit("disclosure.create", "")}); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("third account over a limit of 2: %v, want FailedPrecondition", err)
	}
	d2, _ := s.GetDisclosure(ctx, "d2")
	d2.RevokedAt = base.Add(time.Hour)
	putDisclosure(t, s, &storage.DisclosureWrite{Disclosure: d2, Audit: audit("disclosure.revoke", "")})
	putDisclosure(t, s, &storage.DisclosureWrite{Disclosure: newDisclosure("d3", "aud3"), MaxPerOwner: 2})

	// Stale version; nil Cases keeps the set, an empty one clears it.
	stale := *d1
	stale.Version = 0
	stale.Label = "x"
	if err := s.PutDisclosure(ctx, &storage.DisclosureWrite{Disclosure: &stale, Audit: audit("disclosure.update", "")}); !errors.Is(err, kerr.Conflict) {
		t.Errorf("create over an existing ID: %v, want Conflict", err)
	}
	stale.Version = 7
	if err := s.PutDisclosure(ctx, &storage.DisclosureWrite{Disclosure: &stale, Audit: audit("disclosure.update", "")}); !errors.Is(err, kerr.Conflict) {
		t.Errorf("stale version: %v, want Conflict", err)
	}
	d1.Label = "renamed"
	putDisclosure(t, s, &storage.DisclosureWrite{Disclosure: d1, Audit: audit("disclosure.update", "")})
	if cs, _ := s.DisclosureCases(ctx, "d1"); len(cs) != 3 {
		t.Errorf("an update with nil Cases changed the set to %v", cs)
	}
	putDisclosure(t, s, &storage.DisclosureWrite{Disclosure: d3(t, s), Cases: []string{}, Audit: audit("disclosure.update", "")})
	if cs, _ := s.DisclosureCases(ctx, "d3"); len(cs) != 0 {
		t.Errorf("an empty Cases left %v", cs)
	}
	list, err := s.ListDisclosures(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range list {
		names = append(names, d.ID+":"+d.Label)
	}
	if !slices.Equal(names, []string{"d1:renamed", "d2:監査法人 d2", "d3:監査法人 d3"}) {
		t.Errorf("ListDisclosures = %v", names)
	}

	// The search filter: the disclosed cases, inside the scope, paged.
	u1 := storage.Scope{CompanyID: "co1", UserID: "u1"}
	for _, sort := range []storage.SortKey{storage.SortUpdated, storage.SortCreated, storage.SortName, storage.SortCompleted} {
		q := storage.CaseQuery{Scope: u1, DisclosureID: "d1", Sort: sort, Limit: 1}
		if got := searchAll(t, s, q); !slices.Equal(got, []string{"k02", "k05"}) && !slices.Equal(got, []string{"k05", "k02"}) {
			t.Errorf("sort %s: disclosure search in u1's scope = %v, want k02 and k05 (k03 is not u1's)", sort, got)
		}
	}
	if got := searchAll(t, s, storage.CaseQuery{DisclosureID: "d1", Sort: storage.SortName}); len(got) != 3 {
		t.Errorf("disclosure search without scope = %v, want the 3 disclosed cases", got)
	}
	if got := searchAll(t, s, storage.CaseQuery{Scope: u1, DisclosureID: "d9"}); len(got) != 0 {
		t.Errorf("search of an unknown disclosure = %v, want none", got)
	}
	if _, err := s.SearchCases(ctx, &storage.CaseQuery{Scope: u1, DisclosureID: "d1", HiddenFor: "u1"}); !errors.Is(err, kerr.Invalid) {
		t.Errorf("DisclosureID with HiddenFor: %v, want Invalid", err)
	}

	// Sessions end on request, but for the kept one.
	for _, c := range []byte{'a', 'b'} {
		if err := s.PutSession(ctx, &storage.Session{TokenHash: hex64(c), UserID: "d1", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}, audit("disclosure.login", "")); err != nil {
			t.Fatal(err)
		}
	}
	d1, _ = s.GetDisclosure(ctx, "d1")
	d1.MustChangePassword = false
	putDisclosure(t, s, &storage.DisclosureWrite{Disclosure: d1, EndSessions: true, KeepSession: hex64('b'), Audit: audit("disclosure.password-change", "")})
	if _, err := s.GetSession(ctx, hex64('a')); !errors.Is(err, kerr.NotFound) {
		t.Errorf("ended session: %v, want NotFound", err)
	}
	if _, err := s.GetSession(ctx, hex64('b')); err != nil {
		t.Errorf("kept session: %v", err)
	}

	// The access log: the account's own disclosure.* entries, paged.
	entry := func(actor, action string) storage.AuditEntry {
		return storage.AuditEntry{Time: base, ActorUserID: actor, ActorCompanyID: "co1", RemoteAddr: "192.0.2.7", Action: action, CaseID: "k02", Detail: "x"}
	}
	if err := s.AppendAudit(ctx, []storage.AuditEntry{entry("d1", "disclosure.view"), entry("d2", "disclosure.view"), entry("d1", "case.view"),
		entry("u1", "disclosure.view"), entry("d1", "disclosure.download")}); err != nil {
		t.Fatal(err)
	}
	var actions []string
	var after int64
	for {
		page, err := s.ListDisclosureAccess(ctx, "d1", after, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		actions = append(actions, page[0].Action+"@"+page[0].RemoteAddr)
		after = page[0].Seq
	}
	// disclosure.login and disclosure.password-change above were written
	// by actor u1 (the suite's audit helper), so only these two count.
	if !slices.Equal(actions, []string{"disclosure.view@192.0.2.7", "disclosure.download@192.0.2.7"}) {
		t.Errorf("ListDisclosureAccess(d1) = %v", actions)
	}
	if _, err := s.ListDisclosureAccess(ctx, "d1", 0, 0); !errors.Is(err, kerr.Invalid) {
		t.Errorf("limit 0: %v, want Invalid", err)
	}
}

func d3(t *testing.T, s storage.Store) *storage.Disclosure {
	t.Helper()
	d, err := s.GetDisclosure(context.Background(), "d3")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testDisclosureRaces: concurrent creations for one owner never pass its
// limit, and of a user and a disclosure account taking one login ID at
// once exactly one wins.
func testDisclosureRaces(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if err := s.PutCompany(ctx, &storage.Company{ID: "co1", Name: "C", CreatedAt: base}, audit("company.create", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUser(ctx, &storage.User{ID: "u1", CompanyID: "co1", LoginID: "alice", CreatedAt: base}, audit("user.create", "")); err != nil {
		t.Fatal(err)
	}
	const n, limit = 8, 3
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d := newDisclosure(fmt.Sprintf("r%d", i), fmt.Sprintf("race-%d", i))
			errs[i] = s.PutDisclosure(ctx, &storage.DisclosureWrite{Disclosure: d, MaxPerOwner: limit, Audit: audit("disclosure.create", "")})
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, kerr.FailedPrecondition) && !errors.Is(err, kerr.Unavailable):
			t.Errorf("creation %d: %v, want FailedPrecondition", i, err)
		}
	}
	if list, _ := s.ListDisclosures(ctx, "u1"); won != limit || len(list) != limit {
		t.Errorf("%d concurrent creations under a limit of %d: %d won, %d stored", n, limit, won, len(list))
	}

	for i := range 4 {
		login := fmt.Sprintf("both-%d", i)
		var userErr, discErr error
		wg.Go(func() {
			userErr = s.PutUser(ctx, &storage.User{ID: "uu" + login, CompanyID: "co1", LoginID: login, CreatedAt: base}, audit("user.create", ""))
		})
		wg.Go(func() {
			discErr = s.PutDisclosure(ctx, &storage.DisclosureWrite{Disclosure: newDisclosure("dd"+login, login), Audit: audit("disclosure.create", "")})
		})
		wg.Wait()
		if (userErr == nil) == (discErr == nil) || userErr != nil && !errors.Is(userErr, kerr.Conflict) || discErr != nil && !errors.Is(discErr, kerr.Conflict) {
			t.Errorf("login %s taken at once by a user (%v) and a disclosure account (%v): want exactly one Conflict", login, userErr, discErr)
		}
	}
}
