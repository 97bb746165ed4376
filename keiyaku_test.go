package keiyaku_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/kerr/kmsg"
	"github.com/keiyaku/keiyaku/notify"
	"github.com/keiyaku/keiyaku/signature"
)

// TestBilateralLifecycle carries a 1:1 contract through the facade: register
// with a supplementary file, receive, send back with a reason, resend a
// corrected contract, a refused tampered return, a good return, complete,
// original verification - checking every notice mail.
func TestBilateralLifecycle(t *testing.T) {
	w := newWorld(t)
	a, b := w.m["A"], w.m["B"]
	const name = "業務委託契約 2026"

	first := w.sign(a, contract("Contract: 1,000,000 JPY"))
	c, err := w.svc.Cases.Register(w.ctx, a.P, &casework.NewCase{
		Form: casework.FormBilateral, Name: name, OrderNumber: "PO-1",
		Amount: casework.Money{Amount: 1000000, Currency: "JPY"}, TransactionDate: civil.DateOf(today()),
		Parties:     []casework.Party{w.party(b)},
		Document:    upload("contract.pdf", first),
		Supplements: []casework.Upload{{Name: "spec.txt", ContentType: "text/plain", Body: strings.NewReader("specification v1")}},
	})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if c.State != casework.StateSent {
		t.Fatalf("registered case is %s, want sent", c.State)
	}
	w.expectMails(name, notice{To: b, Type: notify.EventReceiptRequested})

	got := w.receive(b, c.ID)
	if !bytes.Equal(got, first) {
		t.Fatal("the counterparty received other bytes than the registrant sent")
	}
	w.expectMails(name) // receiving tells nobody

	const reason = "金額が違います / the amount is wrong"
	if c, err = w.svc.Cases.SendBack(w.ctx, b.P, c.ID, reason); err != nil || c.State != casework.StateSentBack {
		t.Fatalf("SendBack = %v, %v", c, err)
	}
	w.expectMails(name, notice{To: a, Type: notify.EventSentBack, Reason: reason})

	corrected := w.sign(a, contract("Contract: 1,200,000 JPY"))
	up := upload("contract-v2.pdf", corrected)
	if c, err = w.svc.Cases.Resend(w.ctx, a.P, c.ID, &up); err != nil || c.State != casework.StateSent {
		t.Fatalf("Resend = %v, %v", c, err)
	}
	w.expectMails(name, notice{To: b, Type: notify.EventReceiptRequested})
	sent := w.receive(b, c.ID)
	if !bytes.Equal(sent, corrected) {
		t.Fatal("after the resend the counterparty did not receive the corrected contract")
	}

	// Refused returns leave the case as it was and tell nobody.
	for _, tc := range []struct {
		name string
		body []byte
		code string // the message code of the refusal (package kerr/kmsg)
	}{
		{"content changed in an update", w.sign(b, tamper(t, sent, "Contract: 1 JPY")), "return.changespage"},
		{"sent bytes edited", w.sign(b, bytes.Replace(bytes.Clone(sent), []byte("1,200,000"), []byte("9,200,000"), 1)), "return.edited"},
		{"not signed by the counterparty", tamper(t, sent, "Contract: 1,200,000 JPY"), "return.nosignature"},
		{"the sent file unchanged", sent, "return.notextension"},
	} {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			_, err := w.svc.Cases.Return(w.ctx, b.P, c.ID, upload("signed.pdf", tc.body))
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("Return = %v, want kerr.Invalid", err)
			}
			if cd := kerr.CodeOf(err); cd == nil || cd.Code != tc.code {
				t.Fatalf("Return = %v, want message code %s", err, tc.code)
			}
			if tc.code == "return.changespage" {
				if ja, _ := kmsg.Localize(err, "ja"); ja != "signed.pdf は署名の追加に加えて契約書の 1 ページ目を変更しています。受け取った PDF を編集せずに署名し、それを返送してください。" {
					t.Errorf("ja = %q", ja)
				}
			}
			t.Logf("refused as expected: %v", err)
			now, err := w.svc.Cases.Get(w.ctx, b.P, c.ID)
			if err != nil || now.State != casework.StateReceived || now.Document.Key != c.Document.Key {
				t.Fatalf("after a refused return the case is %+v, %v; want it unchanged", now, err)
			}
		})
	}
	w.expectMails(name)

	returned := w.sign(b, sent)
	if c, err = w.svc.Cases.Return(w.ctx, b.P, c.ID, upload("signed.pdf", returned)); err != nil || c.State != casework.StateReturned {
		t.Fatalf("Return = %v, %v", c, err)
	}
	w.expectMails(name, notice{To: a, Type: notify.EventReturned})

	if c, err = w.svc.Cases.Complete(w.ctx, a.P, c.ID); err != nil || c.State != casework.StateCompleted {
		t.Fatalf("Complete = %v, %v", c, err)
	}
	w.expectMails(name, notice{To: b, Type: notify.EventCompleted})
	if len(c.Sealed) != 3 {
		t.Fatalf("sealed files = %+v, want the sealed PDF and the evidence records of it and of the supplement", c.Sealed)
	}

	checkOriginal(t, w, b, c.ID, 2, "spec.txt")

	if _, err := w.svc.Cases.Complete(w.ctx, a.P, c.ID); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("completing twice = %v, want kerr.FailedPrecondition", err)
	}
	if _, err := w.svc.Cases.Delete(w.ctx, a.P, c.ID); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("deleting a completed case = %v, want kerr.FailedPrecondition", err)
	}
	if n, err := w.svc.Cases.VerifyAudit(w.ctx); err != nil || n == 0 {
		t.Errorf("VerifyAudit = %d, %v", n, err)
	}
	w.expectMails(name)
}

