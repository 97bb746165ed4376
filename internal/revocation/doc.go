// Package revocation decides whether a certificate was revoked at a given
// time, from OCSP responses (RFC 6960) and CRLs (RFC 5280 §5), either
// embedded in a document (CheckOCSP, CheckCRL) or fetched online (Client).
//
// Every check is about one certificate, its issuer and an explicit time
// "at": the package never reads the wall clock. A response or CRL is used
// only when it is about that certificate and correctly signed: an OCSP
// response by the issuer itself or by a responder certificate the issuer
// issued with extended key usage id-kp-OCSPSigning (RFC 6960 §4.2.2.2); a
// CRL by the issuer (RFC 5280 §6.3.3, the simple case of a CRL issued by
// the certificate issuer; indirect CRLs and delta CRLs are refused).
//
// Whether the data covers "at" is reported separately: when at lies
// outside [thisUpdate, nextUpdate] (with Skew tolerance before
// thisUpdate) the check returns the Result together with an error wrapping
// ErrOutOfWindow, so the caller can still weigh it (for example, a response
// produced after the signing time that says "good").
//
// Limits: responses and CRLs larger than the configured maximum are refused
// with ErrTooLarge; online requests time out (Config.Timeout); at most three
// URLs of each kind are tried per certificate. OCSP nonces (RFC 8954) are
// sent only when Config.Nonce asks; otherwise replay protection rests on the
// thisUpdate/nextUpdate window.
package revocation
