package pemfile

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/keiyaku/keiyaku/internal/testpki"
)

// TestRevocationFiles: a CRL in DER and PEM and an OCSP response are
// read; a certificate, an OCSP response given as a CRL and garbage are
// refused with the file's name.
func TestRevocationFiles(t *testing.T) {
	p := testpki.New(t)
	crl, err := p.CRL(p.Intermediate, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.OCSPFor(p.RSA, p.Intermediate)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, path := range []string{write("int.crl", crl), write("int.crl.pem", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}))} {
		if got, err := CRL(path); err != nil || !bytes.Equal(got, crl) {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if got, err := OCSPResponse(write("rsa.ocsp", resp)); err != nil || !bytes.Equal(got, resp) {
		t.Fatalf("OCSP: %v", err)
	}
	for _, bad := range []string{
		write("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.RSA.Cert.Raw})),
		write("ocsp-as-crl", resp), write("garbage", []byte("garbage")),
	} {
		if _, err := CRL(bad); err == nil || !bytes.Contains([]byte(err.Error()), []byte(bad)) {
			t.Errorf("CRL(%s) = %v; want an error naming the file", bad, err)
		}
	}
	if _, err := OCSPResponse(write("crl-as-ocsp", crl)); err == nil {
		t.Error("a CRL read as an OCSP response")
	}
}

// FuzzParseRevocation: arbitrary bytes never panic either parser.
func FuzzParseRevocation(f *testing.F) {
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if der, err := ParseCRL(b); err == nil && len(der) == 0 {
			t.Fatal("an empty CRL accepted")
		}
		if der, err := ParseOCSPResponse(b); err == nil && len(der) == 0 {
			t.Fatal("an empty OCSP response accepted")
		}
	})
}
