package keiyaku_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/kerr"
)

// FuzzTSAFiles feeds Open arbitrary development TSA files: it either
// refuses them with kerr.Internal or runs with a TSA certificate, and
// never panics.
func FuzzTSAFiles(f *testing.F) {
	// A valid pair to start from.
	seedDir := f.TempDir()
	svc, err := keiyaku.Open(context.Background(), keiyaku.Config{Dir: seedDir, PasswordParams: fastParams, Clock: fixedClock})
	if err != nil {
		f.Fatal(err)
	}
	svc.Close()
	key, _ := os.ReadFile(filepath.Join(seedDir, "tsa", "tsa-key.pem"))
	cert, _ := os.ReadFile(filepath.Join(seedDir, "tsa", "tsa-cert.pem"))
	goodKey, goodCert := key, cert
	f.Add(key, cert)
	f.Add(key, key)
	f.Add(cert, cert)
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), cert)
	f.Add([]byte{}, []byte{})
	f.Add(key, cert[:len(cert)/2])
	f.Fuzz(func(t *testing.T, key, cert []byte) {
		// Not t.TempDir: fuzz test names hold '#', which SQLite paths may not.
		dir, err := os.MkdirTemp("", "keiyaku-fuzz-*")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		tsa := filepath.Join(dir, "tsa")
		if err := os.MkdirAll(tsa, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tsa, "tsa-key.pem"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tsa, "tsa-cert.pem"), cert, 0o600); err != nil {
			t.Fatal(err)
		}
		svc, err := keiyaku.Open(context.Background(), keiyaku.Config{Dir: dir, PasswordParams: fastParams, Clock: fixedClock})
		valid := bytes.Equal(key, goodKey) && bytes.Equal(cert, goodCert)
		if err != nil {
			if valid {
				t.Fatalf("Open refused the TSA files it made itself: %v", err)
			}
			if !errors.Is(err, kerr.Internal) && !errors.Is(err, kerr.Invalid) {
				t.Fatalf("Open = %v, want kerr.Internal or kerr.Invalid", err)
			}
			return
		}
		defer svc.Close()
		if svc.TSACertificate == nil {
			t.Fatal("Open succeeded without a TSA certificate")
		}
	})
}
