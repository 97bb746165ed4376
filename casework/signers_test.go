package casework_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// A return countersigned with another company's certificate is refused,
// and the case stays as it was.
func TestReturnSignedByAnotherCompanyRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("契約書"), "co1")))
	if err != nil {
		t.Fatal(err)
	}
	sent := receive(t, e, u2, c.ID)
	for _, who := range []string{"co1", "co3", "nobody"} {
		_, err := e.svc.Return(ctx, u2, c.ID, upload(sign(sent, who)))
		if !errors.Is(err, kerr.PermissionDenied) {
			t.Errorf("return signed by %s: err = %v, want PermissionDenied", who, err)
		}
	}
	got, err := e.svc.Get(ctx, u1, c.ID)
	if err != nil || got.State != casework.StateReceived || got.Document != c.Document {
		t.Fatalf("after refused returns: %+v, %v", got, err)
	}
	c, err = e.svc.Return(ctx, u2, c.ID, upload(sign(sent, "co2")))
	if err != nil {
		t.Fatalf("return signed by co2 itself: %v", err)
	}
	// The case records each signer, and the audit entries name them.
	if len(c.Signers) != 2 || c.Signers[0].CompanyID != "co1" || c.Signers[0].SHA256 != certOf("co1") ||
		c.Signers[1].CompanyID != "co2" || c.Signers[1].SHA256 != certOf("co2") || c.Signers[1].Subject != "CN=co2" {
		t.Fatalf("Signers = %+v", c.Signers)
	}
	stored, err := e.svc.Get(ctx, u2, c.ID)
	if err != nil || len(stored.Signers) != 2 || stored.Signers[1] != c.Signers[1] {
		t.Fatalf("stored Signers = %+v, %v", stored.Signers, err)
	}
	trail, err := e.svc.AuditTrail(ctx, u1, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, a := range trail {
		for _, co := range []string{"co1", "co2"} {
			if strings.Contains(a.Detail, "sha256="+certOf(co)) && strings.Contains(a.Detail, `subject="CN=`+co+`"`) &&
				strings.Contains(a.Detail, `issuer="CN=Test CA"`) && strings.Contains(a.Detail, "serial=") {
				found[a.Action+" "+co] = true
			}
		}
	}
	if !found["case.register co1"] || !found["case.return co2"] {
		t.Errorf("audit entries naming the signers: %v", found)
	}
}

// The party on turn of a multi-party case must sign with its own
// certificate, not with that of a party before or after it.
func TestMultiPartySignerIsThePartyOnTurn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormMultiParty, sign(pdf("三者間"), "co1"), partyCo2, partyCo3))
	if err != nil {
		t.Fatal(err)
	}
	sent := receive(t, e, u2, c.ID)
	if _, err := e.svc.Return(ctx, u2, c.ID, upload(sign(sent, "co3"))); !errors.Is(err, kerr.PermissionDenied) {
		t.Fatalf("co2 returning co3's signature: err = %v, want PermissionDenied", err)
	}
	if _, err := e.svc.Return(ctx, u2, c.ID, upload(sign(sent, "co2"))); err != nil {
		t.Fatal(err)
	}
	sent = receive(t, e, u3, c.ID)
	// Two signatures added at once: one of them another company's.
	if _, err := e.svc.Return(ctx, u3, c.ID, upload(sign(sign(sent, "co3"), "co2"))); !errors.Is(err, kerr.PermissionDenied) {
		t.Fatalf("co3 adding co2's signature too: err = %v, want PermissionDenied", err)
	}
	if c, err = e.svc.Return(ctx, u3, c.ID, upload(sign(sent, "co3"))); err != nil || c.State != casework.StateReturned {
		t.Fatalf("co3's own return: %v", err)
	}
}

// In the separate order/acceptance form the acceptance must carry the
// accepting company's signature: the registrant's own signed order is
// not an acceptance.
func TestAcceptanceMustBeTheAcceptingCompanys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	order := sign(pdf("注文書"), "co1")
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormOrderAcceptance, order))
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, e, u2, c.ID)
	if _, err := e.svc.Return(ctx, u2, c.ID, upload(got)); !errors.Is(err, kerr.PermissionDenied) {
		t.Fatalf("A's order uploaded as B's acceptance: err = %v, want PermissionDenied", err)
	}
	if _, err := e.svc.Return(ctx, u2, c.ID, upload(sign(pdf("請書"), "co2"))); err != nil {
		t.Fatalf("B's own acceptance: %v", err)
	}
}

