package casework

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Certificate is a signer certificate as a person reads it.
type Certificate struct {
	Subject string // RFC 2253 distinguished name
	Issuer  string
	Serial  string // upper-case hex
	// SHA256 is the lower-case hex SHA-256 of the certificate's DER.
	SHA256       string
	Organization []string
	// SubjectSerialNumber and OrganizationIdentifier are the subject
	// attributes that carry a 法人番号 (corporate number), if any.
	SubjectSerialNumber    string
	OrganizationIdentifier string
	NotBefore, NotAfter    time.Time
	KeyUsage               []string
	ExtKeyUsage            []string
	Policies               []string // certificate policy OIDs
}

// Signer is one signature of a validated PDF and who made it.
type Signer struct {
	Field string // the signature field
	// Revision is the 1-based revision (incremental update) the signature
	// belongs to; 0 when unknown.
	Revision int
	// Added is true when the signature lies after
	// ValidateOptions.PriorSize (every signature when PriorSize was 0):
	// it is new in this upload.
	Added bool
	// Passed is true when the signature is TOTAL-PASSED.
	Passed bool
	// Indication is the ETSI EN 319 102-1 indication, e.g. "TOTAL_PASSED",
	// with its sub-indication after a slash when there is one.
	Indication string
	// Certificate is the signer's certificate; IssuerSHA256 the SHA-256
	// of the certificate that issued it, when a path was built (else "").
	Certificate  Certificate
	IssuerSHA256 string
	// Timestamped is the time a valid signature timestamp proves; zero
	// when none.
	Timestamped time.Time
	// Reasons say why the verdict is what it is.
	Reasons []string
}

// identity is the short form of a signer's identity the audit log names.
func (sg Signer) identity() string {
	c := sg.Certificate
	return fmt.Sprintf("subject=%q issuer=%q serial=%s sha256=%s", c.Subject, c.Issuer, c.Serial, c.SHA256)
}

// SignerMatches reports whether the signer certificate described by sg
// is one the registration rc names: the same certificate (rc.CertSHA256),
// or one issued by the CA rc.IssuerSHA256 whose subject carries every
// attribute rc names (organization name, 法人番号 in serialNumber or
// organizationIdentifier).
func SignerMatches(rc storage.SignerCert, sg Signer) bool {
	c := sg.Certificate
	if rc.CertSHA256 != "" {
		return c.SHA256 != "" && strings.EqualFold(rc.CertSHA256, c.SHA256)
	}
	if rc.IssuerSHA256 == "" || !strings.EqualFold(rc.IssuerSHA256, sg.IssuerSHA256) {
		return false
	}
	if rc.Organization == "" && rc.CorporateNumber == "" {
		return false // a CA alone would admit every customer of the CA
	}
	if rc.Organization != "" && !slices.Contains(c.Organization, rc.Organization) {
		return false
	}
	if rc.CorporateNumber != "" && !carriesNumber(c.SubjectSerialNumber, rc.CorporateNumber) && !carriesNumber(c.OrganizationIdentifier, rc.CorporateNumber) {
		return false
	}
	return true
}

// carriesNumber reports whether attribute v is the corporate number n,
// bare or after a non-digit prefix such as "JCN" or "NTRJP-" (ETSI EN 319
// 412-1 §5.1.4 semantics identifiers).
func carriesNumber(v, n string) bool {
	if v == "" {
		return false
	}
	return strings.TrimLeftFunc(v, func(r rune) bool { return r < '0' || r > '9' }) == n
}

// checkSigners refuses an upload unless every signature in it that is new
// (Signer.Added) was made with a certificate registered to company
// companyID (account.Service.RegisterSignerCertificate and friends).
//
// Errors: kerr.FailedPrecondition when the company has registered no
// signing certificate at all (a setup step is missing, not a wrong
// upload), or when the Validator reports signatures without Signers; kerr.PermissionDenied when a new signature comes from a
// certificate not registered to the company: the document is well
// formed, but the acting company may not present another company's
// signature as its own.
func (s *Service) checkSigners(ctx context.Context, op, name, companyID string, v *Verdict) error {
	if v.Signatures > 0 && len(v.Signers) == 0 {
		// A Validator that does not say who signed cannot let a signature
		// count for anyone.
		return kerr.E(kerr.FailedPrecondition, op, "%s has %d signatures but the configured Validator reports no signer identities (Verdict.Signers), so whose they are cannot be checked: use keiyaku.NewValidator or fill Verdict.Signers", name, v.Signatures)
	}
	var added []Signer
	for _, sg := range v.Signers {
		if sg.Added {
			added = append(added, sg)
		}
	}
	if len(added) == 0 {
		return nil
	}
	co, err := s.store.GetCompany(ctx, companyID)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	if len(co.SignerCerts) == 0 {
		return kerr.M(kerr.FailedPrecondition, op, "signer.nocertificates", "{company} has registered no signing certificate: its administrator registers the certificates its people sign with before it can register or return a case",
			kerr.P("company", co.Name))
	}
	for _, sg := range added {
		ok := false
		for _, rc := range co.SignerCerts {
			if SignerMatches(rc, sg) {
				ok = true
				break
			}
		}
		if !ok {
			return kerr.M(kerr.PermissionDenied, op, "signer.unregistered", "{file}: signature {field} was made with a certificate that is not registered to {company} (subject {subject}, issuer {issuer}, SHA-256 {sha256}): sign with your company's own certificate, or have your administrator register this one",
				kerr.P("file", name), kerr.P("field", sg.Field), kerr.P("company", co.Name), kerr.P("subject", sg.Certificate.Subject), kerr.P("issuer", sg.Certificate.Issuer), kerr.P("sha256", sg.Certificate.SHA256))
		}
	}
	return nil
}

