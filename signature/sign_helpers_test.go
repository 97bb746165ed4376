package signature_test

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/cms"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// newTSA returns a local timestamping authority on the test PKI's TSA
// key, stamping at testpki.Now, and counts its calls.
func newTSA(t testing.TB, p *testpki.PKI) *countingTSA {
	t.Helper()
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: p.TSA.Key, Certificate: p.TSA.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Policy: testpki.PolicyOID, Clock: func() time.Time { return testpki.Now },
		Serials: timestamp.NewMemorySerialStore(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &countingTSA{Timestamper: signature.AuthorityTimestamper(a)}
}

type countingTSA struct {
	signature.Timestamper
	calls atomic.Int64
}

func (c *countingTSA) Timestamp(ctx context.Context, digest []byte) (*timestamp.Token, error) {
	c.calls.Add(1)
	return c.Timestamper.Timestamp(ctx, digest)
}

// onePage returns a one-page PDF with a classic cross-reference table.
func onePage() []byte {
	return pdftest.OnePage("BT /F1 12 Tf 72 720 Td (keiyaku) Tj ET").Bytes()
}

// xrefStreamPDF returns a one-page PDF whose catalog and pages live in an
// object stream indexed by a compressed cross-reference stream.
func xrefStreamPDF() []byte {
	w := pdftest.New()
	w.Compressed(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.Compressed(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	w.Object(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>")
	w.Stream(4, "", []byte("BT ET"))
	w.EndRevision(pdftest.Section{XRefStream: true, Compress: true})
	return w.Bytes()
}

var byteRangeRE = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

type sigInFile struct {
	br       [4]int64
	cmsDER   []byte
	signed   []byte // the bytes the byte range covers
	sd       *cms.SignedData
	rawRange string
}

// signaturesIn finds every /ByteRange in b (in file order) and returns the
// byte ranges, the /Contents CMS they leave out and the signed bytes.
func signaturesIn(t *testing.T, b []byte) []sigInFile {
	t.Helper()
	var out []sigInFile
	for _, m := range byteRangeRE.FindAllSubmatch(b, -1) {
		var s sigInFile
		for i := range 4 {
			n, err := strconv.ParseInt(string(m[i+1]), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			s.br[i] = n
		}
		if s.br[0] != 0 || s.br[1] >= s.br[2] || s.br[2]+s.br[3] > int64(len(b)) {
			t.Fatalf("bad byte range %v", s.br)
		}
		gap := b[s.br[1]:s.br[2]]
		if gap[0] != '<' || gap[len(gap)-1] != '>' {
			t.Fatalf("gap is not a hex string: %q...", gap[:8])
		}
		der, err := hex.DecodeString(string(gap[1 : len(gap)-1]))
		if err != nil {
			t.Fatal(err)
		}
		// The DER ends where its outer TLV does; the rest is padding
		// (trimming zeros instead would cut a signature ending in 0x00).
		var v asn1.RawValue
		if _, err := asn1.Unmarshal(der, &v); err != nil {
			t.Fatalf("contents: %v", err)
		}
		s.cmsDER = v.FullBytes
		s.signed = append(append([]byte{}, b[:s.br[1]]...), b[s.br[2]:s.br[2]+s.br[3]]...)
		if s.sd, err = cms.Parse(der); err != nil {
			t.Fatalf("parse CMS: %v", err)
		}
		out = append(out, s)
	}
	return out
}

// opensslVerify checks the CMS over the signed bytes with openssl, trusting
// only the test root, at testpki.Now.
func opensslVerify(t *testing.T, p *testpki.PKI, s sigInFile) {
	t.Helper()
	openssl := testpki.RequireTool(t, "openssl")
	dir := t.TempDir()
	files := p.WritePEM(t, dir, p.Root)
	sig, content := filepath.Join(dir, "sig.der"), filepath.Join(dir, "signed.bin")
	if err := os.WriteFile(sig, s.cmsDER, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(content, s.signed, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", content,
		"-CAfile", files.Root, "-purpose", "any", "-attime", strconv.FormatInt(testpki.Now.Unix(), 10), "-out", os.DevNull)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
}

func qpdfCheck(t *testing.T, b []byte) {
	t.Helper()
	qpdf := testpki.RequireTool(t, "qpdf")
	path := filepath.Join(t.TempDir(), "check.pdf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(qpdf, "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
}

// pdfsig runs poppler's pdfsig on b with the NSS database db and returns
// its output.
func pdfsig(t *testing.T, db string, b []byte) string {
	t.Helper()
	bin := testpki.RequireTool(t, "pdfsig")
	path := filepath.Join(t.TempDir(), "sig.pdf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-nssdir", db, "-no-ocsp", path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfsig: %v\n%s", err, out)
	}
	return string(out)
}

type testTime = time.Time
