package cms

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"github.com/keiyaku/keiyaku/internal/fifo"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Errors returned (wrapped) by this package; test with errors.Is.
var (
	// ErrMalformed: the input is not a well-formed CMS structure.
	ErrMalformed = errors.New("cms: malformed")
	// ErrTooLarge: the input exceeds MaxInputSize.
	ErrTooLarge = errors.New("cms: input too large")
	// ErrUnsupported: a well-formed structure uses an algorithm, content
	// type or encoding this package does not handle.
	ErrUnsupported = errors.New("cms: unsupported")
	// ErrSignatureInvalid: the signature does not verify.
	ErrSignatureInvalid = errors.New("cms: signature invalid")
	// ErrDigestMismatch: the message-digest attribute differs from the
	// digest of the content.
	ErrDigestMismatch = errors.New("cms: message digest mismatch")
	// ErrMissingAttribute: a required signed attribute is absent or
	// malformed.
	ErrMissingAttribute = errors.New("cms: missing signed attribute")
	// ErrNoSigningCertificateAttr: neither ESS signing-certificate nor
	// signing-certificate-v2 is among the signed attributes.
	ErrNoSigningCertificateAttr = errors.New("cms: no ESS signing-certificate attribute")
	// ErrSigningCertificateMismatch: the ESS signing-certificate attribute
	// names another certificate than the one given.
	ErrSigningCertificateMismatch = errors.New("cms: ESS signing-certificate does not match the certificate")
)

// MaxInputSize is the largest encoding Parse accepts (16 MiB). A PDF
// signature's /Contents is rarely above 100 KiB even with full revocation
// data.
const MaxInputSize = 16 << 20

const (
	maxCertificates = 512
	maxCRLs         = 512
	maxSigners      = 64
	maxAttributes   = 256
	maxValues       = 256
)

// Object identifiers used by this package (RFC 5652, RFC 5035, RFC 3161).
var (
	OIDData                   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDTSTInfo                = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	OIDAttrContentType        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDAttrMessageDigest      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDAttrSigningTime        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	OIDAttrSigningCertificate = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	OIDAttrSigningCertV2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	OIDAttrTimeStampToken     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	OIDAttrAdbeRevocationInfo = asn1.ObjectIdentifier{1, 2, 840, 113583, 1, 1, 8}
	OIDRevocationOCSPResponse = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 16, 2}
)

// SignedData is a parsed CMS SignedData (RFC 5652 §5.1).
type SignedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier
	// ContentType is the eContentType of the EncapsulatedContentInfo.
	ContentType asn1.ObjectIdentifier
	// Content is the eContent; nil when the signature is detached.
	Content []byte
	// Certificates holds the certificates of the certificates field that
	// crypto/x509 could parse, in order.
	Certificates []*x509.Certificate
	// RawCertificates holds the DER of every plain certificate in the
	// certificates field, including those that did not parse.
	RawCertificates [][]byte
	// SkippedCertificates counts entries of the certificates field that were
	// not used: attribute certificates, other formats, and certificates
	// crypto/x509 rejected.
	SkippedCertificates int
	// CRLs holds the DER of each CertificateList in the crls field.
	CRLs [][]byte
	// OtherRevocation holds the OtherRevocationInfoFormat entries of the
	// crls field (RFC 5652 §10.2.1), such as OCSP responses (RFC 5940).
	OtherRevocation []OtherRevocationInfo
	// Signers holds the SignerInfos in order.
	Signers []*SignerInfo
	// Raw is the DER of the whole ContentInfo.
	Raw []byte
	// ExtraBytes counts the bytes after the ContentInfo that are not zero
	// padding: from the first to the last non-zero byte. 0 for a clean
	// encoding; anything else means data was appended to the signature.
	ExtraBytes int
}

// OtherRevocationInfo is one OtherRevocationInfoFormat (RFC 5652 §10.2.1).
type OtherRevocationInfo struct {
	Format asn1.ObjectIdentifier
	// Info is the DER of otherRevInfo; for OIDRevocationOCSPResponse it is
	// an OCSPResponse.
	Info []byte
}

// SignerInfo is one parsed SignerInfo (RFC 5652 §5.3).
type SignerInfo struct {
	Version int
	// IssuerRaw and SerialNumber identify the signer's certificate when the
	// sid is an IssuerAndSerialNumber; IssuerRaw is the DER Name.
	IssuerRaw    []byte
	SerialNumber *big.Int
	// SubjectKeyID identifies the certificate when the sid is a
	// subjectKeyIdentifier; nil otherwise.
	SubjectKeyID       []byte
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	// RawSignedAttrs is the signedAttrs element exactly as received,
	// including its [0] IMPLICIT tag (0xA0); nil when absent.
	RawSignedAttrs []byte
	SignedAttrs    []Attribute
	UnsignedAttrs  []Attribute
	// Raw is the DER of the whole SignerInfo.
	Raw []byte
}

