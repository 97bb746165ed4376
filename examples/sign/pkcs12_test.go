package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// TestSignCLIPKCS12Kinds signs with PKCS#12 files written by `openssl
// pkcs12 -export` in its modern form (PBES2: PBKDF2 + AES-256-CBC,
// HMAC-SHA-256 MAC) and with -legacy (RC2-40 certificates, 3DES key,
// SHA-1 MAC), each checked with `openssl pkcs12 -info` to be what it
// claims; a wrong password exits 2 and writes nothing.
func TestSignCLIPKCS12Kinds(t *testing.T) {
	openssl := testpki.RequireTool(t, "openssl")
	p := testpki.New(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdftest.OnePage("BT ET").Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	const password = "署名パスワード1"
	pw := filepath.Join(dir, "pw.txt")
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "wrong.txt")
	if err := os.WriteFile(wrong, []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := p.NSSDB(t, t.TempDir())
	kinds := []struct {
		name  string
		extra []string
		info  []string // in `openssl pkcs12 -info`
	}{
		{"modern", nil, []string{"MAC: sha256", "PBES2, PBKDF2, AES-256-CBC"}},
		{"legacy", []string{"-legacy"}, []string{"MAC: sha1", "pbeWithSHA1And40BitRC2-CBC", "pbeWithSHA1And3-KeyTripleDES-CBC"}},
	}
	for _, kind := range kinds {
		for _, c := range []*testpki.Cert{p.RSA, p.ECDSAP256} {
			t.Run(kind.name+" "+c.Name, func(t *testing.T) {
				f := p.WritePEM(t, t.TempDir(), c)
				p12 := filepath.Join(dir, kind.name+"-"+c.Name+".p12")
				args := append([]string{"pkcs12", "-export", "-inkey", f.Key, "-in", f.Cert, "-certfile", f.Chain,
					"-name", c.Name, "-out", p12, "-passout", "pass:" + password}, kind.extra...)
				if b, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
					t.Fatalf("openssl %v: %v\n%s", args, err, b)
				}
				info, err := exec.Command(openssl, append([]string{"pkcs12", "-in", p12, "-info", "-noout", "-passin", "pass:" + password}, kind.extra...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("openssl pkcs12 -info: %v\n%s", err, info)
				}
				for _, s := range kind.info {
					if !strings.Contains(string(info), s) {
						t.Fatalf("%s file lacks %q:\n%s", kind.name, s, info)
					}
				}
				out := filepath.Join(dir, kind.name+"-"+c.Name+".pdf")
				var stdout, stderr bytes.Buffer
				if got := run(context.Background(), []string{"-p12", p12, "-password-file", wrong, in, out}, &stdout, &stderr); got != 2 {
					t.Fatalf("wrong password: exit %d, want 2; stderr:\n%s", got, stderr.String())
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Fatal("output written with a wrong password")
				}
				if got := run(context.Background(), []string{"-p12", p12, "-password-file", pw, in, out}, &stdout, &stderr); got != 0 {
					t.Fatalf("exit %d, want 0; stderr:\n%s", got, stderr.String())
				}
				res, err := exec.Command(testpki.RequireTool(t, "pdfsig"), "-nssdir", db, "-no-ocsp", out).CombinedOutput()
				if err != nil || !strings.Contains(string(res), "Signature is Valid.") || !strings.Contains(string(res), "Certificate is Trusted.") {
					t.Fatalf("pdfsig: %v\n%s", err, res)
				}
			})
		}
	}
}
