package signature_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/cms"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// The attack tests sign a contract with the real signer, then attack the
// signed file the way published PDF-signature attacks do (Mladenov et al.,
// "1 Trillion Dollar Refund", 2019; Mainka et al., "Shadow Attacks", 2021)
// and check that Validate does not let the attacked file pass.

const contractContent = "BT /F1 12 Tf 72 720 Td (Contract: 1,000,000 JPY) Tj ET"

// signedContract returns a one-page PDF signed by the test PKI's RSA signer.
func signedContract(t *testing.T, p *testpki.PKI, mutate func(*signature.SignOptions)) []byte {
	t.Helper()
	in := pdftest.OnePage(contractContent).Bytes()
	opts := &signature.SignOptions{
		Signer: p.RSA.Key, Certificate: p.RSA.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Field: "Registrant", Reason: "契約締結", SigningTime: testpki.Now,
	}
	if mutate != nil {
		mutate(opts)
	}
	var out bytes.Buffer
	if err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, opts); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return out.Bytes()
}

func attackOpts(p *testpki.PKI) *signature.ValidateOptions {
	return &signature.ValidateOptions{At: testpki.Now, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationOff}
}

var (
	reStartxref = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)
	reSize      = regexp.MustCompile(`/Size\s+(\d+)`)
	reRoot      = regexp.MustCompile(`/Root\s+(\d+\s+\d+\s+R)`)
)

// appendUpdate appends an incremental update (ISO 32000-2 §7.5.6) that
// (re)defines objs with a classic cross-reference table, as any PDF editor
// would. It is how the attacks below change a signed file.
func appendUpdate(t *testing.T, b []byte, objs map[int]string) []byte {
	t.Helper()
	m := reStartxref.FindSubmatch(b)
	if m == nil {
		t.Fatal("appendUpdate: no startxref at the end of the file")
	}
	prev := string(m[1])
	sizes := reSize.FindAllSubmatch(b, -1)
	roots := reRoot.FindAllSubmatch(b, -1)
	if len(sizes) == 0 || len(roots) == 0 {
		t.Fatal("appendUpdate: no /Size or /Root in a trailer")
	}
	size, _ := strconv.Atoi(string(sizes[len(sizes)-1][1]))
	var out bytes.Buffer
	out.Write(b)
	if !bytes.HasSuffix(b, []byte("\n")) {
		out.WriteString("\n")
	}
	nums := make([]int, 0, len(objs))
	for n := range objs {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	offs := map[int]int{}
	for _, n := range nums {
		offs[n] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", n, objs[n])
		if n >= size {
			size = n + 1
		}
	}
	xref := out.Len()
	out.WriteString("xref\n")
	for _, n := range nums {
		fmt.Fprintf(&out, "%d 1\n%010d 00000 n \n", n, offs[n])
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root %s /Prev %s >>\nstartxref\n%d\n%%%%EOF\n", size, roots[len(roots)-1][1], prev, xref)
	return out.Bytes()
}

// mustNotPass checks the common verdict of an attacked file: it does not
// pass, and the first signature (the victim) is not TOTAL_PASSED.
func mustNotPass(t *testing.T, rep *signature.Report) *signature.SignatureReport {
	t.Helper()
	if rep.Passed {
		t.Fatalf("the attacked file passed:\n%s", dumpReport(rep))
	}
	if len(rep.Signatures) == 0 {
		t.Fatalf("the attacked file reports no signature (dropped silently):\n%s", dumpReport(rep))
	}
	s := rep.Signatures[0]
	if s.Indication == signature.TotalPassed {
		t.Fatalf("the victim signature is TOTAL_PASSED:\n%s", dumpReport(rep))
	}
	return s
}

func TestAttackBaselinePasses(t *testing.T) {
	p := testpki.New(t)
	rep := validateBytes(t, signedContract(t, p, nil), attackOpts(p))
	if !rep.Passed || len(rep.Signatures) != 1 || rep.Signatures[0].Coverage != signature.CoverageEntireFile || rep.Signatures[0].Modification != signature.ModificationNone {
		t.Fatalf("the unattacked contract must pass:\n%s", dumpReport(rep))
	}
}

// Incremental saving attack (ISA): a later revision replaces the page
// content. The signature itself stays cryptographically intact.
func TestAttackIncrementalSaving(t *testing.T) {
	p := testpki.New(t)
	signed := signedContract(t, p, nil)
	evil := "BT /F1 12 Tf 72 720 Td (Contract: 1 JPY) Tj ET"
	attacked := appendUpdate(t, signed, map[int]string{
		4: fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(evil)+1, evil),
	})
	s := mustNotPass(t, validateBytes(t, attacked, attackOpts(p)))
	if !s.CryptoIntact || s.Coverage != signature.CoverageEntireRevision || s.Modification != signature.ModificationDisallowed ||
		s.Indication != signature.TotalFailed || s.SubIndication != signature.FormatFailure {
		t.Fatalf("want intact, entire_revision, disallowed, TOTAL_FAILED/FORMAT_FAILURE, got %+v", s)
	}
}

// TestAttacksDisallowed: changes that no signature allows, each made as
// an incremental update after an approval signature. Every one must leave
// the victim signature with a disallowed modification.
func TestAttacksDisallowed(t *testing.T) {
	p := testpki.New(t)
	signed := signedContract(t, p, nil)
	evil := "BT /F1 12 Tf 72 720 Td (Contract: 1 JPY) Tj ET"
	cases := []struct {
		name string
		objs map[int]string
	}{
		// Pages added: the page tree is redefined with a new page.
		{"page added", map[int]string{
			2:   "<< /Type /Pages /Kids [3 0 R 100 0 R] /Count 2 >>",
			100: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 101 0 R /Resources << >> >>",
			101: "<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 720 Td (Extra terms) Tj ET\n\nendstream",
		}},
		// Pages removed.
		{"page removed", map[int]string{
			2: "<< /Type /Pages /Kids [] /Count 0 >>",
		}},
		// Shadow attack, "replace": the font resource the signed content
		// uses is redefined so that the same content shows other glyphs.
		{"shadow replace: resources", map[int]string{
			3: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Symbol >> >> >> >>",
		}},
		// Shadow attack, "hide-and-replace": the page is pointed at a new
		// content stream (a reference redirected to another object).
		{"shadow hide-and-replace", map[int]string{
			3:   "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 200 0 R /Resources << >> >>",
			200: fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(evil)+1, evil),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustNotPass(t, validateBytes(t, appendUpdate(t, signed, c.objs), attackOpts(p)))
			if s.Modification != signature.ModificationDisallowed {
				t.Fatalf("want disallowed, got %s:\n%v", s.Modification, s.Reasons)
			}
		})
	}
}