// Attribute is one CMS Attribute (RFC 5652 §5.3).
type Attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue
}

// Parse parses a DER or BER ContentInfo holding a SignedData. Bytes after
// the ContentInfo are accepted: zero bytes are PDF /Contents padding, any
// other trailing bytes are counted in ExtraBytes for the caller to judge
// (validators such as EU DSS read the first object and ignore the rest). Certificates crypto/x509 cannot parse are skipped and counted in
// SkippedCertificates. Errors wrap ErrTooLarge, ErrMalformed or
// ErrUnsupported. The result may share memory with ber: do not modify ber
// while it is in use.
func Parse(ber []byte) (*SignedData, error) { return parse(ber, false) }

// ParseShared is Parse, except that a certificate already parsed by an
// earlier ParseShared call (the same DER) is taken from a process-wide
// cache rather than parsed again: a service validates contract after
// contract signed with the same few certificates, and crypto/x509 parsing
// was a tenth of the time of validating one. The Certificates of the result
// are therefore shared between calls and goroutines and must not be
// modified; the cached ones hold a copy of their DER, not ber.
func ParseShared(ber []byte) (*SignedData, error) { return parse(ber, true) }

func parse(ber []byte, shared bool) (*SignedData, error) {
	if len(ber) > MaxInputSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(ber), MaxInputSize)
	}
	var der []byte
	var err error
	n, ok := derLen(ber, 0)
	if ok {
		der = ber[:n:n] // already DER: no copy (SignedData aliases ber)
	} else if der, n, err = berToDER(ber); err != nil {
		return nil, err
	}
	sd := &SignedData{Raw: der, ExtraBytes: len(bytes.TrimRight(ber[n:], "\x00"))}
	in := cryptobyte.String(der)
	var ci, content cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ct) {
		return nil, fmt.Errorf("%w: not a ContentInfo", ErrMalformed)
	}
	if !ct.Equal(OIDSignedData) {
		return nil, fmt.Errorf("%w: content type %v is not signedData", ErrUnsupported, ct)
	}
	if !ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() {
		return nil, fmt.Errorf("%w: ContentInfo content", ErrMalformed)
	}
	var s cryptobyte.String
	if !content.ReadASN1(&s, cbasn1.SEQUENCE) || !content.Empty() {
		return nil, fmt.Errorf("%w: SignedData is not a SEQUENCE", ErrMalformed)
	}
	if !s.ReadASN1Integer(&sd.Version) {
		return nil, fmt.Errorf("%w: SignedData version", ErrMalformed)
	}
	var algs cryptobyte.String
	if !s.ReadASN1(&algs, cbasn1.SET) {
		return nil, fmt.Errorf("%w: digestAlgorithms", ErrMalformed)
	}
	for !algs.Empty() {
		if len(sd.DigestAlgorithms) >= maxSigners {
			return nil, fmt.Errorf("%w: more than %d digest algorithms", ErrMalformed, maxSigners)
		}
		a, err := readAlgorithm(&algs)
		if err != nil {
			return nil, err
		}
		sd.DigestAlgorithms = append(sd.DigestAlgorithms, a)
	}
	var eci cryptobyte.String
	if !s.ReadASN1(&eci, cbasn1.SEQUENCE) || !eci.ReadASN1ObjectIdentifier(&sd.ContentType) {
		return nil, fmt.Errorf("%w: encapContentInfo", ErrMalformed)
	}
	if !eci.Empty() {
		var ec cryptobyte.String
		var oct cryptobyte.String
		if !eci.ReadASN1(&ec, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
			!ec.ReadASN1(&oct, cbasn1.OCTET_STRING) || !ec.Empty() || !eci.Empty() {
			return nil, fmt.Errorf("%w: eContent", ErrMalformed)
		}
		sd.Content = append([]byte{}, oct...)
	}
	certTag := cbasn1.Tag(0).Constructed().ContextSpecific()
	if s.PeekASN1Tag(certTag) {
		var certs cryptobyte.String
		if !s.ReadASN1(&certs, certTag) {
			return nil, fmt.Errorf("%w: certificates", ErrMalformed)
		}
		if err := sd.readCertificates(certs, shared); err != nil {
			return nil, err
		}
	}
	crlTag := cbasn1.Tag(1).Constructed().ContextSpecific()
	if s.PeekASN1Tag(crlTag) {
		var crls cryptobyte.String
		if !s.ReadASN1(&crls, crlTag) {
			return nil, fmt.Errorf("%w: crls", ErrMalformed)
		}
		if err := sd.readCRLs(crls); err != nil {
			return nil, err
		}
	}
	var sis cryptobyte.String
	if !s.ReadASN1(&sis, cbasn1.SET) || !s.Empty() {
		return nil, fmt.Errorf("%w: signerInfos", ErrMalformed)
	}
	for !sis.Empty() {
		if len(sd.Signers) >= maxSigners {
			return nil, fmt.Errorf("%w: more than %d signers", ErrMalformed, maxSigners)
		}
		var raw cryptobyte.String
		if !sis.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
			return nil, fmt.Errorf("%w: SignerInfo", ErrMalformed)
		}
		si, err := parseSignerInfo(raw)
		if err != nil {
			return nil, err
		}
		sd.Signers = append(sd.Signers, si)
	}
	return sd, nil
}

