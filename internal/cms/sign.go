package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// SignOptions are the per-call choices of Sign; nil means all defaults.
type SignOptions struct {
	// Hash is the digest algorithm; zero means SHA-256. For Ed25519 keys it
	// is ignored and SHA-512 is used (RFC 8419 §3.1).
	Hash crypto.Hash
	// NonConformingEdDSAHash, when non-zero, is used with an Ed25519 key
	// instead of SHA-512. The result breaks RFC 8419 §3.1; it exists only
	// so that validators can be tested against such signatures.
	NonConformingEdDSAHash crypto.Hash
	// PSS signs with RSASSA-PSS (salt length = hash length) instead of
	// PKCS #1 v1.5 when the key is RSA.
	PSS bool
	// ContentType is the eContentType; nil means id-data.
	ContentType asn1.ObjectIdentifier
	// Content, when non-nil, is encapsulated as eContent and its digest is
	// computed here (digest may then be nil). nil means detached.
	Content []byte
	// SigningTime, when non-zero, adds the signing-time attribute.
	// PAdES (ETSI EN 319 142-1 §5.2.1) forbids it; leave it zero there.
	SigningTime time.Time
	// Certificates go into the certificates field. nil means the signer
	// certificate alone; use OmitCertificates for none.
	Certificates []*x509.Certificate
	// OmitCertificates leaves the certificates field out.
	OmitCertificates bool
	// SignedAttrs are added to the signed attributes after the ones Sign
	// makes itself (content-type, message-digest, signing-certificate-v2,
	// signing-time); they must not repeat those.
	SignedAttrs []Attribute
	// UnsignedAttrs are added as unsigned attributes (for example an
	// id-aa-signatureTimeStampToken).
	UnsignedAttrs []Attribute
	// Rand is the randomness for the signer; nil means crypto/rand.
	Rand io.Reader
}

// Sign builds a CMS SignedData ContentInfo (DER) with one SignerInfo
// identified by issuer and serial number. digest is the content digest
// under opts.Hash (SHA-512 for Ed25519). The signed attributes are
// content-type, message-digest, signing-certificate-v2 (RFC 5035, with
// issuerSerial) and, if asked, signing-time, encoded as a DER-sorted SET.
// The signature algorithm follows the key: RSA (PKCS #1 v1.5 or PSS),
// ECDSA, or Ed25519. signer must be cert's private key.
func Sign(digest []byte, signer crypto.Signer, cert *x509.Certificate, opts *SignOptions) ([]byte, error) {
	if opts == nil {
		opts = &SignOptions{}
	}
	if signer == nil || cert == nil {
		return nil, fmt.Errorf("cms: Sign needs a signer and its certificate")
	}
	h := opts.Hash
	if h == 0 {
		h = crypto.SHA256
	}
	if _, ok := signer.Public().(ed25519.PublicKey); ok {
		h = crypto.SHA512
		if opts.NonConformingEdDSAHash != 0 {
			h = opts.NonConformingEdDSAHash
		}
	}
	digestAlg, err := HashAlgorithm(h)
	if err != nil {
		return nil, err
	}
	if !h.Available() {
		return nil, fmt.Errorf("%w: hash %v not available", ErrUnsupported, h)
	}
	if opts.Content != nil {
		w := h.New()
		w.Write(opts.Content)
		d := w.Sum(nil)
		if digest != nil && !bytes.Equal(digest, d) {
			return nil, fmt.Errorf("%w: digest is not that of Content", ErrDigestMismatch)
		}
		digest = d
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("cms: digest is %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	ct := opts.ContentType
	if ct == nil {
		ct = OIDData
	}
	attrs, err := standardAttrs(ct, digest, cert, opts.SigningTime)
	if err != nil {
		return nil, err
	}
	attrs = append(attrs, opts.SignedAttrs...)
	signedSet, err := MarshalAttributes(attrs)
	if err != nil {
		return nil, err
	}
	sigAlg, sig, err := signAttrs(signer, h, opts.PSS, signedSet, opts.Rand)
	if err != nil {
		return nil, err
	}
	var unsigned []byte
	if len(opts.UnsignedAttrs) > 0 {
		if unsigned, err = MarshalAttributes(opts.UnsignedAttrs); err != nil {
			return nil, err
		}
	}
	certs := opts.Certificates
	if certs == nil {
		certs = []*x509.Certificate{cert}
	}
	if opts.OmitCertificates {
		certs = nil
	}

	digestAlgDER, err := asn1.Marshal(digestAlg)
	if err != nil {
		return nil, err
	}
	sigAlgDER, err := asn1.Marshal(sigAlg)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				// Version 1 for id-data, 3 for other content types (RFC 5652 §5.1).
				if ct.Equal(OIDData) {
					b.AddASN1Int64(1)
				} else {
					b.AddASN1Int64(3)
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(digestAlgDER) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(ct)
					if opts.Content != nil {
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddASN1OctetString(opts.Content)
						})
					}
				})
				if len(certs) > 0 {
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						for _, c := range sortedRaw(certs) {
							b.AddBytes(c)
						}
					})
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						b.AddBytes(digestAlgDER)
						signedImplicit := append([]byte{}, signedSet...)
						signedImplicit[0] = 0xa0
						b.AddBytes(signedImplicit)
						b.AddBytes(sigAlgDER)
						b.AddASN1OctetString(sig)
						if unsigned != nil {
							u := append([]byte{}, unsigned...)
							u[0] = 0xa1
							b.AddBytes(u)
						}
					})
				})
			})
		})
	})
	return b.Bytes()
}

