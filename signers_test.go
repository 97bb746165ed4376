package keiyaku_test

import (
	"cloud.google.com/go/civil"

	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/kerr/kmsg"
	"github.com/keiyaku/keiyaku/storage"
)

func (w *world) registerSigned(m *member, form casework.Form, doc []byte, parties ...*member) (*casework.Case, error) {
	nc := &casework.NewCase{Form: form, Name: "署名者の確認", TransactionDate: civil.DateOf(today()),
		Amount: casework.Money{Amount: 1, Currency: "JPY"}, Document: upload("contract.pdf", doc)}
	for _, p := range parties {
		nc.Parties = append(nc.Parties, w.party(p))
	}
	return w.svc.Cases.Register(w.ctx, m.P, nc)
}

// Company B cannot return a contract countersigned with company A's
// certificate, nor upload A's own signed order as its acceptance.
func TestSignatureMustBeTheUploadersCompanys(t *testing.T) {
	w := newWorld(t)
	a, b, c := w.m["A"], w.m["B"], w.m["C"]
	_, err := w.registerSigned(a, casework.FormBilateral, w.sign(b, contract("signed by B")), b)
	if !errors.Is(err, kerr.PermissionDenied) {
		t.Fatalf("A registering a contract signed with B's certificate: err = %v, want PermissionDenied", err)
	}
	// The refusal names the company and the certificate, once, in the
	// user's language.
	if cd := kerr.CodeOf(err); cd == nil || cd.Code != "signer.unregistered" {
		t.Errorf("err = %v, want message code signer.unregistered", err)
	}
	if ja, _ := kmsg.Localize(err, "ja"); !strings.Contains(ja, "に登録されていない証明書で行われています") || !strings.Contains(ja, sha256Hex(b.Cert.Cert)) ||
		strings.Count(ja, sha256Hex(b.Cert.Cert)) != 1 {
		t.Errorf("ja = %q", ja)
	}
	cs, err := w.registerSigned(a, casework.FormBilateral, w.sign(a, contract("bilateral")), b)
	if err != nil {
		t.Fatal(err)
	}
	sent := w.receive(b, cs.ID)
	for _, signer := range []*member{a, c} {
		if _, err := w.svc.Cases.Return(w.ctx, b.P, cs.ID, upload("r.pdf", w.sign(signer, sent))); !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("B returning a signature by %s's certificate: err = %v, want PermissionDenied", signer.Key, err)
		}
	}
	if cs, err = w.svc.Cases.Return(w.ctx, b.P, cs.ID, upload("r.pdf", w.sign(b, sent))); err != nil {
		t.Fatalf("B's own return: %v", err)
	}
	if len(cs.Signers) != 2 || cs.Signers[1].CompanyID != b.P.CompanyID || cs.Signers[1].SHA256 != sha256Hex(b.Cert.Cert) ||
		cs.Signers[1].Serial != strings.ToUpper(b.Cert.Cert.SerialNumber.Text(16)) || !strings.Contains(cs.Signers[1].Subject, b.Cert.Cert.Subject.CommonName) {
		t.Errorf("recorded signers = %+v", cs.Signers)
	}
	trail, err := w.svc.Cases.AuditTrail(w.ctx, a.P, cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(trail, func(e storage.AuditEntry) bool { return e.Action == "case.return" }); i < 0 ||
		!strings.Contains(trail[i].Detail, "sha256="+sha256Hex(b.Cert.Cert)) {
		t.Errorf("the return's audit entry does not name B's certificate: %+v", trail)
	}

	order, err := w.registerSigned(a, casework.FormOrderAcceptance, w.sign(a, contract("order")), b)
	if err != nil {
		t.Fatal(err)
	}
	got := w.receive(b, order.ID)
	if _, err := w.svc.Cases.Return(w.ctx, b.P, order.ID, upload("acceptance.pdf", got)); !errors.Is(err, kerr.PermissionDenied) {
		t.Fatalf("A's signed order uploaded as B's acceptance: err = %v, want PermissionDenied", err)
	}
	if _, err := w.svc.Cases.Return(w.ctx, b.P, order.ID, upload("acceptance.pdf", w.sign(b, contract("acceptance")))); err != nil {
		t.Fatalf("B's own acceptance: %v", err)
	}
	w.smtp.take()
}

