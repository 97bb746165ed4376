package signature

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/keiyaku/keiyaku/internal/revocation"
)

// revocation decides whether a certificate of the signer's path was
// revoked before the signature is proven to exist (poeTime, or the
// validation time when there is no proof): the signer's certificate and
// each issuing CA below the trust anchor. Embedded data comes first (the
// DSS, the CMS revocation-info-archival attribute and CMS CRLs and OCSP
// responses); the network only when opts.Online allows it and the embedded
// data settles nothing.
func (v *validator) revocation(e *entry, chain []*x509.Certificate, poeTime time.Time) {
	rep := e.rep
	policy := v.opts.revocation()
	rep.Revocation = RevocationNotChecked
	if policy == RevocationOff {
		return
	}
	if len(chain) < 2 {
		e.verdict.note("the signer's certificate is itself a trust anchor; there is no issuer to ask about revocation")
		return
	}
	ref := v.at
	if !poeTime.IsZero() {
		ref = poeTime
	}
	var ocsps, crls [][]byte
	if v.dss != nil {
		ocsps = append(ocsps, v.dss.ocsps...)
		crls = append(crls, v.dss.crls...)
	}
	if s := e.signed; s != nil {
		ocsps = append(ocsps, s.ocsps...)
		crls = append(crls, s.crls...)
		if s.sd != nil {
			crls = append(crls, s.sd.CRLs...)
		}
	}
	ocsps = append(ocsps, v.opts.OCSPs...)
	crls = append(crls, v.opts.CRLs...)
	for i := 0; i+1 < len(chain); i++ {
		who := "the signer's certificate"
		if i > 0 {
			who = fmt.Sprintf("the issuing CA certificate %q", chain[i].Subject.CommonName)
		}
		status, why := v.certStatus(chain[i], chain[i+1], ref, ocsps, crls)
		if i == 0 {
			rep.Revocation = status
		}
		switch status {
		case RevocationRevoked:
			if i > 0 {
				rep.Revocation = RevocationRevoked
			}
			e.verdict.fail(Revoked, who+" "+why+", before "+describeRef(poeTime))
			return
		case RevocationGood:
			if why != "" {
				e.verdict.note(who + " " + why)
			}
		default:
			if !v.opts.Online {
				why += " (online checks are off)"
			}
			if policy == RevocationHardFail {
				e.verdict.indeterminate(TryLater, why+" for "+who+"; the hard-fail policy requires a definite status")
			} else {
				e.verdict.note(why + " for " + who)
			}
		}
	}
}

// certStatus finds cert's status at ref from the embedded data, then
// online. For RevocationRevoked, why says when; for RevocationGood, it
// notes a revocation after ref; else it says what was missing.
func (v *validator) certStatus(cert, issuer *x509.Certificate, ref time.Time, ocsps, crls [][]byte) (RevocationStatus, string) {
	var results []*revocation.Result
	keep := usable(ref)
	for _, der := range ocsps {
		if r := keep(revocation.CheckOCSP(der, cert, issuer, ref)); r != nil {
			results = append(results, r)
		}
	}
	for _, der := range crls {
		if r := keep(revocation.CheckCRL(der, cert, issuer, ref)); r != nil {
			results = append(results, r)
		}
	}
	var onlineErr error
	if len(results) == 0 && v.opts.Online {
		r, err := v.shared.revocationClient().Check(v.ctx, cert, issuer, ref)
		if r := keep(r, err); r != nil {
			results = append(results, r)
		} else {
			onlineErr = err
		}
	}
	status, why := RevocationUnknown, ""
	for _, r := range results {
		if !r.RevokedAt.IsZero() && !r.RevokedAt.After(ref) {
			return RevocationRevoked, fmt.Sprintf("was revoked at %s (%s)", r.RevokedAt.UTC().Format(time.RFC3339), r.Source)
		}
		if r.Status == revocation.Good {
			status = RevocationGood
			if !r.RevokedAt.IsZero() {
				why = fmt.Sprintf("was revoked at %s, after the signature was proven to exist", r.RevokedAt.UTC().Format(time.RFC3339))
			}
		}
	}
	if status == RevocationGood {
		return status, why
	}
	switch {
	case onlineErr != nil:
		return status, "the online revocation check failed (" + onlineErr.Error() + ")"
	case len(results) > 0:
		return status, "the revocation information does not say whether the certificate is good"
	}
	return status, "no revocation information was found"
}

// usable keeps a result that applies to the certificate. Data produced
// after the time asked about still tells whether the certificate had been
// revoked by then (a revocation is not undone), so a response out of its
// window only because it is newer is kept.
// A stale response (its window ended before the time asked about) proves
// only a revocation it lists.
func usable(ref time.Time) func(*revocation.Result, error) *revocation.Result {
	return func(r *revocation.Result, err error) *revocation.Result {
		switch {
		case err == nil:
			return r
		case !errors.Is(err, revocation.ErrOutOfWindow) || r == nil:
			return nil
		case r.ThisUpdate.After(ref) || !r.RevokedAt.IsZero():
			return r
		}
		return nil
	}
}

func describeRef(poe time.Time) string {
	if poe.IsZero() {
		return "the validation time"
	}
	return "the signature's proven time " + poe.UTC().Format(time.RFC3339)
}
