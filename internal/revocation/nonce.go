package revocation

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"errors"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The OCSP nonce extension (RFC 8954) is handled here because
// golang.org/x/crypto/ocsp neither writes request extensions nor exposes
// responseExtensions.

// OIDOCSPNonce is id-pkix-ocsp-nonce (RFC 6960 §4.4.1).
var OIDOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}

// nonceSize follows RFC 8954 §2.1: at least 1, at most 32 octets; 16 is
// what common clients send.
const nonceSize = 16

// newNonce returns a random nonce value.
func newNonce() ([]byte, error) {
	n := make([]byte, nonceSize)
	_, err := rand.Read(n)
	return n, err
}

// addNonce inserts requestExtensions [2] EXPLICIT { nonce } into the
// TBSRequest of a DER OCSPRequest made by ocsp.CreateRequest.
func addNonce(req, nonce []byte) ([]byte, error) {
	in := cryptobyte.String(req)
	var outer, tbs cryptobyte.String
	if !in.ReadASN1(&outer, cbasn1.SEQUENCE) || !in.Empty() || !outer.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, errors.New("revocation: malformed OCSP request")
	}
	rest := []byte(outer) // optionalSignature, if any
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(tbs)
			b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(OIDOCSPNonce)
						// extnValue wraps the DER of Nonce ::= OCTET STRING.
						b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
							b.AddASN1OctetString(nonce)
						})
					})
				})
			})
		})
		b.AddBytes(rest)
	})
	return b.Bytes()
}

// responseNonce returns the nonce in the responseExtensions of a DER
// OCSPResponse, nil when there is none or the response does not parse
// (the caller parses it properly anyway).
func responseNonce(der []byte) []byte {
	s := cryptobyte.String(der)
	var resp, rb, basic, tbs cryptobyte.String
	var status int
	var rbTagged, octets cryptobyte.String
	if !s.ReadASN1(&resp, cbasn1.SEQUENCE) ||
		!resp.ReadASN1Enum(&status) ||
		!resp.ReadASN1(&rbTagged, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!rbTagged.ReadASN1(&rb, cbasn1.SEQUENCE) ||
		!rb.SkipASN1(cbasn1.OBJECT_IDENTIFIER) ||
		!rb.ReadASN1(&octets, cbasn1.OCTET_STRING) ||
		!octets.ReadASN1(&basic, cbasn1.SEQUENCE) ||
		!basic.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil
	}
	// ResponseData: version [0]?, responderID, producedAt, responses,
	// responseExtensions [1]?
	var responderID cryptobyte.String
	var idTag cbasn1.Tag
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.ReadAnyASN1(&responderID, &idTag) || !tbs.SkipASN1(cbasn1.GeneralizedTime) || !tbs.SkipASN1(cbasn1.SEQUENCE) {
		return nil
	}
	var extsTagged, exts cryptobyte.String
	var present bool
	if !tbs.ReadOptionalASN1(&extsTagged, &present, cbasn1.Tag(1).Constructed().ContextSpecific()) || !present ||
		!extsTagged.ReadASN1(&exts, cbasn1.SEQUENCE) {
		return nil
	}
	for !exts.Empty() {
		var ext cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) {
			return nil
		}
		if !oid.Equal(OIDOCSPNonce) {
			continue
		}
		_ = ext.SkipOptionalASN1(cbasn1.BOOLEAN)
		var val cryptobyte.String
		if !ext.ReadASN1(&val, cbasn1.OCTET_STRING) {
			return nil
		}
		// RFC 8954 wraps the nonce in an OCTET STRING; some responders
		// (RFC 2560 era) put the raw bytes.
		var inner cryptobyte.String
		v := val
		if v.ReadASN1(&inner, cbasn1.OCTET_STRING) && v.Empty() {
			return bytes.Clone(inner)
		}
		return bytes.Clone(val)
	}
	return nil
}