// checkOriginal runs original verification as viewer and requires the
// sealed PDF to be TOTAL_PASSED at B-LTA with signatures signatures, and
// exactly the supplementary files named files, in order, each verified
// original against its own RFC 3161 token.
func checkOriginal(t *testing.T, w *world, viewer *member, id string, signatures int, files ...string) {
	t.Helper()
	oc, err := w.svc.VerifyOriginal(w.ctx, viewer.P, id)
	if err != nil {
		t.Fatalf("VerifyOriginal: %v", err)
	}
	if !oc.Original || len(oc.PDFs) != 1 {
		for _, p := range oc.PDFs {
			t.Logf("%s: %v", p.File.Name, p.Verdict.Reasons)
		}
		t.Fatalf("VerifyOriginal: original %v with %d PDFs; want one original PDF", oc.Original, len(oc.PDFs))
	}
	if r := oc.PDFs[0].Record; r == nil || !r.Original || !r.Record {
		t.Errorf("the sealed PDF's evidence record: %+v", r)
	}
	for _, f := range oc.Files {
		if !f.Verdict.Original || !f.Verdict.Record || !strings.HasSuffix(f.Token.Name, ".ers") {
			t.Errorf("%s: evidence %s original %v record %v: %v", f.File.Name, f.Token.Name, f.Verdict.Original, f.Verdict.Record, f.Verdict.Reasons)
		}
	}
	rep := oc.PDFs[0].Verdict.Report
	if rep.Level != signature.LevelBLTA {
		t.Errorf("sealed level = %s, want B-LTA", rep.Level)
	}
	n := 0
	for _, s := range rep.Signatures {
		if s.Indication != signature.TotalPassed {
			t.Errorf("%s %s: %s %s %v", s.Kind, s.Field, s.Indication, s.SubIndication, s.Reasons)
		}
		if s.Kind == signature.KindSignature {
			n++
		}
	}
	if n != signatures {
		t.Errorf("sealed PDF has %d signatures, want %d", n, signatures)
	}
	if len(oc.Files) != len(files) {
		t.Fatalf("original verification checked %d supplementary files, want %d (%v)", len(oc.Files), len(files), files)
	}
	for i, f := range oc.Files {
		if f.File.Name != files[i] || f.Token.IsZero() || f.Verdict == nil {
			t.Errorf("file %d: %q with token %q; want %q with its token", i, f.File.Name, f.Token.Name, files[i])
			continue
		}
		if !f.Verdict.Original {
			t.Errorf("supplement %s is not original: %v", f.File.Name, f.Verdict.Reasons)
		}
	}
}

