package storagetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/storage"
)

// testSignerFields: a company's corporate number, registered signing
// certificates and trading partners, and a case's recorded signers, come
// back as they were stored, through an update too.
func testSignerFields(t *testing.T, s storage.Store) {
	ctx := context.Background()
	co := &storage.Company{ID: "co1", Name: "株式会社エー商事", CorporateNumber: "7000012050002", CreatedAt: base, UpdatedAt: base,
		SignerCerts: []storage.SignerCert{
			{ID: "sc1", CertSHA256: hex64('a'), Subject: "CN=山田 太郎,O=株式会社エー商事", NotAfter: base.AddDate(2, 0, 0), CreatedAt: base, CreatedBy: "u1"},
			{ID: "sc2", IssuerSHA256: hex64('c'), Organization: "株式会社エー商事", CorporateNumber: "7000012050002", Subject: "CN=CA", CreatedAt: base, CreatedBy: "u1"},
		},
		Partners: []string{"co2", "co3"},
	}
	if err := s.PutCompany(ctx, co, audit("company.create", "")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCompany(ctx, "co1")
	if err != nil {
		t.Fatal(err)
	}
	if got.CorporateNumber != co.CorporateNumber || !reflect.DeepEqual(got.SignerCerts, co.SignerCerts) || !reflect.DeepEqual(got.Partners, co.Partners) {
		t.Fatalf("company read back = %+v, want %+v", got, co)
	}
	got.SignerCerts = got.SignerCerts[1:]
	got.Partners = nil
	if err := s.PutCompany(ctx, got, audit("company.signer-remove", "")); err != nil {
		t.Fatal(err)
	}
	again, err := s.GetCompany(ctx, "co1")
	if err != nil {
		t.Fatal(err)
	}
	if len(again.SignerCerts) != 1 || again.SignerCerts[0].ID != "sc2" || len(again.Partners) != 0 {
		t.Fatalf("company after update = %+v", again)
	}

	c := sample("signed")
	c.Signers = []storage.Signer{{CompanyID: "co1", Field: "Signature1", Subject: "CN=山田 太郎", Issuer: "CN=CA", Serial: "1F", SHA256: hex64('a'), At: base}}
	commit(t, s, c)
	c.Version, c.State = 1, "returned"
	c.Signers = append(c.Signers, storage.Signer{CompanyID: "co2", Field: "Signature2", Subject: "CN=Betty", Issuer: "CN=CA", Serial: "20", SHA256: hex64('b'), At: base.Add(time.Hour)})
	commit(t, s, c)
	gc, err := s.GetCase(ctx, "signed")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gc.Signers, c.Signers) {
		t.Fatalf("case signers read back = %+v, want %+v", gc.Signers, c.Signers)
	}
}
