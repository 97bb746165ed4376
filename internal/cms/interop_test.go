package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keiyaku/keiyaku/internal/testenv"
)

// opensslFixture writes data, the key and the certificate to a directory.
func opensslFixture(t *testing.T, key crypto.Signer, cert *x509.Certificate) (dir string) {
	t.Helper()
	dir = t.TempDir()
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "key.pem"), "PRIVATE KEY", pk)
	writePEM(t, filepath.Join(dir, "cert.pem"), "CERTIFICATE", cert.Raw)
	if err := os.WriteFile(filepath.Join(dir, "data"), content, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runOpenSSL(t *testing.T, dir string, args ...string) {
	t.Helper()
	openssl := testenv.Command(t, "openssl", "openssl")
	cmd := exec.Command(openssl, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
}

// TestOpenSSLVerifiesOurs: openssl cms -verify accepts what Sign makes.
func TestOpenSSLVerifiesOurs(t *testing.T) {
	ks := testKeys(t)
	cases := []struct {
		name string
		key  string
		hash crypto.Hash
		pss  bool
	}{
		{"rsa-pkcs1", "rsa", crypto.SHA256, false},
		{"rsa-pss", "rsa", crypto.SHA384, true},
		{"ecdsa-p256", "p256", crypto.SHA256, false},
		{"ecdsa-p521", "p521", crypto.SHA512, false},
		// No Ed25519: OpenSSL 3.0's CMS cannot sign or verify it ("eddsa
		// ... invalid digest"); TestSignVerifyRoundTrip covers RFC 8419.
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := ks[tc.key]
			cert := selfSigned(t, key, tc.name)
			dir := opensslFixture(t, key, cert)
			der, err := Sign(digestOf(tc.hash, content), key, cert, &SignOptions{Hash: tc.hash, PSS: tc.pss, SigningTime: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sig.der"), der, 0o600); err != nil {
				t.Fatal(err)
			}
			runOpenSSL(t, dir, "cms", "-verify", "-binary", "-noverify", "-inform", "DER", "-in", "sig.der", "-content", "data", "-out", os.DevNull)

			// And openssl must refuse it over other content.
			if err := os.WriteFile(filepath.Join(dir, "data"), []byte("other"), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("openssl", "cms", "-verify", "-binary", "-noverify", "-inform", "DER", "-in", "sig.der", "-content", "data", "-out", os.DevNull)
			cmd.Dir = dir
			if err := cmd.Run(); err == nil {
				t.Fatal("openssl verified the signature over other content")
			}
		})
	}
}

// TestWeVerifyOpenSSL: Parse and verify what openssl cms -sign makes,
// including BER (-stream -indef), SKI signer identifiers, PSS, CAdES ESS
// attributes and signers without signed attributes.
func TestWeVerifyOpenSSL(t *testing.T) {
	ks := testKeys(t)
	cases := []struct {
		name     string
		key      string
		hash     crypto.Hash
		args     []string
		attached bool
		noAttrs  bool
		ess      bool
	}{
		{"rsa-pkcs1", "rsa", crypto.SHA256, nil, false, false, false},
		{"rsa-pss", "rsa", crypto.SHA256, []string{"-keyopt", "rsa_padding_mode:pss"}, false, false, false},
		{"ecdsa-p384-sha384", "p384", crypto.SHA384, []string{"-md", "sha384"}, false, false, false},
		{"ber-indefinite", "p256", crypto.SHA256, []string{"-nodetach", "-stream", "-indef"}, true, false, false},
		{"subject-key-id", "p256", crypto.SHA256, []string{"-keyid"}, false, false, false},
		{"cades-ess-v2", "rsa", crypto.SHA256, []string{"-cades"}, false, false, true},
		{"no-signed-attrs", "rsa", crypto.SHA256, []string{"-noattr"}, false, true, false},
		{"no-signed-attrs-ecdsa", "p256", crypto.SHA256, []string{"-noattr"}, false, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := ks[tc.key]
			cert := selfSigned(t, key, tc.name)
			dir := opensslFixture(t, key, cert)
			args := append([]string{"cms", "-sign", "-binary", "-in", "data", "-signer", "cert.pem", "-inkey", "key.pem", "-outform", "DER", "-out", "sig.der"}, tc.args...)
			runOpenSSL(t, dir, args...)
			raw, err := os.ReadFile(filepath.Join(dir, "sig.der"))
			if err != nil {
				t.Fatal(err)
			}
			sd, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if tc.attached != (sd.Content != nil) || (tc.attached && !bytes.Equal(sd.Content, content)) {
				t.Fatalf("content = %q, attached %v", sd.Content, tc.attached)
			}
			si := sd.Signers[0]
			sc := sd.SignerCertificate(si)
			if sc == nil || !sc.Equal(cert) {
				t.Fatal("signer certificate not found")
			}
			if raw := sd.SignerRawCertificate(si); !bytes.Equal(raw, cert.Raw) {
				t.Fatal("SignerRawCertificate did not find the signer")
			}
			h, err := si.Hash()
			if err != nil || h != tc.hash {
				t.Fatalf("Hash = %v, %v", h, err)
			}
			d := digestOf(h, content)
			if tc.noAttrs {
				if err := si.VerifyNoSignedAttrs(sc, d); err != nil {
					t.Fatal(err)
				}
				if err := si.VerifyNoSignedAttrs(sc, digestOf(h, []byte("x"))); !errors.Is(err, ErrSignatureInvalid) {
					t.Fatalf("wrong digest: %v", err)
				}
				if err := si.VerifySignature(sc); !errors.Is(err, ErrMissingAttribute) {
					t.Fatalf("VerifySignature without attrs = %v", err)
				}
				return
			}
			if err := si.CheckMessageDigest(d); err != nil {
				t.Fatal(err)
			}
			if err := si.VerifySignature(sc); err != nil {
				t.Fatal(err)
			}
			if !si.SignedAttrsDERSorted() {
				t.Error("openssl's attributes reported unsorted")
			}
			err = si.CheckSigningCertificate(sc)
			if tc.ess && err != nil {
				t.Fatalf("CheckSigningCertificate = %v", err)
			}
			if !tc.ess && err != nil && !errors.Is(err, ErrNoSigningCertificateAttr) {
				t.Fatalf("CheckSigningCertificate = %v", err)
			}
			if tc.ess {
				other := selfSigned(t, key, "same key, other certificate")
				if err := si.CheckSigningCertificate(other); !errors.Is(err, ErrSigningCertificateMismatch) {
					t.Fatalf("CheckSigningCertificate(other) = %v", err)
				}
			}
		})
	}
}

// TestWeVerifyOpenSSLDSA: old archives hold DSA signatures; openssl makes
// one (key, certificate and CMS), and we verify it and refuse a wrong
// digest.
func TestWeVerifyOpenSSLDSA(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data"), content, 0o600); err != nil {
		t.Fatal(err)
	}
	runOpenSSL(t, dir, "genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:2048", "-out", "params.pem")
	runOpenSSL(t, dir, "genpkey", "-paramfile", "params.pem", "-out", "key.pem")
	runOpenSSL(t, dir, "req", "-new", "-x509", "-key", "key.pem", "-subj", "/CN=dsa", "-days", "3650", "-sha256", "-out", "cert.pem")
	runOpenSSL(t, dir, "cms", "-sign", "-binary", "-in", "data", "-signer", "cert.pem", "-inkey", "key.pem", "-md", "sha256", "-outform", "DER", "-out", "sig.der")
	raw, err := os.ReadFile(filepath.Join(dir, "sig.der"))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	si := sd.Signers[0]
	sc := sd.SignerCertificate(si)
	if sc == nil {
		t.Fatal("signer certificate not found")
	}
	if err := si.CheckMessageDigest(digestOf(crypto.SHA256, content)); err != nil {
		t.Fatal(err)
	}
	if err := si.VerifySignature(sc); err != nil {
		t.Fatalf("DSA signature: %v", err)
	}
	si.Signature[len(si.Signature)-1] ^= 1
	if err := si.VerifySignature(sc); !errors.Is(err, ErrSignatureInvalid) {
		t.Fatalf("tampered DSA signature: %v", err)
	}
}
