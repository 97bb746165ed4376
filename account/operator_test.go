package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// operator creates a service operator that has changed its initial
// password, and returns its principal.
func operator(t *testing.T, svc *account.Service, login string) account.Principal {
	t.Helper()
	ctx := context.Background()
	u, pw, err := svc.CreateOperator(ctx, account.NewUser{LoginID: login, Profile: storage.Profile{Name: "運営 担当"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Operator || u.Admin || u.CompanyID != account.OperatorCompanyID || !u.MustChangePassword {
		t.Fatalf("operator user = %+v", u)
	}
	ss, err := svc.Login(ctx, login, pw, "192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ChangePassword(ctx, ss.Token, pw, userPassword, "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, ss.Token, "192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Operator || p.Admin || p.CompanyID != account.OperatorCompanyID {
		t.Fatalf("operator principal = %+v", p)
	}
	return p
}

// TestOperatorAdministers: the operator organisation is made once, stays
// out of the directory, and its operators create companies; nobody else
// may, and an operator is no company administrator.
func TestOperatorAdministers(t *testing.T) {
	onBackends(t, func(t *testing.T, svc *account.Service, st backendStore, clk *clock) {
		ctx := context.Background()
		op := operator(t, svc, "operator")
		op2 := operator(t, svc, "operator2") // the organisation exists already
		admin := onboard(t, svc, "acme")
		user, _ := member(t, svc, admin, "hanako", false, "192.0.2.1")

		co, first, pw, err := svc.CreateCompanyAs(ctx, op, "株式会社新設", account.NewUser{LoginID: "newco-admin"})
		if err != nil || pw == "" || !first.Admin || first.CompanyID != co.ID || co.Operator {
			t.Fatalf("CreateCompanyAs = %+v, %+v, %v", co, first, err)
		}
		if _, err := svc.Login(ctx, "newco-admin", pw, "192.0.2.3"); err != nil {
			t.Errorf("the new administrator cannot log in: %v", err)
		}
		for name, tc := range map[string]struct {
			p    account.Principal
			want kerr.Kind
		}{
			"company admin": {admin, kerr.PermissionDenied},
			"user":          {user, kerr.PermissionDenied},
			"no principal":  {account.Principal{}, kerr.Unauthenticated},
			"forged flag":   {account.Principal{UserID: admin.UserID, CompanyID: admin.CompanyID, Admin: true, Operator: true}, kerr.PermissionDenied},
		} {
			if _, _, _, err := svc.CreateCompanyAs(ctx, tc.p, "株式会社不正", account.NewUser{LoginID: "x-" + strings.ReplaceAll(name, " ", "-")}); !errors.Is(err, tc.want) {
				t.Errorf("%s: CreateCompanyAs err = %v, want %v", name, err, tc.want)
			}
		}
		if _, _, _, err := svc.CreateCompanyAs(ctx, op, "bad\x07name", account.NewUser{LoginID: "bell"}); !errors.Is(err, kerr.Invalid) {
			t.Errorf("control character in the name: err = %v, want Invalid", err)
		}
		// An operator is no administrator of anything.
		if _, _, err := svc.CreateUser(ctx, op, account.NewUser{LoginID: "sneaky"}); !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("operator CreateUser: err = %v, want PermissionDenied", err)
		}
		if _, err := svc.ViewUser(ctx, op, user.UserID); !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("operator ViewUser: err = %v, want PermissionDenied", err)
		}
		// The operator organisation is not in the directory.
		if got, err := svc.FindCompanies(ctx, user, account.DirectoryQuery{ID: account.OperatorCompanyID}); err != nil || len(got) != 0 {
			t.Errorf("directory shows the operator organisation: %+v, %v", got, err)
		}
		if got, err := svc.FindCompanies(ctx, user, account.DirectoryQuery{Name: "operator"}); err != nil || len(got) != 0 {
			t.Errorf("directory by name shows the operator organisation: %+v, %v", got, err)
		}
		if _, err := svc.Members(ctx, user, account.OperatorCompanyID); !errors.Is(err, kerr.NotFound) {
			t.Errorf("Members(operator organisation) err = %v, want NotFound", err)
		}
		// A disabled operator is refused at once, from the store.
		u, _ := st.GetUser(ctx, op2.UserID)
		u.Disabled = true
		if err := st.PutUser(ctx, u, []storage.AuditEntry{{Time: clk.now(), Action: "test.disable"}}); err != nil {
			t.Fatal(err)
		}
		if err := svc.ActiveOperator(ctx, op2); !errors.Is(err, kerr.Unauthenticated) {
			t.Errorf("disabled operator: err = %v, want Unauthenticated", err)
		}
		if _, _, err := svc.CreateOperator(ctx, account.NewUser{LoginID: "operator"}, ""); !errors.Is(err, kerr.Conflict) {
			t.Errorf("taken operator login: err = %v, want Conflict", err)
		}
	})
}

// TestNameChangeRequests: an administrator asks, the directory keeps the
// old name until the operator approves; a rejection leaves it; each
// step is refused to the wrong principal with its exact kind.
func TestNameChangeRequests(t *testing.T) {
	onBackends(t, func(t *testing.T, svc *account.Service, st backendStore, clk *clock) {
		ctx := context.Background()
		op := operator(t, svc, "operator")
		admin := onboard(t, svc, "acme")
		user, _ := member(t, svc, admin, "hanako", false, "192.0.2.1")
		other := onboard(t, svc, "globex")

		if _, err := svc.RequestNameChange(ctx, user, "株式会社ニュー", ""); !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("user request: err = %v, want PermissionDenied", err)
		}
		if _, err := svc.RequestNameChange(ctx, op, "株式会社ニュー", ""); !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("operator request: err = %v, want PermissionDenied", err)
		}
		for _, bad := range []string{"", "   ", "株式会社acme", strings.Repeat("名", account.MaxCompanyNameLen+1), "a\nb", "\xff"} {
			if _, err := svc.RequestNameChange(ctx, admin, bad, ""); !errors.Is(err, kerr.Invalid) {
				t.Errorf("request for name %q: err = %v, want Invalid", bad, err)
			}
		}
		if _, err := svc.RequestNameChange(ctx, admin, "株式会社ニュー", strings.Repeat("理", account.MaxNameNoteLen+1)); !errors.Is(err, kerr.Invalid) {
			t.Errorf("long reason: err = %v, want Invalid", err)
		}
		r, err := svc.RequestNameChange(ctx, admin, "株式会社ニューアクメ", "合併のため\n登記済み")
		if err != nil || r.Status != storage.NamePending || r.OldName != "株式会社acme" {
			t.Fatalf("request = %+v, %v", r, err)
		}
		if _, err := svc.RequestNameChange(ctx, admin, "株式会社ほか", ""); !errors.Is(err, kerr.Conflict) {
			t.Errorf("second pending request: err = %v, want Conflict", err)
		}
		// Pending: the directory keeps the old name.
		if got, _ := svc.FindCompanies(ctx, other, account.DirectoryQuery{ID: admin.CompanyID}); len(got) != 1 || got[0].Name != "株式会社acme" {
			t.Errorf("directory while pending: %+v", got)
		}
		// Who lists what.
		if got, err := svc.NameRequests(ctx, op, account.NameRequestFilter{Status: storage.NamePending}); err != nil || len(got) != 1 || got[0].ID != r.ID {
			t.Errorf("operator's pending list = %+v, %v", got, err)
		}
		if got, err := svc.NameRequests(ctx, admin, account.NameRequestFilter{}); err != nil || len(got) != 1 {
			t.Errorf("admin's own list = %+v, %v", got, err)
		}
		if got, err := svc.NameRequests(ctx, other, account.NameRequestFilter{CompanyID: admin.CompanyID}); err != nil || len(got) != 0 {
			t.Errorf("another admin sees %d requests of acme, %v", len(got), err)
		}
		if _, err := svc.NameRequests(ctx, user, account.NameRequestFilter{}); !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("user's list: err = %v, want PermissionDenied", err)
		}
		// Only an operator decides.
		for name, p := range map[string]account.Principal{"the requesting admin": admin, "another admin": other, "a user": user} {
			if _, _, err := svc.ApproveNameChange(ctx, p, r.ID, ""); !errors.Is(err, kerr.PermissionDenied) {
				t.Errorf("%s approves: err = %v, want PermissionDenied", name, err)
			}
			if _, err := svc.RejectNameChange(ctx, p, r.ID, ""); !errors.Is(err, kerr.PermissionDenied) {
				t.Errorf("%s rejects: err = %v, want PermissionDenied", name, err)
			}
		}
		if _, _, err := svc.ApproveNameChange(ctx, op, "nope", ""); !errors.Is(err, kerr.NotFound) {
			t.Errorf("approve unknown: err = %v, want NotFound", err)
		}
		if _, _, err := svc.ApproveNameChange(ctx, op, r.ID, "bad\x00note"); !errors.Is(err, kerr.Invalid) {
			t.Errorf("approve with NUL note: err = %v, want Invalid", err)
		}
		clk.add(3600e9)
		got, co, err := svc.ApproveNameChange(ctx, op, r.ID, "登記事項証明書で確認")
		if err != nil || got.Status != storage.NameApproved || got.DecidedBy != op.UserID || co.Name != "株式会社ニューアクメ" {
			t.Fatalf("approve = %+v, %+v, %v", got, co, err)
		}
		if got, _ := svc.FindCompanies(ctx, other, account.DirectoryQuery{ID: admin.CompanyID}); len(got) != 1 || got[0].Name != "株式会社ニューアクメ" {
			t.Errorf("directory after approval: %+v", got)
		}
		if _, _, err := svc.ApproveNameChange(ctx, op, r.ID, ""); !errors.Is(err, kerr.FailedPrecondition) {
			t.Errorf("approve twice: err = %v, want FailedPrecondition", err)
		}
		// The reject path: the name stays.
		r2, err := svc.RequestNameChange(ctx, admin, "株式会社間違い", "")
		if err != nil {
			t.Fatal(err)
		}
		rej, err := svc.RejectNameChange(ctx, op, r2.ID, "登記と一致しません")
		if err != nil || rej.Status != storage.NameRejected || rej.Note != "登記と一致しません" {
			t.Fatalf("reject = %+v, %v", rej, err)
		}
		if c, _ := st.GetCompany(ctx, admin.CompanyID); c.Name != "株式会社ニューアクメ" {
			t.Errorf("name after rejection = %q", c.Name)
		}
		if _, err := svc.RejectNameChange(ctx, op, r2.ID, ""); !errors.Is(err, kerr.FailedPrecondition) {
			t.Errorf("reject twice: err = %v, want FailedPrecondition", err)
		}
		// Every step is in the audit log.
		actions := map[string]int{}
		var after int64
		for {
			page, err := st.ListAudit(ctx, after, "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				actions[e.Action]++
			}
			after = page[len(page)-1].Seq
		}
		// 9 refusals above: the user's and the operator's requests, the
		// user's list, and 3 principals each approving and rejecting.
		if actions["company.name-request"] != 2 || actions["company.name-approve"] != 1 || actions["company.name-reject"] != 1 || actions["account.refused"] != 9 {
			t.Errorf("audit actions = %v", actions)
		}
	})
}

