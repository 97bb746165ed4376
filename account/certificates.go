package account

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// MaxSignerCerts bounds the signing-certificate registrations of one
// company.
const MaxSignerCerts = 100

// RegisterSignerCertificate registers the signer certificate cert to p's
// company: from then on a signature made with it counts as the company's
// when the company registers or returns a case. Only a company
// administrator may (else kerr.PermissionDenied); the registration is
// audited ("company.signer-add").
//
// Errors: kerr.Invalid for a nil certificate or a CA certificate (register
// a CA with RegisterSignerIssuer, naming the subject attributes);
// kerr.Conflict when this or another company has registered it already
// (a certificate signs for one company only); kerr.FailedPrecondition
// past MaxSignerCerts.
//
// The service takes the administrator's word that the company's people
// sign with cert: it asks for no proof of possession of the key. The
// audit entry names the certificate, so a false registration is
// traceable to the administrator who made it. The check against other
// companies is not atomic with the registration: two companies
// registering the same certificate at the same instant may both succeed.
func (s *Service) RegisterSignerCertificate(ctx context.Context, p Principal, cert *x509.Certificate) (*storage.SignerCert, error) {
	const op = "account.RegisterSignerCertificate"
	if cert == nil || len(cert.Raw) == 0 {
		return nil, kerr.E(kerr.Invalid, op, "no certificate given (a parsed certificate with its DER is needed)")
	}
	if cert.IsCA {
		return nil, kerr.E(kerr.Invalid, op, "%q is a CA certificate: register it with RegisterSignerIssuer and the organization name or corporate number its signers carry", cert.Subject.String())
	}
	rc := storage.SignerCert{CertSHA256: fingerprint(cert), Subject: cert.Subject.String(), NotAfter: cert.NotAfter.UTC()}
	if err := requireAdmin(op, p, "register signing certificates"); err != nil {
		return nil, err
	}
	// A certificate signs for one company: another company that
	// registered it first keeps it (a dispute is for the operator).
	holders, err := s.store.FindCompanies(ctx, &storage.CompanyQuery{SignerCertSHA256: rc.CertSHA256, Limit: 2})
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	for _, h := range holders {
		if h.ID != p.CompanyID {
			return nil, kerr.E(kerr.Conflict, op, "certificate %q is registered to another company (%s): a certificate signs for one company only; ask the operator if it is yours", rc.Subject, h.Name)
		}
	}
	return s.addSignerCert(ctx, op, p, rc)
}

// RegisterSignerIssuer registers, to p's company, every signer
// certificate issued by the CA certificate ca whose subject carries the
// organization name (O) and/or the 法人番号 corporateNumber (in the
// subject serialNumber or organizationIdentifier, bare or after a prefix
// such as "JCN"). At least one of the two is required: a CA alone would
// admit every customer of the CA. Both are bound to the company's own
// directory entry, so that no company claims another's signers: the
// organization must be the company's name in the directory, the number
// its corporate number (SetCorporateNumber first). Administrator only,
// audited, like RegisterSignerCertificate.
//
// Errors: kerr.Invalid for a nil CA, neither attribute, an organization
// over MaxProfileLen characters or a corporate number that is not 13
// digits with a valid check digit, or either not the company's own;
// kerr.Conflict for a rule registered already; kerr.FailedPrecondition
// past MaxSignerCerts.
func (s *Service) RegisterSignerIssuer(ctx context.Context, p Principal, ca *x509.Certificate, organization, corporateNumber string) (*storage.SignerCert, error) {
	const op = "account.RegisterSignerIssuer"
	if ca == nil || len(ca.Raw) == 0 {
		return nil, kerr.E(kerr.Invalid, op, "no CA certificate given")
	}
	if organization == "" && corporateNumber == "" {
		return nil, kerr.E(kerr.Invalid, op, "name the organization or the corporate number the company's signer certificates carry: a CA alone would admit every customer of the CA")
	}
	if !utf8.ValidString(organization) || utf8.RuneCountInString(organization) > MaxProfileLen {
		return nil, kerr.E(kerr.Invalid, op, "the organization name must be valid text of at most %d characters", MaxProfileLen)
	}
	if corporateNumber != "" {
		if err := CheckCorporateNumber(op, corporateNumber); err != nil {
			return nil, err
		}
	}
	rc := storage.SignerCert{IssuerSHA256: fingerprint(ca), Organization: organization, CorporateNumber: corporateNumber,
		Subject: ca.Subject.String(), NotAfter: ca.NotAfter.UTC()}
	return s.addSignerCert(ctx, op, p, rc)
}

