package archive_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"log/slog"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

const contractContent = "BT /F1 12 Tf 72 720 Td (Contract: 1,000,000 JPY) Tj ET"

// tsaAt is a local TSA on certificate c whose clock is fixed at at.
func tsaAt(t testing.TB, p *testpki.PKI, c *testpki.Cert, at time.Time) signature.Timestamper {
	t.Helper()
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: c.Key, Certificate: c.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Policy: testpki.PolicyOID, Clock: func() time.Time { return at },
		Serials: timestamp.NewMemorySerialStore(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return signature.AuthorityTimestamper(a)
}

// newService is an archive on TSA c whose clock (and TSA clock) is at.
func newService(t testing.TB, p *testpki.PKI, c *testpki.Cert, at time.Time, mutate func(*archive.Config)) *archive.Service {
	t.Helper()
	cfg := archive.Config{
		Timestamper:  tsaAt(t, p, c, at),
		TrustAnchors: []*x509.Certificate{p.Root.Cert},
		Online:       true,
		Clock:        func() time.Time { return at },
		TempDir:      t.TempDir(),
		Logger:       slog.New(slog.DiscardHandler),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := archive.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signedContract is a one-page contract signed by the ECDSA P-256 signer at
// testpki.Now, at level B-B or B-T (timestamped by TSA).
func signedContract(t testing.TB, p *testpki.PKI, level signature.Level) []byte {
	t.Helper()
	in := pdftest.OnePage(contractContent).Bytes()
	opts := &signature.SignOptions{
		Signer: p.ECDSAP256.Key, Certificate: p.ECDSAP256.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Field: "Registrant", Level: level, SigningTime: testpki.Now,
	}
	if level == signature.LevelBT {
		opts.Timestamper = tsaAt(t, p, p.TSA, testpki.Now)
	}
	var out bytes.Buffer
	if err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, opts); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func seal(t testing.TB, s *archive.Service, in []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := s.SealPDF(context.Background(), bytes.NewReader(in), int64(len(in)), &out); err != nil {
		t.Fatalf("SealPDF: %v", err)
	}
	return out.Bytes()
}

func verifyPDF(t testing.TB, s *archive.Service, b []byte, at time.Time) *archive.PDFVerification {
	t.Helper()
	v, err := s.VerifyPDF(context.Background(), bytes.NewReader(b), int64(len(b)), &archive.VerifyOptions{At: at})
	if err != nil {
		t.Fatalf("VerifyPDF: %v", err)
	}
	return v
}

func dump(v *archive.PDFVerification) string {
	var sb bytes.Buffer
	sb.WriteString("reasons:\n")
	for _, r := range v.Reasons {
		sb.WriteString("  " + r + "\n")
	}
	if v.Report != nil {
		sb.WriteString("level " + string(v.Report.Level) + "\n")
		for _, e := range v.Report.Signatures {
			sb.WriteString("  " + e.Field + " " + string(e.Kind) + " " + string(e.Indication) + " " + string(e.SubIndication) + " " + string(e.Level) + "\n")
			for _, r := range e.Reasons {
				sb.WriteString("    " + r + "\n")
			}
		}
	}
	return sb.String()
}
