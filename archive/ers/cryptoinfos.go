package ers

import (
	"bytes"
	"encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/keiyaku/keiyaku/kerr"
)

// ValidationData is what verifying the record's older timestamps needs
// once their TSAs are gone (RFC 4998 §5.2: gathered before a renewal, so
// the renewal's time proves they were valid then): certificates of the
// TSA chains and OCSP responses and CRLs about them. All DER; OCSPs are
// whole OCSPResponses (RFC 6960 §4.2.1).
type ValidationData struct {
	Certificates [][]byte
	CRLs         [][]byte
	OCSPs        [][]byte
}

// Empty reports whether vd holds nothing.
func (vd ValidationData) Empty() bool {
	return len(vd.Certificates)+len(vd.CRLs)+len(vd.OCSPs) == 0
}

// The attribute types validation data is kept under in cryptoInfos (RFC
// 4998 §2: "certificates, revocation information"): the CAdES ones (RFC
// 5126 §6.3.3, §6.3.4), as for long-term signatures.
var (
	// OIDCertValues is id-aa-ets-certValues: CertificateValues ::=
	// SEQUENCE OF Certificate.
	OIDCertValues = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 23}
	// OIDRevocationValues is id-aa-ets-revocationValues: RevocationValues
	// ::= SEQUENCE { crlVals [0] SEQUENCE OF CertificateList OPTIONAL,
	// ocspVals [1] SEQUENCE OF BasicOCSPResponse OPTIONAL, ... }.
	OIDRevocationValues = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 24}
	oidOCSPBasic        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
)

// AddValidationData appends vd to the record's cryptoInfos (RFC 4998 §2)
// as one certValues and one revocationValues attribute, leaving out what
// the record already keeps there. Attributes of other types already in
// cryptoInfos are kept. cryptoInfos is not covered by the record's
// hashes: OCSP responses, CRLs and certificates are signed and prove
// themselves. Errors have kind kerr.Invalid: a cryptoInfos that does not
// parse, an OCSP response that is not a successful basic response.
func (er *EvidenceRecord) AddValidationData(vd ValidationData) error {
	const op = "ers.EvidenceRecord.AddValidationData"
	have, attrs, err := parseCryptoInfos(er.CryptoInfos)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	fresh := func(list [][]byte, have [][]byte) [][]byte {
		var out [][]byte
		for _, d := range list {
			if !containsDER(have, d) && !containsDER(out, d) {
				out = append(out, d)
			}
		}
		return out
	}
	certs := fresh(vd.Certificates, have.Certificates)
	crls := fresh(vd.CRLs, have.CRLs)
	var basics [][]byte
	for _, o := range fresh(vd.OCSPs, have.OCSPs) {
		b, err := basicOCSP(o)
		if err != nil {
			return kerr.Wrap(op, err)
		}
		basics = append(basics, b)
	}
	if len(certs)+len(crls)+len(basics) == 0 {
		return nil
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddBytes(a)
		}
		if len(certs) > 0 {
			addAttribute(b, OIDCertValues, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, c := range certs {
						b.AddBytes(c)
					}
				})
			})
		}
		if len(crls)+len(basics) > 0 {
			addAttribute(b, OIDRevocationValues, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					if len(crls) > 0 {
						b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
								for _, c := range crls {
									b.AddBytes(c)
								}
							})
						})
					}
					if len(basics) > 0 {
						b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
								for _, o := range basics {
									b.AddBytes(o)
								}
							})
						})
					}
				})
			})
		}
	})
	out, err := b.Bytes()
	if err != nil {
		return kerr.WrapKind(kerr.Invalid, op, "encoding cryptoInfos", err)
	}
	er.CryptoInfos = out
	return nil
}

// ValidationData returns the validation data kept in the record's
// cryptoInfos (every certValues and revocationValues attribute; OCSP
// responses rewrapped as whole OCSPResponses). Errors have kind
// kerr.Invalid for a cryptoInfos that does not parse.
func (er *EvidenceRecord) ValidationData() (ValidationData, error) {
	vd, _, err := parseCryptoInfos(er.CryptoInfos)
	if err != nil {
		return ValidationData{}, kerr.Wrap("ers.EvidenceRecord.ValidationData", err)
	}
	return vd, nil
}