func (sd *SignedData) readCertificates(certs cryptobyte.String, shared bool) error {
	for n := 0; !certs.Empty(); n++ {
		if n >= maxCertificates {
			return fmt.Errorf("%w: more than %d certificates", ErrMalformed, maxCertificates)
		}
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !certs.ReadAnyASN1Element(&el, &tag) {
			return fmt.Errorf("%w: certificate entry", ErrMalformed)
		}
		if tag != cbasn1.SEQUENCE {
			sd.SkippedCertificates++
			continue
		}
		raw := []byte(el)
		sd.RawCertificates = append(sd.RawCertificates, raw)
		var c *x509.Certificate
		var err error
		if shared {
			c, err = parseShared(raw)
		} else {
			c, err = x509.ParseCertificate(raw)
		}
		if err != nil {
			sd.SkippedCertificates++
			continue
		}
		sd.Certificates = append(sd.Certificates, c)
	}
	return nil
}

const (
	// maxCachedCerts bounds the entries of sharedCerts; past it the oldest
	// go. maxCachedCertSize keeps unusually large certificates out of it,
	// so that it holds at most a few MiB.
	maxCachedCerts    = 1024
	maxCachedCertSize = 8 << 10
)

// sharedCerts remembers parsed certificates by their DER, for
// ParseShared. Only certificates that parse are kept: a failure is parsed
// (and fails) again, exactly as without the cache.
var sharedCerts = fifo.New[string, *x509.Certificate](maxCachedCerts)

func parseShared(der []byte) (*x509.Certificate, error) {
	if cert, ok := sharedCerts.Get(string(der)); ok {
		return cert, nil
	}
	if len(der) > maxCachedCertSize {
		return x509.ParseCertificate(der)
	}
	// Parse a copy: the certificate aliases its input, which must not
	// keep the caller's buffer (a whole /Contents) alive in the cache.
	cert, err := x509.ParseCertificate(bytes.Clone(der))
	if err != nil {
		return nil, err
	}
	return sharedCerts.Add(string(der), cert), nil
}

func (sd *SignedData) readCRLs(crls cryptobyte.String) error {
	otherTag := cbasn1.Tag(1).Constructed().ContextSpecific()
	for n := 0; !crls.Empty(); n++ {
		if n >= maxCRLs {
			return fmt.Errorf("%w: more than %d revocation entries", ErrMalformed, maxCRLs)
		}
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !crls.ReadAnyASN1Element(&el, &tag) {
			return fmt.Errorf("%w: revocation entry", ErrMalformed)
		}
		switch tag {
		case cbasn1.SEQUENCE:
			sd.CRLs = append(sd.CRLs, []byte(el))
		case otherTag:
			var body cryptobyte.String
			var o OtherRevocationInfo
			var info cryptobyte.String
			if !el.ReadASN1(&body, otherTag) || !body.ReadASN1ObjectIdentifier(&o.Format) ||
				!body.ReadAnyASN1Element(&info, nil) || !body.Empty() {
				return fmt.Errorf("%w: OtherRevocationInfoFormat", ErrMalformed)
			}
			o.Info = []byte(info)
			sd.OtherRevocation = append(sd.OtherRevocation, o)
		default:
			return fmt.Errorf("%w: revocation entry with tag %v", ErrMalformed, tag)
		}
	}
	return nil
}

