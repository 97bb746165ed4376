package revocation

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Status is the revocation status of a certificate at a time.
type Status int

const (
	// Unknown: the responder does not know the certificate (OCSP
	// "unknown"). Never the status of a CRL check.
	Unknown Status = iota
	// Good: not revoked at the time asked about.
	Good
	// Revoked: revoked at or before the time asked about.
	Revoked
)

func (s Status) String() string {
	switch s {
	case Good:
		return "good"
	case Revoked:
		return "revoked"
	default:
		return "unknown"
	}
}

// Source says where the revocation data came from.
type Source string

const (
	SourceEmbeddedOCSP Source = "embedded ocsp"
	SourceEmbeddedCRL  Source = "embedded crl"
	SourceOnlineOCSP   Source = "online ocsp"
	SourceOnlineCRL    Source = "online crl"
)

// Result is what one OCSP response or CRL says about one certificate.
type Result struct {
	Status Status
	// RevokedAt and Reason (RFC 5280 §5.3.1 CRLReason code) are set when
	// the data lists the certificate as revoked, even when the revocation
	// lies after the time asked about (Status is then Good).
	RevokedAt time.Time
	Reason    int
	Source    Source
	// ProducedAt is the OCSP producedAt; zero for a CRL.
	ProducedAt time.Time
	ThisUpdate time.Time
	// NextUpdate is zero when the data does not say.
	NextUpdate time.Time
	// Responder is the certificate that signed an OCSP response (the
	// issuer or its delegated responder); the issuer for a CRL.
	Responder *x509.Certificate
	// Raw is the DER OCSP response or CRL, for embedding (PAdES DSS).
	Raw []byte
}

// Errors returned by the checks, reachable with errors.Is.
var (
	// ErrMalformed: the bytes are not a parseable OCSP response or CRL, or
	// the OCSP response status is not "successful".
	ErrMalformed = errors.New("revocation: malformed response")
	// ErrNotForCert: the response or CRL is about another certificate or
	// issuer, or is of a kind this package does not use (delta CRL).
	ErrNotForCert = errors.New("revocation: data does not apply to this certificate")
	// ErrSignature: the signature is invalid or the signer is not
	// authorized for this issuer.
	ErrSignature = errors.New("revocation: signature invalid or signer not authorized")
	// ErrOutOfWindow: the data is valid but does not cover the time asked
	// about. The Result is returned with it.
	ErrOutOfWindow = errors.New("revocation: time outside thisUpdate..nextUpdate")
	// ErrTooLarge: the response or CRL exceeds the size limit.
	ErrTooLarge = errors.New("revocation: response too large")
	// ErrUnavailable: no URL to ask, or every URL failed (network, HTTP
	// status, OCSP tryLater/internalError).
	ErrUnavailable = errors.New("revocation: revocation service unavailable")
)

// DefaultSkew is the tolerance for thisUpdate lying after "at" used by
// CheckOCSP and CheckCRL: clocks of responders and signers drift.
const DefaultSkew = 5 * time.Minute

// Size limits for data handed to the offline checks.
const (
	MaxOCSPSize = 1 << 20  // 1 MiB
	MaxCRLSize  = 32 << 20 // 32 MiB
)

// CheckOCSP decides cert's status at time at from a DER OCSP response der
// (RFC 6960 §4.2.1), as found embedded in a document. issuer must be the
// certificate that issued cert. It returns an error wrapping ErrMalformed,
// ErrTooLarge, ErrNotForCert or ErrSignature when der cannot be used, and
// the Result with an error wrapping ErrOutOfWindow when at lies outside
// [thisUpdate-DefaultSkew, nextUpdate].
func CheckOCSP(der []byte, cert, issuer *x509.Certificate, at time.Time) (*Result, error) {
	return checkOCSP(der, cert, issuer, at, DefaultSkew, SourceEmbeddedOCSP)
}

// CheckCRL decides cert's status at time at from a DER CRL (RFC 5280 §5)
// issued by issuer. Errors as for CheckOCSP; a delta CRL (RFC 5280
// §5.2.4) or a CRL whose issuer is not cert's issuer is ErrNotForCert.
func CheckCRL(der []byte, cert, issuer *x509.Certificate, at time.Time) (*Result, error) {
	return checkCRL(der, cert, issuer, at, DefaultSkew, SourceEmbeddedCRL)
}