// TestMultiPartyLifecycle passes a three-party contract (registrant A,
// counterparties B then C) through every signer in turn.
func TestMultiPartyLifecycle(t *testing.T) {
	w := newWorld(t)
	a, b, cc, d := w.m["A"], w.m["B"], w.m["C"], w.m["D"]
	const name = "三者間契約 / tripartite agreement"

	doc := w.sign(a, contract("Tripartite agreement"))
	c, err := w.svc.Cases.Register(w.ctx, a.P, &casework.NewCase{
		Form: casework.FormMultiParty, Name: name, Amount: casework.Money{Amount: 5000, Currency: "USD"},
		TransactionDate: civil.DateOf(today()), Parties: []casework.Party{w.party(b), w.party(cc)},
		Document: upload("agreement.pdf", doc),
		Supplements: []casework.Upload{
			{Name: "見積書.pdf", ContentType: "application/pdf", Body: bytes.NewReader(contract("Quotation"))},
			{Name: "図面.bin", ContentType: "application/octet-stream", Body: bytes.NewReader([]byte{0, 1, 2, 0xff, 0xfe})},
		},
	})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	w.expectMails(name, notice{To: b, Type: notify.EventReceiptRequested})

	// C is a party but not on turn; D is no party at all.
	if _, _, err := w.svc.Cases.Receive(w.ctx, cc.P, c.ID); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("Receive by the party not on turn = %v, want kerr.PermissionDenied", err)
	}
	if _, _, err := w.svc.Cases.Receive(w.ctx, d.P, c.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("Receive by another company = %v, want kerr.NotFound", err)
	}
	if _, err := w.svc.Cases.Get(w.ctx, d.P, c.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("Get by another company = %v, want kerr.NotFound", err)
	}

	got := w.receive(b, c.ID)
	if _, err := w.svc.Cases.Return(w.ctx, a.P, c.ID, upload("x.pdf", w.sign(a, got))); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("Return by the registrant = %v, want kerr.PermissionDenied", err)
	}
	if c, err = w.svc.Cases.Return(w.ctx, b.P, c.ID, upload("agreement.pdf", w.sign(b, got))); err != nil || c.State != casework.StateSent || c.Turn != 1 {
		t.Fatalf("Return by B = %+v, %v; want sent on to C", c, err)
	}
	w.expectMails(name, notice{To: cc, Type: notify.EventReceiptRequested})

	if _, err := w.svc.Cases.Complete(w.ctx, a.P, c.ID); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("Complete before every party signed = %v, want kerr.FailedPrecondition", err)
	}

	got = w.receive(cc, c.ID)
	if c, err = w.svc.Cases.Return(w.ctx, cc.P, c.ID, upload("agreement.pdf", w.sign(cc, got))); err != nil || c.State != casework.StateReturned {
		t.Fatalf("Return by C = %+v, %v; want returned", c, err)
	}
	w.expectMails(name, notice{To: a, Type: notify.EventReturned})

	if c, err = w.svc.Cases.Complete(w.ctx, a.P, c.ID); err != nil || c.State != casework.StateCompleted {
		t.Fatalf("Complete = %+v, %v", c, err)
	}
	w.expectMails(name, notice{To: b, Type: notify.EventCompleted}, notice{To: cc, Type: notify.EventCompleted})
	checkOriginal(t, w, cc, c.ID, 3, "見積書.pdf", "図面.bin")
	if _, err := w.svc.VerifyOriginal(w.ctx, d.P, c.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("VerifyOriginal by another company = %v, want kerr.NotFound", err)
	}
}

