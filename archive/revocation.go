package archive

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/keiyaku/keiyaku/internal/revocation"
	"github.com/keiyaku/keiyaku/signature"
)

// pathRevocation checks every certificate of a verified TSA path but its
// anchor for revocation at time at (RFC 5280 §6.3 / RFC 6960), under
// Config.Revocation: data from Config.OCSPs and Config.CRLs first, then,
// with Config.Online, the network. It returns a reason when the path must
// not be relied on at at: a certificate revoked at or before at (a later
// revocation does not matter: the token was proven to exist before it), or,
// with hard-fail, no usable data. Soft-fail ignores missing data. The error
// is only ctx's.
func (s *Service) pathRevocation(ctx context.Context, path []*x509.Certificate, at time.Time) (string, error) {
	policy := s.cfg.Revocation
	if policy == signature.RevocationOff {
		return "", nil
	}
	for i := 0; i+1 < len(path); i++ {
		cert, issuer := path[i], path[i+1]
		r, err := s.revocationOf(ctx, cert, issuer, at)
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

// revocationOf returns the first usable answer about cert at time at, or
// nil. An answer is usable when it covers at, when it was issued at or after
// at (revocation is permanent, so a later "good" proves "good" at at), or
// when it shows a revocation at or before at.
func (s *Service) revocationOf(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (*revocation.Result, error) {
	usable := func(r *revocation.Result, err error) bool {
		if err == nil {
			return r != nil
		}
		return errors.Is(err, revocation.ErrOutOfWindow) && r != nil &&
			(r.Status == revocation.Revoked || !r.ThisUpdate.Before(at))
	}
	for _, der := range s.cfg.OCSPs {
		if r, err := revocation.CheckOCSP(der, cert, issuer, at); usable(r, err) {
			return r, nil
		}
	}
	for _, der := range s.cfg.CRLs {
		if r, err := revocation.CheckCRL(der, cert, issuer, at); usable(r, err) {
			return r, nil
		}
	}
	if s.rev == nil {
		return nil, nil
	}
	r, err := s.rev.Check(ctx, cert, issuer, at)
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr
	}
	if usable(r, err) {
		return r, nil
	}
	return nil, nil
}
