package signature_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/cms"
	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

var signTime = time.Date(2026, 1, 1, 9, 0, 0, 0, time.FixedZone("JST", 9*3600))

func baseOpts(p *testpki.PKI, c *testpki.Cert) *signature.SignOptions {
	return &signature.SignOptions{
		Signer: c.Key, Certificate: c.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert, p.Root.Cert},
		SigningTime: signTime, Reason: "契約締結", Location: "東京", Name: "山田 太郎",
	}
}

func sign(t *testing.T, in []byte, opts *signature.SignOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, opts); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if !bytes.HasPrefix(out.Bytes(), in) {
		t.Fatal("output does not start with the input bytes")
	}
	return out.Bytes()
}

// checkCMS verifies the signature at the crypto level with internal/cms
// and checks the PAdES baseline attributes.
func checkCMS(t *testing.T, s sigInFile, cert *x509.Certificate) {
	t.Helper()
	if len(s.sd.Signers) != 1 || s.sd.Content != nil {
		t.Fatalf("want one signer and detached content")
	}
	si := s.sd.Signers[0]
	h, err := si.Hash()
	if err != nil {
		t.Fatal(err)
	}
	d := h.New()
	d.Write(s.signed)
	if err := si.CheckMessageDigest(d.Sum(nil)); err != nil {
		t.Fatalf("message digest: %v", err)
	}
	if err := si.VerifySignature(cert); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if err := si.CheckSigningCertificate(cert); err != nil {
		t.Fatalf("signing-certificate-v2: %v", err)
	}
	if _, ok := si.SigningTime(); ok {
		t.Fatal("PAdES baseline forbids the signing-time attribute")
	}
}

func TestSignKeyTypesAndXrefStyles(t *testing.T) {
	p := testpki.New(t)
	tests := []struct {
		name   string
		cert   *testpki.Cert
		pss    bool
		in     []byte
		wantXS bool // expect a cross-reference stream in the update
	}{
		{"rsa pkcs1v15 table", p.RSA, false, onePage(), false},
		{"rsa pss table", p.RSA, true, onePage(), false},
		{"p256 xref stream", p.ECDSAP256, false, xrefStreamPDF(), true},
		{"p384 table", p.ECDSAP384, false, onePage(), false},
		{"ed25519 xref stream", p.Ed25519, false, xrefStreamPDF(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := baseOpts(p, tt.cert)
			opts.PSS = tt.pss
			out := sign(t, tt.in, opts)
			inc := out[len(tt.in):]
			if got := bytes.Contains(inc, []byte("/Type /XRef")); got != tt.wantXS {
				t.Fatalf("xref stream in update = %v, want %v", got, tt.wantXS)
			}
			if !tt.wantXS && !bytes.Contains(inc, []byte("\nxref\n")) {
				t.Fatal("no classic xref table in update")
			}
			f, err := pdf.Open(bytes.NewReader(out), int64(len(out)), nil)
			if err != nil || f.Repaired() || len(f.Revisions()) != 2 {
				t.Fatalf("reopen: err=%v repaired=%v", err, f != nil && f.Repaired())
			}
			sigs := signaturesIn(t, out)
			if len(sigs) != 1 || sigs[0].br[2]+sigs[0].br[3] != int64(len(out)) {
				t.Fatalf("want one signature covering the whole file, got %d", len(sigs))
			}
			checkCMS(t, sigs[0], tt.cert.Cert)
			if tt.pss && !sigs[0].sd.Signers[0].SignatureAlgorithm.Algorithm.Equal(cms.OIDRSASSAPSS) {
				t.Fatal("PSS requested but not used")
			}
			// OpenSSL 3.0 implements no Ed25519 in CMS (it can neither
			// sign nor verify one); internal/cms checked it above.
			if tt.cert != p.Ed25519 {
				opensslVerify(t, p, sigs[0])
			}
			qpdfCheck(t, out)
		})
	}
}

