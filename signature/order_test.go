package signature_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// TestSignaturesInRevisionOrder: the report lists signatures in the order
// they were applied (revision order), whatever the order of their fields
// in the form: here a later update lists the second signer's field first.
func TestSignaturesInRevisionOrder(t *testing.T) {
	p := testpki.New(t)
	first := signedContract(t, p, func(o *signature.SignOptions) { o.Field = "Zeta" })
	both := signOnce(t, p, first, "Alpha")
	f, err := pdf.Open(bytes.NewReader(both), int64(len(both)), nil)
	if err != nil {
		t.Fatal(err)
	}
	last := len(f.Revisions()) - 1
	cat, err := f.Catalog(last)
	if err != nil {
		t.Fatal(err)
	}
	form, _ := f.Resolve(cat["AcroForm"], last)
	fields, _ := f.Resolve(form.(pdf.Dict)["Fields"], last)
	arr, _ := fields.(pdf.Array)
	if len(arr) != 2 {
		t.Fatalf("want 2 fields, got %v", arr)
	}
	// Rewrite the catalog's bytes with the two fields swapped.
	rootRef := f.Trailer(last)["Root"].(pdf.Ref)
	start, end, err := f.ObjectSpan(rootRef, last)
	if err != nil {
		t.Fatal(err)
	}
	body := string(both[start:end])
	body = body[strings.Index(body, "obj")+3 : strings.LastIndex(body, "endobj")]
	swapped := fmt.Sprintf("%v %v", arr[1], arr[0])
	re := regexp.MustCompile(`/Fields\s*\[[^\]]*\]`)
	if !re.MatchString(body) {
		t.Fatalf("no direct /Fields array in the catalog: %s", body)
	}
	body = re.ReplaceAllString(body, "/Fields ["+swapped+"]")
	reordered := appendUpdate(t, both, map[int]string{rootRef.Num: body})

	for name, doc := range map[string][]byte{"as signed": both, "fields reordered": reordered} {
		t.Run(name, func(t *testing.T) {
			rep := validateBytes(t, doc, attackOpts(p))
			if len(rep.Signatures) != 2 {
				t.Fatalf("want 2 signatures:\n%s", dumpReport(rep))
			}
			if rep.Signatures[0].Field != "Zeta" || rep.Signatures[1].Field != "Alpha" {
				t.Fatalf("want Zeta (applied first) then Alpha:\n%s", dumpReport(rep))
			}
			if rep.Signatures[0].Revision >= rep.Signatures[1].Revision {
				t.Fatalf("revisions out of order:\n%s", dumpReport(rep))
			}
		})
	}
}