// TestProfileEdit: a user edits its own profile fields; bad input is
// refused with kerr.Invalid and changes nothing; the company name is not
// a profile field.
func TestProfileEdit(t *testing.T) {
	onBackends(t, func(t *testing.T, svc *account.Service, st backendStore, clk *clock) {
		ctx := context.Background()
		admin := onboard(t, svc, "acme")
		user, _ := member(t, svc, admin, "hanako", false, "192.0.2.1")
		good := storage.Profile{Name: "山田 花子", Furigana: "やまだ はなこ", Department: "法務部", Title: "課長",
			Phone: "03-1234-5678", Fax: "03-1234-5679", Email: "hanako@example.jp", Address: "東京都千代田区1-1", Language: "en"}
		if _, err := svc.UpdateProfile(ctx, user, user.UserID, good); err != nil {
			t.Fatal(err)
		}
		for name, mut := range map[string]func(p *storage.Profile){
			"display name in e-mail": func(p *storage.Profile) { p.Email = "Hanako <hanako@example.jp>" },
			"no domain":              func(p *storage.Profile) { p.Email = "hanako" },
			"tab in name":            func(p *storage.Profile) { p.Name = "山田\t花子" },
			"newline in address":     func(p *storage.Profile) { p.Address = "東京都\n千代田区" },
			"DEL in phone":           func(p *storage.Profile) { p.Phone = "03\x7f" },
			"invalid UTF-8 title":    func(p *storage.Profile) { p.Title = "\xc3" },
			"long furigana":          func(p *storage.Profile) { p.Furigana = strings.Repeat("あ", account.MaxProfileLen+1) },
			"long department":        func(p *storage.Profile) { p.Department = strings.Repeat("部", account.MaxProfileLen+1) },
			"long fax":               func(p *storage.Profile) { p.Fax = strings.Repeat("0", account.MaxProfileLen+1) },
		} {
			p := good
			mut(&p)
			if _, err := svc.UpdateProfile(ctx, user, user.UserID, p); !errors.Is(err, kerr.Invalid) {
				t.Errorf("%s: err = %v, want Invalid", name, err)
			}
		}
		u, err := st.GetUser(ctx, user.UserID)
		if err != nil || u.Profile != good {
			t.Errorf("stored profile = %+v, %v; want %+v", u.Profile, err, good)
		}
	})
}
