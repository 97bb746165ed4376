package timestamp

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/keiyaku/keiyaku/internal/cms"
)

// Errors returned (wrapped) by this package; test with errors.Is.
var (
	// ErrMalformed: a token, request or response cannot be parsed.
	ErrMalformed = errors.New("timestamp: malformed")
	// ErrUnsupported: a well-formed token or request uses an algorithm or
	// feature this package does not handle.
	ErrUnsupported = errors.New("timestamp: unsupported")
	// ErrImprintMismatch: the token's message imprint is not the digest
	// given (different value or hash length).
	ErrImprintMismatch = errors.New("timestamp: message imprint does not match")
	// ErrBadSignature: the token's CMS signature or its signed attributes
	// (content-type, message-digest) do not verify.
	ErrBadSignature = errors.New("timestamp: bad token signature")
	// ErrNoCertificate: the TSA certificate is neither in the token nor
	// among the extra certificates.
	ErrNoCertificate = errors.New("timestamp: TSA certificate not found")
	// ErrESSCertID: the signed ESSCertID/ESSCertIDv2 attribute is missing
	// or names another certificate (RFC 3161 §2.4.1, RFC 5816).
	ErrESSCertID = errors.New("timestamp: ESS signing-certificate missing or wrong")
	// ErrBadEKU: the TSA certificate's extended key usage is not the sole,
	// critical id-kp-timeStamping (RFC 3161 §2.3).
	ErrBadEKU = errors.New("timestamp: TSA certificate extended key usage")
	// ErrUntrusted: the TSA certificate does not chain to a trusted root at
	// the token's genTime.
	ErrUntrusted = errors.New("timestamp: TSA certificate not trusted")
	// ErrTSAName: the TSTInfo tsa field names someone other than the TSA
	// certificate's subject (RFC 3161 §2.4.2).
	ErrTSAName = errors.New("timestamp: tsa name does not match the TSA certificate")
	// ErrRejected: the TSA answered with a status other than granted; the
	// error is a *StatusError.
	ErrRejected = errors.New("timestamp: request rejected")
	// ErrMismatch: a response does not answer the request (nonce, policy,
	// missing certificate although requested).
	ErrMismatch = errors.New("timestamp: response does not match request")
)

// OIDTSTInfo is id-ct-TSTInfo, the eContentType of a timestamp token.
var OIDTSTInfo = cms.OIDTSTInfo

// Token is a parsed RFC 3161 timestamp token.
type Token struct {
	// Raw is the DER of the TimeStampToken (a CMS ContentInfo).
	Raw []byte
	// Time is genTime: when the TSA says it stamped the imprint.
	Time time.Time
	// Accuracy is the TSA's stated accuracy of Time; 0 if absent.
	Accuracy time.Duration
	// Serial is the TSA's serial number of the token (unique per TSA).
	Serial *big.Int
	// Policy is the TSA policy the token was issued under.
	Policy asn1.ObjectIdentifier
	// Nonce is the request's nonce echoed back, or nil.
	Nonce *big.Int
	// Hash and HashedMessage are the message imprint.
	Hash          crypto.Hash
	HashedMessage []byte
	// Ordering is the TSTInfo ordering flag.
	Ordering bool
	// TSAName is the tsa field in readable form ("" when absent); for a
	// directoryName it is the RFC 2253 string.
	TSAName string
	// Certificates are the certificates carried in the token.
	Certificates []*x509.Certificate
	// Signer is the TSA certificate when the token carries it (or, after
	// Verify, when the extra certificates did); nil otherwise.
	Signer *x509.Certificate

	sd      *cms.SignedData
	tsaName asn1.RawValue // the GeneralName of TSTInfo.tsa, FullBytes empty when absent
}