// sortedRaw returns the DER of certs in DER SET OF order.
func sortedRaw(certs []*x509.Certificate) [][]byte {
	out := make([][]byte, 0, len(certs))
	for _, c := range certs {
		out = append(out, c.Raw)
	}
	slices.SortFunc(out, compareDERSetElements)
	return out
}

// MarshalAttributes encodes attrs as a DER SET OF Attribute, sorted as
// X.690 §11.6 requires. Each value's FullBytes must be set.
func MarshalAttributes(attrs []Attribute) ([]byte, error) {
	enc := make([][]byte, 0, len(attrs))
	for _, a := range attrs {
		var b cryptobyte.Builder
		vals := make([][]byte, 0, len(a.Values))
		for _, v := range a.Values {
			if len(v.FullBytes) == 0 {
				der, err := asn1.Marshal(v)
				if err != nil {
					return nil, fmt.Errorf("cms: attribute %v: %w", a.Type, err)
				}
				vals = append(vals, der)
				continue
			}
			vals = append(vals, v.FullBytes)
		}
		slices.SortFunc(vals, compareDERSetElements)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(a.Type)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				for _, v := range vals {
					b.AddBytes(v)
				}
			})
		})
		der, err := b.Bytes()
		if err != nil {
			return nil, fmt.Errorf("cms: attribute %v: %w", a.Type, err)
		}
		enc = append(enc, der)
	}
	slices.SortFunc(enc, compareDERSetElements)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, e := range enc {
			b.AddBytes(e)
		}
	})
	return b.Bytes()
}

// NewAttribute returns an Attribute with the DER encodings of values
// (encoding/asn1 Marshal).
func NewAttribute(oid asn1.ObjectIdentifier, values ...any) (Attribute, error) {
	a := Attribute{Type: oid}
	for _, v := range values {
		der, err := asn1.Marshal(v)
		if err != nil {
			return Attribute{}, fmt.Errorf("cms: attribute %v: %w", oid, err)
		}
		a.Values = append(a.Values, asn1.RawValue{FullBytes: der})
	}
	return a, nil
}