// parseCryptoInfos reads cryptoInfos ([0] IMPLICIT SEQUENCE OF Attribute,
// tag included): the validation data, and every attribute's DER (to write
// back). nil or empty input is no data.
func parseCryptoInfos(der []byte) (vd ValidationData, attrs [][]byte, err error) {
	const op = "ers.cryptoInfos"
	if len(der) == 0 {
		return vd, nil, nil
	}
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.Tag(0).ContextSpecific().Constructed()) || !s.Empty() {
		return vd, nil, malformed(op, "cryptoInfos is not a [0] SEQUENCE OF Attribute")
	}
	for !seq.Empty() {
		var attr, whole cryptobyte.String
		if !seq.ReadASN1Element(&whole, cbasn1.SEQUENCE) {
			return vd, nil, malformed(op, "an attribute is not a SEQUENCE")
		}
		attrs = append(attrs, bytes.Clone(whole))
		var oid asn1.ObjectIdentifier
		var values cryptobyte.String
		if !whole.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return vd, nil, malformed(op, "an attribute is not SEQUENCE { OID, SET }")
		}
		switch {
		case oid.Equal(OIDCertValues):
			for !values.Empty() {
				var certs cryptobyte.String
				if !values.ReadASN1(&certs, cbasn1.SEQUENCE) {
					return vd, nil, malformed(op, "certValues is not a SEQUENCE OF Certificate")
				}
				for !certs.Empty() {
					var c cryptobyte.String
					if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
						return vd, nil, malformed(op, "a certificate in certValues is not a SEQUENCE")
					}
					vd.Certificates = append(vd.Certificates, bytes.Clone(c))
				}
			}
		case oid.Equal(OIDRevocationValues):
			for !values.Empty() {
				var rv cryptobyte.String
				if !values.ReadASN1(&rv, cbasn1.SEQUENCE) {
					return vd, nil, malformed(op, "revocationValues is not a SEQUENCE")
				}
				var crls, ocsps cryptobyte.String
				var hasCRLs, hasOCSPs bool
				if !rv.ReadOptionalASN1(&crls, &hasCRLs, cbasn1.Tag(0).ContextSpecific().Constructed()) ||
					!rv.ReadOptionalASN1(&ocsps, &hasOCSPs, cbasn1.Tag(1).ContextSpecific().Constructed()) {
					return vd, nil, malformed(op, "revocationValues does not parse")
				}
				// otherRevVals [2] and what may follow are kept, not read.
				if hasCRLs {
					var list cryptobyte.String
					if !crls.ReadASN1(&list, cbasn1.SEQUENCE) || !crls.Empty() {
						return vd, nil, malformed(op, "crlVals is not a SEQUENCE OF CertificateList")
					}
					for !list.Empty() {
						var c cryptobyte.String
						if !list.ReadASN1Element(&c, cbasn1.SEQUENCE) {
							return vd, nil, malformed(op, "a CRL in crlVals is not a SEQUENCE")
						}
						vd.CRLs = append(vd.CRLs, bytes.Clone(c))
					}
				}
				if hasOCSPs {
					var list cryptobyte.String
					if !ocsps.ReadASN1(&list, cbasn1.SEQUENCE) || !ocsps.Empty() {
						return vd, nil, malformed(op, "ocspVals is not a SEQUENCE OF BasicOCSPResponse")
					}
					for !list.Empty() {
						var o cryptobyte.String
						if !list.ReadASN1Element(&o, cbasn1.SEQUENCE) {
							return vd, nil, malformed(op, "a response in ocspVals is not a SEQUENCE")
						}
						full, err := wrapOCSP(o)
						if err != nil {
							return vd, nil, malformed(op, "%v", err)
						}
						vd.OCSPs = append(vd.OCSPs, full)
					}
				}
			}
		}
	}
	return vd, attrs, nil
}

// addAttribute writes Attribute ::= SEQUENCE { attrType, attrValues SET
// OF value } with one value.
func addAttribute(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, value)
	})
}

// basicOCSP returns the BasicOCSPResponse inside a successful DER
// OCSPResponse (RFC 6960 §4.2.1).
func basicOCSP(der []byte) ([]byte, error) {
	const op = "ers.basicOCSP"
	s := cryptobyte.String(der)
	var resp, rb, inner cryptobyte.String
	var status int
	var typ asn1.ObjectIdentifier
	var basic []byte
	if !s.ReadASN1(&resp, cbasn1.SEQUENCE) || !s.Empty() ||
		!resp.ReadASN1Enum(&status) || status != 0 ||
		!resp.ReadASN1(&rb, cbasn1.Tag(0).ContextSpecific().Constructed()) ||
		!rb.ReadASN1(&inner, cbasn1.SEQUENCE) || !inner.ReadASN1ObjectIdentifier(&typ) || !typ.Equal(oidOCSPBasic) ||
		!inner.ReadASN1Bytes(&basic, cbasn1.OCTET_STRING) {
		return nil, malformed(op, "not a successful basic OCSP response")
	}
	b := cryptobyte.String(basic)
	var el cryptobyte.String
	if !b.ReadASN1Element(&el, cbasn1.SEQUENCE) || !b.Empty() {
		return nil, malformed(op, "the BasicOCSPResponse is not one SEQUENCE")
	}
	return bytes.Clone(basic), nil
}

// wrapOCSP makes a successful OCSPResponse around a BasicOCSPResponse.
func wrapOCSP(basic []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Enum(0)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidOCSPBasic)
				b.AddASN1OctetString(basic)
			})
		})
	})
	return b.Bytes()
}

func containsDER(list [][]byte, d []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, d) {
			return true
		}
	}
	return false
}
