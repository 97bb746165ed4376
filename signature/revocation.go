package signature

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/keiyaku/keiyaku/internal/revocation"
)

// revocation decides whether the signer's certificate was revoked before
// the signature is proven to exist (poeTime, or the validation time when
// there is no proof). Embedded data comes first (the DSS, the CMS
// revocation-info-archival attribute and CMS CRLs); the network only when
// opts.Online allows it and the embedded data settles nothing.
func (v *validator) revocation(e *entry, chain []*x509.Certificate, poeTime time.Time) {
	rep := e.rep
	policy := v.opts.revocation()
	if policy == RevocationOff {
		rep.Revocation = RevocationNotChecked
		return
	}
	if len(chain) < 2 {
		rep.Revocation = RevocationNotChecked
		e.verdict.note("the signer's certificate is itself a trust anchor; there is no issuer to ask about revocation")
		return
	}
	cert, issuer := chain[0], chain[1]
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
	var results []*revocation.Result
	for _, der := range ocsps {
		if r := usable(ref)(revocation.CheckOCSP(der, cert, issuer, ref)); r != nil {
			results = append(results, r)
		}
	}
	for _, der := range crls {
		if r := usable(ref)(revocation.CheckCRL(der, cert, issuer, ref)); r != nil {
			results = append(results, r)
		}
	}
	if len(results) == 0 && v.opts.Online {
		c, err := revocation.New(revocation.Config{HTTPClient: v.opts.httpClient()})
		if err == nil {
			r, err := c.Check(v.ctx, cert, issuer, ref)
			switch {
			case err == nil || errors.Is(err, revocation.ErrOutOfWindow) && r != nil:
				results = append(results, r)
			default:
				e.verdict.note("online revocation check failed: " + err.Error())
			}
		}
	}
	status := RevocationUnknown
	for _, r := range results {
		if !r.RevokedAt.IsZero() && !r.RevokedAt.After(ref) {
			rep.Revocation = RevocationRevoked
			e.verdict.fail(Revoked, fmt.Sprintf("the signer's certificate was revoked at %s (%s), before %s", r.RevokedAt.UTC().Format(time.RFC3339), r.Source, describeRef(poeTime)))
			return
		}
		if r.Status == revocation.Good {
			status = RevocationGood
			if !r.RevokedAt.IsZero() {
				e.verdict.note(fmt.Sprintf("the signer's certificate was revoked at %s, after the signature was proven to exist", r.RevokedAt.UTC().Format(time.RFC3339)))
			}
		}
	}
	rep.Revocation = status
	if status == RevocationGood {
		return
	}
	why := "no revocation information for the signer's certificate was found"
	if len(results) > 0 {
		why = "the revocation information does not say whether the signer's certificate is good"
	}
	if !v.opts.Online {
		why += " (online checks are off)"
	}
	if policy == RevocationHardFail {
		e.verdict.indeterminate(TryLater, why+"; the hard-fail policy requires a definite status")
		return
	}
	e.verdict.note(why)
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
