package timestamp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"time"
)

// DevelopmentCertificate makes a key and a self-signed certificate for a
// development TSA: ECDSA P-256, valid from a day before now until notAfter,
// key usage digitalSignature and the sole, critical extended key usage
// id-kp-timeStamping (RFC 3161 §2.3). The certificate is its own trust
// anchor; it proves nothing to anyone else and must not be used in
// production. crypto/x509 writes ExtKeyUsage non-critical, hence the raw
// extension.
func DevelopmentCertificate(now, notAfter time.Time) (crypto.Signer, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "keiyaku development TSA", Organization: []string{"keiyaku (development only)"}},
		NotBefore:    now.Add(-24 * time.Hour),
		NotAfter:     notAfter,
		// OpenSSL's timestamping purpose check refuses key usages beyond
		// digitalSignature/nonRepudiation.
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}
