package signature_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// TestOpenSSLVerifiesEmbeddedTimestamps: `openssl ts -verify` accepts the
// signature timestamp inside our B-T signature (over the signature value,
// RFC 3161 / ETSI EN 319 122-1 §5.3) and our document timestamp (over the
// byte ranges, ETSI EN 319 142-1 §5.4.3), and refuses them for other data.
func TestOpenSSLVerifiesEmbeddedTimestamps(t *testing.T) {
	openssl := testpki.RequireTool(t, "openssl")
	p := testpki.New(t)
	chain := []*x509.Certificate{p.Intermediate.Cert}
	bt := signWith(t, p, p.ECDSAP256, func(o *signature.SignOptions) {
		o.Level, o.Timestamper = signature.LevelBT, tsaAt(t, p.TSA, chain, testpki.Now)
	})
	lt := extendWith(t, signature.AddValidationData, bt, &signature.ExtendOptions{Online: true, Clock: func() time.Time { return testpki.Now }})
	lta := extendWith(t, signature.AddDocumentTimestamp, lt, &signature.ExtendOptions{Timestamper: tsaAt(t, p.TSA2, chain, testpki.Now)})
	sigs := signaturesIn(t, lta)
	if len(sigs) != 2 {
		t.Fatalf("want a signature and a document timestamp, got %d", len(sigs))
	}
	dir := t.TempDir()
	files := p.WritePEM(t, dir, p.Root)
	inter := filepath.Join(dir, "intermediate.pem")
	if err := os.WriteFile(inter, pemCert(p.Intermediate.Cert), 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(token []byte, digest []byte) error {
		tok := filepath.Join(dir, "token.der")
		if err := os.WriteFile(tok, token, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(openssl, "ts", "-verify", "-token_in", "-in", tok, "-digest", hex.EncodeToString(digest),
			"-CAfile", files.Root, "-untrusted", inter, "-attime", strconv.FormatInt(testpki.Now.Add(time.Hour).Unix(), 10))
		out, err := cmd.CombinedOutput()
		if err != nil {
			return &opensslError{err, string(out)}
		}
		return nil
	}

	tokens := sigs[0].sd.Signers[0].SignatureTimestampTokens()
	if len(tokens) != 1 {
		t.Fatalf("want one signature timestamp, got %d", len(tokens))
	}
	sum := sha256.Sum256(sigs[0].sd.Signers[0].Signature)
	if err := verify(tokens[0], sum[:]); err != nil {
		t.Fatalf("signature timestamp: %v", err)
	}
	other := sha256.Sum256([]byte("another signature value"))
	if err := verify(tokens[0], other[:]); err == nil {
		t.Fatal("openssl accepted the signature timestamp for other data")
	}

	docSum := sha256.Sum256(sigs[1].signed)
	if err := verify(sigs[1].cmsDER, docSum[:]); err != nil {
		t.Fatalf("document timestamp: %v", err)
	}
	bad := sha256.Sum256(append([]byte("x"), sigs[1].signed...))
	if err := verify(sigs[1].cmsDER, bad[:]); err == nil {
		t.Fatal("openssl accepted the document timestamp for other bytes")
	}
}

type opensslError struct {
	err error
	out string
}

func (e *opensslError) Error() string { return e.err.Error() + "\n" + e.out }

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
