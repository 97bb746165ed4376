package casework_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
)

// Counterparties come from the directory: a forged name, an unknown
// company or user, or a user of another company is refused; an empty name
// takes the directory's, which is what search finds.
func TestCounterpartyFromDirectory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	doc := sign(pdf("契約書"), "co1")
	for _, tc := range []struct {
		name  string
		party casework.Party
	}{
		{"forged name", casework.Party{CompanyID: "co2", CompanyName: "株式会社ニセモノ", UserID: "u2"}},
		{"another company's name", casework.Party{CompanyID: "co2", CompanyName: companyNames["co3"], UserID: "u2"}},
		{"unknown company", casework.Party{CompanyID: "co-unknown", UserID: "u2"}},
		{"unknown user", casework.Party{CompanyID: "co2", UserID: "nobody"}},
		{"user of another company", casework.Party{CompanyID: "co2", UserID: "u3"}},
	} {
		_, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, doc, tc.party))
		if !errors.Is(err, kerr.Invalid) {
			t.Errorf("%s: err = %v, want Invalid", tc.name, err)
		}
	}
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormMultiParty, doc,
		casework.Party{CompanyID: "co2", UserID: "u2"}, casework.Party{CompanyID: "co3", CompanyName: companyNames["co3"], UserID: "u3"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Parties[0].CompanyName != companyNames["co2"] || c.Parties[1].CompanyName != companyNames["co3"] {
		t.Errorf("stored names = %q, %q", c.Parties[0].CompanyName, c.Parties[1].CompanyName)
	}
	page, err := e.svc.Search(ctx, u1, &casework.Query{Counterparty: "アルファ"})
	if err != nil || len(page.Cases) != 1 || page.Cases[0].ID != c.ID {
		t.Errorf("search by the directory name: %+v, %v", page, err)
	}
	if page, err := e.svc.Search(ctx, u1, &casework.Query{Counterparty: "ニセモノ"}); err != nil || len(page.Cases) != 0 {
		t.Errorf("search by the forged name found %d cases, %v", len(page.Cases), err)
	}
}
