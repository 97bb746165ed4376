package cms

import (
	"bytes"
	"crypto"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Hash returns the hash function of the SignerInfo's digestAlgorithm: the
// one the content digest (message-digest attribute) is computed with.
// Some signers put a signature algorithm that names its hash (for example
// sha256WithRSAEncryption) in digestAlgorithm; that hash is returned, as
// other validators accept it. Unknown algorithms wrap ErrUnsupported.
func (si *SignerInfo) Hash() (crypto.Hash, error) {
	h, err := HashFromOID(si.DigestAlgorithm.Algorithm)
	if err == nil {
		return h, nil
	}
	for _, a := range sigAlgs {
		if a.hash != 0 && a.oid.Equal(si.DigestAlgorithm.Algorithm) {
			return a.hash, nil
		}
	}
	return 0, err
}

// SignerCertificate returns the certificate in sd.Certificates that si
// identifies (by issuer and serial number, or by subject key identifier),
// or nil if none matches.
func (sd *SignedData) SignerCertificate(si *SignerInfo) *x509.Certificate {
	return si.FindCertificate(sd.Certificates)
}

// SignerRawCertificate returns the DER of the entry of sd.RawCertificates
// that si identifies, or nil. Unlike SignerCertificate it also finds
// certificates crypto/x509 refuses (negative serial numbers, unknown
// curves), so that a validator can say the signer's certificate is present
// but unusable rather than missing. Only the issuer and serial number, or
// the subjectKeyIdentifier extension, are read.
func (sd *SignedData) SignerRawCertificate(si *SignerInfo) []byte {
	for _, raw := range sd.RawCertificates {
		issuer, serial, ski, ok := certIdentity(raw)
		if !ok {
			continue
		}
		if si.SerialNumber != nil && serial.Cmp(si.SerialNumber) == 0 && bytes.Equal(issuer, si.IssuerRaw) {
			return raw
		}
		if si.SubjectKeyID != nil && ski != nil && bytes.Equal(ski, si.SubjectKeyID) {
			return raw
		}
	}
	return nil
}

var oidSubjectKeyID = asn1.ObjectIdentifier{2, 5, 29, 14}

// certIdentity reads issuer, serial and subject key identifier from a
// certificate's TBSCertificate (RFC 5280 §4.1) without validating the rest.
func certIdentity(raw []byte) (issuer []byte, serial *big.Int, ski []byte, ok bool) {
	s := cryptobyte.String(raw)
	var cert, tbs, iss, skip cryptobyte.String
	serial = new(big.Int)
	if !s.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.ReadASN1Integer(serial) || !tbs.SkipASN1(cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&iss, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1(&skip, cbasn1.SEQUENCE) || !tbs.ReadASN1(&skip, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1(&skip, cbasn1.SEQUENCE) {
		return nil, nil, nil, false
	}
	_ = tbs.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific())
	_ = tbs.SkipOptionalASN1(cbasn1.Tag(2).ContextSpecific())
	var extsOuter, exts cryptobyte.String
	if tbs.ReadOptionalASN1(&extsOuter, nil, cbasn1.Tag(3).Constructed().ContextSpecific()) && extsOuter.ReadASN1(&exts, cbasn1.SEQUENCE) {
		for !exts.Empty() {
			var ext, val cryptobyte.String
			var oid asn1.ObjectIdentifier
			if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) {
				break
			}
			_ = ext.SkipOptionalASN1(cbasn1.BOOLEAN)
			if oid.Equal(oidSubjectKeyID) && ext.ReadASN1(&val, cbasn1.OCTET_STRING) {
				var id cryptobyte.String
				if val.ReadASN1(&id, cbasn1.OCTET_STRING) {
					ski = []byte(id)
				}
			}
		}
	}
	return []byte(iss), serial, ski, true
}

// FindCertificate returns the first of certs that si's sid identifies, or nil.
func (si *SignerInfo) FindCertificate(certs []*x509.Certificate) *x509.Certificate {
	for _, c := range certs {
		if si.Identifies(c) {
			return c
		}
	}
	return nil
}

// Identifies reports whether c is the certificate si's sid names.
func (si *SignerInfo) Identifies(c *x509.Certificate) bool {
	if c == nil {
		return false
	}
	if si.SerialNumber != nil {
		return c.SerialNumber != nil && c.SerialNumber.Cmp(si.SerialNumber) == 0 && bytes.Equal(c.RawIssuer, si.IssuerRaw)
	}
	return si.SubjectKeyID != nil && bytes.Equal(c.SubjectKeyId, si.SubjectKeyID)
}

// SignedAttr returns the single signed attribute of type oid. ok is false
// when it is absent; err wraps ErrMalformed when it occurs more than once
// or does not hold exactly one value (RFC 5652 §11).
func (si *SignerInfo) SignedAttr(oid asn1.ObjectIdentifier) (v asn1.RawValue, ok bool, err error) {
	return singleAttr(si.SignedAttrs, oid)
}

func singleAttr(attrs []Attribute, oid asn1.ObjectIdentifier) (asn1.RawValue, bool, error) {
	var found *Attribute
	for i := range attrs {
		if attrs[i].Type.Equal(oid) {
			if found != nil {
				return asn1.RawValue{}, true, fmt.Errorf("%w: attribute %v occurs twice", ErrMalformed, oid)
			}
			found = &attrs[i]
		}
	}
	if found == nil {
		return asn1.RawValue{}, false, nil
	}
	if len(found.Values) != 1 {
		return asn1.RawValue{}, true, fmt.Errorf("%w: attribute %v has %d values, want 1", ErrMalformed, oid, len(found.Values))
	}
	return found.Values[0], true, nil
}

// MessageDigest returns the value of the message-digest signed attribute
// (RFC 5652 §11.2). Absent or malformed wraps ErrMissingAttribute.
func (si *SignerInfo) MessageDigest() ([]byte, error) {
	v, ok, err := si.SignedAttr(OIDAttrMessageDigest)
	if err != nil {
		return nil, fmt.Errorf("%w: message-digest: %v", ErrMissingAttribute, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: message-digest is absent", ErrMissingAttribute)
	}
	var d []byte
	if rest, err := asn1.Unmarshal(v.FullBytes, &d); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: message-digest is not an OCTET STRING", ErrMissingAttribute)
	}
	return d, nil
}

// ContentTypeAttr returns the value of the content-type signed attribute
// (RFC 5652 §11.1). Absent or malformed wraps ErrMissingAttribute.
func (si *SignerInfo) ContentTypeAttr() (asn1.ObjectIdentifier, error) {
	v, ok, err := si.SignedAttr(OIDAttrContentType)
	if err != nil {
		return nil, fmt.Errorf("%w: content-type: %v", ErrMissingAttribute, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: content-type is absent", ErrMissingAttribute)
	}
	var oid asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(v.FullBytes, &oid); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: content-type is not an OBJECT IDENTIFIER", ErrMissingAttribute)
	}
	return oid, nil
}

// SigningTime returns the signing-time signed attribute (RFC 5652 §11.3),
// the signer's claim only. ok is false when it is absent or malformed.
func (si *SignerInfo) SigningTime() (time.Time, bool) {
	v, ok, err := si.SignedAttr(OIDAttrSigningTime)
	if err != nil || !ok {
		return time.Time{}, false
	}
	var t time.Time
	if rest, err := asn1.Unmarshal(v.FullBytes, &t); err != nil || len(rest) != 0 {
		return time.Time{}, false
	}
	return t, true
}

// CheckMessageDigest checks the signed attributes against the content
// digest the caller computed with si.Hash() (streaming it, for a PDF over
// the /ByteRange): the content-type attribute must be present and the
// message-digest attribute must equal digest (RFC 5652 §5.4). A mismatch
// wraps ErrDigestMismatch, a missing attribute ErrMissingAttribute.
func (si *SignerInfo) CheckMessageDigest(digest []byte) error {
	if _, err := si.ContentTypeAttr(); err != nil {
		return err
	}
	md, err := si.MessageDigest()
	if err != nil {
		return err
	}
	if !bytes.Equal(md, digest) {
		return ErrDigestMismatch
	}
	return nil
}

// SignedAttrsDERSorted reports whether the signedAttrs SET OF is in the
// order DER requires (X.690 §11.6: ascending encodings, the shorter padded
// with zero octets). Signers that sort wrongly still verify when the
// signature covers the bytes as sent, but the encoding is not DER. It
// reports true when there are no signed attributes.
func (si *SignerInfo) SignedAttrsDERSorted() bool {
	if si.RawSignedAttrs == nil {
		return true
	}
	s := cryptobyte.String(si.RawSignedAttrs)
	var set cryptobyte.String
	if !s.ReadASN1(&set, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return false
	}
	var prev []byte
	for !set.Empty() {
		var el cryptobyte.String
		if !set.ReadAnyASN1Element(&el, nil) {
			return false
		}
		if prev != nil && compareDERSetElements(prev, el) > 0 {
			return false
		}
		prev = el
	}
	return true
}

// compareDERSetElements orders encodings as X.690 §11.6 does: as octet
// strings with the shorter padded at its end with zero octets.
func compareDERSetElements(a, b []byte) int {
	n := min(len(a), len(b))
	if c := bytes.Compare(a[:n], b[:n]); c != 0 {
		return c
	}
	for _, x := range a[n:] {
		if x != 0 {
			return 1
		}
	}
	for _, x := range b[n:] {
		if x != 0 {
			return -1
		}
	}
	return 0
}

// SignedAttrsDER returns the bytes the signature covers: RawSignedAttrs
// with its [0] IMPLICIT tag replaced by the SET tag (RFC 5652 §5.4), nil
// when there are no signed attributes.
func (si *SignerInfo) SignedAttrsDER() []byte {
	if si.RawSignedAttrs == nil {
		return nil
	}
	b := append([]byte{}, si.RawSignedAttrs...)
	b[0] = 0x31
	return b
}

// VerifySignature verifies si's signature with cert's public key over the
// signed attributes exactly as received (re-tagged as a SET, RFC 5652
// §5.4). It does not check the message digest (CheckMessageDigest), the
// certificate's validity or ESS attributes (CheckSigningCertificate).
// Schemes: RSA PKCS #1 v1.5, RSASSA-PSS with MGF1 (RFC 4056), ECDSA on
// the curves crypto/ecdsa supports, Ed25519 (RFC 8419). SHA-1 is verified
// like any other hash; whether it is acceptable is the caller's policy.
// Errors wrap ErrSignatureInvalid, ErrUnsupported or ErrMissingAttribute
// (no signed attributes: use VerifyNoSignedAttrs).
func (si *SignerInfo) VerifySignature(cert *x509.Certificate) error {
	msg := si.SignedAttrsDER()
	if msg == nil {
		return fmt.Errorf("%w: no signed attributes", ErrMissingAttribute)
	}
	if cert == nil {
		return fmt.Errorf("%w: no certificate", ErrSignatureInvalid)
	}
	if si.SignatureAlgorithm.Algorithm.Equal(OIDEd448) {
		return verifyEd448(cert, msg, si.Signature)
	}
	return si.verify(cert.PublicKey, msg, nil)
}

// VerifyNoSignedAttrs verifies a signature made directly over the content
// digest, for signers without signed attributes (RFC 5652 §5.4; the
// adbe.pkcs7.sha1 style). digest is the content digest under si.Hash().
// Ed25519 cannot sign a digest and wraps ErrUnsupported.
func (si *SignerInfo) VerifyNoSignedAttrs(cert *x509.Certificate, digest []byte) error {
	if si.RawSignedAttrs != nil {
		return fmt.Errorf("%w: signer has signed attributes; use VerifySignature", ErrUnsupported)
	}
	if cert == nil {
		return fmt.Errorf("%w: no certificate", ErrSignatureInvalid)
	}
	return si.verify(cert.PublicKey, nil, digest)
}

// verify checks the signature over msg, or, when msg is nil, over the
// precomputed digest.
func (si *SignerInfo) verify(pub crypto.PublicKey, msg, digest []byte) error {
	var scheme sigScheme
	var h crypto.Hash
	for _, a := range sigAlgs {
		if a.oid.Equal(si.SignatureAlgorithm.Algorithm) {
			scheme, h = a.scheme, a.hash
			break
		}
	}
	if scheme == 0 {
		return fmt.Errorf("%w: signature algorithm %v", ErrUnsupported, si.SignatureAlgorithm.Algorithm)
	}
	saltLen := 0
	if scheme == schemePSS {
		var err error
		if h, saltLen, err = parsePSS(si.SignatureAlgorithm.Parameters); err != nil {
			return err
		}
	}
	if scheme == schemeEd25519 {
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return fmt.Errorf("%w: Ed25519 signature but the certificate key is %T", ErrSignatureInvalid, pub)
		}
		if msg == nil {
			return fmt.Errorf("%w: Ed25519 signature over a bare digest", ErrUnsupported)
		}
		if !ed25519.Verify(k, msg, si.Signature) {
			return ErrSignatureInvalid
		}
		return nil
	}
	if h == 0 {
		var err error
		if h, err = si.Hash(); err != nil {
			return err
		}
	}
	if !h.Available() {
		return fmt.Errorf("%w: hash %v not available", ErrUnsupported, h)
	}
	if msg != nil {
		w := h.New()
		w.Write(msg)
		digest = w.Sum(nil)
	} else if len(digest) != h.Size() {
		return fmt.Errorf("%w: digest is %d bytes, %v needs %d", ErrSignatureInvalid, len(digest), h, h.Size())
	}
	switch scheme {
	case schemePKCS1, schemePSS:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: RSA signature but the certificate key is %T", ErrSignatureInvalid, pub)
		}
		var err error
		if scheme == schemePKCS1 {
			err = rsa.VerifyPKCS1v15(k, h, digest, si.Signature)
		} else {
			err = rsa.VerifyPSS(k, h, digest, si.Signature, &rsa.PSSOptions{SaltLength: saltLen, Hash: h})
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrSignatureInvalid, err)
		}
	case schemeECDSA:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: ECDSA signature but the certificate key is %T", ErrSignatureInvalid, pub)
		}
		if !ecdsa.VerifyASN1(k, digest, si.Signature) {
			return ErrSignatureInvalid
		}
	case schemeDSA:
		// DSA is long deprecated but old archives hold it; crypto/dsa
		// still verifies (FIPS 186-2/3), so old signatures can be read.
		k, ok := pub.(*dsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: DSA signature but the certificate key is %T", ErrSignatureInvalid, pub)
		}
		var rs struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(si.Signature, &rs); err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil {
			return fmt.Errorf("%w: DSA signature is not a DER Dss-Sig-Value", ErrSignatureInvalid)
		}
		// FIPS 186-3 §4.6: use the leftmost bits of the digest.
		if n := (k.Q.BitLen() + 7) / 8; len(digest) > n {
			digest = digest[:n]
		}
		if !dsa.Verify(k, digest, rs.R, rs.S) {
			return ErrSignatureInvalid
		}
	}
	return nil
}

