// Package timestamp implements RFC 3161 time-stamping (with RFC 5816's
// ESSCertIDv2): a Client for a remote timestamping authority, a local
// Authority that issues tokens and serves the RFC 3161 §3.4 HTTP protocol,
// and verification of timestamp tokens.
//
// Tokens are CMS SignedData over a TSTInfo (RFC 3161 §2.4.2), parsed,
// built and verified with keiyaku's internal/cms package. The ASN.1 of
// requests, responses and TSTInfo is written here on encoding/asn1 and
// cryptobyte rather than taken from github.com/digitorus/timestamp, because
// that package verifies tokens through digitorus/pkcs7 (no RSASSA-PSS, no
// ESS signing-certificate check, no chain validation at the token's time)
// and encodes genTime without fractional seconds.
//
// Verification (Verify) checks what RFC 3161 asks of a relying party: the
// message imprint, the CMS signature, the ESSCertID(v2) binding of the TSA
// certificate (§2.4.1), its sole critical id-kp-timeStamping extended key
// usage (§2.3), and the chain to trusted roots at the token's genTime.
// Revocation of the TSA certificate is not checked here; long-term
// validation (signature, archive) adds it.
//
// Limits: a response read by Client is at most MaxResponseSize bytes; a
// request read by Authority.ServeHTTP at most MaxRequestSize bytes.
package timestamp
