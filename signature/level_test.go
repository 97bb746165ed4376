package signature_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

var reByteRange = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// ltaContract signs a contract at B-T and extends it to B-LTA with the
// test PKI.
func ltaContract(t *testing.T, p *testpki.PKI) []byte {
	t.Helper()
	at := testpki.Now
	chain := []*x509.Certificate{p.Intermediate.Cert}
	in := pdftest.OnePage(contractContent).Bytes()
	var out bytes.Buffer
	err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
		Signer: p.ECDSAP256.Key, Certificate: p.ECDSAP256.Cert, Chain: chain, Field: "Registrant",
		Level: signature.LevelBT, Timestamper: tsaAt(t, p.TSA, chain, at), SigningTime: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	lt := extendWith(t, signature.AddValidationData, out.Bytes(), &signature.ExtendOptions{Online: true, Clock: func() time.Time { return at }})
	return extendWith(t, signature.AddDocumentTimestamp, lt, &signature.ExtendOptions{Timestamper: tsaAt(t, p.TSA, chain, at)})
}

// TestLevelIsTheLevelProven: the archive timestamp counts for B-LTA only
// when its own cryptography holds; a broken one lowers the signature to
// B-LT (and fails itself). A document timestamp whose dictionary says
// /Type /Sig is read as a document timestamp with a warning, not refused,
// but does not make the level B-LTA (as in EU DSS).
func TestLevelIsTheLevelProven(t *testing.T) {
	p := testpki.New(t)
	opts := &signature.ValidateOptions{At: testpki.Now, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationHardFail, Online: true}
	lta := ltaContract(t, p)
	if rep := validateBytes(t, lta, opts); !rep.Passed || rep.Level != signature.LevelBLTA {
		t.Fatalf("baseline: want passed at B-LTA:\n%s", dumpReport(rep))
	}
	lastContents := bytes.LastIndex(lta, []byte("/Contents <")) + len("/Contents <")

	t.Run("broken archive timestamp", func(t *testing.T) {
		b := bytes.Clone(lta)
		// A hex digit inside the token's DER, well before the padding.
		i := lastContents + 300
		if b[i] == '0' {
			b[i] = '1'
		} else {
			b[i] = '0'
		}
		rep := validateBytes(t, b, opts)
		if len(rep.Signatures) != 2 {
			t.Fatalf("want a signature and a document timestamp:\n%s", dumpReport(rep))
		}
		sig, ts := rep.Signatures[0], rep.Signatures[1]
		if ts.Kind != signature.KindDocumentTimestamp || ts.Indication == signature.TotalPassed {
			t.Fatalf("the broken document timestamp must not pass:\n%s", dumpReport(rep))
		}
		if sig.Level != signature.LevelBLT || rep.Level != signature.LevelBLT {
			t.Fatalf("a broken archive timestamp must lower the level to B-LT:\n%s", dumpReport(rep))
		}
	})

	t.Run("document timestamp with /Type /Sig", func(t *testing.T) {
		b := bytes.Clone(lta)
		i := bytes.LastIndex(b, []byte("/Type /DocTimeStamp"))
		if i < 0 {
			t.Fatal("no /Type /DocTimeStamp in the sealed file")
		}
		// Same length, so that no offset moves; then timestamp the changed
		// bytes again, as a producer writing /Type /Sig would have.
		copy(b[i:], "/Type /Sig         ")
		m := reByteRange.FindAllSubmatch(b, -1)
		br := m[len(m)-1]
		var r [4]int
		for k := range r {
			r[k], _ = strconv.Atoi(string(br[k+1]))
		}
		h := sha256.New()
		h.Write(b[r[0] : r[0]+r[1]])
		h.Write(b[r[2] : r[2]+r[3]])
		chain := []*x509.Certificate{p.Intermediate.Cert}
		tok, err := tsaAt(t, p.TSA, chain, testpki.Now).Timestamp(context.Background(), h.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		gap := b[r[1]+1 : r[2]-1]
		for k := range gap {
			gap[k] = '0'
		}
		copy(gap, hex.EncodeToString(tok.Raw))
		rep := validateBytes(t, b, opts)
		if len(rep.Signatures) != 2 {
			t.Fatalf("want a signature and a document timestamp:\n%s", dumpReport(rep))
		}
		sig, ts := rep.Signatures[0], rep.Signatures[1]
		if ts.Kind != signature.KindDocumentTimestamp || ts.Indication != signature.TotalPassed {
			t.Fatalf("a /Type /Sig document timestamp must be read as one and pass:\n%s", dumpReport(rep))
		}
		if !strings.Contains(strings.Join(ts.Reasons, "\n"), "warning") {
			t.Errorf("no warning about /Type /Sig in %q", ts.Reasons)
		}
		if !rep.Passed || sig.Level != signature.LevelBLT {
			t.Fatalf("want passed, signature at B-LT:\n%s", dumpReport(rep))
		}
	})
}
