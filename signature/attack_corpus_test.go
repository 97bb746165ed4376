package signature_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/signature"
)

// TestAttacksOnOtherSignersPDFs applies the attacks of attack_test.go to
// the real PDFs of the corpus, signed by other products: built for the
// class, not for the files our own signer makes. Every file whose
// signatures are intact before the attack must report every signature as
// disallowed-modified and TOTAL_FAILED after it.
func TestAttacksOnOtherSignersPDFs(t *testing.T) {
	dir, entries := loadCorpus(t)
	attacked := 0
	for _, ce := range entries {
		b, err := os.ReadFile(filepath.Join(dir, ce.File))
		if err != nil {
			t.Fatal(err)
		}
		before := validateBytes(t, b, &signature.ValidateOptions{Revocation: signature.RevocationOff})
		if !attackable(before, int64(len(b))) {
			continue
		}
		f, err := pdf.Open(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			t.Fatal(err)
		}
		last := len(f.Revisions()) - 1
		content, page, pages := firstPage(t, f, last)
		attacks := map[string]map[int]string{}
		if content.Num > 0 {
			evil := "BT /F1 24 Tf 72 720 Td (PAID IN FULL) Tj ET"
			attacks["incremental saving: page content replaced"] = map[int]string{
				content.Num: fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(evil), evil),
			}
		}
		if pages.Num > 0 && page.Num > 0 {
			attacks["page added"] = map[int]string{
				pages.Num: fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R 900001 0 R] /Count 2 >>", page.Num),
				900001:    fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] >>", pages.Num),
			}
		}
		if num, body, ok := lastSigDict(b); ok {
			// The signed dictionary is redefined: the signer's name added
			// (spoofing), or /Contents emptied (universal forgery).
			attacks["signature dictionary spoofed"] = map[int]string{num: strings.Replace(body, "/ByteRange", "/Name (Spoofed 社長) /ByteRange", 1)}
			attacks["signature contents emptied"] = map[int]string{num: reContents.ReplaceAllString(body, "/Contents <>")}
		}
		attacks["trailing bytes that are no revision"] = nil
		for name, objs := range attacks {
			t.Run(strings.TrimPrefix(ce.File, "pdf/")+"/"+name, func(t *testing.T) {
				attacked++
				var doc []byte
				if objs == nil {
					// Bytes after the last %%EOF that are no incremental
					// update: an object no cross-reference section lists.
					doc = append(append([]byte{}, b...), "\n99990 0 obj\n(Contract: 1 JPY)\nendobj\n"...)
				} else {
					doc = appendUpdate(t, b, objs)
				}
				rep := validateBytes(t, doc, &signature.ValidateOptions{Revocation: signature.RevocationOff})
				if rep.Passed {
					t.Fatal("the attacked file passed")
				}
				for _, s := range rep.Signatures {
					if s.Modification != signature.ModificationDisallowed || s.Indication != signature.TotalFailed {
						t.Fatalf("signature %q: modification %s, %s/%s; want disallowed, TOTAL_FAILED:\n%s", s.Field, s.Modification, s.Indication, s.SubIndication, dumpReport(rep))
					}
				}
			})
		}
	}
	if attacked < 20 {
		t.Fatalf("only %d attacks ran; the corpus should give many more", attacked)
	}
}

var (
	reSigDict  = regexp.MustCompile(`(?s)(\d+) 0 obj\s*(<<(?:[^<>]|<[^<]|>[^>])*?/ByteRange.*?>>)\s*endobj`)
	reContents = regexp.MustCompile(`/Contents\s*<[0-9A-Fa-f\s]*>`)
)

// lastSigDict returns the number and body of the last indirect signature
// dictionary written in b (a direct one, or one in an object stream, is
// not found).
func lastSigDict(b []byte) (int, string, bool) {
	ms := reSigDict.FindAllSubmatch(b, -1)
	if len(ms) == 0 {
		return 0, "", false
	}
	m := ms[len(ms)-1]
	n, err := strconv.Atoi(string(m[1]))
	if err != nil || !reContents.Match(m[2]) {
		return 0, "", false
	}
	return n, string(m[2]), true
}

// attackable: at least one signature, every one with intact cryptography
// and a sound byte range, and the last covering the whole file.
func attackable(rep *signature.Report, size int64) bool {
	if rep.Error != "" || len(rep.Signatures) == 0 {
		return false
	}
	for _, s := range rep.Signatures {
		if !s.CryptoIntact || s.Coverage == signature.CoverageInvalid || s.Coverage == signature.CoveragePartial || s.Modification == signature.ModificationDisallowed {
			return false
		}
	}
	return rep.Signatures[len(rep.Signatures)-1].Coverage == signature.CoverageEntireFile
}

// firstPage returns the first content stream of the first page, the page
// and the root of the page tree, as of revision rev (zero Refs when they
// are not indirect objects).
func firstPage(t *testing.T, f *pdf.File, rev int) (content, page, pages pdf.Ref) {
	t.Helper()
	cat, err := f.Catalog(rev)
	if err != nil {
		t.Fatal(err)
	}
	pages, _ = cat["Pages"].(pdf.Ref)
	node := cat["Pages"]
	for depth := 0; depth < 32; depth++ {
		o, err := f.Resolve(node, rev)
		if err != nil {
			return
		}
		d, _ := o.(pdf.Dict)
		if d == nil {
			return
		}
		if d.Name("Type") == "Page" || d["Kids"] == nil {
			page, _ = node.(pdf.Ref)
			switch c := d["Contents"].(type) {
			case pdf.Ref:
				content = c
			case pdf.Array:
				if len(c) > 0 {
					content, _ = c[0].(pdf.Ref)
				}
			}
			return
		}
		kids, _ := f.Resolve(d["Kids"], rev)
		arr, _ := kids.(pdf.Array)
		if len(arr) == 0 {
			return
		}
		node = arr[0]
	}
	return
}
