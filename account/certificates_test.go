package account_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
)

func TestSignerCertificates(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := context.Background()
	pki := testpki.New(t)
	admin := onboard(t, svc, "admin-a")
	user, _, err := svc.CreateUser(ctx, admin, account.NewUser{LoginID: "user-a"})
	if err != nil {
		t.Fatal(err)
	}
	plain := account.Principal{UserID: user.ID, CompanyID: admin.CompanyID}

	if _, err := svc.RegisterSignerCertificate(ctx, plain, pki.RSA.Cert); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("a user who is not an administrator: err = %v, want PermissionDenied", err)
	}
	if _, err := svc.RegisterSignerCertificate(ctx, account.Principal{}, pki.RSA.Cert); !errors.Is(err, kerr.Unauthenticated) {
		t.Errorf("no principal: err = %v, want Unauthenticated", err)
	}
	for name, c := range map[string]*testpki.Cert{"nil": nil, "CA": pki.Intermediate} {
		var err error
		if c == nil {
			_, err = svc.RegisterSignerCertificate(ctx, admin, nil)
		} else {
			_, err = svc.RegisterSignerCertificate(ctx, admin, c.Cert)
		}
		if !errors.Is(err, kerr.Invalid) {
			t.Errorf("%s certificate: err = %v, want Invalid", name, err)
		}
	}
	rc, err := svc.RegisterSignerCertificate(ctx, admin, pki.RSA.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.CertSHA256) != 64 || rc.ID == "" || rc.CreatedBy != admin.UserID {
		t.Errorf("registration = %+v", rc)
	}
	if _, err := svc.RegisterSignerCertificate(ctx, admin, pki.RSA.Cert); !errors.Is(err, kerr.Conflict) {
		t.Errorf("registering twice: err = %v, want Conflict", err)
	}
	for _, tc := range []struct{ org, number string }{{"", ""}, {"", "123"}, {"", "1000012050002"}} {
		if _, err := svc.RegisterSignerIssuer(ctx, admin, pki.Intermediate.Cert, tc.org, tc.number); !errors.Is(err, kerr.Invalid) {
			t.Errorf("issuer rule %q/%q: err = %v, want Invalid", tc.org, tc.number, err)
		}
	}
	// The subject attributes must be the company's own directory identity.
	if _, err := svc.RegisterSignerIssuer(ctx, admin, pki.Intermediate.Cert, "株式会社テスト", ""); !errors.Is(err, kerr.Invalid) {
		t.Errorf("another organization's name: err = %v, want Invalid", err)
	}
	if _, err := svc.RegisterSignerIssuer(ctx, admin, pki.Intermediate.Cert, "", "7000012050002"); !errors.Is(err, kerr.Invalid) {
		t.Errorf("a corporate number the company has not set: err = %v, want Invalid", err)
	}
	if _, err := svc.SetCorporateNumber(ctx, admin, "7000012050002"); err != nil {
		t.Fatal(err)
	}
	ir, err := svc.RegisterSignerIssuer(ctx, admin, pki.Intermediate.Cert, "株式会社admin-a", "7000012050002")
	if err != nil {
		t.Fatal(err)
	}
	list, err := svc.SignerCertificates(ctx, plain)
	if err != nil || len(list) != 2 || list[0].ID != rc.ID || list[1].ID != ir.ID || list[1].IssuerSHA256 == "" {
		t.Fatalf("SignerCertificates = %+v, %v", list, err)
	}
	other := onboard(t, svc, "admin-b")
	if list, err := svc.SignerCertificates(ctx, other); err != nil || len(list) != 0 {
		t.Errorf("another company sees %+v, %v", list, err)
	}
	// A certificate signs for one company only.
	if _, err := svc.RegisterSignerCertificate(ctx, other, pki.RSA.Cert); !errors.Is(err, kerr.Conflict) {
		t.Errorf("another company registering the same certificate: err = %v, want Conflict", err)
	}
	if _, err := svc.RegisterSignerCertificate(ctx, other, pki.ECDSAP256.Cert); err != nil {
		t.Errorf("another company registering its own certificate: %v", err)
	}
	if err := svc.RemoveSignerCertificate(ctx, other, rc.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("removing another company's registration: err = %v, want NotFound", err)
	}
	if err := svc.RemoveSignerCertificate(ctx, plain, rc.ID); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("removing as a user: err = %v, want PermissionDenied", err)
	}
	if err := svc.RemoveSignerCertificate(ctx, admin, rc.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := svc.SignerCertificates(ctx, admin); len(list) != 1 || list[0].ID != ir.ID {
		t.Errorf("after removal: %+v", list)
	}
	// Every change is audited.
	entries, err := st.ListAudit(ctx, 0, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range entries {
		if e.ActorCompanyID == admin.CompanyID {
			counts[e.Action]++
		}
	}
	if counts["company.signer-add"] != 2 || counts["company.signer-remove"] != 1 {
		t.Errorf("audit actions = %v", counts)
	}
}

func TestCheckCorporateNumber(t *testing.T) {
	for n, ok := range map[string]bool{
		"7000012050002":  true,  // 国税庁
		"1000012050002":  false, // check digit wrong
		"700001205000":   false,
		"70000120500021": false,
		"700001205000a":  false,
		"":               false,
	} {
		err := account.CheckCorporateNumber("test", n)
		if (err == nil) != ok || (err != nil && !errors.Is(err, kerr.Invalid)) {
			t.Errorf("CheckCorporateNumber(%q) = %v, want ok=%v", n, err, ok)
		}
	}
}

// FuzzCheckCorporateNumber: any input is accepted only as 13 digits whose
// check digit holds, and refused as kerr.Invalid otherwise; nothing panics.
func FuzzCheckCorporateNumber(f *testing.F) {
	for _, s := range []string{"7000012050002", "1000012050002", "", "７０００0１２０５０００２", "70000120500021"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, n string) {
		err := account.CheckCorporateNumber("fuzz", n)
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("refusal of kind %v", kerr.Of(err))
			}
			return
		}
		if len(n) != 13 {
			t.Fatalf("accepted %q of %d bytes", n, len(n))
		}
		for _, r := range n {
			if r < '0' || r > '9' {
				t.Fatalf("accepted %q with a non-digit", n)
			}
		}
		// Changing the check digit must make it invalid.
		alt := string(rune('0'+(n[0]-'0'+1)%10)) + n[1:]
		if account.CheckCorporateNumber("fuzz", alt) == nil {
			t.Fatalf("both %q and %q accepted", n, alt)
		}
	})
}
