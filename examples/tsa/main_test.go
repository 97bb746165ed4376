package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/timestamp"

	"github.com/keiyaku/keiyaku/internal/pemfile"
)

// TestDevCredentials: the development key and certificate make a valid
// RFC 3161 §2.3 TSA whose tokens verify against the certificate, and a
// second start reuses them.
func TestDevCredentials(t *testing.T) {
	dir := t.TempDir()
	keyPath, certPath, err := devCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := devCredentials(dir); err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(certPath)
	if err != nil || !bytes.Equal(certPEM, again) {
		t.Fatal("second start replaced the development certificate")
	}
	key, err := pemfile.PrivateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pemfile.Certificates(certPath)
	if err != nil {
		t.Fatal(err)
	}
	serials, err := timestamp.NewFileSerialStore(dir + "/serial")
	if err != nil {
		t.Fatal(err)
	}
	tsa, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: key, Certificate: certs[0], Policy: []int{1, 3, 6, 1, 4, 1, 99999, 1, 1},
		Serials: serials, Clock: func() time.Time { return time.Now() },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tsa)
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(certs[0])
	d := sha256.Sum256([]byte("x"))
	c := &timestamp.Client{URL: srv.URL, Verify: &timestamp.VerifyOptions{Roots: roots}}
	if _, err := c.Timestamp(context.Background(), d[:]); err != nil {
		t.Fatal(err)
	}
}

func TestParseOID(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"1.3.6.1.4.1.99999.1.1", true},
		{"2.5", true},
		{"1", false},
		{"1..2", false},
		{"1.-2", false},
		{"abc", false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			_, err := parseOID(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("parseOID(%q) error = %v", tc.in, err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/x.pem"
	if err := os.WriteFile(p, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pemfile.PrivateKey(p); err == nil {
		t.Fatal("loadKey accepted a file without PEM")
	}
	if _, err := pemfile.Certificates(p); err == nil {
		t.Fatal("loadCerts accepted a file without certificates")
	}
}