// essCertIDv2 is ESSCertIDv2 (RFC 5035 §4) and, with Hash empty, ESSCertID
// (RFC 2634 §5.4.1) after conversion.
type essCertID struct {
	hash        crypto.Hash
	certHash    []byte
	issuerNames [][]byte // DER Names from directoryName entries
	otherNames  bool     // GeneralNames held non-directoryName entries
	serial      *big.Int
}

// CheckSigningCertificate checks the ESS signing-certificate-v2 (RFC 5035)
// or, when that is absent, signing-certificate (RFC 2634 §5.4) signed
// attribute against cert: the hash of cert must equal the certHash of the
// first ESSCertID(v2) (RFC 5035 §3), and its issuerSerial, when present,
// must name cert's issuer and serial number. It returns
// ErrNoSigningCertificateAttr when neither attribute is present (the caller
// decides whether that is acceptable), ErrSigningCertificateMismatch when
// the attribute names another certificate, ErrMalformed or ErrUnsupported
// when it cannot be read.
func (si *SignerInfo) CheckSigningCertificate(cert *x509.Certificate) error {
	if cert == nil {
		return fmt.Errorf("%w: no certificate", ErrSigningCertificateMismatch)
	}
	var id *essCertID
	if v, ok, err := si.SignedAttr(OIDAttrSigningCertV2); err != nil {
		return err
	} else if ok {
		if id, err = parseSigningCertificate(v.FullBytes, true); err != nil {
			return err
		}
	} else if v, ok, err := si.SignedAttr(OIDAttrSigningCertificate); err != nil {
		return err
	} else if ok {
		if id, err = parseSigningCertificate(v.FullBytes, false); err != nil {
			return err
		}
	} else {
		return ErrNoSigningCertificateAttr
	}
	if !id.hash.Available() {
		return fmt.Errorf("%w: hash %v", ErrUnsupported, id.hash)
	}
	w := id.hash.New()
	w.Write(cert.Raw)
	if !bytes.Equal(w.Sum(nil), id.certHash) {
		return fmt.Errorf("%w: certHash differs", ErrSigningCertificateMismatch)
	}
	if id.serial != nil {
		if cert.SerialNumber == nil || id.serial.Cmp(cert.SerialNumber) != 0 {
			return fmt.Errorf("%w: issuerSerial serial number differs", ErrSigningCertificateMismatch)
		}
		match := false
		for _, n := range id.issuerNames {
			if bytes.Equal(n, cert.RawIssuer) {
				match = true
			}
		}
		if !match && !(len(id.issuerNames) == 0 && id.otherNames) {
			return fmt.Errorf("%w: issuerSerial issuer differs", ErrSigningCertificateMismatch)
		}
	}
	return nil
}