// The signature check on receipt reports each signer certificate's
// contents, for the counterparty, before completion.
func TestReceiptSignatureReport(t *testing.T) {
	w := newWorld(t)
	a, b := w.m["A"], w.m["B"]
	cs, err := w.registerSigned(a, casework.FormBilateral, w.sign(a, contract("check on receipt")), b)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := w.svc.Cases.CheckSignatures(w.ctx, b.P, cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || !reps[0].Passed || !reps[0].SealChecked || !reps[0].Sealable || len(reps[0].Signers) != 1 {
		t.Fatalf("reports = %+v", reps)
	}
	sg, want := reps[0].Signers[0], a.Cert.Cert
	got := sg.Certificate
	if !sg.Passed || sg.Indication != "TOTAL_PASSED" || got.SHA256 != sha256Hex(want) || sg.IssuerSHA256 != sha256Hex(w.pki.Intermediate.Cert) ||
		got.Serial != strings.ToUpper(want.SerialNumber.Text(16)) || !strings.Contains(got.Subject, want.Subject.CommonName) ||
		!strings.Contains(got.Issuer, w.pki.Intermediate.Cert.Subject.CommonName) ||
		!got.NotBefore.Equal(want.NotBefore) || !got.NotAfter.Equal(want.NotAfter) ||
		!slices.Contains(got.KeyUsage, "digitalSignature") || !slices.Contains(got.KeyUsage, "nonRepudiation") ||
		!slices.Contains(got.Policies, want.PolicyIdentifiers[0].String()) || !slices.Equal(got.Organization, want.Subject.Organization) {
		t.Errorf("signer = %+v\nwant the contents of %s", sg, want.Subject)
	}
	w.smtp.take()
}

// Completion does not fail late: without revocation data configured or
// reachable the registration is refused at once, naming the Config fields
// that fix it; with the CRLs configured the case completes.
func TestCompletionPreflight(t *testing.T) {
	offline := newWorldWith(t, func(w *world, cfg *keiyaku.Config) { cfg.Online = false })
	a, b := offline.m["A"], offline.m["B"]
	_, err := offline.registerSigned(a, casework.FormBilateral, offline.sign(a, contract("no revocation data")), b)
	if !errors.Is(err, kerr.FailedPrecondition) {
		t.Fatalf("Register without revocation data: err = %v, want FailedPrecondition", err)
	}
	for _, field := range []string{"Config.OCSPs", "Config.CRLs", "Config.Online", "Config.AllowIncompleteSeal"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("the refusal does not name %s: %v", field, err)
		}
	}

	withCRLs := newWorldWith(t, func(w *world, cfg *keiyaku.Config) {
		cfg.Online = false
		for _, issuer := range []*testpki.Cert{w.pki.Intermediate, w.pki.Root} {
			crl, err := w.pki.CRL(issuer, nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg.CRLs = append(cfg.CRLs, crl)
		}
	})
	a, b = withCRLs.m["A"], withCRLs.m["B"]
	cs, err := withCRLs.registerSigned(a, casework.FormBilateral, withCRLs.sign(a, contract("CRLs configured")), b)
	if err != nil {
		t.Fatalf("Register with CRLs configured: %v", err)
	}
	sent := withCRLs.receive(b, cs.ID)
	if _, err := withCRLs.svc.Cases.Return(withCRLs.ctx, b.P, cs.ID, upload("r.pdf", withCRLs.sign(b, sent))); err != nil {
		t.Fatalf("Return: %v", err)
	}
	if cs, err = withCRLs.svc.Cases.Complete(withCRLs.ctx, a.P, cs.ID); err != nil || cs.State != casework.StateCompleted {
		t.Fatalf("Complete: %v", err)
	}
	offline.smtp.take()
	withCRLs.smtp.take()
}

func sha256Hex(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// A registrant finds the counterparty in the directory and picks the
// person there; a forged name is refused.
func TestCounterpartyFromTheDirectory(t *testing.T) {
	w := newWorld(t)
	a, b := w.m["A"], w.m["B"]
	found, err := w.svc.Accounts.FindCompanies(w.ctx, a.P, account.DirectoryQuery{Name: "Bee"})
	if err != nil || len(found) != 1 || found[0].ID != b.P.CompanyID || found[0].Name != b.Company {
		t.Fatalf("FindCompanies = %+v, %v", found, err)
	}
	members, err := w.svc.Accounts.Members(w.ctx, a.P, found[0].ID)
	if err != nil || len(members) != 1 || members[0].UserID != b.P.UserID {
		t.Fatalf("Members = %+v, %v", members, err)
	}
	nc := func(name string) *casework.NewCase {
		return &casework.NewCase{Form: casework.FormBilateral, Name: "取引先の確認", TransactionDate: civil.DateOf(today()),
			Amount:   casework.Money{Amount: 1, Currency: "JPY"},
			Parties:  []casework.Party{{CompanyID: found[0].ID, CompanyName: name, UserID: members[0].UserID}},
			Document: upload("contract.pdf", w.sign(a, contract("directory")))}
	}
	if _, err := w.svc.Cases.Register(w.ctx, a.P, nc("Bee Trading Ltd. (forged)")); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("forged counterparty name: err = %v, want Invalid", err)
	}
	cs, err := w.svc.Cases.Register(w.ctx, a.P, nc(""))
	if err != nil || cs.Parties[0].CompanyName != b.Company {
		t.Fatalf("Register from the directory: %+v, %v", cs, err)
	}
	w.smtp.take()
}

// Send back with real signed PDFs in a 3-party case: C's send-back goes
// to B, who signs again and passes it on; the registrant's send-back of
// the returned case goes to C, who signs again; the contract completes
// and is original, with every signature.
func TestSendBackThreePartiesSigned(t *testing.T) {
	w := newWorld(t)
	a, b, cc := w.m["A"], w.m["B"], w.m["C"]
	const name = "差し戻しの三者間契約"
	c, err := w.svc.Cases.Register(w.ctx, a.P, &casework.NewCase{
		Form: casework.FormMultiParty, Name: name, Amount: casework.Money{Amount: 1, Currency: "JPY"},
		TransactionDate: civil.DateOf(today()), Parties: []casework.Party{w.party(b), w.party(cc)},
		Document: upload("agreement.pdf", w.sign(a, contract("Tripartite agreement"))),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = w.svc.Cases.Return(w.ctx, b.P, c.ID, upload("a.pdf", w.sign(b, w.receive(b, c.ID)))); err != nil {
		t.Fatal(err)
	}
	w.receive(cc, c.ID)
	_, _, _ = w.svc.DeliverOnce(w.ctx)
	w.smtp.take()
	if c, err = w.svc.Cases.SendBack(w.ctx, cc.P, c.ID, "B の署名を確認してください"); err != nil || c.State != casework.StateSentBackToParty || c.Turn != 0 {
		t.Fatalf("C's send-back = %+v, %v; want sent back to B", c, err)
	}
	_, _, _ = w.svc.DeliverOnce(w.ctx)
	var to []string
	for _, m := range w.smtp.take() {
		to = append(to, m.To...)
	}
	if !slices.Equal(to, []string{b.Email}) {
		t.Errorf("the send-back was mailed to %v, want B only", to)
	}
	if c, err = w.svc.Cases.Return(w.ctx, b.P, c.ID, upload("a.pdf", w.sign(b, w.receive(b, c.ID)))); err != nil || c.Turn != 1 {
		t.Fatalf("B's second return = %+v, %v", c, err)
	}
	if c, err = w.svc.Cases.Return(w.ctx, cc.P, c.ID, upload("a.pdf", w.sign(cc, w.receive(cc, c.ID)))); err != nil || c.State != casework.StateReturned {
		t.Fatalf("C's return = %+v, %v", c, err)
	}
	if c, err = w.svc.Cases.SendBack(w.ctx, a.P, c.ID, "日付の確認"); err != nil || c.State != casework.StateSentBackToParty || c.Turn != 1 {
		t.Fatalf("A's send-back = %+v, %v; want sent back to C", c, err)
	}
	if c, err = w.svc.Cases.Return(w.ctx, cc.P, c.ID, upload("a.pdf", w.sign(cc, w.receive(cc, c.ID)))); err != nil || c.State != casework.StateReturned {
		t.Fatalf("C's second return = %+v, %v", c, err)
	}
	if c, err = w.svc.Cases.Complete(w.ctx, a.P, c.ID); err != nil {
		t.Fatal(err)
	}
	if len(c.Signers) != 5 {
		t.Errorf("recorded signers = %+v, want A, B, B, C, C", c.Signers)
	}
	checkOriginal(t, w, cc, c.ID, 5)
}

// When sealing does lack revocation data at completion (here: the service
// reopened offline after the case was returned), Complete says so as a
// failed precondition naming the real Config fields, not "try again",
// and the case stays returned.
func TestCompleteWithoutRevocationData(t *testing.T) {
	w := newWorld(t)
	a, b := w.m["A"], w.m["B"]
	cs, err := w.registerSigned(a, casework.FormBilateral, w.sign(a, contract("sealed later")), b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Cases.Return(w.ctx, b.P, cs.ID, upload("r.pdf", w.sign(b, w.receive(b, cs.ID)))); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Close(); err != nil {
		t.Fatal(err)
	}
	w.mutate = func(cfg *keiyaku.Config) { cfg.Online = false }
	w.svc = w.open()
	_, err = w.svc.Cases.Complete(w.ctx, a.P, cs.ID)
	if !errors.Is(err, kerr.FailedPrecondition) || errors.Is(err, kerr.Unavailable) {
		t.Fatalf("Complete without revocation data: err = %v, want FailedPrecondition", err)
	}
	for _, field := range []string{"keiyaku.Config.OCSPs", "Config.CRLs", "Config.Online", "Config.AllowIncompleteSeal"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("the error does not name %s: %v", field, err)
		}
	}
	t.Logf("Complete: %v", err)
	if got, _ := w.svc.Cases.Get(w.ctx, a.P, cs.ID); got.State != casework.StateReturned {
		t.Errorf("the case is %s after the failed completion, want returned", got.State)
	}
	w.smtp.take()
}
