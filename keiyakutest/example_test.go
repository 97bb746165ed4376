package keiyakutest_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/keiyakutest"
	"github.com/keiyaku/keiyaku/signature"
)

// A contract between two companies from registration to original
// verification. In a test, pass t where the example passes scope.
func ExampleNewService() {
	scope := keiyakutest.NewScope() // in a test: t
	defer scope.Close()
	ctx := context.Background()

	env := keiyakutest.NewService(scope, nil)
	a := env.NewCompany(scope, "株式会社エー商事", "山田 太郎")
	b := env.NewCompany(scope, "Bee Trading Ltd.", "Betty Brown")

	c, err := env.Cases.Register(ctx, a.Admin.Principal, &casework.NewCase{
		Form: casework.FormBilateral, Name: "業務委託契約", Amount: casework.Money{Amount: 1_000_000, Currency: "JPY"},
		TransactionDate: civil.DateOf(keiyakutest.Now),
		Parties:         []casework.Party{b.Admin.Party()},
		Document:        keiyakutest.Upload("contract.pdf", a.Admin.Sign(scope, keiyakutest.ContractPDF("Service agreement"))),
		Supplements:     []casework.Upload{keiyakutest.Upload("spec.txt", []byte("仕様書"))},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(c.State)

	r, _, err := env.Cases.Receive(ctx, b.Admin.Principal, c.ID)
	if err != nil {
		panic(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		panic(err)
	}
	if c, err = env.Cases.Return(ctx, b.Admin.Principal, c.ID, keiyakutest.Upload("signed.pdf", b.Admin.Sign(scope, got))); err != nil {
		panic(err)
	}
	fmt.Println(c.State)
	if c, err = env.Cases.Complete(ctx, a.Admin.Principal, c.ID); err != nil {
		panic(err)
	}
	fmt.Println(c.State)

	chk, err := env.VerifyOriginal(ctx, b.Admin.Principal, c.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println("original:", chk.Original, len(chk.PDFs), "PDF,", len(chk.Files), "file")
	// Output:
	// sent
	// returned
	// completed
	// original: true 1 PDF, 1 file
}

// Signer certificates for people of different companies, each signature
// valid against the PKI's root.
func ExamplePKI_NewSigner() {
	scope := keiyakutest.NewScope()
	defer scope.Close()
	pki := keiyakutest.NewPKI(scope)
	doc := keiyakutest.ContractPDF("Joint development")
	for _, s := range []*keiyakutest.Signer{
		pki.NewSigner(scope, "株式会社エー商事", "山田 太郎"),
		pki.NewSigner(scope, "シー工業株式会社", "佐藤 花子"),
	} {
		doc = s.Sign(scope, doc)
	}
	rep, err := signature.Validate(context.Background(), bytes.NewReader(doc), int64(len(doc)), &signature.ValidateOptions{
		At: keiyakutest.Now, TrustAnchors: []*x509.Certificate{pki.Root}, Online: true,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Passed, len(rep.Signatures))
	for _, s := range rep.Signatures {
		fmt.Println(s.Signer.Subject)
	}
	// Output:
	// true 2
	// CN=山田 太郎,O=株式会社エー商事,C=JP
	// CN=佐藤 花子,O=シー工業株式会社,C=JP
}

// An ordinary user (not an administrator) sees their own cases only.
func ExampleEnv_NewUser() {
	scope := keiyakutest.NewScope()
	defer scope.Close()
	ctx := context.Background()
	env := keiyakutest.NewService(scope, nil)
	a := env.NewCompany(scope, "株式会社エー商事", "山田 太郎")
	b := env.NewCompany(scope, "Bee Trading Ltd.", "Betty Brown")
	clerk := env.NewUser(scope, a, "鈴木 一郎")
	_, err := env.Cases.Register(ctx, clerk.Principal, &casework.NewCase{
		Form: casework.FormBilateral, Name: "保守契約", Amount: casework.Money{Amount: 50_000, Currency: "JPY"},
		TransactionDate: civil.DateOf(keiyakutest.Now), Parties: []casework.Party{b.Admin.Party()},
		Document: keiyakutest.Upload("contract.pdf", clerk.Sign(scope, keiyakutest.ContractPDF("Maintenance"))),
	})
	if err != nil {
		panic(err)
	}
	other := env.NewUser(scope, a, "高橋 二郎")
	for _, p := range []*keiyakutest.Person{clerk, other, a.Admin} {
		page, err := env.Cases.Search(ctx, p.Principal, nil)
		if err != nil {
			panic(err)
		}
		fmt.Println(p.Principal.Admin, len(page.Cases))
	}
	// Output:
	// false 1
	// false 0
	// true 1
}

// A signature with a timestamp from the kit's local TSA: PAdES B-T.
func ExamplePKI_NewTSA() {
	scope := keiyakutest.NewScope()
	defer scope.Close()
	pki := keiyakutest.NewPKI(scope)
	tsa := pki.NewTSA(scope)
	s := pki.NewSigner(scope, "株式会社エー商事", "山田 太郎")
	doc := s.SignBT(scope, keiyakutest.ContractPDF("Timestamped"), tsa)
	rep, err := signature.Validate(context.Background(), bytes.NewReader(doc), int64(len(doc)), &signature.ValidateOptions{
		At: keiyakutest.Now, TrustAnchors: []*x509.Certificate{pki.Root}, Online: true,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Passed, rep.Level, tsa.Certificate.Subject.CommonName)
	// Output:
	// true B-T keiyaku Test TSA タイムスタンプ局 1
}