// Shadow attack, "hide": an annotation with an opaque appearance is laid
// over the signed text. Annotations may follow an approval signature, so
// this is not forbidden outright, but it must be reported.
func TestAttackShadowHideOverlayReported(t *testing.T) {
	p := testpki.New(t)
	signed := signedContract(t, p, nil)
	attacked := appendUpdate(t, signed, map[int]string{
		3:   "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> /Annots [300 0 R] >>",
		300: "<< /Type /Annot /Subtype /Square /Rect [60 700 400 740] /IC [1 1 1] /C [1 1 1] /F 4 >>",
	})
	rep := validateBytes(t, attacked, attackOpts(p))
	s := rep.Signatures[0]
	if s.Modification == signature.ModificationNone {
		t.Fatalf("an added annotation is a modification:\n%s", dumpReport(rep))
	}
	if !strings.Contains(strings.Join(s.Reasons, "\n"), "overlay") {
		t.Fatalf("an annotation that may overlay signed content must be reported:\n%s", dumpReport(rep))
	}
}

// A certification signature with DocMDP P=1 allows no change at all: a
// later annotation is disallowed.
func TestAttackAfterCertificationP1(t *testing.T) {
	p := testpki.New(t)
	signed := signedContract(t, p, func(o *signature.SignOptions) { o.Certification, o.DocMDP = true, 1 })
	attacked := appendUpdate(t, signed, map[int]string{
		3:   "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> /Annots [300 0 R] >>",
		300: "<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] /Contents (note) >>",
	})
	s := mustNotPass(t, validateBytes(t, attacked, attackOpts(p)))
	if s.Modification != signature.ModificationDisallowed {
		t.Fatalf("change after P=1 certification: want disallowed, got %s:\n%v", s.Modification, s.Reasons)
	}
}

// The signature dictionary itself is redefined in a later revision (a
// spoofed /Reason or signer name) while /ByteRange and /Contents are kept.
func TestAttackSignatureDictionaryReplaced(t *testing.T) {
	p := testpki.New(t)
	signed := signedContract(t, p, nil)
	num, body := sigDictObject(t, signed)
	spoofed := strings.Replace(body, "/Reason", "/Name (CEO 社長) /Reason", 1)
	attacked := appendUpdate(t, signed, map[int]string{num: spoofed})
	s := mustNotPass(t, validateBytes(t, attacked, attackOpts(p)))
	if s.Modification != signature.ModificationDisallowed {
		t.Fatalf("replaced signature dictionary: want disallowed, got %s:\n%v", s.Modification, s.Reasons)
	}
}