func TestSignPdfsigTrustsAndKeepsEarlierSignatures(t *testing.T) {
	p := testpki.New(t)
	db := p.NSSDB(t, t.TempDir())
	tests := []struct {
		name    string
		in      []byte
		signers []*testpki.Cert
		certify int // DocMDP of the first signature; 0 = approval
	}{
		{"rsa once", onePage(), []*testpki.Cert{p.RSA}, 0},
		{"p256 on xref stream", xrefStreamPDF(), []*testpki.Cert{p.ECDSAP256}, 0},
		{"two parties", onePage(), []*testpki.Cert{p.RSA, p.ECDSAP256}, 0},
		{"two parties xref stream", xrefStreamPDF(), []*testpki.Cert{p.ECDSAP384, p.RSA}, 0},
		{"certified P2 then approval", onePage(), []*testpki.Cert{p.RSA, p.ECDSAP256}, 2},
		{"certified P3", onePage(), []*testpki.Cert{p.ECDSAP256}, 3},
		{"certified P1", onePage(), []*testpki.Cert{p.ECDSAP256}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.in
			for i, c := range tt.signers {
				opts := baseOpts(p, c)
				if i == 0 && tt.certify != 0 {
					opts.Certification, opts.DocMDP = true, tt.certify
				}
				doc = sign(t, doc, opts)
			}
			out := pdfsig(t, db, doc)
			if n := strings.Count(out, "Signature Validation: Signature is Valid."); n != len(tt.signers) {
				t.Fatalf("%d valid signatures, want %d:\n%s", n, len(tt.signers), out)
			}
			if n := strings.Count(out, "Certificate Validation: Certificate is Trusted."); n != len(tt.signers) {
				t.Fatalf("%d trusted certificates, want %d:\n%s", n, len(tt.signers), out)
			}
			if n := strings.Count(out, "Signature Type: ETSI.CAdES.detached"); n != len(tt.signers) {
				t.Fatalf("SubFilter:\n%s", out)
			}
			// Only the newest signature covers the whole file.
			if n := strings.Count(out, "Total document signed"); n != 1 {
				t.Fatalf("%d signatures cover the whole document, want 1:\n%s", n, out)
			}
			if tt.certify != 0 {
				f, err := pdf.Open(bytes.NewReader(doc), int64(len(doc)), nil)
				if err != nil {
					t.Fatal(err)
				}
				cat, err := f.Catalog(len(f.Revisions()) - 1)
				if err != nil {
					t.Fatal(err)
				}
				perms, _ := f.Resolve(cat["Perms"], len(f.Revisions())-1)
				if d, ok := perms.(pdf.Dict); !ok || d["DocMDP"] == nil {
					t.Fatalf("no /Perms /DocMDP in catalog: %v", cat)
				}
				if !bytes.Contains(doc, []byte("/TransformMethod /DocMDP")) || !bytes.Contains(doc, []byte("/P "+string(rune('0'+tt.certify)))) {
					t.Fatal("no DocMDP reference with the requested P")
				}
			}
			qpdfCheck(t, doc)
		})
	}
}

func TestSignBT(t *testing.T) {
	p := testpki.New(t)
	tsa := newTSA(t, p)
	opts := baseOpts(p, p.ECDSAP256)
	opts.Level, opts.Timestamper = signature.LevelBT, tsa
	out := sign(t, onePage(), opts)
	sigs := signaturesIn(t, out)
	if len(sigs) != 1 {
		t.Fatal("no signature")
	}
	checkCMS(t, sigs[0], p.ECDSAP256.Cert)
	opensslVerify(t, p, sigs[0])
	si := sigs[0].sd.Signers[0]
	toks := si.SignatureTimestampTokens()
	if len(toks) != 1 || tsa.calls.Load() != 1 {
		t.Fatalf("%d timestamp tokens, %d TSA calls; want 1, 1", len(toks), tsa.calls.Load())
	}
	want := sha256.Sum256(si.Signature)
	tok, err := timestamp.Verify(toks[0], want[:], &timestamp.VerifyOptions{Roots: p.Roots()})
	if err != nil {
		t.Fatalf("token does not verify over SHA-256 of the final signature value: %v", err)
	}
	if !tok.Time.Equal(testpki.Now) {
		t.Fatalf("genTime %v", tok.Time)
	}
}

