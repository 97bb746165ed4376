package httpapi

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// The company's administration over REST (issue 9): signing
// certificates, the directory, trading partners, the corporate number and
// time zone, and the administrator's user controls (issue 11). Each
// operation is the account package's own call with the caller's
// principal: the authorization (administrators only where the document
// marks x-keiyaku-admin) is the account package's, the token scope is
// checked before (neededScope).

// parseCertificate reads one certificate given as PEM (the first
// CERTIFICATE block) or as base64 DER; field names the request field.
func parseCertificate(op, field, s string) (*x509.Certificate, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if strings.HasPrefix(s, "-----BEGIN") {
		rest := []byte(s)
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				return nil, kerr.E(kerr.Invalid, op, "%s holds no PEM CERTIFICATE block: give the certificate as PEM or as base64 DER", field)
			}
			if blk.Type == "CERTIFICATE" {
				der = blk.Bytes
				break
			}
		}
	} else {
		var err error
		if der, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), "")); err != nil {
			return nil, kerr.E(kerr.Invalid, op, "%s is neither PEM nor base64 DER: %v", field, err)
		}
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, kerr.E(kerr.Invalid, op, "%s is not an X.509 certificate: %v", field, err)
	}
	return c, nil
}

func toSigningCertificate(rc *storage.SignerCert) SigningCertificate {
	return SigningCertificate{
		Id: rc.ID, CertSha256: strp(rc.CertSHA256), IssuerSha256: strp(rc.IssuerSHA256),
		Organization: strp(rc.Organization), CorporateNumber: strp(rc.CorporateNumber),
		Subject: rc.Subject, NotAfter: rc.NotAfter, CreatedAt: rc.CreatedAt, CreatedBy: rc.CreatedBy,
	}
}

func (s *server) ListSigningCertificates(ctx context.Context, _ ListSigningCertificatesRequestObject) (ListSigningCertificatesResponseObject, error) {
	rcs, err := s.svc().Accounts.SignerCertificates(ctx, info(ctx).p)
	if err != nil {
		return nil, err
	}
	out := ListSigningCertificates200JSONResponse{Certificates: make([]SigningCertificate, 0, len(rcs))}
	for i := range rcs {
		out.Certificates = append(out.Certificates, toSigningCertificate(&rcs[i]))
	}
	return out, nil
}

func (s *server) RegisterSigningCertificate(ctx context.Context, req RegisterSigningCertificateRequestObject) (RegisterSigningCertificateResponseObject, error) {
	c, err := parseCertificate("httpapi.registerSigningCertificate", "certificate", req.Body.Certificate)
	if err != nil {
		return nil, err
	}
	rc, err := s.svc().Accounts.RegisterSignerCertificate(ctx, info(ctx).p, c)
	if err != nil {
		return nil, err
	}
	return RegisterSigningCertificate201JSONResponse(toSigningCertificate(rc)), nil
}

func (s *server) RegisterSigningIssuer(ctx context.Context, req RegisterSigningIssuerRequestObject) (RegisterSigningIssuerResponseObject, error) {
	c, err := parseCertificate("httpapi.registerSigningIssuer", "ca_certificate", req.Body.CaCertificate)
	if err != nil {
		return nil, err
	}
	var org, num string
	if req.Body.Organization != nil {
		org = *req.Body.Organization
	}
	if req.Body.CorporateNumber != nil {
		num = *req.Body.CorporateNumber
	}
	rc, err := s.svc().Accounts.RegisterSignerIssuer(ctx, info(ctx).p, c, org, num)
	if err != nil {
		return nil, err
	}
	return RegisterSigningIssuer201JSONResponse(toSigningCertificate(rc)), nil
}

func (s *server) RemoveSigningCertificate(ctx context.Context, req RemoveSigningCertificateRequestObject) (RemoveSigningCertificateResponseObject, error) {
	if err := s.svc().Accounts.RemoveSignerCertificate(ctx, info(ctx).p, req.RegistrationId); err != nil {
		return nil, err
	}
	return RemoveSigningCertificate204Response{}, nil
}

func toCompany(co *storage.Company) Company {
	tz := co.TimeZone
	if tz == "" {
		tz = account.DefaultTimeZone
	}
	days := co.ReminderDays
	return Company{Id: co.ID, Name: co.Name, CorporateNumber: strp(co.CorporateNumber), TimeZone: tz, ReminderDays: &days}
}

func (s *server) SetCorporateNumber(ctx context.Context, req SetCorporateNumberRequestObject) (SetCorporateNumberResponseObject, error) {
	co, err := s.svc().Accounts.SetCorporateNumber(ctx, info(ctx).p, req.Body.CorporateNumber)
	if err != nil {
		return nil, err
	}
	return SetCorporateNumber200JSONResponse(toCompany(co)), nil
}

func (s *server) SetTimeZone(ctx context.Context, req SetTimeZoneRequestObject) (SetTimeZoneResponseObject, error) {
	co, err := s.svc().Accounts.SetTimeZone(ctx, info(ctx).p, req.Body.TimeZone)
	if err != nil {
		return nil, err
	}
	return SetTimeZone200JSONResponse(toCompany(co)), nil
}

