package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Hand-written because golang.org/x/crypto/ocsp.CreateResponse stamps
// producedAt with the wall clock, and the test PKI must answer on its fixed
// clock. Structures from RFC 6960 §4.2.1; only ECDSA responders (the PKI's
// Root and OCSPSigner) are supported.

var (
	oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidSHA1      = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidECDSA256  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSA384  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
)

type ocspCertID struct {
	HashAlgorithm  pkix.AlgorithmIdentifier
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	SerialNumber   *big.Int
}

type ocspRevokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

type ocspSingle struct {
	CertID     ocspCertID
	Good       asn1.Flag       `asn1:"tag:0,optional"`
	Revoked    ocspRevokedInfo `asn1:"tag:1,optional"`
	Unknown    asn1.Flag       `asn1:"tag:2,optional"`
	ThisUpdate time.Time       `asn1:"generalized"`
	NextUpdate time.Time       `asn1:"generalized,explicit,tag:0,optional"`
}

type ocspResponseData struct {
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []ocspSingle
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type ocspBasic struct {
	TBS       ocspResponseData
	Algorithm pkix.AlgorithmIdentifier
	Signature asn1.BitString
	Certs     []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type ocspResponseBytes struct {
	Type     asn1.ObjectIdentifier
	Response []byte
}

type ocspResponse struct {
	Status asn1.Enumerated
	Bytes  ocspResponseBytes `asn1:"explicit,tag:0"`
}

// ocspResult is what one response says about one serial.
type ocspResult struct {
	serial      *big.Int
	status      int // 0 good, 1 revoked, 2 unknown (as x/crypto/ocsp)
	revokedAt   time.Time
	reason      int
	producedAt  time.Time
	thisUpdate  time.Time
	nextUpdate  time.Time
	issuer      *x509.Certificate
	responder   *Cert
	includeCert bool
	nonce       []byte // echoed in responseExtensions when set (RFC 8954)
}

func createOCSPResponse(r ocspResult) ([]byte, error) {
	var spki struct {
		Algo      pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(r.issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, err
	}
	nameHash := sha1.Sum(r.issuer.RawSubject)
	keyHash := sha1.Sum(spki.PublicKey.RightAlign())
	single := ocspSingle{
		CertID: ocspCertID{
			HashAlgorithm:  pkix.AlgorithmIdentifier{Algorithm: oidSHA1, Parameters: asn1.NullRawValue},
			IssuerNameHash: nameHash[:], IssuerKeyHash: keyHash[:], SerialNumber: r.serial,
		},
		ThisUpdate: r.thisUpdate.UTC(),
		NextUpdate: r.nextUpdate.UTC(),
	}
	switch r.status {
	case 0:
		single.Good = true
	case 1:
		single.Revoked = ocspRevokedInfo{RevocationTime: r.revokedAt.UTC(), Reason: asn1.Enumerated(r.reason)}
	default:
		single.Unknown = true
	}
	tbs := ocspResponseData{
		// ResponderID byName [1] EXPLICIT Name.
		ResponderID: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: r.responder.Cert.RawSubject},
		ProducedAt:  r.producedAt.UTC(),
		Responses:   []ocspSingle{single},
	}
	if r.nonce != nil {
		val, err := asn1.Marshal(r.nonce)
		if err != nil {
			return nil, err
		}
		tbs.Extensions = []pkix.Extension{{Id: oidOCSPNonce, Value: val}}
	}
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		return nil, err
	}
	pub, ok := r.responder.Key.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("testpki: OCSP responder %s must have an ECDSA key", r.responder.Name)
	}
	h, oid := crypto.SHA256, oidECDSA256
	if pub.Curve == elliptic.P384() {
		h, oid = crypto.SHA384, oidECDSA384
	}
	hh := h.New()
	hh.Write(tbsDER)
	sig, err := r.responder.Key.Sign(rand.Reader, hh.Sum(nil), h)
	if err != nil {
		return nil, err
	}
	basic := ocspBasic{
		TBS:       tbs,
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: oid},
		Signature: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	}
	if r.includeCert {
		basic.Certs = []asn1.RawValue{{FullBytes: r.responder.Cert.Raw}}
	}
	basicDER, err := asn1.Marshal(basic)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(ocspResponse{Bytes: ocspResponseBytes{Type: oidOCSPBasic, Response: basicDER}})
}

// requestNonce returns the RFC 8954 nonce of a DER OCSPRequest, nil when
// there is none (x/crypto/ocsp.ParseRequest drops extensions).
func requestNonce(req []byte) []byte {
	s := cryptobyte.String(req)
	var outer, tbs, extsTagged, exts cryptobyte.String
	var present bool
	if !s.ReadASN1(&outer, cbasn1.SEQUENCE) || !outer.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) ||
		!tbs.SkipASN1(cbasn1.SEQUENCE) ||
		!tbs.ReadOptionalASN1(&extsTagged, &present, cbasn1.Tag(2).Constructed().ContextSpecific()) || !present ||
		!extsTagged.ReadASN1(&exts, cbasn1.SEQUENCE) {
		return nil
	}
	for !exts.Empty() {
		var ext, val, inner cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) {
			return nil
		}
		if !oid.Equal(oidOCSPNonce) {
			continue
		}
		_ = ext.SkipOptionalASN1(cbasn1.BOOLEAN)
		if !ext.ReadASN1(&val, cbasn1.OCTET_STRING) || !val.ReadASN1(&inner, cbasn1.OCTET_STRING) {
			return nil
		}
		return append([]byte(nil), inner...)
	}
	return nil
}
