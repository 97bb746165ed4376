package timestamp_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net/http/httptest"
	"time"

	"github.com/keiyaku/keiyaku/timestamp"
)

// exampleTSA makes a self-signed TSA certificate with the critical,
// timeStamping-only extended key usage RFC 3161 §2.3 requires.
func exampleTSA() (crypto.Signer, *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Example TSA"},
		NotBefore:             time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return key, cert
}

// ExampleAuthority runs a local TSA over HTTP and stamps a document's
// digest with a Client, which verifies the token against the TSA's root.
func ExampleAuthority() {
	key, cert := exampleTSA()
	tsa, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer:      key,
		Certificate: cert,
		Policy:      asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 1},
		Accuracy:    time.Second,
		Clock:       func() time.Time { return time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC) },
		Serials:     timestamp.NewMemorySerialStore(0),
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(tsa)
	defer srv.Close()

	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client := &timestamp.Client{URL: srv.URL, Verify: &timestamp.VerifyOptions{Roots: roots}}
	digest := sha256.Sum256([]byte("contract.pdf"))
	tok, err := client.Timestamp(context.Background(), digest[:])
	if err != nil {
		panic(err)
	}
	fmt.Println("serial:", tok.Serial)
	fmt.Println("time:", tok.Time.Format(time.RFC3339))
	fmt.Println("accuracy:", tok.Accuracy)
	fmt.Println("tsa:", tok.TSAName)
	// Output:
	// serial: 1
	// time: 2026-04-01T09:00:00Z
	// accuracy: 1s
	// tsa: CN=Example TSA
}

// ExampleVerify checks a token against the digest it should stamp.
func ExampleVerify() {
	key, cert := exampleTSA()
	tsa, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: key, Certificate: cert,
		Policy:  asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 1},
		Clock:   func() time.Time { return time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC) },
		Serials: timestamp.NewMemorySerialStore(41),
	})
	if err != nil {
		panic(err)
	}
	digest := sha256.Sum256([]byte("supplementary.xlsx"))
	issued, err := tsa.Timestamp(context.Background(), crypto.SHA256, digest[:], &timestamp.TimestampOptions{CertReq: true})
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	tok, err := timestamp.Verify(issued.Raw, digest[:], &timestamp.VerifyOptions{Roots: roots})
	fmt.Println(tok.Serial, err)

	other := sha256.Sum256([]byte("something else"))
	_, err = timestamp.Verify(issued.Raw, other[:], &timestamp.VerifyOptions{Roots: roots})
	fmt.Println(err)
	// Output:
	// 42 <nil>
	// timestamp: message imprint does not match
}