func toDirectory(es []account.DirectoryEntry) DirectoryList {
	out := DirectoryList{Companies: make([]DirectoryEntry, 0, len(es))}
	for _, e := range es {
		out.Companies = append(out.Companies, DirectoryEntry{Id: e.ID, Name: e.Name, CorporateNumber: strp(e.CorporateNumber), Partner: e.Partner})
	}
	return out
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

func (s *server) FindCompanies(ctx context.Context, req FindCompaniesRequestObject) (FindCompaniesResponseObject, error) {
	q := account.DirectoryQuery{ID: deref(req.Params.Id), CorporateNumber: deref(req.Params.CorporateNumber), Name: deref(req.Params.Name), Limit: deref(req.Params.Limit)}
	es, err := s.svc().Accounts.FindCompanies(ctx, info(ctx).p, q)
	if err != nil {
		return nil, err
	}
	return FindCompanies200JSONResponse(toDirectory(es)), nil
}

func (s *server) ListMembers(ctx context.Context, req ListMembersRequestObject) (ListMembersResponseObject, error) {
	ms, err := s.svc().Accounts.Members(ctx, info(ctx).p, req.CompanyId)
	if err != nil {
		return nil, err
	}
	out := ListMembers200JSONResponse{}
	out.Members = make([]struct {
		Department *string `json:"department,omitempty"`
		Name       string  `json:"name"`
		Title      *string `json:"title,omitempty"`
		UserId     string  `json:"user_id"`
	}, 0, len(ms))
	for _, m := range ms {
		out.Members = append(out.Members, struct {
			Department *string `json:"department,omitempty"`
			Name       string  `json:"name"`
			Title      *string `json:"title,omitempty"`
			UserId     string  `json:"user_id"`
		}{strp(m.Department), m.Name, strp(m.Title), m.UserID})
	}
	return out, nil
}

func (s *server) ListPartners(ctx context.Context, _ ListPartnersRequestObject) (ListPartnersResponseObject, error) {
	es, err := s.svc().Accounts.Partners(ctx, info(ctx).p)
	if err != nil {
		return nil, err
	}
	return ListPartners200JSONResponse(toDirectory(es)), nil
}

func (s *server) AddPartner(ctx context.Context, req AddPartnerRequestObject) (AddPartnerResponseObject, error) {
	if err := s.svc().Accounts.AddPartner(ctx, info(ctx).p, req.CompanyId); err != nil {
		return nil, err
	}
	return AddPartner204Response{}, nil
}

func (s *server) RemovePartner(ctx context.Context, req RemovePartnerRequestObject) (RemovePartnerResponseObject, error) {
	if err := s.svc().Accounts.RemovePartner(ctx, info(ctx).p, req.CompanyId); err != nil {
		return nil, err
	}
	return RemovePartner204Response{}, nil
}

func (s *server) UnlockUser(ctx context.Context, req UnlockUserRequestObject) (UnlockUserResponseObject, error) {
	if err := s.svc().Accounts.Unlock(ctx, info(ctx).p, req.UserId); err != nil {
		return nil, err
	}
	return UnlockUser204Response{}, nil
}

func (s *server) EndUserSessions(ctx context.Context, req EndUserSessionsRequestObject) (EndUserSessionsResponseObject, error) {
	n, err := s.svc().Accounts.EndSessions(ctx, info(ctx).p, req.UserId)
	if err != nil {
		return nil, err
	}
	return EndUserSessions200JSONResponse{Ended: n}, nil
}

func (s *server) DisableUser(ctx context.Context, req DisableUserRequestObject) (DisableUserResponseObject, error) {
	if err := s.svc().Accounts.SetDisabled(ctx, info(ctx).p, req.UserId, true); err != nil {
		return nil, err
	}
	return DisableUser204Response{}, nil
}

func (s *server) EnableUser(ctx context.Context, req EnableUserRequestObject) (EnableUserResponseObject, error) {
	if err := s.svc().Accounts.SetDisabled(ctx, info(ctx).p, req.UserId, false); err != nil {
		return nil, err
	}
	return EnableUser204Response{}, nil
}

func toSignerCertificate(c casework.Certificate) SignerCertificate {
	return SignerCertificate{
		Subject: c.Subject, Issuer: c.Issuer, Serial: c.Serial, Sha256: c.SHA256,
		Organization: nonNilp(c.Organization), SubjectSerialNumber: strp(c.SubjectSerialNumber),
		OrganizationIdentifier: strp(c.OrganizationIdentifier), NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		KeyUsage: nonNilp(c.KeyUsage), ExtKeyUsage: nonNilp(c.ExtKeyUsage), Policies: nonNilp(c.Policies),
	}
}

func nonNilp(s []string) *[]string {
	if len(s) == 0 {
		return nil
	}
	return &s
}

// CaseSignatures is casework.Service.CheckSignatures: the service's own
// receipt check of the case's current documents, audited there.
func (s *server) CaseSignatures(ctx context.Context, req CaseSignaturesRequestObject) (CaseSignaturesResponseObject, error) {
	reps, err := s.svc().Cases.CheckSignatures(ctx, info(ctx).p, req.Id)
	if err != nil {
		return nil, err
	}
	out := CaseSignatures200JSONResponse{Reports: make([]SignatureReport, 0, len(reps))}
	for _, r := range reps {
		sr := SignatureReport{File: toFile(r.File), Passed: r.Passed, Signers: make([]Signer, 0, len(r.Signers)), Reasons: nonNil(r.Reasons)}
		for _, sg := range r.Signers {
			e := Signer{Field: sg.Field, Added: sg.Added, Passed: sg.Passed, Indication: sg.Indication,
				Certificate: toSignerCertificate(sg.Certificate), IssuerSha256: strp(sg.IssuerSHA256),
				Timestamped: timep(sg.Timestamped), Reasons: nonNil(sg.Reasons)}
			if sg.Revision > 0 {
				rev := sg.Revision
				e.Revision = &rev
			}
			sr.Signers = append(sr.Signers, e)
		}
		if r.SealChecked {
			sealable := r.Sealable
			sr.Sealable = &sealable
			sr.SealProblems = nonNilp(r.SealProblems)
		}
		out.Reports = append(out.Reports, sr)
	}
	return out, nil
}