func checkOCSP(der []byte, cert, issuer *x509.Certificate, at time.Time, skew time.Duration, src Source) (*Result, error) {
	if cert == nil || issuer == nil {
		return nil, fmt.Errorf("%w: nil certificate or issuer", ErrNotForCert)
	}
	if len(der) > MaxOCSPSize {
		return nil, fmt.Errorf("%w: OCSP response of %d bytes (limit %d)", ErrTooLarge, len(der), MaxOCSPSize)
	}
	if !bytes.Equal(cert.RawIssuer, issuer.RawSubject) {
		return nil, fmt.Errorf("%w: certificate %s was not issued by %s", ErrNotForCert, cert.Subject, issuer.Subject)
	}
	// Parse without issuer: x/crypto/ocsp then checks the response
	// signature against the embedded responder certificate, if any; who
	// may sign is decided below.
	resp, err := ocsp.ParseResponseForCert(der, cert, nil)
	if err != nil {
		var re ocsp.ResponseError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("%w: OCSP response status %v", ErrMalformed, re.Status)
		}
		var pe ocsp.ParseError
		if errors.As(err, &pe) && string(pe) == "no response matching the supplied certificate" {
			return nil, fmt.Errorf("%w: OCSP response is about another serial number", ErrNotForCert)
		}
		if errors.As(err, &pe) && len(pe) > 13 && string(pe[:13]) == "bad signature" {
			return nil, fmt.Errorf("%w: %v", ErrSignature, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if resp.IssuerHash == 0 {
		return nil, fmt.Errorf("%w: no CertID hash", ErrMalformed)
	}
	responder, err := authorizeResponder(resp, issuer)
	if err != nil {
		return nil, err
	}
	r := &Result{
		Status:     Unknown,
		Source:     src,
		ProducedAt: resp.ProducedAt,
		ThisUpdate: resp.ThisUpdate,
		NextUpdate: resp.NextUpdate,
		Responder:  responder,
		Raw:        der,
	}
	switch resp.Status {
	case ocsp.Good:
		r.Status = Good
	case ocsp.Revoked:
		r.RevokedAt, r.Reason = resp.RevokedAt, resp.RevocationReason
		r.Status = Revoked
		if at.Before(resp.RevokedAt) {
			r.Status = Good
		}
	}
	return r, window(r, at, skew)
}

// authorizeResponder implements RFC 6960 §4.2.2.2: the response is signed
// by the issuer, or by a certificate the issuer issued directly that has
// id-kp-OCSPSigning and was valid when the response was produced.
func authorizeResponder(resp *ocsp.Response, issuer *x509.Certificate) (*x509.Certificate, error) {
	rc := resp.Certificate
	if rc == nil || rc.Equal(issuer) {
		if err := resp.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("%w: response not signed by the issuer: %v", ErrSignature, err)
		}
		return issuer, nil
	}
	if !bytes.Equal(rc.RawIssuer, issuer.RawSubject) {
		return nil, fmt.Errorf("%w: responder %s was not issued by %s", ErrSignature, rc.Subject, issuer.Subject)
	}
	if err := rc.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("%w: responder certificate not signed by the issuer: %v", ErrSignature, err)
	}
	ok := false
	for _, u := range rc.ExtKeyUsage {
		ok = ok || u == x509.ExtKeyUsageOCSPSigning
	}
	if !ok {
		return nil, fmt.Errorf("%w: responder %s lacks extended key usage id-kp-OCSPSigning", ErrSignature, rc.Subject)
	}
	if resp.ProducedAt.Before(rc.NotBefore) || resp.ProducedAt.After(rc.NotAfter) {
		return nil, fmt.Errorf("%w: responder certificate not valid at producedAt %v", ErrSignature, resp.ProducedAt)
	}
	// ResponderID (byName or byKey) must name the signing certificate.
	if resp.RawResponderName != nil && !bytes.Equal(resp.RawResponderName, rc.RawSubject) {
		return nil, fmt.Errorf("%w: responder ID does not name the signing certificate", ErrSignature)
	}
	return rc, nil
}

var oidDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}

func checkCRL(der []byte, cert, issuer *x509.Certificate, at time.Time, skew time.Duration, src Source) (*Result, error) {
	if cert == nil || issuer == nil {
		return nil, fmt.Errorf("%w: nil certificate or issuer", ErrNotForCert)
	}
	if len(der) > MaxCRLSize {
		return nil, fmt.Errorf("%w: CRL of %d bytes (limit %d)", ErrTooLarge, len(der), MaxCRLSize)
	}
	if !bytes.Equal(cert.RawIssuer, issuer.RawSubject) {
		return nil, fmt.Errorf("%w: certificate %s was not issued by %s", ErrNotForCert, cert.Subject, issuer.Subject)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return nil, fmt.Errorf("%w: CRL issued by %s, not by %s", ErrNotForCert, crl.Issuer, issuer.Subject)
	}
	for _, e := range crl.Extensions {
		if e.Id.Equal(oidDeltaCRLIndicator) {
			return nil, fmt.Errorf("%w: delta CRLs are not used", ErrNotForCert)
		}
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("%w: CRL: %v", ErrSignature, err)
	}
	r := &Result{Status: Good, Source: src, ThisUpdate: crl.ThisUpdate, NextUpdate: crl.NextUpdate, Responder: issuer, Raw: der}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			r.RevokedAt, r.Reason = e.RevocationTime, e.ReasonCode
			// removeFromCRL (8) only appears in delta CRLs; treat
			// it as not revoked.
			if e.ReasonCode != 8 && !at.Before(e.RevocationTime) {
				r.Status = Revoked
			}
			break
		}
	}
	return r, window(r, at, skew)
}

func window(r *Result, at time.Time, skew time.Duration) error {
	if at.Before(r.ThisUpdate.Add(-skew)) {
		return fmt.Errorf("%w: %s thisUpdate %v is after %v", ErrOutOfWindow, r.Source, r.ThisUpdate, at)
	}
	if !r.NextUpdate.IsZero() && at.After(r.NextUpdate) {
		return fmt.Errorf("%w: %s nextUpdate %v is before %v", ErrOutOfWindow, r.Source, r.NextUpdate, at)
	}
	return nil
}
