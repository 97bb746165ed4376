package timestamp_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/timestamp"
)

// testNow is the fixed clock of the tests.
var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var testPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 1}

type testPKI struct {
	rootKey  crypto.Signer
	root     *x509.Certificate
	tsaKey   crypto.Signer
	tsa      *x509.Certificate
	tsaTwin  *x509.Certificate // same key and issuer as tsa, next serial
	badEKU   *x509.Certificate // same key, EKU not critical
	expired  *x509.Certificate // same key, expired before testNow
	roots    *x509.CertPool
	tsaCount int
}

var oidEKU = asn1.ObjectIdentifier{2, 5, 29, 37}

// criticalTimeStampingEKU is the extension RFC 3161 §2.3 asks for;
// crypto/x509 always writes ExtKeyUsage non-critical, so it is given as an
// extra extension.
func criticalTimeStampingEKU(t testing.TB) pkix.Extension {
	der, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidEKU, Critical: true, Value: der}
}

func mustKey(t testing.TB) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	p := &testPKI{rootKey: mustKey(t), tsaKey: mustKey(t)}
	rootTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "keiyaku test root", Organization: []string{"keiyaku"}},
		NotBefore:             time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	p.root = issue(t, rootTmpl, rootTmpl, p.rootKey.Public(), p.rootKey)
	p.roots = x509.NewCertPool()
	p.roots.AddCert(p.root)
	mk := func(serial int64, notAfter time.Time, ext []pkix.Extension, eku []x509.ExtKeyUsage) *x509.Certificate {
		return issue(t, &x509.Certificate{
			SerialNumber:    big.NewInt(serial),
			Subject:         pkix.Name{CommonName: "keiyaku test TSA", Organization: []string{"keiyaku"}},
			NotBefore:       time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:        notAfter,
			KeyUsage:        x509.KeyUsageDigitalSignature,
			ExtraExtensions: ext,
			ExtKeyUsage:     eku,
		}, p.root, p.tsaKey.Public(), p.rootKey)
	}
	later := time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
	p.tsa = mk(1001, later, []pkix.Extension{criticalTimeStampingEKU(t)}, nil)
	p.tsaTwin = mk(1002, later, []pkix.Extension{criticalTimeStampingEKU(t)}, nil)
	p.badEKU = mk(1003, later, nil, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping})
	p.expired = mk(1004, testNow.Add(-time.Hour), []pkix.Extension{criticalTimeStampingEKU(t)}, nil)
	return p
}

// authority returns an Authority on the fixed clock with in-memory serials.
func (p *testPKI) authority(t testing.TB, cert *x509.Certificate) *timestamp.Authority {
	t.Helper()
	cfg := timestamp.AuthorityConfig{
		Signer:      p.tsaKey,
		Certificate: cert,
		Policy:      testPolicy,
		Accuracy:    1500 * time.Millisecond,
		Clock:       func() time.Time { return testNow },
		Serials:     timestamp.NewMemorySerialStore(0),
	}
	if cert != p.tsa && cert != p.tsaTwin {
		return timestamp.NewAuthorityUnchecked(cfg)
	}
	a, err := timestamp.NewAuthority(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
