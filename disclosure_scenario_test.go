package keiyaku_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/keiyakutest"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// backendStores returns the stores a facade scenario runs on: the
// embedded default (nil Store: SQLite under the Service's directory) and,
// when KEIYAKU_POSTGRES_DSN is set, PostgreSQL in a schema of its own.
func backendStores(t *testing.T) map[string]func(t *testing.T) func(cfg *keiyaku.Config) {
	return map[string]func(t *testing.T) func(cfg *keiyaku.Config){
		"sqlite": func(t *testing.T) func(cfg *keiyaku.Config) { return nil },
		"postgres": func(t *testing.T) func(cfg *keiyaku.Config) {
			st := postgresStore(t, "kd_")
			return func(cfg *keiyaku.Config) { cfg.Store = st }
		},
	}
}

// completeCase takes a case from registration by reg to completion with
// party, with one supplementary file.
func completeCase(t *testing.T, env *keiyakutest.Env, reg, party *keiyakutest.Person, name string) *casework.Case {
	t.Helper()
	c := registerCase(t, env, reg, party, name)
	ctx := context.Background()
	r, _, err := env.Cases.Receive(ctx, party.Principal, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err = env.Cases.Return(ctx, party.Principal, c.ID, keiyakutest.Upload("signed.pdf", party.Sign(t, got))); err != nil {
		t.Fatal(err)
	}
	if c, err = env.Cases.Complete(ctx, reg.Principal, c.ID); err != nil {
		t.Fatal(err)
	}
	return c
}

func registerCase(t *testing.T, env *keiyakutest.Env, reg, party *keiyakutest.Person, name string) *casework.Case {
	t.Helper()
	c, err := env.Cases.Register(context.Background(), reg.Principal, &casework.NewCase{
		Form: casework.FormBilateral, Name: name, Amount: casework.Money{Amount: 1_000_000, Currency: "JPY"},
		TransactionDate: civil.DateOf(keiyakutest.Now),
		Parties:         []casework.Party{party.Party()},
		Document:        keiyakutest.Upload("contract.pdf", reg.Sign(t, keiyakutest.ContractPDF(name))),
		Supplements:     []casework.Upload{keiyakutest.Upload("spec.txt", []byte("仕様書 "+name))},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// relogin returns a fresh Principal of p (its sessions end when it is
// disabled).
func relogin(t *testing.T, env *keiyakutest.Env, p *keiyakutest.Person) account.Principal {
	t.Helper()
	ctx := context.Background()
	sess, err := env.Accounts.Login(ctx, p.LoginID, p.Password, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pr, err := env.Accounts.Authenticate(ctx, sess.Token, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func download(t *testing.T, env *keiyakutest.Env, p account.Principal, id, key string) []byte {
	t.Helper()
	r, _, err := env.Cases.Open(context.Background(), p, id, key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDisclosureScenario: a disclosure account (第三者開示) from creation
// to expiry, through the facade as an embedder would use it, on SQLite
// and on PostgreSQL: created by a user for one of its completed cases,
// refused before its period, a first login that forces a password
// change, exactly its one case seen among several, downloaded and
// verified, every other operation refused, no hidden flag or comment
// applied or shown; refused after its period (login and the session it
// holds), back when the owner extends the period, refused once revoked;
// the owner's access log shows every access with its address. Then the
// limits: the sixth account, a case not completed, a case not the
// owner's, a taken login ID.
func TestDisclosureScenario(t *testing.T) {
	for name, backend := range backendStores(t) {
		t.Run(name, func(t *testing.T) { testDisclosureScenario(t, backend(t)) })
	}
}

func testDisclosureScenario(t *testing.T, configure func(cfg *keiyaku.Config)) {
	ctx := context.Background()
	clock := newClockVar(keiyakutest.Now)
	env := keiyakutest.NewService(t, &keiyakutest.Options{Clock: clock.now, Configure: configure})
	a := env.NewCompany(t, "株式会社エー商事", "山田 太郎")
	b := env.NewCompany(t, "Bee Trading Ltd.", "Betty Brown")
	owner := env.NewUser(t, a, "鈴木 一郎")
	colleague := env.NewUser(t, a, "佐藤 花子")

	shown := completeCase(t, env, owner, b.Admin, "開示する契約")
	other := completeCase(t, env, owner, b.Admin, "開示しない契約")
	notMine := completeCase(t, env, colleague, b.Admin, "同僚の契約")
	open := registerCase(t, env, owner, b.Admin, "締結前の契約")

	// The owner's own marks on the shown case: never applied to, or
	// shown through, the disclosure.
	if err := env.Cases.Hide(ctx, owner.Principal, shown.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Cases.SetComment(ctx, owner.Principal, shown.ID, "監査には見せない社内メモ"); err != nil {
		t.Fatal(err)
	}

	from, until := keiyakutest.Now.Add(time.Hour), keiyakutest.Now.Add(5*time.Hour)
	d, initial, err := env.Accounts.CreateDisclosure(ctx, owner.Principal, account.NewDisclosure{
		LoginID: "audit-2026", Label: "監査法人 東京", From: from, Until: until, Cases: []string{shown.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !d.MustChangePassword || !slices.Equal(d.Cases, []string{shown.ID}) || initial == "" {
		t.Fatalf("CreateDisclosure = %+v", d)
	}
	const auditor = "203.0.113.9"
	badCredentials := func(err error) bool {
		return errors.Is(err, kerr.Unauthenticated) && errors.Is(err, account.ErrBadCredentials)
	}

	// Before its period: a right password is refused like a wrong one.
	if _, err := env.Accounts.Login(ctx, "audit-2026", initial, auditor); !badCredentials(err) {
		t.Errorf("login before the period: %v, want ErrBadCredentials", err)
	}

	clock.set(keiyakutest.Now.Add(2 * time.Hour))
	sess, err := env.Accounts.Login(ctx, "audit-2026", initial, auditor)
	if err != nil {
		t.Fatalf("first login inside the period: %v", err)
	}
	if !sess.MustChangePassword || !sess.Principal.IsDisclosure() {
		t.Errorf("first login: %+v, want a disclosure principal that must change its password", sess)
	}
	if _, err := env.Accounts.Authenticate(ctx, sess.Token, auditor); !errors.Is(err, account.ErrPasswordChangeRequired) {
		t.Errorf("Authenticate before the password change: %v", err)
	}
	password := "kd-" + rand.Text()
	if err := env.Accounts.ChangePassword(ctx, sess.Token, initial, password, auditor); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if _, err := env.Accounts.Login(ctx, "audit-2026", initial, auditor); !badCredentials(err) {
		t.Errorf("login with the old initial password: %v", err)
	}
	p, err := env.Accounts.Authenticate(ctx, sess.Token, auditor)
	if err != nil {
		t.Fatal(err)
	}
	if !p.IsDisclosure() || p.DisclosureID != d.ID || p.CompanyID != a.ID || p.Admin {
		t.Fatalf("disclosure principal = %+v", p)
	}

	// It sees its one case, in every list, hidden by its owner or not.
	for _, q := range []*casework.Query{nil, {States: []casework.State{casework.StateCompleted}}, {Hidden: casework.HiddenOnly}, {Hidden: casework.HiddenInclude}} {
		page, err := env.Cases.Search(ctx, p, q)
		if err != nil {
			t.Fatalf("Search(%+v): %v", q, err)
		}
		if len(page.Cases) != 1 || page.Cases[0].ID != shown.ID {
			var ids []string
			for _, c := range page.Cases {
				ids = append(ids, c.Name)
			}
			t.Errorf("Search(%+v) = %v, want only %q", q, ids, shown.Name)
		}
	}
	if page, err := env.Cases.Search(ctx, p, &casework.Query{States: casework.IncompleteStates()}); err != nil || len(page.Cases) != 0 {
		t.Errorf("Search of the incomplete list = %v, %v; want none", page, err)
	}
	c, err := env.Cases.Get(ctx, p, shown.ID)
	if err != nil || c.ID != shown.ID {
		t.Fatalf("Get(shown) = %v, %v", c, err)
	}
	for _, id := range []string{other.ID, notMine.ID, open.ID, "no-such-case"} {
		if _, err := env.Cases.Get(ctx, p, id); !errors.Is(err, kerr.NotFound) {
			t.Errorf("Get(%s): %v, want NotFound", id, err)
		}
	}

	// Downloads: byte for byte what the owner gets.
	for _, f := range append([]casework.File{c.Document}, append(c.Supplements, c.Sealed...)...) {
		mine := download(t, env, owner.Principal, c.ID, f.Key)
		theirs := download(t, env, p, c.ID, f.Key)
		if !bytes.Equal(mine, theirs) || int64(len(theirs)) != f.Size {
			t.Errorf("download of %s: %d bytes, the owner's %d", f.Name, len(theirs), len(mine))
		}
	}
	if _, _, err := env.Cases.Open(ctx, p, other.ID, other.Document.Key); !errors.Is(err, kerr.NotFound) {
		t.Errorf("Open of a case not given: %v, want NotFound", err)
	}
	if reps, err := env.Cases.CheckSignatures(ctx, p, shown.ID); err != nil || len(reps) == 0 {
		t.Errorf("CheckSignatures = %v, %v", reps, err)
	}
	chk, err := env.VerifyOriginal(ctx, p, shown.ID)
	if err != nil || !chk.Original {
		t.Errorf("VerifyOriginal = %+v, %v; want original", chk, err)
	}
	if _, err := env.VerifyOriginal(ctx, p, other.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("VerifyOriginal of a case not given: %v, want NotFound", err)
	}

	// The reads are in the owner's audit trail of the case, and not in
	// the counterparty's: that A showed the contract to an auditor is
	// A's business.
	countDisclosure := func(who account.Principal) int {
		t.Helper()
		trail, err := env.Cases.AuditTrail(ctx, who, shown.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range trail {
			if strings.HasPrefix(e.Action, storage.DisclosureActionPrefix) {
				if e.ActorCompanyID != a.ID {
					t.Errorf("disclosure entry of company %q in the trail", e.ActorCompanyID)
				}
				n++
			}
		}
		return n
	}
	if n := countDisclosure(owner.Principal); n < 3 {
		t.Errorf("owner's audit trail: %d disclosure entries, want the view, downloads and verification", n)
	}
	if n := countDisclosure(a.Admin.Principal); n < 3 {
		t.Errorf("owner's administrator's audit trail: %d disclosure entries, want them too", n)
	}
	if n := countDisclosure(b.Admin.Principal); n != 0 {
		t.Errorf("counterparty's audit trail: %d disclosure entries, want none", n)
	}
	if all, err := env.Store.ListAudit(ctx, 0, shown.ID, 1000); err != nil || len(all) == 0 {
		t.Errorf("ListAudit = %d, %v", len(all), err)
	}

	// Everything else is refused: PermissionDenied on its case,
	// NotFound on any other.
	ops := map[string]func(id string) error{
		"Hide":          func(id string) error { return env.Cases.Hide(ctx, p, id) },
		"Unhide":        func(id string) error { return env.Cases.Unhide(ctx, p, id) },
		"IsHidden":      func(id string) error { _, err := env.Cases.IsHidden(ctx, p, id); return err },
		"Comment":       func(id string) error { _, err := env.Cases.Comment(ctx, p, id); return err },
		"SetComment":    func(id string) error { _, err := env.Cases.SetComment(ctx, p, id, "x"); return err },
		"DeleteComment": func(id string) error { return env.Cases.DeleteComment(ctx, p, id) },
		"AuditTrail":    func(id string) error { _, err := env.Cases.AuditTrail(ctx, p, id); return err },
		"Related":       func(id string) error { _, err := env.Cases.Related(ctx, p, id); return err },
		"Receive":       func(id string) error { _, _, err := env.Cases.Receive(ctx, p, id); return err },
		"SendBack":      func(id string) error { _, err := env.Cases.SendBack(ctx, p, id, "理由"); return err },
		"Complete":      func(id string) error { _, err := env.Cases.Complete(ctx, p, id); return err },
		"Acknowledge":   func(id string) error { _, err := env.Cases.Acknowledge(ctx, p, id); return err },
		"Delete":        func(id string) error { _, err := env.Cases.Delete(ctx, p, id); return err },
		"Return": func(id string) error {
			_, err := env.Cases.Return(ctx, p, id, keiyakutest.Upload("x.pdf", keiyakutest.ContractPDF("x")))
			return err
		},
	}
	for name, op := range ops {
		if err := op(shown.ID); !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("%s on its case: %v, want PermissionDenied", name, err)
		}
		if err := op(other.ID); !errors.Is(err, kerr.NotFound) {
			t.Errorf("%s on a case not given: %v, want NotFound", name, err)
		}
	}
	if _, err := env.Cases.Register(ctx, p, &casework.NewCase{Form: casework.FormBilateral, Name: "x"}); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("Register: %v, want PermissionDenied", err)
	}
	if _, err := env.Cases.ExportCSV(ctx, p, nil, io.Discard); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("ExportCSV: %v, want PermissionDenied", err)
	}
	if _, _, err := env.Accounts.CreateToken(ctx, p, account.NewToken{Name: "x", Scope: account.ScopeRead}); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("CreateToken: %v, want PermissionDenied", err)
	}
	if _, _, err := env.Accounts.CreateDisclosure(ctx, p, account.NewDisclosure{LoginID: "audit-x", Label: "x", Until: until}); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("CreateDisclosure by a disclosure account: %v, want PermissionDenied", err)
	}
	if _, err := env.Accounts.FindCompanies(ctx, p, account.DirectoryQuery{Name: "Bee"}); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("FindCompanies: %v, want PermissionDenied", err)
	}
	// The owner's marks are untouched and still theirs alone.
	if h, err := env.Cases.IsHidden(ctx, owner.Principal, shown.ID); err != nil || !h {
		t.Errorf("owner's hidden mark = %v, %v", h, err)
	}

	// After its period: login refused, its session ends, a Principal
	// held across the end stops working.
	clock.set(until.Add(time.Minute))
	if _, err := env.Accounts.Login(ctx, "audit-2026", password, auditor); !badCredentials(err) {
		t.Errorf("login after the period: %v, want ErrBadCredentials", err)
	}
	if _, err := env.Accounts.Authenticate(ctx, sess.Token, auditor); !errors.Is(err, account.ErrSessionExpired) {
		t.Errorf("the session after the period: %v, want ErrSessionExpired", err)
	}
	if _, err := env.Cases.Get(ctx, p, shown.ID); !errors.Is(err, kerr.Unauthenticated) {
		t.Errorf("Get with a Principal held past the period: %v, want Unauthenticated", err)
	}
	if _, err := env.Cases.Search(ctx, p, nil); !errors.Is(err, kerr.Unauthenticated) {
		t.Errorf("Search with a Principal held past the period: %v, want Unauthenticated", err)
	}

	// The owner extends it, restricts its address, and revokes it.
	newUntil := until.Add(24 * time.Hour)
	if _, err := env.Accounts.UpdateDisclosure(ctx, owner.Principal, d.ID, account.DisclosureUpdate{Until: &newUntil}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Accounts.UpdateDisclosure(ctx, colleague.Principal, d.ID, account.DisclosureUpdate{Until: &newUntil}); !errors.Is(err, kerr.NotFound) {
		t.Errorf("UpdateDisclosure by a colleague: %v, want NotFound", err)
	}
	if _, err := env.Accounts.UpdateDisclosure(ctx, a.Admin.Principal, d.ID, account.DisclosureUpdate{Until: &newUntil}); !errors.Is(err, kerr.NotFound) {
		t.Errorf("UpdateDisclosure by the administrator: %v, want NotFound", err)
	}
	if _, err := env.Accounts.SetDisclosureAllowList(ctx, owner.Principal, d.ID, []string{"203.0.113.0/24"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Accounts.Login(ctx, "audit-2026", password, "198.51.100.1"); !errors.Is(err, account.ErrAddressNotAllowed) {
		t.Errorf("login from outside its allow-list: %v, want ErrAddressNotAllowed", err)
	}
	again, err := env.Accounts.Login(ctx, "audit-2026", password, auditor)
	if err != nil {
		t.Fatalf("login after the extension: %v", err)
	}
	if _, err := env.Accounts.Authenticate(ctx, again.Token, "198.51.100.1"); !errors.Is(err, account.ErrAddressNotAllowed) {
		t.Errorf("Authenticate from outside its allow-list: %v", err)
	}
	p2, err := env.Accounts.Authenticate(ctx, again.Token, auditor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Cases.Get(ctx, p2, shown.ID); err != nil {
		t.Errorf("Get after the extension: %v", err)
	}
	if err := env.Accounts.RevokeDisclosure(ctx, owner.Principal, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Accounts.Authenticate(ctx, again.Token, auditor); !errors.Is(err, account.ErrSessionExpired) {
		t.Errorf("the session after revocation: %v, want ErrSessionExpired", err)
	}
	if _, err := env.Accounts.Login(ctx, "audit-2026", password, auditor); !badCredentials(err) {
		t.Errorf("login after revocation: %v, want ErrBadCredentials", err)
	}
	if _, err := env.Cases.Get(ctx, p2, shown.ID); !errors.Is(err, kerr.Unauthenticated) {
		t.Errorf("Get with a Principal held across the revocation: %v, want Unauthenticated", err)
	}

	// The owner's access log, paged: every access, with the address.
	var log []string
	var after int64
	for {
		page, err := env.Accounts.AccessLog(ctx, owner.Principal, d.ID, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.ActorUserID != d.ID || !strings.HasPrefix(e.RemoteAddr, "203.0.113.") && !strings.HasPrefix(e.RemoteAddr, "198.51.100.") {
				t.Errorf("access entry %+v: not the account's, or no address", e)
			}
			log = append(log, e.Action)
			if e.Action == "disclosure.download" && (e.CaseID != shown.ID || !strings.Contains(e.Detail, c.Document.Key) && !strings.Contains(e.Detail, c.Supplements[0].Key) && !slices.ContainsFunc(c.Sealed, func(f casework.File) bool { return strings.Contains(e.Detail, f.Key) })) {
				t.Errorf("download entry %+v names no file key of the case", e)
			}
		}
		after = page[len(page)-1].Seq
	}
	count := func(action string) int {
		n := 0
		for _, a := range log {
			if a == action {
				n++
			}
		}
		return n
	}
	wantAtLeast := map[string]int{
		"disclosure.login": 2, "disclosure.login-refused": 3, "disclosure.password-change": 1, "disclosure.search": 5,
		"disclosure.view": 2, "disclosure.download": 2 + len(c.Supplements) + len(c.Sealed) - 1, "disclosure.signature-check": 1,
		"disclosure.verify": 1, "disclosure.session-ended": 1, "disclosure.address-refused": 2,
	}
	for action, n := range wantAtLeast {
		if got := count(action); got < n {
			t.Errorf("access log has %d %q entries, want at least %d (log: %v)", got, action, n, log)
		}
	}
	if _, err := env.Accounts.AccessLog(ctx, colleague.Principal, d.ID, 0, 10); !errors.Is(err, kerr.NotFound) {
		t.Errorf("AccessLog by a colleague: %v, want NotFound", err)
	}

	// Limits: five unrevoked accounts per user by default (the revoked
	// one does not count), then the company setting.
	for i := range 5 {
		if _, _, err := env.Accounts.CreateDisclosure(ctx, owner.Principal, account.NewDisclosure{
			LoginID: "audit-n" + string(rune('a'+i)), Label: "監査", Until: newUntil, Cases: []string{shown.ID, other.ID},
		}); err != nil {
			t.Fatalf("account %d: %v", i+1, err)
		}
	}
	// A disclosure works only while its owner is an enabled user.
	na, err := env.Accounts.ListDisclosures(ctx, owner.Principal)
	if err != nil || len(na) != 6 {
		t.Fatalf("ListDisclosures: %d, %v", len(na), err)
	}
	var naInitial string
	{
		// A new account to log in with: its initial password is known.
		if err := env.Accounts.RevokeDisclosure(ctx, owner.Principal, na[5].ID); err != nil {
			t.Fatal(err)
		}
		if _, naInitial, err = env.Accounts.CreateDisclosure(ctx, owner.Principal, account.NewDisclosure{
			LoginID: "audit-owner-off", Label: "監査", Until: newUntil, Cases: []string{shown.ID},
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Accounts.SetDisabled(ctx, a.Admin.Principal, owner.Principal.UserID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Accounts.Login(ctx, "audit-owner-off", naInitial, auditor); !badCredentials(err) {
		t.Errorf("login while the owner is disabled: %v, want ErrBadCredentials", err)
	}
	if err := env.Accounts.SetDisabled(ctx, a.Admin.Principal, owner.Principal.UserID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Accounts.Login(ctx, "audit-owner-off", naInitial, auditor); err != nil {
		t.Errorf("login once the owner is enabled again: %v", err)
	}
	owner.Principal = relogin(t, env, owner)

	// A case that moves to another owner leaves the disclosure at once:
	// the new owner never granted it (casework.Service.MoveCase by the
	// company's administrator); moving it back shows it again.
	offSess, err := env.Accounts.Login(ctx, "audit-owner-off", naInitial, auditor)
	if err != nil {
		t.Fatal(err)
	}
	offPassword := "kd-" + rand.Text()
	if err := env.Accounts.ChangePassword(ctx, offSess.Token, naInitial, offPassword, auditor); err != nil {
		t.Fatal(err)
	}
	p3, err := env.Accounts.Authenticate(ctx, offSess.Token, auditor)
	if err != nil {
		t.Fatal(err)
	}
	move := func(from, to string) {
		t.Helper()
		if _, err := env.Cases.MoveCase(ctx, a.Admin.Principal, shown.ID, from, to); err != nil {
			t.Fatalf("MoveCase by the administrator: %v", err)
		}
	}
	visible := func() (bool, bool) {
		t.Helper()
		_, gerr := env.Cases.Get(ctx, p3, shown.ID)
		if gerr != nil && !errors.Is(gerr, kerr.NotFound) {
			t.Fatalf("Get: %v", gerr)
		}
		rc, _, oerr := env.Cases.Open(ctx, p3, shown.ID, shown.Document.Key)
		if oerr == nil {
			rc.Close()
		}
		if (gerr == nil) != (oerr == nil) || (oerr != nil && !errors.Is(oerr, kerr.NotFound)) {
			t.Fatalf("Get: %v but Open: %v", gerr, oerr)
		}
		page, err := env.Cases.Search(ctx, p3, nil)
		if err != nil {
			t.Fatal(err)
		}
		return gerr == nil, len(page.Cases) == 1 && page.Cases[0].ID == shown.ID
	}
	if got, listed := visible(); !got || !listed {
		t.Fatalf("before the move: Get %v, listed %v; want both", got, listed)
	}
	move(owner.Principal.UserID, colleague.Principal.UserID)
	if got, listed := visible(); got || listed {
		t.Errorf("after the move to a colleague: Get %v, listed %v; want neither", got, listed)
	}
	if info, err := env.Accounts.Disclosure(ctx, owner.Principal, p3.DisclosureID); err != nil || !slices.Equal(info.Cases, []string{shown.ID}) {
		t.Errorf("the owner's view of the account after the move: %+v, %v", info, err)
	}
	move(colleague.Principal.UserID, owner.Principal.UserID)
	if got, listed := visible(); !got || !listed {
		t.Errorf("after the move back: Get %v, listed %v; want both", got, listed)
	}
	// The same across companies: the operator moves it to company C (a
	// merger) and back.
	op := newOperator(t, env, "operator-disclosure")
	c3 := env.NewCompany(t, "株式会社シー物産", "清水 三郎")
	if _, err := env.Cases.MoveCase(ctx, op, shown.ID, owner.Principal.UserID, c3.Admin.Principal.UserID); err != nil {
		t.Fatalf("MoveCase by the operator to company C: %v", err)
	}
	if got, listed := visible(); got || listed {
		t.Errorf("after the move to company C: Get %v, listed %v; want neither", got, listed)
	}
	if _, err := env.Cases.MoveCase(ctx, op, shown.ID, c3.Admin.Principal.UserID, owner.Principal.UserID); err != nil {
		t.Fatalf("MoveCase by the operator back to company A: %v", err)
	}
	if got, listed := visible(); !got || !listed {
		t.Errorf("after the move back from company C: Get %v, listed %v; want both", got, listed)
	}

	sixth := account.NewDisclosure{LoginID: "audit-six", Label: "監査", Until: newUntil}
	if _, _, err := env.Accounts.CreateDisclosure(ctx, owner.Principal, sixth); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("sixth account: %v, want FailedPrecondition", err)
	}
	if _, err := env.Accounts.SetDisclosureLimit(ctx, owner.Principal, 6); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("SetDisclosureLimit by a user: %v, want PermissionDenied", err)
	}
	if _, err := env.Accounts.SetDisclosureLimit(ctx, a.Admin.Principal, 6); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Accounts.CreateDisclosure(ctx, owner.Principal, sixth); err != nil {
		t.Errorf("sixth account under a limit of 6: %v", err)
	}
	list, err := env.Accounts.ListDisclosures(ctx, owner.Principal)
	if err != nil || len(list) != 8 || list[0].ID != d.ID || list[0].RevokedAt.IsZero() {
		t.Errorf("ListDisclosures: %d accounts, %v", len(list), err)
	}
	for _, tc := range []struct {
		name string
		nd   account.NewDisclosure
		want kerr.Kind
	}{
		{"a case not completed", account.NewDisclosure{LoginID: "audit-o", Label: "x", Until: newUntil, Cases: []string{open.ID}}, kerr.FailedPrecondition},
		{"a colleague's case", account.NewDisclosure{LoginID: "audit-o", Label: "x", Until: newUntil, Cases: []string{notMine.ID}}, kerr.NotFound},
		{"a user's login ID", account.NewDisclosure{LoginID: owner.LoginID, Label: "x", Until: newUntil}, kerr.Conflict},
		{"no end", account.NewDisclosure{LoginID: "audit-o", Label: "x"}, kerr.Invalid},
		{"an end before the start", account.NewDisclosure{LoginID: "audit-o", Label: "x", From: newUntil, Until: until}, kerr.Invalid},
		{"no label", account.NewDisclosure{LoginID: "audit-o", Until: newUntil}, kerr.Invalid},
		{"a long label", account.NewDisclosure{LoginID: "audit-o", Label: strings.Repeat("監", account.MaxDisclosureLabel+1), Until: newUntil}, kerr.Invalid},
		{"too many cases", account.NewDisclosure{LoginID: "audit-o", Label: "x", Until: newUntil, Cases: make([]string, account.MaxDisclosureCases+1)}, kerr.Invalid},
	} {
		if _, err := env.Accounts.SetDisclosureLimit(ctx, a.Admin.Principal, 100); err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.Accounts.CreateDisclosure(ctx, owner.Principal, tc.nd); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// The administrator may not disclose a case it is not a party user
	// of, though it sees it.
	if _, _, err := env.Accounts.CreateDisclosure(ctx, a.Admin.Principal, account.NewDisclosure{LoginID: "audit-adm", Label: "x", Until: newUntil, Cases: []string{notMine.ID}}); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("administrator disclosing a colleague's case: %v, want FailedPrecondition", err)
	}
}
