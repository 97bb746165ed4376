// Package testpki builds a complete test PKI in code: a root and an
// intermediate CA, signer certificates for every key type keiyaku supports
// plus deliberately bad ones (weak key, no signing key usage, expired,
// revoked), two timestamping authorities, and an OCSP responder and CRL
// distribution point served over HTTP on 127.0.0.1.
//
// Everything runs on a fixed clock: Now is 2026-01-01T00:00:00Z and every
// validity period, revocation time and OCSP/CRL window is stated relative to
// it (see the constants and the PKI fields). Tests that validate "today"
// should validate at Now.
//
// Keys are generated once per process and shared by every PKI (RSA key
// generation is slow); certificates are issued per PKI because they carry
// the URLs of that PKI's responders. It is for tests only: private keys are
// in memory and the responders trust every request.
package testpki
