package signature_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/cms"
	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// handSigned signs a one-page contract by hand (not with signature.Sign),
// so that a test controls what a conforming signer would never write:
// sign makes the CMS from the hash of the signed ranges (newHash), and
// fill writes the hex of der into the /Contents placeholder of n bytes
// (between < and >). The byte range covers the whole file but the gap.
func handSigned(t *testing.T, newHash func() hash.Hash, sign func(digest []byte) []byte, fill func(der []byte, n int) string) []byte {
	t.Helper()
	return handSignedWith(t, newHash, sign, fill, "", "", "")
}

// handSignedWith is handSigned with sigExtra added to the signature
// dictionary, catExtra to the catalog, and obj8, when not empty, written
// as object 8 in the signed revision.
func handSignedWith(t *testing.T, newHash func() hash.Hash, sign func(digest []byte) []byte, fill func(der []byte, n int) string, sigExtra, catExtra, obj8 string) []byte {
	t.Helper()
	const placeholder = 8192 * 2
	base := pdftest.OnePage(contractContent).Bytes()
	var b bytes.Buffer
	b.Write(base)
	off5 := b.Len()
	b.WriteString("5 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached " + sigExtra + " /ByteRange [0000000000 0000000000 0000000000 0000000000] /Contents <")
	gapStart := b.Len() - 1
	b.WriteString(strings.Repeat("0", placeholder) + ">")
	gapEnd := b.Len()
	b.WriteString(" >>\nendobj\n")
	off6 := b.Len()
	b.WriteString("6 0 obj\n<< /FT /Sig /T (Registrant) /V 5 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /P 3 0 R >>\nendobj\n")
	off7 := b.Len()
	b.WriteString("7 0 obj\n<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] /SigFlags 3 >> " + catExtra + " >>\nendobj\n")
	prev := reStartxref.FindSubmatch(base)[1]
	n, size, entry8 := 3, 8, ""
	if obj8 != "" {
		entry8 = fmt.Sprintf("%010d 00000 n \n", b.Len())
		b.WriteString("8 0 obj\n" + obj8 + "\nendobj\n")
		n, size = 4, 9
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n5 %d\n%010d 00000 n \n%010d 00000 n \n%010d 00000 n \n%strailer\n<< /Size %d /Root 7 0 R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n", n, off5, off6, off7, entry8, size, prev, xref)
	file := b.Bytes()
	br := fmt.Sprintf("[%010d %010d %010d %010d]", 0, gapStart, gapEnd, len(file)-gapEnd)
	copy(file[bytes.Index(file, []byte("[0000000000 0000000000 0000000000 0000000000]")):], br)
	h := newHash()
	h.Write(file[:gapStart])
	h.Write(file[gapEnd:])
	der := sign(h.Sum(nil))
	body := fill(der, placeholder)
	if len(body) != placeholder {
		t.Fatalf("fill wrote %d bytes, want %d", len(body), placeholder)
	}
	copy(file[gapStart+1:], body)
	return file
}

// zeroPadded is what a conforming signer writes: the hex of the CMS,
// padded with hex zeros.
func zeroPadded(der []byte, n int) string {
	s := hex.EncodeToString(der)
	return s + strings.Repeat("0", n-len(s))
}

func rsaCMS(t *testing.T, p *testpki.PKI) func([]byte) []byte {
	return func(digest []byte) []byte {
		der, err := cms.Sign(digest, p.RSA.Key, p.RSA.Cert, &cms.SignOptions{Hash: crypto.SHA256, Certificates: []*x509.Certificate{p.RSA.Cert, p.Intermediate.Cert}, SigningTime: testpki.Now})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
}

// TestContentsPadding: /Contents is a hex string whose padding after the
// CMS is hex zeros (ISO 32000-2 §12.8.1); anything else in the gap is a
// format failure, even though the CMS itself verifies.
func TestContentsPadding(t *testing.T) {
	p := testpki.New(t)
	tests := []struct {
		name string
		fill func(der []byte, n int) string
		pass bool
	}{
		{"zero padding", zeroPadded, true},
		{"upper-case hex", func(der []byte, n int) string { return strings.ToUpper(zeroPadded(der, n)) }, true},
		{"non-zero padding", func(der []byte, n int) string {
			s := hex.EncodeToString(der) + "deadbeef"
			return s + strings.Repeat("0", n-len(s))
		}, false},
		{"spaces instead of zeros", func(der []byte, n int) string {
			s := hex.EncodeToString(der)
			return s + strings.Repeat(" ", n-len(s))
		}, false},
		{"line breaks between the hex digits", func(der []byte, n int) string {
			h := hex.EncodeToString(der)
			var sb strings.Builder
			for i := 0; i < len(h); i += 64 {
				sb.WriteString(h[i:min(i+64, len(h))] + "\n")
			}
			s := sb.String()
			return s + strings.Repeat("0", n-len(s))
		}, false},
		{"text hidden in the padding", func(der []byte, n int) string {
			s := hex.EncodeToString(der) + "00) /Name (Mallory"
			return s + strings.Repeat("0", n-len(s))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := handSigned(t, sha256.New, rsaCMS(t, p), tt.fill)
			rep := validateBytes(t, file, attackOpts(p))
			if len(rep.Signatures) == 0 {
				// The gap no longer parses as a hex string at all.
				if tt.pass || rep.Passed {
					t.Fatalf("no signature found:\n%s", dumpReport(rep))
				}
				return
			}
			s := rep.Signatures[0]
			if tt.pass {
				if s.Indication != signature.TotalPassed {
					t.Fatalf("want TOTAL_PASSED:\n%s", dumpReport(rep))
				}
				return
			}
			if s.Indication != signature.TotalFailed || s.SubIndication != signature.FormatFailure {
				t.Fatalf("want TOTAL_FAILED/FORMAT_FAILURE:\n%s", dumpReport(rep))
			}
		})
	}
}

// TestEdDSADigestConstraint: RFC 8419 §3.1 requires SHA-512 with Ed25519;
// a signature that verifies but pairs Ed25519 with SHA-256 is
// CRYPTO_CONSTRAINTS_FAILURE and not crypto intact, even when weak
// algorithms are allowed.
func TestEdDSADigestConstraint(t *testing.T) {
	p := testpki.New(t)
	edCMS := func(h crypto.Hash) func([]byte) []byte {
		return func(digest []byte) []byte {
			der, err := cms.Sign(digest, p.Ed25519.Key, p.Ed25519.Cert, &cms.SignOptions{NonConformingEdDSAHash: h, Certificates: []*x509.Certificate{p.Ed25519.Cert, p.Intermediate.Cert}, SigningTime: testpki.Now})
			if err != nil {
				t.Fatal(err)
			}
			return der
		}
	}
	good := validateBytes(t, handSigned(t, sha512.New, edCMS(0), zeroPadded), attackOpts(p))
	if s := good.Signatures[0]; s.Indication != signature.TotalPassed || !s.CryptoIntact {
		t.Fatalf("Ed25519 with SHA-512 must pass:\n%s", dumpReport(good))
	}
	opts := attackOpts(p)
	opts.AllowWeakAlgorithms = true
	bad := validateBytes(t, handSigned(t, sha256.New, edCMS(crypto.SHA256), zeroPadded), opts)
	s := bad.Signatures[0]
	if s.SubIndication != signature.CryptoConstraintsFailure || s.Indication == signature.TotalPassed || s.CryptoIntact {
		t.Fatalf("Ed25519 with SHA-256: want CRYPTO_CONSTRAINTS_FAILURE, not crypto intact:\n%s", dumpReport(bad))
	}
	if s.Level != signature.LevelNone {
		t.Errorf("level %s, want none for a signature whose cryptography fails", s.Level)
	}
}

// TestDocMDPAsSigned: what a signature permits is read as it was signed. A
// certification signature with P=1 whose transform parameters are an
// indirect object cannot be relaxed by rewriting that object later (a
// regression test: certificationP already read /Perms as signed).
func TestDocMDPAsSigned(t *testing.T) {
	p := testpki.New(t)
	file := handSignedWith(t, sha256.New, rsaCMS(t, p), zeroPadded,
		"/Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams 8 0 R >>]",
		"/Perms << /DocMDP 5 0 R >>", "<< /Type /TransformParams /P 1 /V /1.2 >>")
	if rep := validateBytes(t, file, attackOpts(p)); !rep.Passed {
		t.Fatalf("the certified contract must pass:\n%s", dumpReport(rep))
	}
	attacked := appendUpdate(t, file, map[int]string{
		8: "<< /Type /TransformParams /P 3 /V /1.2 >>",
		9: "<< /Type /Annot /Subtype /FreeText /Rect [300 300 500 340] /Contents (Paid) /DA (/Helv 12 Tf 0 g) >>",
		3: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> /Annots [9 0 R] >>",
	})
	s := mustNotPass(t, validateBytes(t, attacked, attackOpts(p)))
	if s.Modification != signature.ModificationDisallowed {
		t.Fatalf("P=1 relaxed by a later revision: modification %s, want disallowed:\n%v", s.Modification, s.Problems)
	}
}

// TestLockAddedLaterDoesNotBindEarlierSignature: a later signer locking the
// first signer's field (/Lock added to it, as Acrobat does) does not make
// the first signature lock fields it never locked: a form fill after it
// stays allowed for it.
func TestLockAddedLaterDoesNotBindEarlierSignature(t *testing.T) {
	p := testpki.New(t)
	w := pdftest.OnePage(contractContent)
	w.Object(5, "<< /FT /Tx /T (Name) /Type /Annot /Subtype /Widget /Rect [72 600 272 620] /P 3 0 R /DA (/Helv 12 Tf 0 g) >>")
	w.Object(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> /Annots [5 0 R] >>")
	w.Object(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] >> >>")
	w.EndRevision(pdftest.Section{Trailer: "/Root 1 0 R"})
	signed := signOnce(t, p, w.Bytes(), "Registrant")
	f, err := pdf.Open(bytes.NewReader(signed), int64(len(signed)), nil)
	if err != nil {
		t.Fatal(err)
	}
	last := len(f.Revisions()) - 1
	cat, _ := f.Catalog(last)
	form, _ := f.Resolve(cat["AcroForm"], last)
	fields, _ := f.Resolve(form.(pdf.Dict)["Fields"], last)
	arr := fields.(pdf.Array)
	sigRef := arr[len(arr)-1].(pdf.Ref)
	sigField, _ := f.Resolve(sigRef, last)
	locked := maps(sigField.(pdf.Dict))
	locked["Lock"] = pdf.Dict{"Type": pdf.Name("SigFieldLock"), "Action": pdf.Name("All")}
	size := int(f.Trailer(last)["Size"].(int64))
	// Revision 3: the first signer's field locked (by a later signer's
	// software). Revision 4: the text field filled in.
	doc := appendUpdate(t, signed, map[int]string{sigRef.Num: pdfText(locked)})
	const filled = "/Tx BMC BT (Alice) Tj ET EMC"
	doc = appendUpdate(t, doc, map[int]string{
		size: fmt.Sprintf("<< /Type /XObject /Subtype /Form /BBox [0 0 200 20] /Length %d >>\nstream\n%s\nendstream", len(filled), filled),
		5:    fmt.Sprintf("<< /FT /Tx /T (Name) /V (Alice) /Type /Annot /Subtype /Widget /Rect [72 600 272 620] /P 3 0 R /DA (/Helv 12 Tf 0 g) /AP << /N %d 0 R >> >>", size),
	})
	rep := validateBytes(t, doc, attackOpts(p))
	if len(rep.Signatures) != 1 || !rep.Passed || rep.Signatures[0].Modification != signature.ModificationAllowed {
		t.Fatalf("a lock added after signing must not bind the first signature:\n%s", dumpReport(rep))
	}
}
