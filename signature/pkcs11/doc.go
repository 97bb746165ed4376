// Package pkcs11 gives a crypto.Signer for a private key that stays in a
// PKCS#11 token or HSM (an IC card, a USB token, a network HSM, SoftHSM2),
// for signature.Sign and for anything else that takes a crypto.Signer.
//
// It is the only package of the module that needs cgo: PKCS#11 modules are
// C shared libraries, loaded through github.com/ThalesGroup/crypto11 (and
// its github.com/miekg/pkcs11 binding, which uses cgo and dlopen). No other
// package imports it, so the SDK itself still builds with CGO_ENABLED=0; in
// such a build Open returns an error of kind kerr.FailedPrecondition that
// says so.
//
// A key is chosen by module path, token (label or slot number) and key
// (label or CKA_ID), PKCS#11 v2.40 §4.4. The PIN is read by the caller,
// from a file or an environment variable with ReadPIN, never from a
// command-line flag (other users of the machine can read those). The
// signer certificate and its chain may be read from the token too.
//
// Supported keys: RSA (PKCS#1 v1.5 and PSS with the salt length equal to
// the hash, RFC 8017 §8.1 and §9.1) and ECDSA (P-256, P-384, P-521).
package pkcs11