// A company that registered no signing certificate cannot register: the
// error says a setup step is missing, not that the upload is wrong.
func TestNoSignerCertificateRegistered(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	co, err := e.store.GetCompany(ctx, "co1")
	if err != nil {
		t.Fatal(err)
	}
	co.SignerCerts = nil
	if err := e.store.PutCompany(ctx, co, auditFor("company.signer-remove")); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("x"), "co1")))
	if !errors.Is(err, kerr.FailedPrecondition) {
		t.Fatalf("Register without a registered certificate: err = %v, want FailedPrecondition", err)
	}
	// An unsigned send-only document needs none.
	if _, err := e.svc.Register(ctx, u1, newCase(casework.FormSendOnly, pdf("送付のみ"))); err != nil {
		t.Fatalf("unsigned send-only: %v", err)
	}
}

func TestSignerMatches(t *testing.T) {
	ca := strings.Repeat("c", 64)
	signer := casework.Signer{IssuerSHA256: ca, Certificate: casework.Certificate{SHA256: strings.Repeat("a", 64),
		Organization: []string{"株式会社エー商事"}, SubjectSerialNumber: "JCN7000012050002", OrganizationIdentifier: ""}}
	for _, tc := range []struct {
		name string
		rc   storage.SignerCert
		want bool
	}{
		{"same certificate", storage.SignerCert{CertSHA256: strings.Repeat("a", 64)}, true},
		{"same certificate, upper-case hex", storage.SignerCert{CertSHA256: strings.Repeat("A", 64)}, true},
		{"other certificate", storage.SignerCert{CertSHA256: strings.Repeat("b", 64)}, false},
		{"CA and organization", storage.SignerCert{IssuerSHA256: ca, Organization: "株式会社エー商事"}, true},
		{"CA and corporate number after a prefix", storage.SignerCert{IssuerSHA256: ca, CorporateNumber: "7000012050002"}, true},
		{"CA, organization and number", storage.SignerCert{IssuerSHA256: ca, Organization: "株式会社エー商事", CorporateNumber: "7000012050002"}, true},
		{"CA and another organization", storage.SignerCert{IssuerSHA256: ca, Organization: "株式会社ビー"}, false},
		{"CA and another number", storage.SignerCert{IssuerSHA256: ca, CorporateNumber: "1000012050002"}, false},
		{"another CA", storage.SignerCert{IssuerSHA256: strings.Repeat("d", 64), Organization: "株式会社エー商事"}, false},
		{"CA alone admits nobody", storage.SignerCert{IssuerSHA256: ca}, false},
		{"empty rule", storage.SignerCert{}, false},
	} {
		if got := casework.SignerMatches(tc.rc, signer); got != tc.want {
			t.Errorf("%s: SignerMatches = %v, want %v", tc.name, got, tc.want)
		}
	}
	noCert := casework.Signer{}
	if casework.SignerMatches(storage.SignerCert{CertSHA256: ""}, noCert) {
		t.Error("an empty fingerprint matched an unknown certificate")
	}
}

// checkingSealer is testSealer with a seal check that finds the problems
// it is given, and a SealPDF that fails like the archive does when
// validation data is missing.
type checkingSealer struct {
	testSealer
	problems []string
	sealErr  error
}

func (s *checkingSealer) CheckSeal(ctx context.Context, r io.ReaderAt, size int64) ([]string, error) {
	return s.problems, nil
}

func (s *checkingSealer) SealPDF(ctx context.Context, r io.ReaderAt, size int64, w io.Writer) error {
	if s.sealErr != nil {
		return s.sealErr
	}
	return s.testSealer.SealPDF(ctx, r, size, w)
}