// parseSigningCertificate reads the first ESSCertID(v2) of a
// SigningCertificate(V2) value; policies and further IDs are not needed to
// identify the signer.
func parseSigningCertificate(der []byte, v2 bool) (*essCertID, error) {
	s := cryptobyte.String(der)
	var sc, certs, first cryptobyte.String
	if !s.ReadASN1(&sc, cbasn1.SEQUENCE) || !sc.ReadASN1(&certs, cbasn1.SEQUENCE) ||
		!certs.ReadASN1(&first, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: SigningCertificate structure", ErrMalformed)
	}
	id := &essCertID{hash: crypto.SHA1}
	if v2 {
		id.hash = crypto.SHA256 // DEFAULT id-sha256 (RFC 5035 §4)
		if first.PeekASN1Tag(cbasn1.SEQUENCE) {
			a, err := readAlgorithm(&first)
			if err != nil {
				return nil, err
			}
			if id.hash, err = HashFromOID(a.Algorithm); err != nil {
				return nil, err
			}
		}
	}
	var h cryptobyte.String
	if !first.ReadASN1(&h, cbasn1.OCTET_STRING) {
		return nil, fmt.Errorf("%w: ESSCertID certHash", ErrMalformed)
	}
	id.certHash = []byte(h)
	if first.Empty() {
		return id, nil
	}
	var is, names cryptobyte.String
	id.serial = new(big.Int)
	if !first.ReadASN1(&is, cbasn1.SEQUENCE) || !is.ReadASN1(&names, cbasn1.SEQUENCE) ||
		!is.ReadASN1Integer(id.serial) || !first.Empty() {
		return nil, fmt.Errorf("%w: ESSCertID issuerSerial", ErrMalformed)
	}
	dirTag := cbasn1.Tag(4).Constructed().ContextSpecific()
	for !names.Empty() {
		var gn cryptobyte.String
		var tag cbasn1.Tag
		if !names.ReadAnyASN1Element(&gn, &tag) {
			return nil, fmt.Errorf("%w: issuerSerial GeneralName", ErrMalformed)
		}
		if tag != dirTag {
			id.otherNames = true
			continue
		}
		var dn, name cryptobyte.String
		if !gn.ReadASN1(&dn, dirTag) || !dn.ReadASN1Element(&name, cbasn1.SEQUENCE) {
			return nil, fmt.Errorf("%w: issuerSerial directoryName", ErrMalformed)
		}
		id.issuerNames = append(id.issuerNames, []byte(name))
	}
	return id, nil
}

