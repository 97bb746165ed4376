package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net/http/httptest"
)

// IssueSigner issues, from Intermediate, a signer certificate like
// ECDSAP256's (valid LeafNotBefore..LeafNotAfter, signing key usages,
// PolicyOID, known to the OCSP responder as good) for a new P-256 key,
// with subject C=JP, O=organization, OU=unit (omitted when empty),
// CN=person. name labels it (Cert.Name, the e-mail and DNS SANs).
func (p *PKI) IssueSigner(name, organization, unit, person string) (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	subject := jpName(organization, unit, person)
	if unit == "" {
		subject.OrganizationalUnit = nil
	}
	c, err := p.issue(p.Intermediate, spec{
		name: name, serial: serial.Int64() + 1_000_000, key: key, subject: subject,
		notBefore: LeafNotBefore, notAfter: LeafNotAfter,
		ku:  x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		eku: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}, unknown: []asn1.ObjectIdentifier{OIDDocumentSigning},
		leaf: true,
	})
	if err != nil {
		return nil, fmt.Errorf("testpki: %w", err)
	}
	p.mu.Lock()
	p.statuses[c.Cert.SerialNumber.String()] = status{}
	p.mu.Unlock()
	return c, nil
}

// Start is New for code that has no testing.TB (keiyakutest's Scope, an
// example program): it returns the PKI or the error, and the caller stops
// the responders with Close.
func Start() (*PKI, error) {
	p := &PKI{now: Now, statuses: map[string]status{}, counts: map[string]int{}}
	p.srv = httptest.NewServer(p.handler())
	if err := p.build(p.srv.URL); err != nil {
		p.srv.Close()
		return nil, fmt.Errorf("testpki: %w", err)
	}
	return p, nil
}

// Close stops the responders of a PKI made by Start.
func (p *PKI) Close() { p.srv.Close() }
