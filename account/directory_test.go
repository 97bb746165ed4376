package account_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

func TestDirectoryAndPartners(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := context.Background()
	a := onboard(t, svc, "admin-a") // 株式会社admin-a
	b := onboard(t, svc, "admin-b")
	c := onboard(t, svc, "admin-c")
	bu, _, err := svc.CreateUser(ctx, b, account.NewUser{LoginID: "sales-b", Profile: storage.Profile{Name: "営業 花子", Department: "営業部", Email: "h@b.example"}})
	if err != nil {
		t.Fatal(err)
	}
	plainB := account.Principal{UserID: bu.ID, CompanyID: b.CompanyID}

	if _, err := svc.SetCorporateNumber(ctx, plainB, "7000012050002"); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("SetCorporateNumber as a user: err = %v, want PermissionDenied", err)
	}
	if _, err := svc.SetCorporateNumber(ctx, b, "7000012050003"); !errors.Is(err, kerr.Invalid) {
		t.Errorf("wrong check digit: err = %v, want Invalid", err)
	}
	if _, err := svc.SetCorporateNumber(ctx, b, "7000012050002"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetCorporateNumber(ctx, b, "7000012050002"); err != nil {
		t.Errorf("setting the same number again: %v", err)
	}
	if _, err := svc.SetCorporateNumber(ctx, c, "7000012050002"); !errors.Is(err, kerr.Conflict) {
		t.Errorf("another company's number: err = %v, want Conflict", err)
	}

	for _, tc := range []struct {
		name string
		q    account.DirectoryQuery
		want string
	}{
		{"by corporate number", account.DirectoryQuery{CorporateNumber: "7000012050002"}, b.CompanyID},
		{"by ID", account.DirectoryQuery{ID: c.CompanyID}, c.CompanyID},
		{"by part of the name", account.DirectoryQuery{Name: "admin-b"}, b.CompanyID},
	} {
		got, err := svc.FindCompanies(ctx, a, tc.q)
		if err != nil || len(got) != 1 || got[0].ID != tc.want {
			t.Errorf("%s: %+v, %v", tc.name, got, err)
		}
	}
	if _, err := svc.FindCompanies(ctx, a, account.DirectoryQuery{}); !errors.Is(err, kerr.Invalid) {
		t.Errorf("empty query: err = %v, want Invalid", err)
	}
	if _, err := svc.FindCompanies(ctx, account.Principal{}, account.DirectoryQuery{Name: "a"}); !errors.Is(err, kerr.Unauthenticated) {
		t.Errorf("no principal: err = %v, want Unauthenticated", err)
	}
	members, err := svc.Members(ctx, a, b.CompanyID)
	if err != nil || len(members) != 2 {
		t.Fatalf("Members = %+v, %v", members, err)
	}
	found := false
	for _, m := range members {
		if m.UserID == bu.ID && m.Name == "営業 花子" && m.Department == "営業部" {
			found = true
		}
	}
	if !found {
		t.Errorf("Members = %+v, want the sales user", members)
	}
	if _, err := svc.Members(ctx, a, "nope"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("members of an unknown company: err = %v, want NotFound", err)
	}

	if err := svc.AddPartner(ctx, plainB, a.CompanyID); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("AddPartner as a user: err = %v, want PermissionDenied", err)
	}
	if err := svc.AddPartner(ctx, a, "nope"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("unknown partner: err = %v, want NotFound", err)
	}
	if err := svc.AddPartner(ctx, a, a.CompanyID); !errors.Is(err, kerr.Invalid) {
		t.Errorf("own company as partner: err = %v, want Invalid", err)
	}
	for _, id := range []string{b.CompanyID, c.CompanyID, b.CompanyID} {
		if err := svc.AddPartner(ctx, a, id); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := svc.Partners(ctx, a)
	if err != nil || len(ps) != 2 || ps[0].ID != b.CompanyID || ps[0].CorporateNumber != "7000012050002" || !ps[0].Partner || ps[1].ID != c.CompanyID {
		t.Fatalf("Partners = %+v, %v", ps, err)
	}
	if got, _ := svc.FindCompanies(ctx, a, account.DirectoryQuery{ID: b.CompanyID}); len(got) != 1 || !got[0].Partner {
		t.Errorf("directory entry of a partner = %+v", got)
	}
	if err := svc.RemovePartner(ctx, a, b.CompanyID); err != nil {
		t.Fatal(err)
	}
	if err := svc.RemovePartner(ctx, a, b.CompanyID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("removing twice: err = %v, want NotFound", err)
	}
	if ps, _ := svc.Partners(ctx, a); len(ps) != 1 || ps[0].ID != c.CompanyID {
		t.Errorf("after removal: %+v", ps)
	}
	entries, err := st.ListAudit(ctx, 0, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range entries {
		counts[e.Action]++
	}
	if counts["company.partner-add"] != 3 || counts["company.partner-remove"] != 1 || counts["company.corporate-number"] != 2 {
		t.Errorf("audit actions = %v", counts)
	}
}
