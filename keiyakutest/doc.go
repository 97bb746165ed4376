// Package keiyakutest gives an embedder's tests what they need before the
// first test of a contract service, the way net/http/httptest does for
// HTTP: a test certification authority with a CRL and an OCSP responder
// on 127.0.0.1, signer certificates for as many companies as a test
// needs, sample contract PDFs, signing in one call, a local RFC 3161
// timestamping authority, and a ready keiyaku.Service on a temporary
// directory with companies, administrators and ordinary users logged in.
//
//	env := keiyakutest.NewService(t, nil)
//	a := env.NewCompany(t, "株式会社エー商事", "山田 太郎")
//	b := env.NewCompany(t, "Bee Trading Ltd.", "Betty Brown")
//	c, err := env.Cases.Register(ctx, a.Admin.Principal, &casework.NewCase{
//		Form: casework.FormBilateral, Name: "業務委託契約", ...,
//		Parties:  []casework.Party{b.Admin.Party()},
//		Document: keiyakutest.Upload("contract.pdf", a.Admin.Sign(t, keiyakutest.ContractPDF("Contract"))),
//	})
//
// Everything runs on a fixed clock, Now (2026-01-01 00:00 UTC): every
// certificate is valid then, the OCSP responder and the CRL answer as of
// then, and the Service's Clock returns it unless Options.Clock says
// otherwise. Keys are in memory and the responders answer anyone: it is
// for tests only. Every function reports a failure through tb.Fatal, so
// a test never checks errors from the kit itself.
package keiyakutest
