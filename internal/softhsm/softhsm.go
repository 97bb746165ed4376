//go:build cgo

package softhsm

import (
	"crypto/elliptic"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ThalesGroup/crypto11"

	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// ModuleEnv names the environment variable that may give the path of
// libsofthsm2.so; without it the Debian locations are tried.
const ModuleEnv = "KEIYAKU_SOFTHSM2_MODULE"

// PIN and SOPIN are the PINs of every token made here.
const (
	PIN   = "1234"
	SOPIN = "12345678"
)

// Token is an initialised SoftHSM2 token of its own in a temporary
// directory.
type Token struct {
	Module string // path of libsofthsm2.so
	Label  string
	Slot   int    // the slot ID SoftHSM2 gave the token
	Dir    string // the token directory (delete it to "remove" the token)
	Conf   string // SOFTHSM2_CONF
}

// Module returns the path of libsofthsm2.so, or skips (fails under CI).
func Module(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(ModuleEnv); p != "" {
		return p
	}
	for _, p := range []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.Missing(tb, "libsofthsm2.so not found: install the Debian package softhsm2 or set "+ModuleEnv)
	return ""
}

// New initialises a token labelled label in a new temporary directory and
// points SOFTHSM2_CONF at it for the rest of the test (so the test must
// not run in parallel with others that use SoftHSM2).
func New(tb testing.TB, label string) *Token {
	tb.Helper()
	util := testenv.Command(tb, "softhsm2-util", "softhsm2")
	t := &Token{Module: Module(tb), Label: label, Dir: filepath.Join(tb.TempDir(), "tokens")}
	if err := os.Mkdir(t.Dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	t.Conf = filepath.Join(filepath.Dir(t.Dir), "softhsm2.conf")
	conf := "directories.tokendir = " + t.Dir + "\nobjectstore.backend = file\nlog.level = ERROR\n"
	if err := os.WriteFile(t.Conf, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	tb.Setenv("SOFTHSM2_CONF", t.Conf)
	out, err := exec.Command(util, "--init-token", "--free", "--label", label, "--so-pin", SOPIN, "--pin", PIN).CombinedOutput()
	if err != nil {
		tb.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	// SoftHSM2 numbers a token's slot from its serial; --show-slots lists
	// "Slot N" before each token's "Label:".
	out, err = exec.Command(util, "--show-slots").CombinedOutput()
	if err != nil {
		tb.Fatalf("softhsm2-util --show-slots: %v\n%s", err, out)
	}
	t.Slot = -1
	slot := -1
	for _, l := range strings.Split(string(out), "\n") {
		if n, ok := strings.CutPrefix(l, "Slot "); ok {
			slot, _ = strconv.Atoi(strings.TrimSpace(n))
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Label:"); ok && strings.TrimSpace(v) == label {
			t.Slot = slot
		}
	}
	if t.Slot < 0 {
		tb.Fatalf("softhsm2-util --show-slots does not list token %s:\n%s", label, out)
	}
	return t
}

// Key kinds for AddKey.
const (
	RSA2048 = "rsa2048"
	P256    = "p256"
	P384    = "p384"
)

// AddKey generates a key pair of kind inside the token (CKA_ID id,
// CKA_LABEL label; the private key is sensitive and not extractable), has
// p's Intermediate issue a signer certificate for it and stores that
// certificate on the token under the same ID and label, and Intermediate
// and Root under the labels "intermediate" and "root". It returns the
// certificate; the key stays in the token.
func (t *Token) AddKey(tb testing.TB, p *testpki.PKI, kind, label string, id []byte) *testpki.Cert {
	tb.Helper()
	ctx, err := crypto11.Configure(&crypto11.Config{Path: t.Module, TokenLabel: t.Label, Pin: PIN})
	if err != nil {
		tb.Fatalf("softhsm: open token %s: %v", t.Label, err)
	}
	defer ctx.Close()
	var key crypto11.Signer
	switch kind {
	case RSA2048:
		key, err = ctx.GenerateRSAKeyPairWithLabel(id, []byte(label), 2048)
	case P256:
		key, err = ctx.GenerateECDSAKeyPairWithLabel(id, []byte(label), elliptic.P256())
	case P384:
		key, err = ctx.GenerateECDSAKeyPairWithLabel(id, []byte(label), elliptic.P384())
	default:
		tb.Fatalf("softhsm: unknown key kind %q", kind)
	}
	if err != nil {
		tb.Fatalf("softhsm: generate %s key: %v", kind, err)
	}
	c := p.IssueSignerForKey(tb, label, "HSM "+label+" 署名鍵", key)
	if err := ctx.ImportCertificateWithLabel(id, []byte(label), c.Cert); err != nil {
		tb.Fatalf("softhsm: import certificate: %v", err)
	}
	for _, ca := range []*testpki.Cert{p.Intermediate, p.Root} {
		if old, _ := ctx.FindCertificate(nil, []byte(ca.Name), nil); old != nil {
			continue
		}
		if err := ctx.ImportCertificateWithLabel([]byte(ca.Name), []byte(ca.Name), ca.Cert); err != nil {
			tb.Fatalf("softhsm: import %s: %v", ca.Name, err)
		}
	}
	return &testpki.Cert{Name: label, Key: nil, Cert: c.Cert}
}
