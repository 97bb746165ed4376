package archive

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/internal/revocation"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// keepValidationData adds to rec's cryptoInfos (ers.AddValidationData) the
// validation data of its newest timestamp, as of now, before a renewal
// covers it: the TSA's certificate path (less what the token carries) and
// an OCSP response or CRL for each certificate of it below the anchor
// (Config.OCSPs/CRLs first, then, with Config.Online, the network). So
// the TSA's status at renewal time stays provable after its CA and
// responders are gone. With Config.Revocation hard-fail a certificate
// without data is an error (kerr.Unavailable: renew later); otherwise it
// is left without. A newest timestamp that does not verify now gets
// nothing (the renewal then proves only what it can).
//
// cache (may be nil) maps a token's DER to its data, for a batch of
// records renewed together, which mostly share their newest token.
func (s *Service) keepValidationData(ctx context.Context, rec *ers.EvidenceRecord, cache map[string]*ers.ValidationData) error {
	const op = "archive.keepValidationData"
	last := rec.Chains[len(rec.Chains)-1]
	der := last[len(last)-1].TimeStamp
	if vd, ok := cache[string(der)]; ok {
		if vd == nil {
			return nil
		}
		return kerr.Wrap(op, rec.AddValidationData(*vd))
	}
	vd, err := s.validationData(ctx, rec, der)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	if cache != nil {
		cache[string(der)] = vd
	}
	if vd == nil {
		return nil
	}
	return kerr.Wrap(op, rec.AddValidationData(*vd))
}

// validationData gathers the validation data of token der, newest in rec
// (whose kept certificates help build the path); nil when there is none
// to keep.
func (s *Service) validationData(ctx context.Context, rec *ers.EvidenceRecord, der []byte) (*ers.ValidationData, error) {
	const op = "archive.validationData"
	p, err := timestamp.Parse(der)
	if err != nil {
		return nil, nil
	}
	roots, inter := s.pools()
	kept, err := rec.ValidationData()
	if err != nil {
		return nil, err
	}
	extra := append([]*x509.Certificate(nil), s.cfg.Certs...)
	for _, c := range kept.Certificates {
		if xc, err := x509.ParseCertificate(c); err == nil {
			extra = append(extra, xc)
		}
	}
	tok, err := timestamp.Verify(der, p.HashedMessage, &timestamp.VerifyOptions{Roots: roots, Intermediates: inter, ExtraCerts: extra})
	if err != nil {
		return nil, nil
	}
	now := s.clock()
	chains, err := tok.Signer.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: withCerts(withCerts(inter, tok.Certificates), extra), CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, nil
	}
	path := chains[0]
	var vd ers.ValidationData
	for _, c := range path {
		if !containsCert(tok.Certificates, c) {
			vd.Certificates = append(vd.Certificates, c.Raw)
		}
	}
	if s.cfg.Revocation != signature.RevocationOff {
		for i := 0; i+1 < len(path); i++ {
			r, err := s.revocationWith(ctx, path[i], path[i+1], now, nil)
			if err != nil {
				return nil, err
			}
			switch {
			case r == nil && s.cfg.Revocation == signature.RevocationHardFail:
				return nil, kerr.E(kerr.Unavailable, op, "no OCSP response or CRL for the TSA certificate %q now: the renewal must keep its status (hard-fail); try again when the responder is reachable", path[i].Subject.CommonName)
			case r == nil:
				continue
			case r.Source == revocation.SourceEmbeddedOCSP || r.Source == revocation.SourceOnlineOCSP:
				vd.OCSPs = append(vd.OCSPs, r.Raw)
				if r.Responder != nil && !r.Responder.Equal(path[i+1]) {
					vd.Certificates = append(vd.Certificates, r.Responder.Raw)
				}
			default:
				vd.CRLs = append(vd.CRLs, r.Raw)
			}
		}
	}
	if vd.Empty() {
		return nil, nil
	}
	return &vd, nil
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if x.Equal(c) {
			return true
		}
	}
	return false
}

// recordRevocation is pathRevocation that also consults the validation
// data kept in a record (vd: OCSP responses and CRLs gathered at earlier
// renewals) before Config's and the network's.
func (s *Service) recordRevocation(vd ers.ValidationData) func(ctx context.Context, path []*x509.Certificate, at time.Time) (string, error) {
	return func(ctx context.Context, path []*x509.Certificate, at time.Time) (string, error) {
		policy := s.cfg.Revocation
		if policy == signature.RevocationOff {
			return "", nil
		}
		for i := 0; i+1 < len(path); i++ {
			cert, issuer := path[i], path[i+1]
			r, err := s.revocationWith(ctx, cert, issuer, at, &vd)
			if err != nil {
				return "", err
			}
			switch {
			case r != nil && r.Status == revocation.Revoked:
				return fmt.Sprintf("certificate %q was revoked at %s", cert.Subject.CommonName, r.RevokedAt.Format(time.RFC3339)), nil
			case (r == nil || r.Status != revocation.Good) && policy == signature.RevocationHardFail:
				return fmt.Sprintf("no usable OCSP response or CRL for certificate %q at %s (hard-fail)", cert.Subject.CommonName, at.Format(time.RFC3339)), nil
			}
		}
		return "", nil
	}
}

// revocationWith is revocationOf with the data in vd (nil: none) tried
// first.
func (s *Service) revocationWith(ctx context.Context, cert, issuer *x509.Certificate, at time.Time, vd *ers.ValidationData) (*revocation.Result, error) {
	if vd != nil {
		for _, der := range vd.OCSPs {
			if r, err := revocation.CheckOCSP(der, cert, issuer, at); usableAnswer(r, err, at) {
				return r, nil
			}
		}
		for _, der := range vd.CRLs {
			if r, err := revocation.CheckCRL(der, cert, issuer, at); usableAnswer(r, err, at) {
				return r, nil
			}
		}
	}
	return s.revocationOf(ctx, cert, issuer, at)
}

// usableAnswer is revocationOf's rule: an answer covering at, issued at or
// after at, or showing a revocation at or before at.
func usableAnswer(r *revocation.Result, err error, at time.Time) bool {
	if err == nil {
		return r != nil
	}
	return errors.Is(err, revocation.ErrOutOfWindow) && r != nil &&
		(r.Status == revocation.Revoked || !r.ThisUpdate.Before(at))
}
