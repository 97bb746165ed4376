package cms

import (
	"crypto/sha3"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"hash"

	"github.com/cloudflare/circl/sign/ed448"
)

// Ed448 with SHAKE256 (RFC 8419). crypto.Hash has no SHAKE, and the
// standard library has no Ed448: SHAKE256 comes from crypto/sha3 and Ed448
// from Cloudflare's circl, a well-kept library.
var (
	OIDEd448        = asn1.ObjectIdentifier{1, 3, 101, 113}
	OIDSHAKE256     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 12}
	OIDSHAKE256Len  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 18}
	shake256OutSize = 64 // 512 bits, as RFC 8419 §2.3 requires with Ed448
)

// NewDigest returns a new hash for the SignerInfo's digest algorithm:
// every crypto.Hash that Hash accepts, and SHAKE256 with a 512-bit output
// (id-shake256, or id-shake256-len with length 512). Others wrap
// ErrUnsupported.
func (si *SignerInfo) NewDigest() (hash.Hash, error) {
	if h, err := si.Hash(); err == nil {
		if !h.Available() {
			return nil, fmt.Errorf("%w: hash %v not available", ErrUnsupported, h)
		}
		return h.New(), nil
	}
	alg := si.DigestAlgorithm
	switch {
	case alg.Algorithm.Equal(OIDSHAKE256):
		return newSHAKE256(), nil
	case alg.Algorithm.Equal(OIDSHAKE256Len):
		var bits int
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &bits); err != nil || bits != 8*shake256OutSize {
			return nil, fmt.Errorf("%w: id-shake256-len with length %d bits (want 512)", ErrUnsupported, bits)
		}
		return newSHAKE256(), nil
	}
	return nil, fmt.Errorf("%w: digest algorithm %v", ErrUnsupported, alg.Algorithm)
}

// shake256 is SHAKE256 with a fixed 64-byte output as a hash.Hash; it
// marshals its state (encoding.BinaryMarshaler) like the standard hashes.
type shake256 struct{ s *sha3.SHAKE }

func newSHAKE256() *shake256 { return &shake256{sha3.NewSHAKE256()} }

func (h *shake256) Write(p []byte) (int, error) { return h.s.Write(p) }
func (h *shake256) Reset()                      { h.s.Reset() }
func (h *shake256) Size() int                   { return shake256OutSize }
func (h *shake256) BlockSize() int              { return h.s.BlockSize() }

func (h *shake256) Sum(b []byte) []byte {
	state, err := h.s.MarshalBinary()
	if err != nil {
		panic("cms: SHAKE256 state cannot be copied: " + err.Error()) // cannot happen with crypto/sha3
	}
	c := sha3.NewSHAKE256()
	if err := c.UnmarshalBinary(state); err != nil {
		panic("cms: SHAKE256 state cannot be copied: " + err.Error())
	}
	out := make([]byte, shake256OutSize)
	c.Read(out)
	return append(b, out...)
}

func (h *shake256) MarshalBinary() ([]byte, error) { return h.s.MarshalBinary() }
func (h *shake256) UnmarshalBinary(b []byte) error { return h.s.UnmarshalBinary(b) }

// ed448Key returns the raw Ed448 public key of cert, which crypto/x509
// parses with an unknown public key algorithm.
func ed448Key(cert *x509.Certificate) (ed448.PublicKey, error) {
	var spki struct {
		Algorithm struct{ Algorithm asn1.ObjectIdentifier }
		Key       asn1.BitString
	}
	if rest, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: subjectPublicKeyInfo", ErrMalformed)
	}
	if !spki.Algorithm.Algorithm.Equal(OIDEd448) {
		return nil, fmt.Errorf("%w: Ed448 signature but the certificate key is %v", ErrSignatureInvalid, spki.Algorithm.Algorithm)
	}
	if len(spki.Key.Bytes) != ed448.PublicKeySize || spki.Key.BitLength != 8*ed448.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed448 public key of %d bytes", ErrMalformed, len(spki.Key.Bytes))
	}
	return ed448.PublicKey(spki.Key.Bytes), nil
}

// verifyEd448 checks a pure Ed448 signature (RFC 8032 §5.2, empty context)
// over msg, the DER signed attributes (RFC 8419 §3.2).
func verifyEd448(cert *x509.Certificate, msg, sig []byte) error {
	k, err := ed448Key(cert)
	if err != nil {
		return err
	}
	if !ed448.Verify(k, msg, sig, "") {
		return ErrSignatureInvalid
	}
	return nil
}

// CheckEdDSADigest enforces RFC 8419 §3: with signed attributes, an Ed25519
// signer's digest algorithm must be SHA-512 and an Ed448 signer's SHAKE256
// with a 512-bit output. It returns nil for other signature algorithms and
// an error wrapping ErrUnsupported that names the pair otherwise.
func (si *SignerInfo) CheckEdDSADigest() error {
	alg := si.DigestAlgorithm.Algorithm
	switch sig := si.SignatureAlgorithm.Algorithm; {
	case sig.Equal(OIDEd25519):
		if !alg.Equal(OIDSHA512) {
			return fmt.Errorf("%w: Ed25519 with digest algorithm %v; RFC 8419 §3.1 requires SHA-512", ErrUnsupported, alg)
		}
	case sig.Equal(OIDEd448):
		if !alg.Equal(OIDSHAKE256) && !alg.Equal(OIDSHAKE256Len) {
			return fmt.Errorf("%w: Ed448 with digest algorithm %v; RFC 8419 §3.1 requires SHAKE256", ErrUnsupported, alg)
		}
	}
	return nil
}
