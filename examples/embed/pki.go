package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"time"
)

// demoCA is a certification authority made in memory for the example, in
// place of the commercial CA whose certificates real companies sign with.
// Its root is the trust anchor of the service; its CRL is the revocation
// data sealing embeds (ETSI EN 319 142-1 §5.4.2).
type demoCA struct {
	root *x509.Certificate
	key  crypto.Signer
	next int64
}

// identity is a signer's key and certificate.
type identity struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func newDemoCA(now time.Time) (*demoCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Country: []string{"JP"}, Organization: []string{"keiyaku example CA"}, CommonName: "keiyaku example root CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &demoCA{root: root, key: key, next: 2}, nil
}

// issue makes a signing certificate for a person of a company.
func (ca *demoCA) issue(now time.Time, company, person string) (*identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ca.next++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.next),
		Subject:      pkix.Name{Country: []string{"JP"}, Organization: []string{company}, CommonName: person},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.root, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &identity{key: key, cert: cert}, nil
}

// crl is the CA's current certificate revocation list (RFC 5280 §5),
// revoking nothing.
func (ca *demoCA) crl(now time.Time) ([]byte, error) {
	return x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:     big.NewInt(now.Unix()),
		ThisUpdate: now.Add(-time.Minute),
		NextUpdate: now.AddDate(0, 0, 7),
	}, ca.root, ca.key)
}
