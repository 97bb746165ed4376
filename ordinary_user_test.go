package keiyaku_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/keiyakutest"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
)

// TestOrdinaryUsersEndToEnd carries a contract between two companies
// acted on only by ordinary users (no administrator rights), with real
// signatures and a real seal, and checks that the narrower access holds
// at every step: a colleague of the registrant in the same company
// neither sees nor acts on the case, while the company's administrator
// sees it. It runs on keiyakutest, as an embedder's test would.
func TestOrdinaryUsersEndToEnd(t *testing.T) {
	ctx := context.Background()
	env := keiyakutest.NewService(t, nil)
	a := env.NewCompany(t, "株式会社エー商事", "山田 太郎")
	b := env.NewCompany(t, "Bee Trading Ltd.", "Betty Brown")
	clerk := env.NewUser(t, a, "鈴木 一郎")
	colleague := env.NewUser(t, a, "高橋 二郎")
	buyer := env.NewUser(t, b, "Bob Buyer")
	for _, p := range []*keiyakutest.Person{clerk, colleague, buyer} {
		if p.Principal.Admin {
			t.Fatalf("%s is an administrator; the test needs ordinary users", p.LoginID)
		}
	}

	c, err := env.Cases.Register(ctx, clerk.Principal, &casework.NewCase{
		Form: casework.FormBilateral, Name: "保守契約", Amount: casework.Money{Amount: 240_000, Currency: "JPY"},
		TransactionDate: civil.DateOf(keiyakutest.Now), Parties: []casework.Party{buyer.Party()},
		Document:    keiyakutest.Upload("contract.pdf", clerk.Sign(t, keiyakutest.ContractPDF("Maintenance contract"))),
		Supplements: []casework.Upload{keiyakutest.Upload("仕様書.txt", []byte("仕様 v1")), keiyakutest.Upload("quote.pdf", keiyakutest.ContractPDF("Quote"))},
	})
	if err != nil {
		t.Fatalf("Register by an ordinary user: %v", err)
	}

	// Narrower access: the colleague does not see the clerk's case; the
	// administrator of the same company does.
	if _, err := env.Cases.Get(ctx, colleague.Principal, c.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("Get by a colleague = %v, want NotFound", err)
	}
	if page, err := env.Cases.Search(ctx, colleague.Principal, nil); err != nil || len(page.Cases) != 0 {
		t.Errorf("Search by a colleague = %d cases, %v; want none", len(page.Cases), err)
	}
	if _, err := env.Cases.AuditTrail(ctx, colleague.Principal, c.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("AuditTrail by a colleague = %v, want NotFound", err)
	}
	if _, err := env.Cases.Get(ctx, a.Admin.Principal, c.ID); err != nil {
		t.Errorf("Get by the company's administrator: %v", err)
	}
	if _, err := env.Accounts.SetTimeZone(ctx, clerk.Principal, "UTC"); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("SetTimeZone by an ordinary user = %v, want PermissionDenied", err)
	}

	r, _, err := env.Cases.Receive(ctx, buyer.Principal, c.ID)
	if err != nil {
		t.Fatalf("Receive by the counterparty's user: %v", err)
	}
	sent, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if c, err = env.Cases.Return(ctx, buyer.Principal, c.ID, keiyakutest.Upload("contract.pdf", buyer.Sign(t, sent))); err != nil {
		t.Fatalf("Return: %v", err)
	}
	if _, err := env.Cases.Complete(ctx, colleague.Principal, c.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("Complete by a colleague = %v, want NotFound", err)
	}
	if c, err = env.Cases.Complete(ctx, clerk.Principal, c.ID); err != nil || c.State != casework.StateCompleted {
		t.Fatalf("Complete by the registrant = %v, %v", c, err)
	}

	if _, err := env.VerifyOriginal(ctx, colleague.Principal, c.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("VerifyOriginal by a colleague = %v, want NotFound", err)
	}
	oc, err := env.VerifyOriginal(ctx, buyer.Principal, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !oc.Original || len(oc.PDFs) != 1 || oc.PDFs[0].Verdict.Report.Level != signature.LevelBLTA {
		t.Fatalf("original %v, %d PDFs; want one original B-LTA PDF", oc.Original, len(oc.PDFs))
	}
	var signers []string
	for _, s := range oc.PDFs[0].Verdict.Report.Signatures {
		if s.Kind == signature.KindSignature {
			signers = append(signers, s.Signer.Subject)
		}
	}
	if len(signers) != 2 {
		t.Errorf("sealed PDF carries signatures of %v; want the clerk's and the buyer's", signers)
	}
	want := []string{"仕様書.txt", "quote.pdf"}
	if len(oc.Files) != len(want) {
		t.Fatalf("%d supplementary files verified, want %d", len(oc.Files), len(want))
	}
	for i, f := range oc.Files {
		if f.File.Name != want[i] || !f.Verdict.Original {
			t.Errorf("file %d: %s original=%v %v; want %s original", i, f.File.Name, f.Verdict.Original, f.Verdict.Reasons, want[i])
		}
	}

	// The export follows the same scope.
	for _, tc := range []struct {
		who  *keiyakutest.Person
		rows int
	}{{clerk, 1}, {colleague, 0}, {a.Admin, 1}, {buyer, 1}} {
		var buf bytes.Buffer
		n, err := env.Cases.ExportCSV(ctx, tc.who.Principal, &casework.Query{States: []casework.State{casework.StateCompleted}}, &buf)
		if err != nil || n != tc.rows {
			t.Errorf("ExportCSV by %s = %d rows, %v; want %d", tc.who.LoginID, n, err, tc.rows)
		}
	}
}
