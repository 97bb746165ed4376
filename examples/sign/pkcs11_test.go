//go:build cgo

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/softhsm"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/timestamp"
)

// TestSignCLIPKCS11 signs through a SoftHSM2 token: PIN from a file or an
// environment variable, certificate and chain from the token, up to
// B-LTA; a wrong PIN, a missing key or token, and a PIN given nowhere
// exit 2 and write nothing.
func TestSignCLIPKCS11(t *testing.T) {
	p := testpki.New(t)
	tok := softhsm.New(t, "keiyaku-cli")
	tok.AddKey(t, p, softhsm.RSA2048, "rsa-key", []byte{0x0a})
	tok.AddKey(t, p, softhsm.P256, "ec-key", []byte{0x0b})
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdftest.OnePage("BT ET").Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	pin := filepath.Join(dir, "pin.txt")
	if err := os.WriteFile(pin, []byte(softhsm.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "wrong.txt")
	if err := os.WriteFile(wrong, []byte("0000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KEIYAKU_TEST_PIN", softhsm.PIN)
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
	token := []string{"-pkcs11-module", tok.Module, "-pkcs11-token", tok.Label, "-pkcs11-chain-label", "intermediate"}

	tests := []struct {
		name string
		args []string
		want int
	}{
		{"RSA, PIN file", []string{"-pkcs11-key", "rsa-key", "-pin-file", pin}, 0},
		{"RSA PSS, PIN env", []string{"-pkcs11-key", "rsa-key", "-pin-env", "KEIYAKU_TEST_PIN", "-pss"}, 0},
		{"ECDSA by ID, B-LTA", []string{"-pkcs11-key-id", "0b", "-pin-file", pin, "-level", "B-LTA", "-tsa", tsa.URL}, 0},
		{"token by slot", []string{"-pkcs11-key", "rsa-key", "-pin-file", pin, "-pkcs11-slot", fmt.Sprint(tok.Slot)}, 0},
		{"wrong PIN", []string{"-pkcs11-key", "rsa-key", "-pin-file", wrong}, 2},
		{"missing key", []string{"-pkcs11-key", "nope", "-pin-file", pin}, 2},
		{"no PIN", []string{"-pkcs11-key", "rsa-key"}, 2},
		{"PIN env unset", []string{"-pkcs11-key", "rsa-key", "-pin-env", "KEIYAKU_TEST_NO_SUCH_PIN"}, 2},
		{"missing token", []string{"-pkcs11-key", "rsa-key", "-pin-file", pin}, 2},
		{"bad key ID", []string{"-pkcs11-key-id", "xyz", "-pin-file", pin}, 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{}, token...), tt.args...)
			switch tt.name {
			case "missing token":
				args[3] = "nope"
			case "token by slot":
				args = append(args[:2], args[4:]...) // no -pkcs11-token
			}
			out := filepath.Join(dir, "out"+string(rune('a'+i))+".pdf")
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), append(args, in, out), &stdout, &stderr); got != tt.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", got, tt.want, stderr.String())
			}
			b, err := os.ReadFile(out)
			if tt.want != 0 {
				if err == nil {
					t.Fatal("output written despite failure")
				}
				if left, _ := filepath.Glob(filepath.Join(dir, ".sign-*")); len(left) != 0 {
					t.Fatalf("temporary files left: %v", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, stdout.String(), out, int64(len(b)))
			res, err := exec.Command(testpki.RequireTool(t, "pdfsig"), "-nssdir", db, "-no-ocsp", out).CombinedOutput()
			if err != nil || !strings.Contains(string(res), "Signature is Valid.") || !strings.Contains(string(res), "Certificate is Trusted.") {
				t.Fatalf("pdfsig: %v\n%s", err, res)
			}
		})
	}
	t.Run("batch, one login, two sessions", func(t *testing.T) {
		src := t.TempDir()
		for i := range 8 {
			if err := os.WriteFile(filepath.Join(src, string(rune('a'+i))+".pdf"), pdftest.OnePage("BT ET").Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		out := filepath.Join(t.TempDir(), "signed")
		var stdout, stderr bytes.Buffer
		args := append(append([]string{}, token...), "-pkcs11-key", "ec-key", "-pin-file", pin, "-pkcs11-sessions", "2", "-jobs", "4", "-out-dir", out, src)
		if got := run(context.Background(), args, &stdout, &stderr); got != 0 {
			t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", got, stdout.String(), stderr.String())
		}
		for i := range 8 {
			checkSigned(t, p, filepath.Join(out, string(rune('a'+i))+".pdf"), 1)
		}
		if !strings.Contains(stdout.String(), "summary: 8 of 8 files signed") {
			t.Fatalf("summary:\n%s", stdout.String())
		}
	})
	t.Run("token removed mid-batch", func(t *testing.T) {
		tok := softhsm.New(t, "keiyaku-removed")
		tok.AddKey(t, p, softhsm.P256, "ec-key", []byte{0x0c})
		src := t.TempDir()
		const n = 300
		for i := range n {
			if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("c%03d.pdf", i)), pdftest.OnePage("BT ET").Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		out := filepath.Join(t.TempDir(), "signed")
		var stdout bytes.Buffer
		done := make(chan int)
		go func() {
			done <- run(context.Background(), []string{"-pkcs11-module", tok.Module, "-pkcs11-token", tok.Label,
				"-pkcs11-key", "ec-key", "-pkcs11-chain-label", "intermediate", "-pin-file", pin, "-jobs", "1", "-out-dir", out, src}, &stdout, io.Discard)
		}()
		// Remove the token once the first file is signed.
		for {
			if ents, _ := os.ReadDir(out); len(ents) > 0 && !strings.HasPrefix(ents[0].Name(), ".") {
				break
			}
			select {
			case got := <-done:
				t.Fatalf("the batch ended (exit %d) before the first file was signed:\n%s", got, stdout.String())
			case <-time.After(time.Millisecond):
			}
		}
		if b, err := exec.Command("softhsm2-util", "--delete-token", "--token", tok.Label).CombinedOutput(); err != nil {
			t.Fatalf("softhsm2-util --delete-token: %v\n%s", err, b)
		}
		if got := <-done; got != 1 {
			t.Fatalf("exit %d, want 1:\n%s", got, stdout.String())
		}
		ents, _ := os.ReadDir(out)
		if len(ents) == 0 || len(ents) == n {
			t.Fatalf("%d of %d files signed: the removal did not fall mid-run", len(ents), n)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				t.Fatalf("temporary file left: %s", e.Name())
			}
			checkSigned(t, p, filepath.Join(out, e.Name()), 1)
		}
		if want := fmt.Sprintf("%d failed", n-len(ents)); !strings.Contains(stdout.String(), want) || !strings.Contains(stdout.String(), "the token is gone") {
			t.Fatalf("summary lacks %q and the reason:\n%s", want, stdout.String())
		}
	})
}
