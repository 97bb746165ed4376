package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// testDirectory: FindCompanies filters by ID, corporate number and name
// substring (all that are set), orders by name then ID, honours the limit
// and refuses an empty or unbounded query.
func testDirectory(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, c := range []*storage.Company{
		{ID: "c1", Name: "株式会社エー商事", CorporateNumber: "7000012050002"},
		{ID: "c2", Name: "エー商事販売株式会社", CorporateNumber: "1010001000006"},
		{ID: "c3", Name: "Bee Trading Ltd.", SignerCerts: []storage.SignerCert{{ID: "s1", IssuerSHA256: hex64('e'), Organization: "Bee"}, {ID: "s2", CertSHA256: hex64('d')}}},
		{ID: "c4", Name: "株式会社エー商事"}, // the same name, another company
		{ID: "c5", Name: "100% Oil & Gas_Co"},
	} {
		c.CreatedAt, c.UpdatedAt = base, base
		if err := s.PutCompany(ctx, c, audit("company.create", "")); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(cs []*storage.Company) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    storage.CompanyQuery
		want []string
	}{
		{"by ID", storage.CompanyQuery{ID: "c3", Limit: 10}, []string{"c3"}},
		{"unknown ID", storage.CompanyQuery{ID: "nope", Limit: 10}, nil},
		{"by corporate number", storage.CompanyQuery{CorporateNumber: "7000012050002", Limit: 10}, []string{"c1"}},
		{"by name part, name order then ID", storage.CompanyQuery{NameContains: "エー商事", Limit: 10}, []string{"c2", "c1", "c4"}},
		{"name and number together", storage.CompanyQuery{NameContains: "エー商事", CorporateNumber: "7000012050002", Limit: 10}, []string{"c1"}},
		{"limit", storage.CompanyQuery{NameContains: "エー商事", Limit: 2}, []string{"c2", "c1"}},
		{"pattern characters are literal", storage.CompanyQuery{NameContains: "% Oil & Gas_", Limit: 10}, []string{"c5"}},
		{"a % matches only a %", storage.CompanyQuery{NameContains: "%", Limit: 10}, []string{"c5"}},
		{"case matters", storage.CompanyQuery{NameContains: "bee", Limit: 10}, nil},
		{"by registered signer certificate", storage.CompanyQuery{SignerCertSHA256: hex64('d'), Limit: 10}, []string{"c3"}},
		{"an issuer's fingerprint is no signer certificate", storage.CompanyQuery{SignerCertSHA256: hex64('e'), Limit: 10}, nil},
		{"unregistered certificate", storage.CompanyQuery{SignerCertSHA256: hex64('f'), Limit: 10}, nil},
	} {
		got, err := s.FindCompanies(ctx, &tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if g := ids(got); !equalStrings(g, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, g, tc.want)
		}
	}
	if got, err := s.FindCompanies(ctx, &storage.CompanyQuery{ID: "c1", Limit: 1}); err != nil || len(got) != 1 ||
		got[0].Name != "株式会社エー商事" || got[0].CorporateNumber != "7000012050002" || got[0].Version != 1 {
		t.Errorf("company found = %+v, %v", got, err)
	}
	for _, q := range []*storage.CompanyQuery{nil, {Limit: 10}, {ID: "c1"}, {ID: "c1", Limit: storage.MaxCompanyPage + 1}} {
		if _, err := s.FindCompanies(ctx, q); !errors.Is(err, kerr.Invalid) {
			t.Errorf("FindCompanies(%+v): err = %v, want Invalid", q, err)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
