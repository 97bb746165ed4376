package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

func TestSignCLI(t *testing.T) {
	if _, err := os.Stat(signature.DefaultFontPath); err != nil {
		testenv.Missing(t, signature.DefaultFontPath+" not found: install the Debian package fonts-ipaexfont")
	}
	p := testpki.New(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdftest.OnePage("BT ET").Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	rsa := p.WritePEM(t, dir, p.RSA)
	p12 := p.WritePKCS12(t, dir, p.ECDSAP256, "パスワード")
	pw := filepath.Join(dir, "pw.txt")
	if err := os.WriteFile(pw, []byte("パスワード\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongPW := filepath.Join(dir, "wrong.txt")
	if err := os.WriteFile(wrongPW, []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seal := filepath.Join(dir, "seal.png")
	if err := os.WriteFile(seal, sealPNG(t), 0o600); err != nil {
		t.Fatal(err)
	}
	auth, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: p.TSA.Key, Certificate: p.TSA.Cert, Policy: testpki.PolicyOID,
		Clock: func() time.Time { return testpki.Now }, Serials: timestamp.NewMemorySerialStore(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	tsa := httptest.NewServer(auth)
	defer tsa.Close()
	db := p.NSSDB(t, t.TempDir())

	tests := []struct {
		name     string
		args     []string
		want     int
		contains []string // in the output file
	}{
		{"pem B-B", []string{"-key", rsa.Key, "-cert", rsa.Cert, "-chain", rsa.Chain, "-reason", "承認"}, 0, []string{"/ETSI.CAdES.detached"}},
		{"p12 visible certify", []string{"-p12", p12, "-password-file", pw, "-certify", "2", "-visible", "1,50,50,250,100", "-text", `株式会社テスト\nSato`}, 0, []string{"/DocMDP", "/FontFile2", "+IPAexGothic", "/Identity-H"}},
		{"visible, non-embedded font", []string{"-key", rsa.Key, "-cert", rsa.Cert, "-visible", "1,50,50,250,100", "-font", "none"}, 0, []string{"/UniJIS-UCS2-H", "/HeiseiKakuGo-W5"}},
		{"visible with seal", []string{"-key", rsa.Key, "-cert", rsa.Cert, "-visible", "1,50,50,250,100", "-image", seal}, 0, []string{"/FontFile2", "/SMask"}},
		{"B-LTA", []string{"-key", rsa.Key, "-cert", rsa.Cert, "-chain", rsa.Chain, "-level", "B-LTA", "-tsa", tsa.URL}, 0, []string{"/DSS", "/ETSI.RFC3161"}},
		{"no arguments", nil, 2, nil},
		{"missing font", []string{"-key", rsa.Key, "-cert", rsa.Cert, "-visible", "1,50,50,250,100", "-font", filepath.Join(dir, "none.ttf")}, 2, nil},
		{"image not a PNG", []string{"-key", rsa.Key, "-cert", rsa.Cert, "-visible", "1,50,50,250,100", "-image", pw}, 2, nil},
		{"image with non-embedded font", []string{"-key", rsa.Key, "-cert", rsa.Cert, "-visible", "1,50,50,250,100", "-font", "none", "-image", seal}, 2, nil},
		{"key and p12", []string{"-p12", p12, "-key", rsa.Key, "-cert", rsa.Cert}, 2, nil},
		{"B-T without tsa", []string{"-key", rsa.Key, "-cert", rsa.Cert, "-level", "B-T"}, 2, nil},
		{"bad level", []string{"-key", rsa.Key, "-cert", rsa.Cert, "-level", "B-X"}, 2, nil},
		{"wrong password", []string{"-p12", p12, "-password-file", wrongPW}, 2, nil},
		{"key of another cert", []string{"-key", rsa.Key, "-cert", p.WritePEM(t, t.TempDir(), p.ECDSAP384).Cert}, 2, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "out"+string(rune('a'+i))+".pdf")
			args := tt.args
			if args != nil {
				args = append(append([]string{}, args...), in, out)
			}
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), args, &stdout, &stderr); got != tt.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", got, tt.want, stderr.String())
			}
			b, err := os.ReadFile(out)
			if tt.want != 0 {
				if err == nil {
					t.Fatal("output written despite failure")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, stdout.String(), out, int64(len(b)))
			for _, c := range tt.contains {
				if !bytes.Contains(b, []byte(c)) {
					t.Errorf("output lacks %q", c)
				}
			}
			res, err := exec.Command(testpki.RequireTool(t, "pdfsig"), "-nssdir", db, "-no-ocsp", out).CombinedOutput()
			if err != nil || !strings.Contains(string(res), "Signature is Valid.") || !strings.Contains(string(res), "Certificate is Trusted.") {
				t.Fatalf("pdfsig: %v\n%s", err, res)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".sign-*")); len(left) != 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		})
	}
	bad := filepath.Join(dir, "bad.pdf")
	if err := os.WriteFile(bad, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		in   string
		args []string
		want int
	}{
		{"not a PDF", bad, []string{"-key", rsa.Key, "-cert", rsa.Cert}, 2},
		{"unreadable input", filepath.Join(dir, "missing.pdf"), []string{"-key", rsa.Key, "-cert", rsa.Cert}, 2},
		{"input is a directory", dir, []string{"-key", rsa.Key, "-cert", rsa.Cert}, 2},
		{"TSA unreachable", in, []string{"-key", rsa.Key, "-cert", rsa.Cert, "-level", "B-T", "-tsa", "http://127.0.0.1:1/"}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "never.pdf")
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), append(tt.args, tt.in, out), &stdout, &stderr); got != tt.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", got, tt.want, stderr.String())
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatal("output exists after failure")
			}
			if stdout.Len() != 0 || stderr.Len() == 0 {
				t.Fatalf("stdout %q, stderr %q: want the reason on stderr only", stdout.String(), stderr.String())
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".sign-*")); len(left) != 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		})
	}
	t.Run("-h", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if got := run(context.Background(), []string{"-h"}, &stdout, &stderr); got != 0 {
			t.Fatalf("exit %d, want 0", got)
		}
		if !strings.Contains(stdout.String(), "usage: sign") || !strings.Contains(stdout.String(), "-pkcs11-module") {
			t.Fatalf("usage not printed to stdout: %q", stdout.String())
		}
	})
}

// checkReport asserts that sign's line on stdout names the output, its
// size, a level and a field.
func checkReport(t *testing.T, stdout, out string, size int64) {
	t.Helper()
	want := fmt.Sprintf("wrote %s (%d bytes), level ", out, size)
	if !strings.Contains(stdout, want) || !strings.Contains(stdout, `field "`) || strings.Contains(stdout, `field ""`) {
		t.Fatalf("report %q lacks %q or a field name", stdout, want)
	}
}

// sealPNG is a red square ring on a transparent background.
func sealPNG(t *testing.T) []byte {
	im := image.NewNRGBA(image.Rect(0, 0, 40, 40))
	for y := range 40 {
		for x := range 40 {
			if x < 4 || y < 4 || x >= 36 || y >= 36 {
				im.SetNRGBA(x, y, color.NRGBA{R: 0xd0, A: 0xff})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