// SignatureTimestampTokens returns the values of the unsigned
// id-aa-signatureTimeStampToken attributes (RFC 3161 Appendix A), each the
// DER of a timestamp token ContentInfo, in order.
func (si *SignerInfo) SignatureTimestampTokens() [][]byte {
	var out [][]byte
	for _, a := range si.UnsignedAttrs {
		if a.Type.Equal(OIDAttrTimeStampToken) {
			for _, v := range a.Values {
				out = append(out, v.FullBytes)
			}
		}
	}
	return out
}

// RevocationInfoArchival returns the CRLs and OCSP responses (DER) of the
// adbe-revocationInfoArchival signed attribute (ISO 32000-2 §12.8.3.3.2),
// or nils when it is absent or cannot be read.
func (si *SignerInfo) RevocationInfoArchival() (crls, ocsps [][]byte) {
	v, ok, err := si.SignedAttr(OIDAttrAdbeRevocationInfo)
	if err != nil || !ok {
		return nil, nil
	}
	s := cryptobyte.String(v.FullBytes)
	var ria cryptobyte.String
	if !s.ReadASN1(&ria, cbasn1.SEQUENCE) {
		return nil, nil
	}
	read := func(tag int) [][]byte {
		t := cbasn1.Tag(tag).Constructed().ContextSpecific()
		var out [][]byte
		var ex, seq cryptobyte.String
		if !ria.PeekASN1Tag(t) {
			return nil
		}
		if !ria.ReadASN1(&ex, t) || !ex.ReadASN1(&seq, cbasn1.SEQUENCE) {
			return nil
		}
		for !seq.Empty() && len(out) < maxCRLs {
			var el cryptobyte.String
			if !seq.ReadASN1Element(&el, cbasn1.SEQUENCE) {
				return out
			}
			out = append(out, []byte(el))
		}
		return out
	}
	crls = read(0)
	ocsps = read(1)
	return crls, ocsps
}