func TestSignVisibleAndExistingField(t *testing.T) {
	p := testpki.New(t)
	w := pdftest.New()
	w.Object(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm 5 0 R >>")
	w.Object(2, "<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 >>")
	w.Object(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots 7 0 R >>")
	w.Object(5, "<< /Fields [8 0 R] >>")
	w.Object(6, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
	w.Object(7, "[8 0 R]")
	w.Object(8, "<< /FT /Sig /T (Buyer) /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /P 3 0 R >>")
	w.EndRevision(pdftest.Section{})
	in := w.Bytes()
	db := p.NSSDB(t, t.TempDir())

	opts := baseOpts(p, p.RSA)
	opts.Visible = &signature.Appearance{Page: 2, Rect: [4]float64{50, 50, 300, 110}, Text: "株式会社テスト\n山田 太郎 (Taro Yamada)"}
	seller := sign(t, in, opts)
	opts2 := baseOpts(p, p.ECDSAP256)
	opts2.Field = "Buyer"
	opts2.Visible = &signature.Appearance{Rect: [4]float64{300, 50, 550, 110}}
	both := sign(t, seller, opts2)
	out := pdfsig(t, db, both)
	if n := strings.Count(out, "Signature is Valid."); n != 2 {
		t.Fatalf("want 2 valid signatures:\n%s", out)
	}
	if !strings.Contains(out, "Signature1") || !strings.Contains(out, "Buyer") {
		t.Fatalf("field names missing:\n%s", out)
	}
	// The widget went on page 2 (object 6), Buyer was filled in place.
	f, err := pdf.Open(bytes.NewReader(both), int64(len(both)), nil)
	if err != nil {
		t.Fatal(err)
	}
	last := len(f.Revisions()) - 1
	page2, err := f.Object(pdf.Ref{Num: 6}, last)
	if err != nil {
		t.Fatal(err)
	}
	annots, _ := page2.(pdf.Dict)["Annots"].(pdf.Array)
	if len(annots) != 1 {
		t.Fatalf("page 2 annots = %v", page2)
	}
	buyer, _ := f.Object(pdf.Ref{Num: 8}, last)
	bd, _ := buyer.(pdf.Dict)
	if bd["V"] == nil || bd["AP"] == nil {
		t.Fatalf("Buyer not signed in place: %v", bd)
	}
	fields, _ := f.Object(pdf.Ref{Num: 5}, last)
	if fa, _ := fields.(pdf.Dict)["Fields"].(pdf.Array); len(fa) != 2 {
		t.Fatalf("AcroForm fields = %v", fields)
	}
	if !bytes.Contains(both, []byte("/UniJIS-UCS2-H")) {
		t.Fatal("no CJK font in the appearance")
	}
	qpdfCheck(t, both)
}

func TestSignErrors(t *testing.T) {
	p := testpki.New(t)
	tsa := newTSA(t, p)
	encrypted := pdftest.OnePage("")
	encrypted.Object(9, "<< /Filter /Standard /V 2 /R 3 /O <00> /U <00> /P -4 >>")
	encrypted.EndRevision(pdftest.Section{Trailer: "/Encrypt 9 0 R"})
	certified := sign(t, onePage(), func() *signature.SignOptions {
		o := baseOpts(p, p.RSA)
		o.Certification, o.DocMDP = true, 1
		return o
	}())
	signed := sign(t, onePage(), baseOpts(p, p.ECDSAP256))
	textField := pdftest.New()
	textField.Object(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] >> >>")
	textField.Object(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	textField.Object(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
	textField.Object(5, "<< /FT /Tx /T (Name) >>")
	textField.EndRevision(pdftest.Section{})

	mod := func(f func(o *signature.SignOptions)) *signature.SignOptions {
		o := baseOpts(p, p.ECDSAP256)
		f(o)
		return o
	}
	tests := []struct {
		name string
		in   []byte
		opts *signature.SignOptions
		want error
	}{
		{"nil options", onePage(), nil, signature.ErrInvalidSignOptions},
		{"no signer", onePage(), mod(func(o *signature.SignOptions) { o.Signer = nil }), signature.ErrInvalidSignOptions},
		{"key of another certificate", onePage(), mod(func(o *signature.SignOptions) { o.Signer = p.ECDSAP384.Key }), signature.ErrInvalidSignOptions},
		{"B-LT asked of Sign", onePage(), mod(func(o *signature.SignOptions) { o.Level = signature.LevelBLT }), signature.ErrInvalidSignOptions},
		{"B-T without timestamper", onePage(), mod(func(o *signature.SignOptions) { o.Level = signature.LevelBT }), signature.ErrInvalidSignOptions},
		{"DocMDP without certification", onePage(), mod(func(o *signature.SignOptions) { o.DocMDP = 2 }), signature.ErrInvalidSignOptions},
		{"DocMDP 4", onePage(), mod(func(o *signature.SignOptions) { o.Certification, o.DocMDP = true, 4 }), signature.ErrInvalidSignOptions},
		{"bad rectangle", onePage(), mod(func(o *signature.SignOptions) { o.Visible = &signature.Appearance{Rect: [4]float64{10, 10, 5, 20}} }), signature.ErrInvalidSignOptions},
		{"no such page", onePage(), mod(func(o *signature.SignOptions) {
			o.Visible = &signature.Appearance{Page: 3, Rect: [4]float64{0, 0, 10, 10}}
		}), signature.ErrInvalidSignOptions},
		{"field is a text field", textField.Bytes(), mod(func(o *signature.SignOptions) { o.Field = "Name" }), signature.ErrInvalidSignOptions},
		{"contents too small", onePage(), mod(func(o *signature.SignOptions) { o.ContentsSize = 100 }), signature.ErrContentsTooSmall},
		{"contents too small for token", onePage(), mod(func(o *signature.SignOptions) {
			o.Level, o.Timestamper, o.ContentsSize = signature.LevelBT, tsa, 1500
		}), signature.ErrContentsTooSmall},
		{"not a PDF", []byte("hello, world, this is not a PDF"), baseOpts(p, p.ECDSAP256), signature.ErrUnsupportedDocument},
		{"encrypted", encrypted.Bytes(), baseOpts(p, p.ECDSAP256), signature.ErrUnsupportedDocument},
		{"certified P1 forbids signing", certified, baseOpts(p, p.ECDSAP256), signature.ErrNotPermitted},
		{"certification after a signature", signed, mod(func(o *signature.SignOptions) { o.Certification = true }), signature.ErrNotPermitted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := signature.Sign(context.Background(), bytes.NewReader(tt.in), int64(len(tt.in)), &out, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		in := onePage()
		err := signature.Sign(ctx, bytes.NewReader(in), int64(len(in)), &bytes.Buffer{}, baseOpts(p, p.ECDSAP256))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSignFieldNamesAreUnique(t *testing.T) {
	p := testpki.New(t)
	doc := onePage()
	for range 3 {
		doc = sign(t, doc, baseOpts(p, p.ECDSAP256))
	}
	for _, n := range []string{"Signature1", "Signature2", "Signature3"} {
		if c := bytes.Count(doc, []byte("/T "+hexOf(n))); c != 1 {
			t.Fatalf("field %s appears %d times", n, c)
		}
	}
	if len(signaturesIn(t, doc)) != 3 {
		t.Fatal("want 3 signatures")
	}
}

func hexOf(s string) string {
	const digits = "0123456789ABCDEF"
	b := []byte{'<'}
	for _, c := range []byte(s) {
		b = append(b, digits[c>>4], digits[c&15])
	}
	return string(append(b, '>'))
}

func FuzzSign(f *testing.F) {
	p := testpki.New(f)
	f.Add(onePage())
	f.Add(xrefStreamPDF())
	f.Add([]byte("%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF"))
	opts := baseOpts(p, p.ECDSAP256)
	opts.Chain = nil
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, opts)
		if err == nil && !bytes.HasPrefix(out.Bytes(), in) {
			t.Fatal("signed output does not start with the input")
		}
	})
}

// TestNextFieldName: the name is the one Sign then uses, and moves on as
// fields are added.
func TestNextFieldName(t *testing.T) {
	p := testpki.New(t)
	doc := onePage()
	for i, want := range []string{"Signature1", "Signature2", "Signature3"} {
		got, err := signature.NextFieldName(bytes.NewReader(doc), int64(len(doc)))
		if err != nil || got != want {
			t.Fatalf("step %d: %q, %v; want %q", i, got, err, want)
		}
		var out bytes.Buffer
		if err := signature.Sign(context.Background(), bytes.NewReader(doc), int64(len(doc)), &out, baseOpts(p, p.ECDSAP256)); err != nil {
			t.Fatal(err)
		}
		doc = out.Bytes()
		rep, err := signature.Validate(context.Background(), bytes.NewReader(doc), int64(len(doc)), nil)
		if err != nil || rep.Signatures[len(rep.Signatures)-1].Field != want {
			t.Fatalf("Sign named the field %q, NextFieldName said %q (%v)", rep.Signatures[len(rep.Signatures)-1].Field, want, err)
		}
	}
	if _, err := signature.NextFieldName(strings.NewReader("hello"), 5); !errors.Is(err, signature.ErrUnsupportedDocument) {
		t.Fatalf("not a PDF: %v", err)
	}
}
