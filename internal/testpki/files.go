package testpki

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keiyaku/keiyaku/internal/testenv"
)

// Files are the paths written by WritePEM.
type Files struct {
	Key   string // PKCS#8 private key, "PRIVATE KEY"
	Cert  string // the leaf certificate
	Chain string // Intermediate then Root
	Root  string // Root alone: the trust anchor
}

// WritePEM writes c's key, certificate, chain and the root as PEM files
// named after c.Name into dir. It calls tb.Fatal on failure.
func (p *PKI) WritePEM(tb testing.TB, dir string, c *Cert) Files {
	tb.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		tb.Fatalf("testpki: marshal %s key: %v", c.Name, err)
	}
	f := Files{
		Key:   filepath.Join(dir, c.Name+".key.pem"),
		Cert:  filepath.Join(dir, c.Name+".cert.pem"),
		Chain: filepath.Join(dir, c.Name+".chain.pem"),
		Root:  filepath.Join(dir, "root.pem"),
	}
	write := func(path, typ string, ders ...[]byte) {
		var out []byte
		for _, d := range ders {
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			tb.Fatalf("testpki: %v", err)
		}
	}
	write(f.Key, "PRIVATE KEY", keyDER)
	write(f.Cert, "CERTIFICATE", c.Cert.Raw)
	write(f.Chain, "CERTIFICATE", p.Intermediate.Cert.Raw, p.Root.Cert.Raw)
	write(f.Root, "CERTIFICATE", p.Root.Cert.Raw)
	return f
}

// WritePKCS12 writes c's key, certificate and chain as a PKCS#12 file
// protected by password, with friendly name c.Name, and returns its path.
// No module in go.mod writes PKCS#12, so it runs `openssl pkcs12 -export`;
// it uses 3DES/SHA-1 PBE and a SHA-1 MAC so that golang.org/x/crypto/pkcs12
// (which reads only those) and NSS's pk12util both accept it. Skips (or
// fails when CI=true) if openssl is missing.
func (p *PKI) WritePKCS12(tb testing.TB, dir string, c *Cert, password string) string {
	tb.Helper()
	openssl := RequireTool(tb, "openssl")
	f := p.WritePEM(tb, dir, c)
	out := filepath.Join(dir, c.Name+".p12")
	cmd := exec.Command(openssl, "pkcs12", "-export",
		"-inkey", f.Key, "-in", f.Cert, "-certfile", f.Chain,
		"-name", c.Name, "-out", out, "-passout", "pass:"+password,
		"-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("testpki: openssl pkcs12 -export for %s: %v\n%s", c.Name, err, b)
	}
	return out
}

// RequireTool returns the path of the external program name. When it is
// missing the test is skipped, or fails under CI (see internal/testenv).
func RequireTool(tb testing.TB, name string) string {
	tb.Helper()
	pkg := map[string]string{"pdfsig": "poppler-utils", "pdffonts": "poppler-utils", "pdftoppm": "poppler-utils", "certutil": "libnss3-tools", "pk12util": "libnss3-tools", "qpdf": "qpdf", "openssl": "openssl"}[name]
	if pkg == "" {
		pkg = name
	}
	return testenv.Command(tb, name, pkg)
}
