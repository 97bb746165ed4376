package cms

import (
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	// Register the hash implementations Hash may return.
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha3"
	_ "crypto/sha512"
)

// Algorithm identifiers (RFC 5754, RFC 4055, RFC 5758, RFC 8419, NIST CSOR).
var (
	OIDSHA1     = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	OIDSHA224   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	OIDSHA256   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSHA384   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	OIDSHA512   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	OIDSHA3_224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 7}
	OIDSHA3_256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 8}
	OIDSHA3_384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 9}
	OIDSHA3_512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 10}

	OIDRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	OIDRSASSAPSS     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	OIDMGF1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	OIDSHA1WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	OIDSHA224WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 14}
	OIDSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	OIDSHA384WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	OIDSHA512WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}

	OIDECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	OIDECDSAWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	OIDECDSAWithSHA224 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 1}
	OIDECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	OIDECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	OIDECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}

	OIDEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}

	OIDDSA           = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}
	OIDDSAWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 3}
	OIDDSAWithSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 1}
	OIDDSAWithSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 2}

	// NIST's signature identifiers with SHA-3 (CSOR, RFC 8692 names).
	OIDECDSAWithSHA3_224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 9}
	OIDECDSAWithSHA3_256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 10}
	OIDECDSAWithSHA3_384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 11}
	OIDECDSAWithSHA3_512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 12}
	OIDRSAWithSHA3_224   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 13}
	OIDRSAWithSHA3_256   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 14}
	OIDRSAWithSHA3_384   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 15}
	OIDRSAWithSHA3_512   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 16}
)

var hashOIDs = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
}{
	{OIDSHA1, crypto.SHA1},
	{OIDSHA224, crypto.SHA224},
	{OIDSHA256, crypto.SHA256},
	{OIDSHA384, crypto.SHA384},
	{OIDSHA512, crypto.SHA512},
	{OIDSHA3_224, crypto.SHA3_224},
	{OIDSHA3_256, crypto.SHA3_256},
	{OIDSHA3_384, crypto.SHA3_384},
	{OIDSHA3_512, crypto.SHA3_512},
}

// HashFromOID returns the hash function an digest AlgorithmIdentifier
// names. Unknown algorithms wrap ErrUnsupported.
func HashFromOID(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	for _, h := range hashOIDs {
		if h.oid.Equal(oid) {
			return h.hash, nil
		}
	}
	return 0, fmt.Errorf("%w: digest algorithm %v", ErrUnsupported, oid)
}

// HashOID returns the object identifier of h, or ErrUnsupported.
func HashOID(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	for _, e := range hashOIDs {
		if e.hash == h {
			return e.oid, nil
		}
	}
	return nil, fmt.Errorf("%w: hash %v", ErrUnsupported, h)
}

// HashAlgorithm returns the AlgorithmIdentifier for h with absent
// parameters, as RFC 5754 §2 says senders should encode it.
func HashAlgorithm(h crypto.Hash) (pkix.AlgorithmIdentifier, error) {
	oid, err := HashOID(h)
	if err != nil {
		return pkix.AlgorithmIdentifier{}, err
	}
	return pkix.AlgorithmIdentifier{Algorithm: oid}, nil
}

type sigScheme int

const (
	schemePKCS1 sigScheme = iota + 1
	schemePSS
	schemeECDSA
	schemeEd25519
	schemeDSA
)

// sigAlgs maps signature algorithm identifiers to their scheme and, where
// the identifier fixes it, the hash.
var sigAlgs = []struct {
	oid    asn1.ObjectIdentifier
	scheme sigScheme
	hash   crypto.Hash
}{
	{OIDRSAEncryption, schemePKCS1, 0},
	{OIDSHA1WithRSA, schemePKCS1, crypto.SHA1},
	{OIDSHA224WithRSA, schemePKCS1, crypto.SHA224},
	{OIDSHA256WithRSA, schemePKCS1, crypto.SHA256},
	{OIDSHA384WithRSA, schemePKCS1, crypto.SHA384},
	{OIDSHA512WithRSA, schemePKCS1, crypto.SHA512},
	{OIDRSASSAPSS, schemePSS, 0},
	{OIDECPublicKey, schemeECDSA, 0},
	{OIDECDSAWithSHA1, schemeECDSA, crypto.SHA1},
	{OIDECDSAWithSHA224, schemeECDSA, crypto.SHA224},
	{OIDECDSAWithSHA256, schemeECDSA, crypto.SHA256},
	{OIDECDSAWithSHA384, schemeECDSA, crypto.SHA384},
	{OIDECDSAWithSHA512, schemeECDSA, crypto.SHA512},
	{OIDEd25519, schemeEd25519, 0},
	{OIDDSA, schemeDSA, 0},
	{OIDDSAWithSHA1, schemeDSA, crypto.SHA1},
	{OIDDSAWithSHA224, schemeDSA, crypto.SHA224},
	{OIDDSAWithSHA256, schemeDSA, crypto.SHA256},
	{OIDECDSAWithSHA3_224, schemeECDSA, crypto.SHA3_224},
	{OIDECDSAWithSHA3_256, schemeECDSA, crypto.SHA3_256},
	{OIDECDSAWithSHA3_384, schemeECDSA, crypto.SHA3_384},
	{OIDECDSAWithSHA3_512, schemeECDSA, crypto.SHA3_512},
	{OIDRSAWithSHA3_224, schemePKCS1, crypto.SHA3_224},
	{OIDRSAWithSHA3_256, schemePKCS1, crypto.SHA3_256},
	{OIDRSAWithSHA3_384, schemePKCS1, crypto.SHA3_384},
	{OIDRSAWithSHA3_512, schemePKCS1, crypto.SHA3_512},
}