// TestRefusals checks the registrations and actions the service refuses.
func TestRefusals(t *testing.T) {
	w := newWorld(t)
	a, b := w.m["A"], w.m["B"]
	signed := w.sign(a, contract("Contract"))
	base := func() *casework.NewCase {
		return &casework.NewCase{
			Form: casework.FormBilateral, Name: "refusal", Amount: casework.Money{Amount: 1, Currency: "JPY"},
			TransactionDate: civil.DateOf(today()), Parties: []casework.Party{w.party(b)}, Document: upload("c.pdf", signed),
		}
	}
	// A signature by a certificate outside the trusted PKI.
	selfSigned := w.sign(&member{Key: "X", Name: "X", Cert: stranger(t)}, contract("Contract"))
	for _, tc := range []struct {
		name   string
		mutate func(*casework.NewCase)
		code   string // the message code of the refusal, "" for none
	}{
		{"unsigned PDF", func(nc *casework.NewCase) { nc.Document = upload("c.pdf", contract("Contract")) }, "upload.unsigned"},
		{"empty upload", func(nc *casework.NewCase) { nc.Document = upload("c.pdf", nil) }, "upload.empty"},
		{"not a PDF", func(nc *casework.NewCase) { nc.Document = upload("c.pdf", []byte("%PDF-1.7 this is not a PDF")) }, "upload.notpdf"},
		{"signed PDF altered after signing", func(nc *casework.NewCase) {
			nc.Document = upload("c.pdf", bytes.Replace(bytes.Clone(signed), []byte("Contract"), []byte("Cantract"), 1))
		}, "upload.signaturefailed"},
		{"signature without trusted chain", func(nc *casework.NewCase) { nc.Document = upload("c.pdf", selfSigned) }, "upload.signaturefailed"},
		{"sixth supplementary file", func(nc *casework.NewCase) {
			for i := 0; i < 6; i++ {
				nc.Supplements = append(nc.Supplements, casework.Upload{Name: "s.txt", Body: strings.NewReader("s")})
			}
		}, "case.toomanyfiles"},
		{"tenth party", func(nc *casework.NewCase) {
			nc.Form = casework.FormMultiParty
			nc.Parties = nil
			for i := 0; i < 10; i++ {
				nc.Parties = append(nc.Parties, casework.Party{CompanyID: string(rune('a' + i)), CompanyName: "co", UserID: "u"})
			}
		}, ""},
		{"own company as party", func(nc *casework.NewCase) { nc.Parties = []casework.Party{w.party(a)} }, ""},
		{"unknown counterparty user", func(nc *casework.NewCase) { nc.Parties[0].UserID = "nobody" }, "party.unknownuser"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := base()
			tc.mutate(nc)
			_, err := w.svc.Cases.Register(w.ctx, a.P, nc)
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("Register = %v, want kerr.Invalid", err)
			}
			if cd := kerr.CodeOf(err); tc.code != "" && (cd == nil || cd.Code != tc.code) {
				t.Fatalf("Register = %v, want message code %s", err, tc.code)
			}
		})
	}
	if _, err := w.svc.Cases.Register(w.ctx, account.Principal{}, base()); !errors.Is(err, kerr.Unauthenticated) {
		t.Errorf("Register without a principal = %v, want kerr.Unauthenticated", err)
	}
	w.expectMails("refusal") // nothing registered, nobody told

	// A deleted case: the registrant may delete before completion, the
	// counterparty may not; deleting twice fails.
	c, err := w.svc.Cases.Register(w.ctx, a.P, base())
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	w.expectMails("refusal", notice{To: b, Type: notify.EventReceiptRequested})
	if _, err := w.svc.Cases.Delete(w.ctx, b.P, c.ID); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("Delete by the counterparty = %v, want kerr.PermissionDenied", err)
	}
	if _, err := w.svc.Cases.Delete(w.ctx, a.P, c.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	w.expectMails("refusal", notice{To: b, Type: notify.EventDeleted})
	if _, err := w.svc.Cases.Delete(w.ctx, a.P, c.ID); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("deleting twice = %v, want kerr.FailedPrecondition", err)
	}
}

