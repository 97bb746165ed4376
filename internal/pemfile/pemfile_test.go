package pemfile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadCertificatesAndKey(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pemfile"}, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, blk := range blocks {
			b = append(b, pem.EncodeToMemory(blk)...)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	both := write("both.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: pk}, &pem.Block{Type: "CERTIFICATE", Bytes: der}, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	certs, err := Certificates(both)
	if err != nil || len(certs) != 2 || certs[0].Subject.CommonName != "pemfile" {
		t.Fatalf("Certificates: %v, %d", err, len(certs))
	}
	for _, p := range []string{both, write("sec1.pem", &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})} {
		k, err := PrivateKey(p)
		if err != nil || !k.Public().(*ecdsa.PublicKey).Equal(key.Public()) {
			t.Fatalf("PrivateKey(%s): %v", p, err)
		}
	}
	bad := []struct{ name, path, want string }{
		{"no PEM", write("empty.pem"), "no PEM block"},
		{"no certificate", write("key.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: pk}), "no PEM CERTIFICATE"},
		{"broken certificate", write("broken.pem", &pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x01}}), "pemfile"},
		{"missing", filepath.Join(dir, "missing.pem"), "no such file"},
	}
	for _, c := range bad {
		if _, err := Certificates(c.path); err == nil || !strings.Contains(err.Error(), filepath.Base(c.path)) && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
	if _, err := PrivateKey(write("certonly.pem", &pem.Block{Type: "CERTIFICATE", Bytes: der})); err == nil {
		t.Error("PrivateKey accepted a file without a key")
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, MaxSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversize file: %v", err)
	}
}

// FuzzParseKey: arbitrary DER never panics, and a key it returns can sign.
func FuzzParseKey(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	sec1, _ := x509.MarshalECPrivateKey(key)
	f.Add(pk)
	f.Add(sec1)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		k, err := ParseKey(der)
		if err != nil {
			return
		}
		if k.Public() == nil {
			t.Fatal("a parsed key without a public key")
		}
	})
}