func (s *Service) addSignerCert(ctx context.Context, op string, p Principal, rc storage.SignerCert) (*storage.SignerCert, error) {
	if err := requireAdmin(op, p, "register signing certificates"); err != nil {
		return nil, err
	}
	rc.ID, rc.CreatedAt, rc.CreatedBy = s.newID(), s.now(), p.UserID
	detail := "certificate " + rc.CertSHA256
	if rc.CertSHA256 == "" {
		detail = "issuer " + rc.IssuerSHA256 + " organization " + rc.Organization + " corporate number " + rc.CorporateNumber
	}
	err := s.updateCompany(ctx, op, p, "company.signer-add", detail+" ("+rc.Subject+")", func(co *storage.Company) error {
		if len(co.SignerCerts) >= MaxSignerCerts {
			return kerr.E(kerr.FailedPrecondition, op, "company %q has %d signing certificates registered, the most allowed: remove one first", co.Name, MaxSignerCerts)
		}
		for _, have := range co.SignerCerts {
			if have.CertSHA256 == rc.CertSHA256 && have.IssuerSHA256 == rc.IssuerSHA256 &&
				have.Organization == rc.Organization && have.CorporateNumber == rc.CorporateNumber {
				return kerr.E(kerr.Conflict, op, "this signing certificate is registered already (ID %s)", have.ID)
			}
		}
		if rc.Organization != "" && rc.Organization != co.Name {
			return kerr.E(kerr.Invalid, op, "organization %q is not the company's name in the directory (%q): an issuer rule admits only the company's own signers", rc.Organization, co.Name)
		}
		if rc.CorporateNumber != "" && rc.CorporateNumber != co.CorporateNumber {
			return kerr.E(kerr.Invalid, op, "corporate number %s is not the company's (%q): set the company's corporate number first (SetCorporateNumber)", rc.CorporateNumber, co.CorporateNumber)
		}
		co.SignerCerts = append(co.SignerCerts, rc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &rc, nil
}

// SignerCertificates lists the signing certificates registered to p's
// company, oldest first, for any user of the company.
func (s *Service) SignerCertificates(ctx context.Context, p Principal) ([]storage.SignerCert, error) {
	const op = "account.SignerCertificates"
	if err := userOnly(op, p); err != nil { // disclosure.go
		return nil, err
	}
	co, err := s.store.GetCompany(ctx, p.CompanyID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return co.SignerCerts, nil
}

// RemoveSignerCertificate removes the registration id from p's company:
// signatures made with it no longer count as the company's in later
// uploads (cases already registered keep what they recorded).
// Administrator only, audited ("company.signer-remove"); an unknown id is
// kerr.NotFound.
func (s *Service) RemoveSignerCertificate(ctx context.Context, p Principal, id string) error {
	const op = "account.RemoveSignerCertificate"
	if err := requireAdmin(op, p, "remove signing certificates"); err != nil {
		return err
	}
	return s.updateCompany(ctx, op, p, "company.signer-remove", id, func(co *storage.Company) error {
		for i, have := range co.SignerCerts {
			if have.ID == id {
				co.SignerCerts = append(co.SignerCerts[:i:i], co.SignerCerts[i+1:]...)
				return nil
			}
		}
		return kerr.E(kerr.NotFound, op, "no signing certificate %q is registered to the company", id)
	})
}

func requireAdmin(op string, p Principal, what string) error {
	if !p.Valid() {
		return kerr.E(kerr.Unauthenticated, op, "log in first")
	}
	if !p.Admin {
		return kerr.E(kerr.PermissionDenied, op, "only a company administrator may %s", what)
	}
	return nil
}

// updateCompany reads p's company, applies change and writes it back with
// one audit entry, re-reading and re-applying when a concurrent update
// won (so that no registration is lost).
func (s *Service) updateCompany(ctx context.Context, op string, p Principal, action, detail string, change func(*storage.Company) error) error {
	for attempt := 0; ; attempt++ {
		co, err := s.store.GetCompany(ctx, p.CompanyID)
		if err != nil {
			return kerr.Wrap(op, err)
		}
		if err := change(co); err != nil {
			return err
		}
		co.UpdatedAt = s.now()
		err = s.store.PutCompany(ctx, co, s.audit(p, action, detail))
		if errors.Is(err, kerr.Conflict) && attempt < 5 {
			continue
		}
		return kerr.Wrap(op, err)
	}
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// CheckCorporateNumber returns nil when n is a 法人番号: 13 digits whose
// first is the check digit of the other twelve (9 - (Σ Pn×Qn mod 9), Pn
// the n-th digit from the right, Qn 1 for odd n and 2 for even n;
// 法人番号の指定等に関する省令 第2条). Otherwise kerr.Invalid under op.
func CheckCorporateNumber(op, n string) error {
	if len(n) != 13 || strings.ContainsFunc(n, func(r rune) bool { return r < '0' || r > '9' }) {
		return kerr.E(kerr.Invalid, op, "corporate number %q must be 13 digits (法人番号)", n)
	}
	sum := 0
	for i := 1; i <= 12; i++ {
		d := int(n[13-i] - '0')
		if i%2 == 0 {
			d *= 2
		}
		sum += d
	}
	if want := 9 - sum%9; int(n[0]-'0') != want {
		return kerr.E(kerr.Invalid, op, "corporate number %q has a wrong check digit (the first digit should be %d): check for a typing error", n, want)
	}
	return nil
}