// Parse parses a TimeStampToken (RFC 3161 §2.4.2: a CMS SignedData whose
// eContentType is id-ct-TSTInfo, with exactly one signer). It checks the
// structure only; Verify checks the signature and the certificate. Errors
// wrap ErrMalformed or ErrUnsupported.
func Parse(token []byte) (*Token, error) {
	sd, err := cms.Parse(token)
	if err != nil {
		if errors.Is(err, cms.ErrUnsupported) {
			return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !sd.ContentType.Equal(cms.OIDTSTInfo) || sd.Content == nil {
		return nil, fmt.Errorf("%w: content type %v is not id-ct-TSTInfo", ErrMalformed, sd.ContentType)
	}
	if len(sd.Signers) != 1 {
		return nil, fmt.Errorf("%w: %d signers, RFC 3161 §2.4.2 requires one", ErrMalformed, len(sd.Signers))
	}
	var info tstInfo
	rest, err := asn1.Unmarshal(sd.Content, &info)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: TSTInfo: %v", ErrMalformed, err)
	}
	if info.Version != 1 {
		return nil, fmt.Errorf("%w: TSTInfo version %d", ErrUnsupported, info.Version)
	}
	h, err := cms.HashFromOID(info.MessageImprint.HashAlgorithm.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("%w: imprint %v", ErrUnsupported, err)
	}
	if len(info.MessageImprint.HashedMessage) != h.Size() {
		return nil, fmt.Errorf("%w: imprint is %d bytes, %v needs %d", ErrMalformed, len(info.MessageImprint.HashedMessage), h, h.Size())
	}
	if info.SerialNumber == nil {
		return nil, fmt.Errorf("%w: no serial number", ErrMalformed)
	}
	a := info.Accuracy
	if a.Seconds < 0 || a.Millis < 0 || a.Millis > 999 || a.Micros < 0 || a.Micros > 999 || a.Seconds > 1<<30 {
		return nil, fmt.Errorf("%w: accuracy out of range", ErrMalformed)
	}
	t := &Token{
		Raw:           sd.Raw,
		Time:          info.GenTime.UTC(),
		Accuracy:      time.Duration(a.Seconds)*time.Second + time.Duration(a.Millis)*time.Millisecond + time.Duration(a.Micros)*time.Microsecond,
		Serial:        info.SerialNumber,
		Policy:        info.Policy,
		Nonce:         info.Nonce,
		Hash:          h,
		HashedMessage: info.MessageImprint.HashedMessage,
		Ordering:      info.Ordering,
		TSAName:       generalNameString(info.TSA),
		tsaName:       innerGeneralName(info.TSA),
		Certificates:  sd.Certificates,
		Signer:        sd.SignerCertificate(sd.Signers[0]),
		sd:            sd,
	}
	return t, nil
}

// innerGeneralName returns the GeneralName inside TSTInfo.tsa's explicit [0].
func innerGeneralName(v asn1.RawValue) asn1.RawValue {
	var gn asn1.RawValue
	if len(v.Bytes) == 0 {
		return gn
	}
	if _, err := asn1.Unmarshal(v.Bytes, &gn); err != nil {
		return asn1.RawValue{}
	}
	return gn
}

// checkTSAName checks RFC 3161 §2.4.2: a tsa field must name the TSA
// certificate's subject or one of its subjectAltNames.
func checkTSAName(gn asn1.RawValue, c *x509.Certificate) error {
	if len(gn.FullBytes) == 0 {
		return nil
	}
	if gn.Class == asn1.ClassContextSpecific {
		switch gn.Tag {
		case 4:
			if bytes.Equal(gn.Bytes, c.RawSubject) {
				return nil
			}
			var rdn pkix.RDNSequence
			if rest, err := asn1.Unmarshal(gn.Bytes, &rdn); err == nil && len(rest) == 0 {
				var n pkix.Name
				n.FillFromRDNSequence(&rdn)
				if n.String() == c.Subject.String() {
					return nil
				}
			}
		case 1:
			if slices.Contains(c.EmailAddresses, string(gn.Bytes)) {
				return nil
			}
		case 2:
			if slices.Contains(c.DNSNames, string(gn.Bytes)) {
				return nil
			}
		case 6:
			for _, u := range c.URIs {
				if u.String() == string(gn.Bytes) {
					return nil
				}
			}
		}
	}
	return ErrTSAName
}

// generalNameString renders the GeneralName inside the explicit [0] of
// TSTInfo.tsa (RFC 5280 §4.2.1.6).
func generalNameString(v asn1.RawValue) string {
	if len(v.Bytes) == 0 {
		return ""
	}
	var gn asn1.RawValue
	if _, err := asn1.Unmarshal(v.Bytes, &gn); err != nil || gn.Class != asn1.ClassContextSpecific {
		return ""
	}
	switch gn.Tag {
	case 4: // directoryName, explicitly tagged Name
		var rdn pkix.RDNSequence
		if rest, err := asn1.Unmarshal(gn.Bytes, &rdn); err != nil || len(rest) != 0 {
			return ""
		}
		var n pkix.Name
		n.FillFromRDNSequence(&rdn)
		return n.String()
	case 1, 2, 6: // rfc822Name, dNSName, uniformResourceIdentifier (IA5String)
		return string(gn.Bytes)
	}
	return ""
}

// VerifyOptions say what a token's TSA certificate must chain to.
type VerifyOptions struct {
	// Roots are the trusted roots; nil means the system roots.
	Roots *x509.CertPool
	// Intermediates may help build the chain; nil means none beyond those
	// in the token and ExtraCerts.
	Intermediates *x509.CertPool
	// ExtraCerts are candidates for the TSA certificate and chain when the
	// token does not carry them (certReq was false).
	ExtraCerts []*x509.Certificate
}

// Verify parses token and checks that it stamps digest and is genuine:
//
//   - the message imprint equals digest (ErrImprintMismatch); digest must
//     have been computed with the token's hash (Token.Hash): callers that do
//     not know it beforehand Parse first;
//   - the CMS signature verifies, with content-type id-ct-TSTInfo and a
//     message-digest over the TSTInfo (ErrBadSignature);
//   - the signed ESSCertID or ESSCertIDv2 names the TSA certificate
//     (ErrESSCertID, RFC 3161 §2.4.1, RFC 5816);
//   - the TSA certificate's only extended key usage is id-kp-timeStamping,
//     in a critical extension (ErrBadEKU, RFC 3161 §2.3);
//   - the tsa field, when present, names that certificate's subject or one
//     of its alternative names (ErrTSAName, RFC 3161 §2.4.2);
//   - the certificate chains to opts.Roots at the token's genTime, with the
//     timeStamping usage allowed along the chain (ErrUntrusted).
//
// opts may be nil (system roots). On success the token is returned with
// Signer set, and so it is with an error wrapping ErrUntrusted (everything
// but the chain held); on failure the error wraps one of the sentinels above (or
// ErrMalformed/ErrUnsupported/ErrNoCertificate).
func Verify(token []byte, digest []byte, opts *VerifyOptions) (*Token, error) {
	if opts == nil {
		opts = &VerifyOptions{}
	}
	t, err := Parse(token)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(t.HashedMessage, digest) {
		return nil, ErrImprintMismatch
	}
	si := t.sd.Signers[0]
	if t.Signer == nil {
		t.Signer = si.FindCertificate(opts.ExtraCerts)
	}
	if t.Signer == nil {
		return nil, ErrNoCertificate
	}
	if err := checkSignature(t); err != nil {
		return nil, err
	}
	if err := si.CheckSigningCertificate(t.Signer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrESSCertID, err)
	}
	if err := CheckTSACertificate(t.Signer); err != nil {
		return nil, err
	}
	if err := checkTSAName(t.tsaName, t.Signer); err != nil {
		return nil, err
	}
	inter := x509.NewCertPool()
	if opts.Intermediates != nil {
		inter = opts.Intermediates.Clone()
	}
	for _, c := range t.Certificates {
		inter.AddCert(c)
	}
	for _, c := range opts.ExtraCerts {
		inter.AddCert(c)
	}
	if _, err := t.Signer.Verify(x509.VerifyOptions{
		Roots:         opts.Roots,
		Intermediates: inter,
		CurrentTime:   t.Time,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	}); err != nil {
		// The token itself is genuine: return it so that a caller with
		// its own rules of trust (long-term validation) can go on.
		return t, fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	return t, nil
}

// checkSignature verifies the CMS layer of t against t.Signer.
func checkSignature(t *Token) error {
	si := t.sd.Signers[0]
	if si.RawSignedAttrs == nil {
		// RFC 3161 §2.4.1 requires the ESS attribute, hence signed attributes.
		return fmt.Errorf("%w: no signed attributes", ErrESSCertID)
	}
	ct, err := si.ContentTypeAttr()
	if err != nil || !ct.Equal(cms.OIDTSTInfo) {
		return fmt.Errorf("%w: content-type attribute %v (%v)", ErrBadSignature, ct, err)
	}
	h, err := si.Hash()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	w := h.New()
	w.Write(t.sd.Content)
	if err := si.CheckMessageDigest(w.Sum(nil)); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if err := si.VerifySignature(t.Signer); err != nil {
		if errors.Is(err, cms.ErrUnsupported) {
			return fmt.Errorf("%w: %v", ErrUnsupported, err)
		}
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return nil
}

var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}

// CheckTSACertificate checks RFC 3161 §2.3: the certificate has exactly one
// extended key usage extension, it is critical, and id-kp-timeStamping is
// its only purpose. Errors wrap ErrBadEKU.
func CheckTSACertificate(c *x509.Certificate) error {
	n := 0
	for _, e := range c.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			n++
			if !e.Critical {
				return fmt.Errorf("%w: extension is not critical", ErrBadEKU)
			}
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: %d extended key usage extensions, want 1", ErrBadEKU, n)
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(c.UnknownExtKeyUsage) != 0 {
		return fmt.Errorf("%w: purposes other than id-kp-timeStamping", ErrBadEKU)
	}
	return nil
}