// TestLockout: wrong passwords up to the threshold (the default, or
// Config.MaxFailedLogins) block further logins from that address, after
// which even the right password is refused with the very answer a wrong
// password gets (issue 11: a block must not be told apart).
func TestLockout(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold int
		configure int
	}{
		{"default threshold", 5, 0},
		{"configured threshold", 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, func(_ *world, cfg *keiyaku.Config) { cfg.MaxFailedLogins = tc.configure })
			m := w.m["B"]
			var wrong error
			for i := 1; i <= tc.threshold; i++ {
				_, wrong = w.svc.Accounts.Login(w.ctx, m.LoginID, "wrong password!", "")
				if !errors.Is(wrong, kerr.Unauthenticated) || !errors.Is(wrong, account.ErrBadCredentials) {
					t.Fatalf("wrong password %d: %v, want kerr.Unauthenticated wrapping ErrBadCredentials", i, wrong)
				}
			}
			_, err := w.svc.Accounts.Login(w.ctx, m.LoginID, m.Password, "")
			if !errors.Is(err, kerr.Unauthenticated) || !errors.Is(err, account.ErrBadCredentials) || err.Error() != wrong.Error() {
				t.Fatalf("right password while blocked: %v, want the answer to a wrong password (%v)", err, wrong)
			}
			// Another user of the service is not affected.
			if _, err := w.svc.Accounts.Login(w.ctx, w.m["A"].LoginID, w.m["A"].Password, ""); err != nil {
				t.Errorf("another user's login: %v", err)
			}
		})
	}
}

// TestReopen: what one Service wrote, a Service reopened on the same
// directory reads - cases, accounts, the development TSA - and the outbox
// keeps what was not yet delivered.
func TestReopen(t *testing.T) {
	w := newWorld(t)
	a, b := w.m["A"], w.m["B"]
	c, err := w.svc.Cases.Register(w.ctx, a.P, &casework.NewCase{
		Form: casework.FormBilateral, Name: "reopen", Amount: casework.Money{Amount: 1, Currency: "JPY"},
		TransactionDate: civil.DateOf(today()), Parties: []casework.Party{w.party(b)}, Document: upload("c.pdf", w.sign(a, contract("x"))),
	})
	if err != nil {
		t.Fatal(err)
	}
	tsa := w.svc.TSACertificate
	if err := w.svc.Close(); err != nil {
		t.Fatal(err)
	}
	w.svc = w.open()
	if !w.svc.TSACertificate.Equal(tsa) {
		t.Error("the reopened service made a new development TSA certificate")
	}
	got, err := w.svc.Cases.Get(w.ctx, a.P, c.ID)
	if err != nil || got.Document.Key != c.Document.Key {
		t.Fatalf("Get after reopen = %+v, %v", got, err)
	}
	w.expectMails("reopen", notice{To: b, Type: notify.EventReceiptRequested})
	r, _, err := w.svc.Cases.Receive(w.ctx, b.P, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatalf("reading the document after reopen: %v", err)
	}
}

func today() time.Time { return fixedClock() }

// stranger is a self-signed signer certificate no trust anchor vouches for.
func stranger(t *testing.T) *testpki.Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "stranger"},
		NotBefore: today().AddDate(-1, 0, 0), NotAfter: today().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testpki.Cert{Name: "stranger", Key: key, Cert: cert}
}