func withSealer(t *testing.T, e *env, sealer casework.Sealer) *casework.Service {
	t.Helper()
	n := 0
	svc, err := casework.New(casework.Config{Store: e.store, Blobs: e.blobs, Validator: e.val, Sealer: sealer, TempDir: e.tmp,
		NewID: func() string { n++; return fmt.Sprintf("sealer-%04d", n) }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// Completion does not fail late for a reason knowable at registration or
// return: a signed upload that could not be sealed is refused then, with
// kerr.FailedPrecondition; and a seal that fails for missing data anyway
// (revocation data that lapsed since) is FailedPrecondition, not a "try
// again".
func TestSealPreflight(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sealer := &checkingSealer{problems: []string{"no revocation data for certificate X"}}
	svc := withSealer(t, e, sealer)
	_, err := svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("x"), "co1")))
	if !errors.Is(err, kerr.FailedPrecondition) || !strings.Contains(err.Error(), "no revocation data for certificate X") {
		t.Fatalf("Register of an unsealable document: err = %v, want FailedPrecondition naming the problem", err)
	}
	sealer.problems = nil
	c, err := svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("x"), "co1")))
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := svc.Receive(ctx, u2, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := io.ReadAll(r)
	r.Close()
	sealer.problems = []string{"no revocation data for certificate Y"}
	if _, err := svc.Return(ctx, u2, c.ID, upload(sign(sent, "co2"))); !errors.Is(err, kerr.FailedPrecondition) {
		t.Fatalf("Return of an unsealable document: err = %v, want FailedPrecondition", err)
	}
	sealer.problems = nil
	if _, err := svc.Return(ctx, u2, c.ID, upload(sign(sent, "co2"))); err != nil {
		t.Fatal(err)
	}
	reps, err := svc.CheckSignatures(ctx, u2, c.ID)
	if err != nil || len(reps) != 1 || !reps[0].SealChecked || !reps[0].Sealable || !reps[0].Passed || len(reps[0].Signers) != 2 {
		t.Fatalf("CheckSignatures = %+v, %v", reps, err)
	}
	sealer.sealErr = kerr.E(kerr.FailedPrecondition, "archive.SealPDF", "no revocation data: set Config.OCSPs")
	if _, err := svc.Complete(ctx, u1, c.ID); !errors.Is(err, kerr.FailedPrecondition) || errors.Is(err, kerr.Unavailable) {
		t.Fatalf("Complete with missing revocation data: err = %v, want FailedPrecondition", err)
	}
	sealer.sealErr = kerr.E(kerr.Unavailable, "archive.SealPDF", "the TSA did not answer")
	if _, err := svc.Complete(ctx, u1, c.ID); !errors.Is(err, kerr.Unavailable) {
		t.Fatalf("Complete with the TSA down: err = %v, want Unavailable", err)
	}
	if got, _ := svc.Get(ctx, u1, c.ID); got.State != casework.StateReturned {
		t.Fatalf("after failed completions the case is %s, want returned", got.State)
	}
}

// The signature check on receipt: any party of the case, before
// completion, gets the verdict on the current document with every
// signer; an outsider gets NotFound; the check is audited.
func TestCheckSignatures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("x"), "co1")))
	if err != nil {
		t.Fatal(err)
	}
	reps, err := e.svc.CheckSignatures(ctx, u2, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || reps[0].File != c.Document || !reps[0].Passed || reps[0].SealChecked || len(reps[0].Signers) != 1 ||
		reps[0].Signers[0].Certificate.SHA256 != certOf("co1") {
		t.Fatalf("reports = %+v", reps)
	}
	if _, err := e.svc.CheckSignatures(ctx, out, c.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("outsider: err = %v, want NotFound", err)
	}
	trail, err := e.svc.AuditTrail(ctx, u1, c.ID)
	if err != nil || trail[len(trail)-1].Action != "case.signature-check" || trail[len(trail)-1].ActorUserID != "u2" {
		t.Errorf("last audit entry = %+v, %v", trail[len(trail)-1], err)
	}
}

// anonymousValidator passes every PDF and counts its signatures, but says
// nothing of who made them.
type anonymousValidator struct{ testValidator }

func (v *anonymousValidator) Validate(ctx context.Context, r io.ReaderAt, size int64, opts *casework.ValidateOptions) (*casework.Verdict, error) {
	verdict, err := v.testValidator.Validate(ctx, r, size, opts)
	if verdict != nil {
		verdict.Signers = nil
	}
	return verdict, err
}

// A Validator that reports no signer identities lets no signature count.
func TestValidatorWithoutSigners(t *testing.T) {
	e := newEnv(t)
	svc, err := casework.New(casework.Config{Store: e.store, Blobs: e.blobs, Validator: &anonymousValidator{}, Sealer: testSealer{}, TempDir: e.tmp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Register(context.Background(), u1, newCase(casework.FormBilateral, sign(pdf("x"), "co1"))); !errors.Is(err, kerr.FailedPrecondition) {
		t.Fatalf("err = %v, want FailedPrecondition", err)
	}
}