// recordSigners appends the new signatures of v, made by company
// companyID, to c.Signers and returns the audit detail naming them.
func recordSigners(c *Case, companyID string, v *Verdict, at time.Time) string {
	var ids []string
	for _, sg := range v.Signers {
		if !sg.Added {
			continue
		}
		c.Signers = append(c.Signers, SignerRecord{CompanyID: companyID, Field: sg.Field, Subject: sg.Certificate.Subject,
			Issuer: sg.Certificate.Issuer, Serial: sg.Certificate.Serial, SHA256: sg.Certificate.SHA256, At: at})
		ids = append(ids, "signer "+sg.identity())
	}
	return strings.Join(ids, "; ")
}

// SignerRecord is a signature the case records when it was uploaded:
// which company's upload carried it and whose certificate made it.
type SignerRecord struct {
	CompanyID string
	Field     string
	Subject   string
	Issuer    string
	Serial    string
	SHA256    string // of the signer certificate's DER
	At        time.Time
}

// SignatureReport is the answer of CheckSignatures: the current contract
// PDF (and acceptance) validated now, with every signer certificate's
// contents (案件受領時の電子署名検証).
type SignatureReport struct {
	// File is the document validated.
	File File
	// Passed is true when every signature passed.
	Passed  bool
	Signers []Signer
	Reasons []string
	// Sealable is true when the signatures could be sealed to PAdES
	// B-LTA on completion; SealProblems say what is missing otherwise.
	// Both are left zero when the Sealer cannot tell (no SealChecker).
	SealChecked  bool
	Sealable     bool
	SealProblems []string
}

// CheckSignatures validates, at the service's clock, the case's current
// contract PDF (and, for FormOrderAcceptance, the acceptance once
// returned) and reports every signature with its signer certificate's
// contents, for any principal that may see the case, before or after
// completion. The caller does not validate downloaded bytes itself. It
// changes no state and appends a "case.signature-check" audit entry.
//
// Errors: kerr.NotFound for a case p may not see; kerr.Unavailable when
// validation could not run.
func (s *Service) CheckSignatures(ctx context.Context, p account.Principal, id string) ([]*SignatureReport, error) {
	const op = "casework.CheckSignatures"
	c, _, err := s.load(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	var out []*SignatureReport
	for _, f := range []File{c.Document, c.Acceptance} {
		if f.IsZero() {
			continue
		}
		ra, err := s.blobs.ReaderAt(ctx, f.Key, f.Size)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		v, err := s.val.Validate(ctx, ra, f.Size, &ValidateOptions{At: s.now()})
		if err != nil {
			return nil, kerr.WrapKind(kerr.Unavailable, op, "the document could not be validated; try again", err)
		}
		rep := &SignatureReport{File: f, Passed: v.Passed, Signers: v.Signers, Reasons: v.Reasons}
		if sc, ok := s.sealer.(SealChecker); ok && v.Signatures > 0 {
			probs, err := sc.CheckSeal(ctx, ra, f.Size)
			if err != nil {
				return nil, kerr.WrapKind(kerr.Unavailable, op, "the seal check could not run; try again", err)
			}
			rep.SealChecked, rep.Sealable, rep.SealProblems = true, len(probs) == 0, probs
		}
		out = append(out, rep)
	}
	entry := storage.AuditEntry{Time: s.now(), ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr,
		Action: accessAction(p, "case.signature-check"), CaseID: c.ID, Detail: fmt.Sprintf("%d documents", len(out))}
	if err := s.store.AppendAudit(ctx, []storage.AuditEntry{entry}); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return out, nil
}

// checkSealable refuses a signed upload that could not be sealed on
// completion (kerr.FailedPrecondition, naming what to configure), when the
// Sealer can tell (SealChecker).
func (s *Service) checkSealable(ctx context.Context, op, name string, ra interface {
	ReadAt([]byte, int64) (int, error)
}, size int64) error {
	sc, ok := s.sealer.(SealChecker)
	if !ok {
		return nil
	}
	probs, err := sc.CheckSeal(ctx, ra, size)
	if err != nil {
		return kerr.WrapKind(kerr.Unavailable, op, "checking that "+name+" can be sealed on completion", err)
	}
	if len(probs) > 0 {
		return kerr.M(kerr.FailedPrecondition, op, "seal.preflight", "{file} could not be sealed on completion ({problems}): give the service revocation data for the signers' certificates (keiyaku.Config.OCSPs or Config.CRLs), let it fetch them (Config.Online) or allow sealing without them (Config.AllowIncompleteSeal), then upload it again",
			kerr.P("file", name), kerr.P("problems", strings.Join(probs, "; ")))
	}
	return nil
}
