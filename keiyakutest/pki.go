package keiyakutest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// Now is the fixed time of the kit: certificates, OCSP responses, CRLs,
// timestamps and the Service's clock all say it is now.
var Now = testpki.Now

// TSAPolicy is the policy OID (RFC 3161 §2.4.2) of the kit's TSA, under
// the enterprise number reserved for documentation (RFC 5612).
var TSAPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 3, 1}

// PKI is a test certification authority: a root, an issuing CA, an OCSP
// responder and CRL distribution points served over HTTP on 127.0.0.1
// until the test ends. Every certificate it issues names them (AIA and
// CRL DP), so validation with online revocation checking and sealing to
// PAdES B-LTA find their revocation data there.
type PKI struct {
	// Root is the trust anchor: give it as keiyaku.Config.TrustAnchors.
	Root *x509.Certificate
	// Intermediate issues the signer certificates; signatures embed it.
	Intermediate *x509.Certificate
	// OCSPURL and CRLURL are where the responder and the issuing CA's CRL
	// are served.
	OCSPURL, CRLURL string

	p *testpki.PKI
}

// NewPKI starts a test PKI; its responders stop when tb's test ends.
func NewPKI(tb TB) *PKI {
	tb.Helper()
	p, err := testpki.Start()
	if err != nil {
		tb.Fatalf("keiyakutest.NewPKI: %v", err)
	}
	tb.Cleanup(p.Close)
	return &PKI{Root: p.Root.Cert, Intermediate: p.Intermediate.Cert, OCSPURL: p.OCSPURL, CRLURL: p.CRLURL, p: p}
}

// Signer is a person's signing key and certificate, issued by a PKI.
type Signer struct {
	// Company and Person are the certificate subject's O and CN.
	Company, Person string
	Key             crypto.Signer
	Certificate     *x509.Certificate
	// Chain is what a signature embeds after Certificate: the issuing CA.
	Chain []*x509.Certificate
}

// NewSigner issues a certificate for person at company (subject C=JP,
// O=company, CN=person) with a new ECDSA P-256 key, valid at Now, with
// the key usages of a document signer (digitalSignature,
// nonRepudiation). The OCSP responder answers "good" for it.
func (p *PKI) NewSigner(tb TB, company, person string) *Signer {
	tb.Helper()
	c, err := p.p.IssueSigner(label(person), company, "", person)
	if err != nil {
		tb.Fatalf("keiyakutest.NewSigner: %v", err)
	}
	return &Signer{Company: company, Person: person, Key: c.Key, Certificate: c.Cert, Chain: []*x509.Certificate{p.Intermediate}}
}

// label makes a DNS-safe label from a name for the certificate's SANs.
func label(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "signer"
	}
	return b.String()
}

// Revoke makes the OCSP responder answer that s's certificate was revoked
// at at (keyCompromise), as a CA does when a key is lost.
func (p *PKI) Revoke(s *Signer, at time.Time) {
	p.p.Revoke(&testpki.Cert{Key: s.Key, Cert: s.Certificate}, at)
}

// CRL returns the issuing CA's current CRL (DER, RFC 5280 §5) as served
// at CRLURL: what keiyaku.Config.CRLs takes to seal without going online.
func (p *PKI) CRL(tb TB) []byte {
	tb.Helper()
	resp, err := http.Get(p.CRLURL)
	if err != nil {
		tb.Fatalf("keiyakutest.CRL: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("keiyakutest.CRL: %s, %v", resp.Status, err)
	}
	return b
}

// Sign returns pdf with s's PAdES B-B signature added in an incremental
// update (the form a counterparty's return must take), signed at Now.
func (s *Signer) Sign(tb TB, pdf []byte) []byte {
	tb.Helper()
	return s.sign(tb, pdf, nil)
}

// SignBT is Sign at PAdES B-T: the signature carries a timestamp from tsa.
func (s *Signer) SignBT(tb TB, pdf []byte, tsa *TSA) []byte {
	tb.Helper()
	return s.sign(tb, pdf, tsa)
}

func (s *Signer) sign(tb TB, pdf []byte, tsa *TSA) []byte {
	opts := &signature.SignOptions{
		Signer: s.Key, Certificate: s.Certificate, Chain: s.Chain,
		SigningTime: Now, Name: s.Person, Reason: "contract",
	}
	if tsa != nil {
		opts.Level, opts.Timestamper = signature.LevelBT, tsa.Timestamper
	}
	var out bytes.Buffer
	if err := signature.Sign(context.Background(), bytes.NewReader(pdf), int64(len(pdf)), &out, opts); err != nil {
		tb.Fatalf("keiyakutest: signing as %s: %v", s.Person, err)
	}
	return out.Bytes()
}

// ContractPDF returns a small one-page contract PDF (ISO 32000-2, classic
// cross-reference table) showing text, which should be printable ASCII;
// other bytes are replaced by '?'. Different texts give different
// documents, so a test can tell contracts apart.
func ContractPDF(text string) []byte {
	clean := []byte(text)
	for i, c := range clean {
		if c < 0x20 || c > 0x7e || c == '(' || c == ')' || c == '\\' {
			clean[i] = '?'
		}
	}
	return bytes.Clone(pdftest.OnePage("BT /F1 12 Tf 72 720 Td (" + string(clean) + ") Tj ET").Bytes())
}

// Upload wraps a document for casework (Register, Return, supplements).
func Upload(name string, body []byte) casework.Upload {
	ct := "application/octet-stream"
	if bytes.HasPrefix(body, []byte("%PDF-")) {
		ct = "application/pdf"
	}
	return casework.Upload{Name: name, ContentType: ct, Body: bytes.NewReader(body)}
}

// TSA is a local RFC 3161 timestamping authority on 127.0.0.1, with a
// certificate from the PKI's issuing CA (critical id-kp-timeStamping,
// RFC 3161 §2.3), answering at Now.
type TSA struct {
	// URL takes RFC 3161 §3.4 requests (keiyaku.TSAConfig.URL).
	URL string
	// Authority is the TSA itself; Timestamper gives it to
	// signature.SignOptions and keiyaku.TSAConfig.Timestamper.
	Authority   *timestamp.Authority
	Timestamper signature.Timestamper
	// Certificate is the TSA's certificate; its root is PKI.Root.
	Certificate *x509.Certificate
}

// NewTSA starts a TSA; it stops when tb's test ends.
func (p *PKI) NewTSA(tb TB) *TSA {
	tb.Helper()
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: p.p.TSA.Key, Certificate: p.p.TSA.Cert, Chain: []*x509.Certificate{p.Intermediate},
		Policy: TSAPolicy, Clock: func() time.Time { return Now }, Serials: timestamp.NewMemorySerialStore(0),
	})
	if err != nil {
		tb.Fatalf("keiyakutest.NewTSA: %v", err)
	}
	srv := httptest.NewServer(a)
	tb.Cleanup(srv.Close)
	return &TSA{URL: srv.URL, Authority: a, Timestamper: signature.AuthorityTimestamper(a), Certificate: p.p.TSA.Cert}
}