func readAlgorithm(s *cryptobyte.String) (pkix.AlgorithmIdentifier, error) {
	var el cryptobyte.String
	var a pkix.AlgorithmIdentifier
	if !s.ReadASN1Element(&el, cbasn1.SEQUENCE) {
		return a, fmt.Errorf("%w: AlgorithmIdentifier", ErrMalformed)
	}
	rest, err := asn1.Unmarshal(el, &a)
	if err != nil || len(rest) != 0 {
		return a, fmt.Errorf("%w: AlgorithmIdentifier: %v", ErrMalformed, err)
	}
	return a, nil
}

func parseSignerInfo(raw cryptobyte.String) (*SignerInfo, error) {
	si := &SignerInfo{Raw: []byte(raw)}
	var s cryptobyte.String
	if !raw.ReadASN1(&s, cbasn1.SEQUENCE) || !s.ReadASN1Integer(&si.Version) {
		return nil, fmt.Errorf("%w: SignerInfo version", ErrMalformed)
	}
	skiTag := cbasn1.Tag(0).ContextSpecific()
	switch {
	case s.PeekASN1Tag(cbasn1.SEQUENCE):
		var ias, issuer cryptobyte.String
		si.SerialNumber = new(big.Int)
		if !s.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
			!ias.ReadASN1Integer(si.SerialNumber) || !ias.Empty() {
			return nil, fmt.Errorf("%w: IssuerAndSerialNumber", ErrMalformed)
		}
		si.IssuerRaw = []byte(issuer)
	case s.PeekASN1Tag(skiTag):
		var ski cryptobyte.String
		if !s.ReadASN1(&ski, skiTag) {
			return nil, fmt.Errorf("%w: subjectKeyIdentifier", ErrMalformed)
		}
		si.SubjectKeyID = append([]byte{}, ski...)
	default:
		return nil, fmt.Errorf("%w: SignerIdentifier", ErrMalformed)
	}
	var err error
	if si.DigestAlgorithm, err = readAlgorithm(&s); err != nil {
		return nil, err
	}
	signedTag := cbasn1.Tag(0).Constructed().ContextSpecific()
	if s.PeekASN1Tag(signedTag) {
		var el cryptobyte.String
		if !s.ReadASN1Element(&el, signedTag) {
			return nil, fmt.Errorf("%w: signedAttrs", ErrMalformed)
		}
		si.RawSignedAttrs = []byte(el)
		if si.SignedAttrs, err = parseAttributes(el, signedTag); err != nil {
			return nil, err
		}
	}
	if si.SignatureAlgorithm, err = readAlgorithm(&s); err != nil {
		return nil, err
	}
	var sig cryptobyte.String
	if !s.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return nil, fmt.Errorf("%w: signature", ErrMalformed)
	}
	si.Signature = []byte(sig)
	unsignedTag := cbasn1.Tag(1).Constructed().ContextSpecific()
	if s.PeekASN1Tag(unsignedTag) {
		var el cryptobyte.String
		if !s.ReadASN1Element(&el, unsignedTag) {
			return nil, fmt.Errorf("%w: unsignedAttrs", ErrMalformed)
		}
		if si.UnsignedAttrs, err = parseAttributes(el, unsignedTag); err != nil {
			return nil, err
		}
	}
	if !s.Empty() {
		return nil, fmt.Errorf("%w: trailing data in SignerInfo", ErrMalformed)
	}
	return si, nil
}

func parseAttributes(el cryptobyte.String, tag cbasn1.Tag) ([]Attribute, error) {
	var set cryptobyte.String
	if !el.ReadASN1(&set, tag) {
		return nil, fmt.Errorf("%w: attributes", ErrMalformed)
	}
	var attrs []Attribute
	for !set.Empty() {
		if len(attrs) >= maxAttributes {
			return nil, fmt.Errorf("%w: more than %d attributes", ErrMalformed, maxAttributes)
		}
		var a Attribute
		var seq, vals cryptobyte.String
		if !set.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&a.Type) ||
			!seq.ReadASN1(&vals, cbasn1.SET) || !seq.Empty() {
			return nil, fmt.Errorf("%w: Attribute", ErrMalformed)
		}
		for !vals.Empty() {
			if len(a.Values) >= maxValues {
				return nil, fmt.Errorf("%w: more than %d attribute values", ErrMalformed, maxValues)
			}
			var v cryptobyte.String
			if !vals.ReadAnyASN1Element(&v, nil) {
				return nil, fmt.Errorf("%w: attribute value of %v", ErrMalformed, a.Type)
			}
			var rv asn1.RawValue
			if _, err := asn1.Unmarshal(v, &rv); err != nil {
				return nil, fmt.Errorf("%w: attribute value of %v: %v", ErrMalformed, a.Type, err)
			}
			a.Values = append(a.Values, rv)
		}
		attrs = append(attrs, a)
	}
	return attrs, nil
}