// Bytes appended after the last %%EOF that are not an incremental update.
func TestAttackTrailingGarbage(t *testing.T) {
	p := testpki.New(t)
	signed := signedContract(t, p, nil)
	attacked := append(append([]byte{}, signed...), []byte("\n5 0 obj\n(Contract: 1 JPY)\nendobj\n")...)
	s := mustNotPass(t, validateBytes(t, attacked, attackOpts(p)))
	if s.Coverage == signature.CoverageEntireFile {
		t.Fatalf("trailing bytes: coverage must not be entire_file:\n%+v", s)
	}
}

// sigDictObject finds the indirect object holding the /ByteRange of the
// (only) signature and returns its number and body.
func sigDictObject(t *testing.T, b []byte) (int, string) {
	t.Helper()
	re := regexp.MustCompile(`(?s)(\d+) 0 obj\s*(<<(?:[^<>]|<[^<]|>[^>])*?/ByteRange.*?>>)\s*endobj`)
	m := re.FindSubmatch(b)
	if m == nil {
		t.Fatal("no signature dictionary object found")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n, string(m[2])
}

// Universal signature forgery (USF): signature dictionaries whose values a
// naive validator skips. None may pass, none may be dropped silently.
func TestAttackUniversalSignatureForgery(t *testing.T) {
	p := testpki.New(t)
	signed := signedContract(t, p, nil)
	num, body := sigDictObject(t, signed)
	contents := regexp.MustCompile(`/Contents\s*<[0-9A-Fa-f]*>`)
	byteRange := regexp.MustCompile(`/ByteRange\s*\[[^\]]*\]`)
	cases := map[string]string{
		"no Contents":          contents.ReplaceAllString(body, ""),
		"Contents null":        contents.ReplaceAllString(body, "/Contents null"),
		"Contents empty":       contents.ReplaceAllString(body, "/Contents <>"),
		"Contents zeros":       contents.ReplaceAllString(body, "/Contents <0000000000>"),
		"no ByteRange":         byteRange.ReplaceAllString(body, ""),
		"ByteRange null":       byteRange.ReplaceAllString(body, "/ByteRange null"),
		"ByteRange empty":      byteRange.ReplaceAllString(body, "/ByteRange []"),
		"ByteRange zeros":      byteRange.ReplaceAllString(body, "/ByteRange [0 0 0 0]"),
		"ByteRange negative":   byteRange.ReplaceAllString(body, "/ByteRange [0 -1 -1 -1]"),
		"ByteRange two values": byteRange.ReplaceAllString(body, "/ByteRange [0 100]"),
	}
	for name, forged := range cases {
		t.Run(name, func(t *testing.T) {
			// The forged dictionary replaces the real one in a new revision,
			// as USF does when it edits a signed file.
			attacked := appendUpdate(t, signed, map[int]string{num: forged})
			rep := validateBytes(t, attacked, attackOpts(p))
			if rep.Passed {
				t.Fatalf("forged signature passed:\n%s", dumpReport(rep))
			}
			for _, s := range rep.Signatures {
				if s.Indication == signature.TotalPassed {
					t.Fatalf("a forged signature is TOTAL_PASSED:\n%s", dumpReport(rep))
				}
			}
			if len(rep.Signatures) == 0 {
				t.Fatalf("the forged signature was dropped silently")
			}
		})
	}
}

// Signature wrapping (SWA): the signer's byte range leaves out more than
// the /Contents string, so unsigned bytes (here a hidden object) sit in the
// gap. The CMS verifies over the ranges, yet the file must not pass.
func TestAttackSignatureWrapping(t *testing.T) {
	p := testpki.New(t)
	w := pdftest.OnePage(contractContent)
	base := w.Bytes()
	// A signature field and value dictionary in a new revision, built by
	// hand so that the gap can be made too wide.
	const placeholder = 8192
	hexZeros := strings.Repeat("0", placeholder*2)
	// Unsigned bytes in the gap, still a well-formed dictionary entry.
	hidden := " /Hidden (Contract: 1 JPY) "
	var b bytes.Buffer
	b.Write(base)
	off5 := b.Len()
	b.WriteString("5 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [0000000000 0000000000 0000000000 0000000000] /Contents <")
	gapStart := b.Len() - 1
	b.WriteString(hexZeros + ">" + hidden)
	gapEnd := b.Len()
	b.WriteString(">>\nendobj\n")
	off6 := b.Len()
	b.WriteString("6 0 obj\n<< /FT /Sig /T (Registrant) /V 5 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /P 3 0 R >>\nendobj\n")
	off7 := b.Len()
	b.WriteString("7 0 obj\n<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] /SigFlags 3 >> >>\nendobj\n")
	prev := reStartxref.FindSubmatch(base)[1]
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n5 3\n%010d 00000 n \n%010d 00000 n \n%010d 00000 n \ntrailer\n<< /Size 8 /Root 7 0 R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n", off5, off6, off7, prev, xref)
	file := b.Bytes()
	br := fmt.Sprintf("[%010d %010d %010d %010d]", 0, gapStart, gapEnd, len(file)-gapEnd)
	i := bytes.Index(file, []byte("[0000000000 0000000000 0000000000 0000000000]"))
	copy(file[i:], br)
	h := sha256.New()
	h.Write(file[:gapStart])
	h.Write(file[gapEnd:])
	der, err := cms.Sign(h.Sum(nil), p.RSA.Key, p.RSA.Cert, &cms.SignOptions{Hash: crypto.SHA256, Certificates: []*x509.Certificate{p.RSA.Cert, p.Intermediate.Cert}, SigningTime: testpki.Now})
	if err != nil {
		t.Fatal(err)
	}
	if len(der)*2 > placeholder*2 {
		t.Fatalf("the CMS (%d bytes) does not fit the placeholder", len(der))
	}
	copy(file[gapStart+1:], strings.ToUpper(hex.EncodeToString(der)))

	rep := validateBytes(t, file, attackOpts(p))
	s := mustNotPass(t, rep)
	if !s.CryptoIntact {
		t.Fatalf("the CMS verifies over the ranges; crypto_intact must say so:\n%s", dumpReport(rep))
	}
	if s.Coverage != signature.CoverageInvalid || s.Indication != signature.TotalFailed || s.SubIndication != signature.FormatFailure {
		t.Fatalf("wrapping: want coverage invalid and TOTAL_FAILED/FORMAT_FAILURE:\n%s", dumpReport(rep))
	}
}

// A spoof by duplicated key: the signed dictionary already names the
// signer; the rewrite adds a second /Name before it. Parsed the way this
// package parses (last key wins) the dictionary is unchanged, yet a viewer
// that takes the first key shows the forger's name.
func TestAttackSignatureDictionaryDuplicateKey(t *testing.T) {
	p := testpki.New(t)
	signed := signedContract(t, p, func(o *signature.SignOptions) { o.Name = "山田 太郎" })
	num, body := sigDictObject(t, signed)
	if !strings.Contains(body, "/Name") {
		t.Fatal("the signature dictionary has no /Name to duplicate")
	}
	spoofed := strings.Replace(body, "<<", "<< /Name (Mallory)", 1)
	attacked := appendUpdate(t, signed, map[int]string{num: spoofed})
	s := mustNotPass(t, validateBytes(t, attacked, attackOpts(p)))
	if s.Modification != signature.ModificationDisallowed {
		t.Fatalf("duplicated /Name: want disallowed, got %s:\n%v", s.Modification, s.Reasons)
	}
}

// Bytes after the last %%EOF that define nothing (padding, NULs, line
// feeds, a block of garbage) are reported as not covered and lower
// nothing: the signature stays TOTAL_PASSED (as in EU DSS and pyHanko).
// The same place used to append an object is the attack above.
func TestTrailingBytesReported(t *testing.T) {
	p := testpki.New(t)
	signed := signedContract(t, p, nil)
	for name, tail := range map[string]string{
		"two line feeds":  "\n\n",
		"NUL padding":     strings.Repeat("\x00", 4096),
		"spaces and CRLF": "   \r\n   \r\n",
		"garbage block":   strings.Repeat("\xde\xad\xbe\xef garbage ", 500),
	} {
		t.Run(name, func(t *testing.T) {
			rep := validateBytes(t, append(bytes.Clone(signed), tail...), attackOpts(p))
			s := rep.Signatures[0]
			if !rep.Passed || s.Indication != signature.TotalPassed || s.Modification == signature.ModificationDisallowed {
				t.Fatalf("trailing bytes that define nothing must lower nothing:\n%s", dumpReport(rep))
			}
			if len(tail) > 2 && !strings.Contains(strings.Join(s.Reasons, "\n"), "not covered") {
				t.Errorf("the trailing bytes are not reported: %q", s.Reasons)
			}
		})
	}
	for name, tail := range map[string]string{
		"an object":                   "\n7 0 obj\n(Contract: 1 JPY)\nendobj\n",
		"a cross-reference section":   "\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 >>\n",
		"an object after NUL padding": strings.Repeat("\x00", 70000) + "4 0 obj\n<< /Length 3 >>\nstream\nBT \nendstream\nendobj\n",
	} {
		t.Run(name, func(t *testing.T) {
			s := mustNotPass(t, validateBytes(t, append(bytes.Clone(signed), tail...), attackOpts(p)))
			if s.Modification != signature.ModificationDisallowed {
				t.Fatalf("trailing %s: modification %s, want disallowed", name, s.Modification)
			}
		})
	}
}
