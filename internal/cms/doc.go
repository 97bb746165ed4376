// Package cms parses, verifies and builds CMS SignedData (RFC 5652) as used
// by PDF signatures (ISO 32000-2 §12.8.3.3, ETSI EN 319 142-1) and RFC 3161
// timestamp tokens.
//
// It is hand-written on encoding/asn1 and golang.org/x/crypto/cryptobyte
// rather than built on github.com/digitorus/pkcs7, because a PDF validator
// needs what that library does not give: exported SignerInfo values, a
// content digest computed by the caller while streaming the signed byte
// ranges (the content is never held in memory here), the signed attributes
// exactly as they were received (to verify the signature over them and to
// flag a SET OF that is not DER-sorted, X.690 §11.6), ESS
// signing-certificate checks (RFC 2634 §5.4, RFC 5035), and RSASSA-PSS and
// Ed25519 signers (RFC 4056, RFC 8419).
//
// Input may be BER (indefinite lengths, constructed OCTET STRINGs, as some
// signers write into a PDF /Contents string); Parse converts it to DER first.
// Bytes after the ContentInfo are accepted, because a PDF /Contents string
// is zero-padded; non-zero ones are counted in SignedData.ExtraBytes.
//
// Limits: input at most MaxInputSize bytes (16 MiB), nesting at most 64
// levels, at most 512 certificates and 512 revocation entries, 64 signers,
// 256 attributes per set and 256 values per attribute. Exceeding one is
// ErrMalformed (ErrTooLarge for the size), never a panic.
//
// The signature is verified over the signed attributes as they stand after
// the BER to DER conversion; for DER input (every signer that follows RFC
// 5652 §5.4) that is exactly the bytes received.
//
// Sign builds a detached (or encapsulating) SignedData with DER signed
// attributes: content-type, message-digest, signing-certificate-v2 and
// optionally signing-time. AddUnsignedAttributes adds, for example, a
// signature timestamp token to an existing SignedData without touching what
// the signature covers.
package cms
