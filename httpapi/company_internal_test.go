package httpapi

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
)

// FuzzParseCertificate: any input is a certificate or kerr.Invalid,
// never a panic; PEM and base64 DER of one certificate parse alike.
func FuzzParseCertificate(f *testing.F) {
	pki := testpki.New(f)
	raw := pki.ECDSAP256.Cert.Raw
	f.Add(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: raw})))
	f.Add(base64.StdEncoding.EncodeToString(raw))
	f.Add("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
	f.Add("-----BEGIN")
	f.Add("")
	for _, s := range []string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: raw})), base64.StdEncoding.EncodeToString(raw)} {
		c, err := parseCertificate("test", "certificate", s)
		if err != nil || !c.Equal(pki.ECDSAP256.Cert) {
			f.Fatalf("parse %.20q: %v", s, err)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCertificate("test", "certificate", s)
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("error of kind %v: %v", kerr.Of(err), err)
			}
			return
		}
		if _, err := x509.ParseCertificate(c.Raw); err != nil {
			t.Fatal(err)
		}
	})
}
