package testpki

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"sync/atomic"
	"testing"
)

// issuedSerials numbers the certificates of IssueSignerForKey (from 10001) so
// they never clash with the fixed serials of New.
var issuedSerials atomic.Int64

// IssueSignerForKey issues a signer leaf certificate (the profile of RSA and
// ECDSAP256: digitalSignature and nonRepudiation, documentSigning,
// PolicyOID, valid LeafNotBefore..LeafNotAfter) from Intermediate for a
// key this PKI did not make, such as one generated inside a PKCS#11
// token. Only key.Public() is read. The OCSP responder and the CRL know
// the new certificate as good.
func (p *PKI) IssueSignerForKey(tb testing.TB, name, commonName string, key crypto.Signer) *Cert {
	tb.Helper()
	serial := 10000 + issuedSerials.Add(1)
	c, err := p.issue(p.Intermediate, spec{
		name: name, serial: serial, key: key,
		subject:   jpName("株式会社テスト", "法務部 Legal", commonName),
		notBefore: LeafNotBefore, notAfter: LeafNotAfter,
		ku:  x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		eku: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}, unknown: []asn1.ObjectIdentifier{OIDDocumentSigning}, leaf: true,
	})
	if err != nil {
		tb.Fatalf("testpki: %v", err)
	}
	p.mu.Lock()
	p.statuses[c.Cert.SerialNumber.String()] = status{}
	p.mu.Unlock()
	return c
}