func standardAttrs(ct asn1.ObjectIdentifier, digest []byte, cert *x509.Certificate, signingTime time.Time) ([]Attribute, error) {
	ctA, err := NewAttribute(OIDAttrContentType, ct)
	if err != nil {
		return nil, err
	}
	mdA, err := NewAttribute(OIDAttrMessageDigest, digest)
	if err != nil {
		return nil, err
	}
	scv2, err := signingCertificateV2(cert)
	if err != nil {
		return nil, err
	}
	attrs := []Attribute{ctA, mdA, {Type: OIDAttrSigningCertV2, Values: []asn1.RawValue{{FullBytes: scv2}}}}
	if !signingTime.IsZero() {
		// RFC 5652 §11.3: UTCTime for 1950..2049, GeneralizedTime otherwise;
		// encoding/asn1 makes that choice for time.Time.
		st, err := NewAttribute(OIDAttrSigningTime, signingTime.UTC().Truncate(time.Second))
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, st)
	}
	return attrs, nil
}

// signingCertificateV2 encodes SigningCertificateV2 with one ESSCertIDv2
// over SHA-256 (left out, it is the DEFAULT) with issuerSerial.
func signingCertificateV2(cert *x509.Certificate) ([]byte, error) {
	sum := crypto.SHA256.New()
	sum.Write(cert.Raw)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(sum.Sum(nil))
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddBytes(cert.RawIssuer)
						})
					})
					b.AddASN1BigInt(cert.SerialNumber)
				})
			})
		})
	})
	return b.Bytes()
}

func signAttrs(signer crypto.Signer, h crypto.Hash, pss bool, msg []byte, rnd io.Reader) (pkix.AlgorithmIdentifier, []byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var alg pkix.AlgorithmIdentifier
	switch signer.Public().(type) {
	case ed25519.PublicKey:
		sig, err := signer.Sign(rnd, msg, crypto.Hash(0))
		return pkix.AlgorithmIdentifier{Algorithm: OIDEd25519}, sig, err
	case *rsa.PublicKey:
		if pss {
			var err error
			if alg, err = pssAlgorithm(h); err != nil {
				return alg, nil, err
			}
		} else {
			oid := map[crypto.Hash]asn1.ObjectIdentifier{
				crypto.SHA1: OIDSHA1WithRSA, crypto.SHA224: OIDSHA224WithRSA, crypto.SHA256: OIDSHA256WithRSA,
				crypto.SHA384: OIDSHA384WithRSA, crypto.SHA512: OIDSHA512WithRSA,
				crypto.SHA3_256: OIDRSAWithSHA3_256, crypto.SHA3_384: OIDRSAWithSHA3_384, crypto.SHA3_512: OIDRSAWithSHA3_512,
			}[h]
			if oid == nil {
				return alg, nil, fmt.Errorf("%w: RSA with %v", ErrUnsupported, h)
			}
			alg = pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.NullRawValue}
		}
	case *ecdsa.PublicKey:
		oid := map[crypto.Hash]asn1.ObjectIdentifier{
			crypto.SHA1: OIDECDSAWithSHA1, crypto.SHA224: OIDECDSAWithSHA224, crypto.SHA256: OIDECDSAWithSHA256,
			crypto.SHA384: OIDECDSAWithSHA384, crypto.SHA512: OIDECDSAWithSHA512,
			crypto.SHA3_256: OIDECDSAWithSHA3_256, crypto.SHA3_384: OIDECDSAWithSHA3_384, crypto.SHA3_512: OIDECDSAWithSHA3_512,
		}[h]
		if oid == nil {
			return alg, nil, fmt.Errorf("%w: ECDSA with %v", ErrUnsupported, h)
		}
		alg = pkix.AlgorithmIdentifier{Algorithm: oid}
	default:
		return alg, nil, fmt.Errorf("%w: key type %T", ErrUnsupported, signer.Public())
	}
	w := h.New()
	w.Write(msg)
	var sopts crypto.SignerOpts = h
	if _, isRSA := signer.Public().(*rsa.PublicKey); pss && isRSA {
		sopts = &rsa.PSSOptions{SaltLength: h.Size(), Hash: h}
	}
	sig, err := signer.Sign(rnd, w.Sum(nil), sopts)
	if err != nil {
		return alg, nil, fmt.Errorf("cms: signing: %w", err)
	}
	return alg, sig, nil
}
