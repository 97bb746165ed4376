package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// authorityTimestamper adapts a timestamp.Authority to
// signature.Timestamper.
type authorityTimestamper struct{ a *timestamp.Authority }

func (t authorityTimestamper) Timestamp(ctx context.Context, digest []byte) (*timestamp.Token, error) {
	return t.a.Timestamp(ctx, crypto.SHA256, digest, &timestamp.TimestampOptions{CertReq: true})
}

// TestLevelProvenNotForm: a B-T signature whose timestamp comes from a TSA
// the verifier does not trust passes (its signer is trusted), but verify
// shows the level proven, B-B, never a passed B-T next to "signature
// timestamp not trusted".
func TestLevelProvenNotForm(t *testing.T) {
	p := testpki.New(t)
	// A self-signed development TSA, which the verifier does not trust.
	key, cert, err := timestamp.DevelopmentCertificate(testpki.Now.Add(-time.Hour), testpki.Now.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	tsa, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: key, Certificate: cert,
		Policy: []int{1, 3, 6, 1, 4, 1, 99999, 1, 1}, Serials: timestamp.NewMemorySerialStore(0),
		Clock: func() time.Time { return testpki.Now },
	})
	if err != nil {
		t.Fatal(err)
	}
	in := pdftest.OnePage("BT /F1 12 Tf 72 720 Td (keiyaku CLI) Tj ET").Bytes()
	var out bytes.Buffer
	err = signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
		Signer: p.ECDSAP256.Key, Certificate: p.ECDSAP256.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Field: "Registrant", SigningTime: testpki.Now, Level: signature.LevelBT, Timestamper: authorityTimestamper{tsa},
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "bt.pdf")
	if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	root := p.WritePEM(t, dir, p.Root).Root
	code, text, errOut := runCLI(t, "-trust="+root, "-at="+testpki.Now.Format(time.RFC3339), "-revocation=off", file)
	if !strings.Contains(text, "signature timestamp not trusted") {
		t.Fatalf("the untrusted timestamp is not reported (exit %d):\n%s%s", code, text, errOut)
	}
	if strings.Contains(text, "PAdES level:   B-T\n") || strings.Contains(text, "(PAdES level B-T)") {
		t.Fatalf("B-T shown although its timestamp is not trusted:\n%s", text)
	}
	if !strings.Contains(text, "PAdES level:   B-B") || !strings.Contains(text, "(PAdES level B-B)") {
		t.Fatalf("want the level proven, B-B:\n%s", text)
	}
	_, js, _ := runCLI(t, "-json", "-trust="+root, "-at="+testpki.Now.Format(time.RFC3339), "-revocation=off", file)
	if !strings.Contains(js, `"pades_level":"B-B"`) || strings.Contains(js, `"pades_level":"B-T"`) {
		t.Fatalf("-json: want pades_level B-B:\n%s", js)
	}
}

// TestHelp: -h prints the usage on stdout and exits 0.
func TestHelp(t *testing.T) {
	code, out, _ := runCLI(t, "-h")
	if code != 0 || !strings.Contains(out, "usage: verify") || !strings.Contains(out, "-trust") {
		t.Fatalf("exit %d, stdout:\n%s", code, out)
	}
}
