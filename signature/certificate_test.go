package signature

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestReadableNames: subject and issuer strings name the attributes a
// person knows (emailAddress=, serialNumber=, organizationIdentifier=),
// not a dotted OID and hex, and escape what RFC 4514 §2.4 says to.
func TestReadableNames(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	oid := func(s ...int) asn1.ObjectIdentifier { return s }
	subject := pkix.Name{
		Country: []string{"JP"}, Organization: []string{"株式会社テスト, 本社"}, CommonName: "山田 太郎",
		SerialNumber: "1234567890123",
		ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oid(1, 2, 840, 113549, 1, 9, 1), Value: "taro@example.jp"},
			{Type: oid(2, 5, 4, 97), Value: "NTRJP-1234567890123"},
			{Type: oid(2, 5, 4, 42), Value: "太郎"},
			{Type: oid(1, 2, 3, 4), Value: "private"},
		},
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: subject, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	d := describeCertificate(cert)
	for _, s := range []string{d.Subject, d.Issuer, readableName(nil, subject)} {
		for _, want := range []string{"emailAddress=taro@example.jp", "serialNumber=1234567890123", "organizationIdentifier=NTRJP-1234567890123", "GN=太郎", "CN=山田 太郎", `O=株式会社テスト\, 本社`, "C=JP", "1.2.3.4=private"} {
			if !strings.Contains(s, want) {
				t.Errorf("%q lacks %q", s, want)
			}
		}
		if strings.Contains(s, "1.2.840.113549") || strings.Contains(s, "2.5.4.97") || strings.Contains(s, "=#") {
			t.Errorf("%q still names an attribute by OID or a value by hex", s)
		}
	}
}

// FuzzReadableName: any DER given as a raw name formats without panicking.
func FuzzReadableName(f *testing.F) {
	name := pkix.Name{CommonName: "a+b", Country: []string{"JP"}}
	der, err := asn1.Marshal(name.ToRDNSequence())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		_ = readableName(raw, name)
	})
}
