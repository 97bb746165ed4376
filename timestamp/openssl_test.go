package timestamp_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/timestamp"
)

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func openssl(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	bin := testenv.Command(t, "openssl", "openssl")
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return out
}

// TestOpenSSLVerifiesOurResponse: openssl ts -verify accepts a response
// from our Authority served over HTTP.
func TestOpenSSLVerifiesOurResponse(t *testing.T) {
	p := newTestPKI(t)
	srv := httptest.NewServer(p.authority(t, p.tsa))
	defer srv.Close()
	dir := t.TempDir()
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", p.root.Raw)
	writePEM(t, filepath.Join(dir, "tsa.pem"), "CERTIFICATE", p.tsa.Raw)
	d := sha256Of(document)
	hexDigest := hex.EncodeToString(d)
	openssl(t, dir, "ts", "-query", "-digest", hexDigest, "-sha256", "-cert", "-out", "req.tsq")
	req, err := os.ReadFile(filepath.Join(dir, "req.tsq"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Post(srv.URL, timestamp.ContentTypeQuery, bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, err = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "resp.tsr"), body.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	openssl(t, dir, "ts", "-verify", "-digest", hexDigest, "-in", "resp.tsr", "-CAfile", "ca.pem", "-untrusted", "tsa.pem")
	// With the request, openssl also checks the nonce and the policy.
	openssl(t, dir, "ts", "-verify", "-queryfile", "req.tsq", "-in", "resp.tsr", "-CAfile", "ca.pem", "-untrusted", "tsa.pem")

	// And it refuses the response for another digest.
	bin := testenv.Command(t, "openssl", "openssl")
	cmd := exec.Command(bin, "ts", "-verify", "-digest", hex.EncodeToString(sha256Of([]byte("x"))), "-in", "resp.tsr", "-CAfile", "ca.pem", "-untrusted", "tsa.pem")
	cmd.Dir = dir
	if err := cmd.Run(); err == nil {
		t.Fatal("openssl verified the token for another digest")
	}
}

const tsaConfig = `
[tsa]
default_tsa = tsa_config1

[tsa_config1]
dir = .
serial = ./serial
crypto_device = builtin
signer_cert = ./tsa.pem
certs = ./tsa.pem
signer_key = ./tsakey.pem
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1.1
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 3
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = ESSALG
`

// TestWeVerifyOpenSSLTokens: Verify accepts tokens from openssl ts -reply,
// with ESSCertID (SHA-1) and ESSCertIDv2 (SHA-256, the DEFAULT left out,
// and SHA-384, written out).
func TestWeVerifyOpenSSLTokens(t *testing.T) {
	p := newTestPKI(t)
	for _, essAlg := range []string{"sha1", "sha256", "sha384"} {
		t.Run("ess-"+essAlg, func(t *testing.T) {
			dir := t.TempDir()
			writePEM(t, filepath.Join(dir, "tsa.pem"), "CERTIFICATE", p.tsa.Raw)
			pk, err := x509.MarshalPKCS8PrivateKey(p.tsaKey)
			if err != nil {
				t.Fatal(err)
			}
			writePEM(t, filepath.Join(dir, "tsakey.pem"), "PRIVATE KEY", pk)
			cfg := bytes.ReplaceAll([]byte(tsaConfig), []byte("ESSALG"), []byte(essAlg))
			if err := os.WriteFile(filepath.Join(dir, "tsa.cnf"), cfg, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "serial"), []byte("0A\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "data"), document, 0o600); err != nil {
				t.Fatal(err)
			}
			openssl(t, dir, "ts", "-query", "-data", "data", "-sha256", "-cert", "-out", "req.tsq")
			before := time.Now().Add(-2 * time.Second)
			openssl(t, dir, "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "req.tsq", "-out", "resp.tsr")
			raw, err := os.ReadFile(filepath.Join(dir, "resp.tsr"))
			if err != nil {
				t.Fatal(err)
			}
			token, err := timestamp.ParseResponse(raw)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(document)
			tok, err := timestamp.Verify(token, sum[:], &timestamp.VerifyOptions{Roots: p.roots})
			if err != nil {
				t.Fatal(err)
			}
			// openssl ts increments the serial file before use: 0x0A -> 11.
			if tok.Serial.Int64() != 11 || !tok.Policy.Equal(testPolicy) || tok.Hash != crypto.SHA256 ||
				!tok.Ordering || tok.Accuracy != 1500100*time.Microsecond || tok.TSAName == "" ||
				tok.Time.Before(before) || tok.Time.After(time.Now().Add(2*time.Second)) {
				t.Fatalf("token fields: serial %v policy %v hash %v ordering %v accuracy %v name %q time %v",
					tok.Serial, tok.Policy, tok.Hash, tok.Ordering, tok.Accuracy, tok.TSAName, tok.Time)
			}
			if _, err := timestamp.Verify(token, sha256Of([]byte("x")), &timestamp.VerifyOptions{Roots: p.roots}); !errors.Is(err, timestamp.ErrImprintMismatch) {
				t.Fatalf("wrong digest: %v", err)
			}
		})
	}
}

// TestClientAgainstOpenSSLReply runs the Client against an HTTP front of
// openssl ts -reply, so the Client's request is what openssl parses.
func TestClientAgainstOpenSSLReply(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	writePEM(t, filepath.Join(dir, "tsa.pem"), "CERTIFICATE", p.tsa.Raw)
	pk, err := x509.MarshalPKCS8PrivateKey(p.tsaKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "tsakey.pem"), "PRIVATE KEY", pk)
	cfg := bytes.ReplaceAll([]byte(tsaConfig), []byte("ESSALG"), []byte("sha256"))
	if err := os.WriteFile(filepath.Join(dir, "tsa.cnf"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "serial"), []byte("01\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		if _, err := body.ReadFrom(r.Body); err != nil {
			t.Error(err)
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "req.tsq"), body.Bytes(), 0o600); err != nil {
			t.Error(err)
			return
		}
		openssl(t, dir, "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "req.tsq", "-out", "resp.tsr")
		out, err := os.ReadFile(filepath.Join(dir, "resp.tsr"))
		if err != nil {
			t.Error(err)
			return
		}
		w.Header().Set("Content-Type", timestamp.ContentTypeReply)
		_, _ = w.Write(out)
	}))
	defer srv.Close()
	c := &timestamp.Client{URL: srv.URL, HTTPClient: srv.Client(), Policy: testPolicy, Verify: &timestamp.VerifyOptions{Roots: p.roots}}
	if _, err := c.Timestamp(context.Background(), sha256Of(document)); err != nil {
		t.Fatal(err)
	}
}