// pssParams is RSASSA-PSS-params (RFC 4055 §3.1).
type pssParams struct {
	Hash         pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:0"`
	MGF          pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:1"`
	SaltLength   int                      `asn1:"optional,explicit,tag:2,default:20"`
	TrailerField int                      `asn1:"optional,explicit,tag:3,default:1"`
}

// parsePSS returns the hash and salt length of RSASSA-PSS parameters. The
// MGF must be MGF1 with the same hash, since crypto/rsa offers no other.
func parsePSS(params asn1.RawValue) (crypto.Hash, int, error) {
	var p pssParams
	if len(params.FullBytes) == 0 {
		return 0, 0, fmt.Errorf("%w: RSASSA-PSS without parameters", ErrUnsupported)
	}
	if rest, err := asn1.Unmarshal(params.FullBytes, &p); err != nil || len(rest) != 0 {
		return 0, 0, fmt.Errorf("%w: RSASSA-PSS parameters: %v", ErrMalformed, err)
	}
	h := crypto.SHA1
	if len(p.Hash.Algorithm) != 0 {
		var err error
		if h, err = HashFromOID(p.Hash.Algorithm); err != nil {
			return 0, 0, err
		}
	}
	mgfHash := crypto.SHA1
	if len(p.MGF.Algorithm) != 0 {
		if !p.MGF.Algorithm.Equal(OIDMGF1) {
			return 0, 0, fmt.Errorf("%w: mask generation function %v", ErrUnsupported, p.MGF.Algorithm)
		}
		var ha pkix.AlgorithmIdentifier
		if rest, err := asn1.Unmarshal(p.MGF.Parameters.FullBytes, &ha); err != nil || len(rest) != 0 {
			return 0, 0, fmt.Errorf("%w: MGF1 parameters: %v", ErrMalformed, err)
		}
		var err error
		if mgfHash, err = HashFromOID(ha.Algorithm); err != nil {
			return 0, 0, err
		}
	}
	if mgfHash != h {
		return 0, 0, fmt.Errorf("%w: MGF1 hash %v differs from PSS hash %v", ErrUnsupported, mgfHash, h)
	}
	if p.TrailerField != 1 {
		return 0, 0, fmt.Errorf("%w: PSS trailer field %d", ErrUnsupported, p.TrailerField)
	}
	if p.SaltLength < 0 {
		return 0, 0, fmt.Errorf("%w: negative PSS salt length", ErrMalformed)
	}
	return h, p.SaltLength, nil
}

// pssAlgorithm encodes RSASSA-PSS parameters with MGF1 over h and a salt
// as long as the hash (RFC 4055 §3.1, the usual choice).
func pssAlgorithm(h crypto.Hash) (pkix.AlgorithmIdentifier, error) {
	ha, err := HashAlgorithm(h)
	if err != nil {
		return pkix.AlgorithmIdentifier{}, err
	}
	haDER, err := asn1.Marshal(ha)
	if err != nil {
		return pkix.AlgorithmIdentifier{}, err
	}
	p := pssParams{
		Hash:         ha,
		MGF:          pkix.AlgorithmIdentifier{Algorithm: OIDMGF1, Parameters: asn1.RawValue{FullBytes: haDER}},
		SaltLength:   h.Size(),
		TrailerField: 1,
	}
	der, err := asn1.Marshal(p)
	if err != nil {
		return pkix.AlgorithmIdentifier{}, err
	}
	return pkix.AlgorithmIdentifier{Algorithm: OIDRSASSAPSS, Parameters: asn1.RawValue{FullBytes: der}}, nil
}
