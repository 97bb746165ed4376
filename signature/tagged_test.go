package signature_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// chromiumTaggedPDF prints a small contract to PDF with headless Chromium,
// whose PDFs are tagged (a structure tree, a parent tree, /StructParents
// on the page): a tagged PDF from a real producer.
func chromiumTaggedPDF(t *testing.T) []byte {
	t.Helper()
	chromium := testenv.Command(t, "chromium", "chromium")
	dir := t.TempDir()
	html := filepath.Join(dir, "contract.html")
	if err := os.WriteFile(html, []byte(`<html lang="ja"><body><h1>業務委託契約書</h1><p>Contract: 1,000,000 JPY</p></body></html>`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "contract.pdf")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--print-to-pdf="+out, "file://"+html)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pdfText writes o as PDF syntax (enough for the dictionaries rewritten
// here).
func pdfText(o pdf.Object) string {
	switch v := o.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprint(v)
	case int64:
		return fmt.Sprint(v)
	case float64:
		return fmt.Sprintf("%g", v)
	case pdf.Name:
		return "/" + string(v)
	case pdf.String:
		return "<" + hex.EncodeToString(v) + ">"
	case pdf.Ref:
		return v.String()
	case pdf.Array:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = pdfText(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case pdf.Dict:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, string(k))
		}
		slices.Sort(keys)
		var sb strings.Builder
		sb.WriteString("<<")
		for _, k := range keys {
			sb.WriteString(" /" + k + " " + pdfText(v[pdf.Name(k)]))
		}
		sb.WriteString(" >>")
		return sb.String()
	}
	panic(fmt.Sprintf("pdfText: %T", o))
}

// TestTaggedPDFFromChromium: a tagged contract from a real producer
// (Chromium), signed by both parties; then a revision that updates the
// structure tree for the new signature's widget, as Acrobat does when it
// signs a tagged document (a /Form structure element with an object
// reference to the widget, the parent tree, /StructParent on the widget).
// Both signatures stay TOTAL_PASSED. The same update used to rewrite the
// page content fails, naming the page's content.
func TestTaggedPDFFromChromium(t *testing.T) {
	tagged := chromiumTaggedPDF(t)
	p := testpki.New(t)
	both := signOnce(t, p, signOnce(t, p, tagged, "Registrant"), "Counterparty")

	f, err := pdf.Open(bytes.NewReader(both), int64(len(both)), nil)
	if err != nil {
		t.Fatal(err)
	}
	last := len(f.Revisions()) - 1
	resolve := func(o pdf.Object) pdf.Object {
		v, err := f.Resolve(o, last)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cat, err := f.Catalog(last)
	if err != nil {
		t.Fatal(err)
	}
	rootRef, ok := cat["StructTreeRoot"].(pdf.Ref)
	if !ok {
		t.Fatal("Chromium's PDF has no indirect /StructTreeRoot: not tagged")
	}
	root := resolve(rootRef).(pdf.Dict)
	ptRef, ok := root["ParentTree"].(pdf.Ref)
	if !ok {
		t.Fatal("no indirect /ParentTree")
	}
	pt := resolve(ptRef).(pdf.Dict)
	nums, ok := resolve(pt["Nums"]).(pdf.Array)
	if !ok {
		t.Fatal("the parent tree has no /Nums array")
	}
	next, _ := resolve(root["ParentTreeNextKey"]).(int64)
	// The Counterparty widget: the last field of the form.
	form := resolve(cat["AcroForm"]).(pdf.Dict)
	fields := resolve(form["Fields"]).(pdf.Array)
	widgetRef := fields[len(fields)-1].(pdf.Ref)
	widget := resolve(widgetRef).(pdf.Dict)
	pageRef, _ := widget["P"].(pdf.Ref)
	if pageRef == (pdf.Ref{}) {
		t.Fatal("the widget has no /P")
	}
	page := resolve(pageRef).(pdf.Dict)
	size := int(f.Trailer(last)["Size"].(int64))

	// The structure update.
	elem := size
	newRoot := maps(root)
	newRoot["K"] = append(asArray(root["K"]), pdf.Ref{Num: elem})
	newRoot["ParentTreeNextKey"] = next + 1
	newPT := maps(pt)
	newPT["Nums"] = append(slices.Clone(nums), next, pdf.Ref{Num: elem})
	newWidget := maps(widget)
	newWidget["StructParent"] = next
	update := map[int]string{
		elem:          pdfText(pdf.Dict{"Type": pdf.Name("StructElem"), "S": pdf.Name("Form"), "P": rootRef, "Pg": pageRef, "K": pdf.Dict{"Type": pdf.Name("OBJR"), "Obj": widgetRef, "Pg": pageRef}}),
		rootRef.Num:   pdfText(newRoot),
		ptRef.Num:     pdfText(newPT),
		widgetRef.Num: pdfText(newWidget),
	}
	opts := attackOpts(p)
	rep := validateBytes(t, appendUpdate(t, both, update), opts)
	if len(rep.Signatures) != 2 || !rep.Passed {
		t.Fatalf("a structure-tree update after signing must pass:\n%s", dumpReport(rep))
	}
	for _, s := range rep.Signatures {
		if s.Modification != signature.ModificationAllowed {
			t.Fatalf("signature %q: modification %s, want allowed:\n%s", s.Field, s.Modification, dumpReport(rep))
		}
	}

	// The same update, also rewriting the page's content stream.
	contents, ok := page["Contents"].(pdf.Ref)
	if !ok {
		t.Fatal("the page /Contents is not one stream")
	}
	evil := "BT /F1 24 Tf 72 720 Td (PAID IN FULL) Tj ET"
	update[contents.Num] = fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(evil), evil)
	rep = validateBytes(t, appendUpdate(t, both, update), opts)
	s := mustNotPass(t, rep)
	if s.Modification != signature.ModificationDisallowed || !strings.Contains(strings.Join(s.Problems, "\n"), "/Contents") {
		t.Fatalf("the content rewrite must be refused, naming the page /Contents:\n%s", dumpReport(rep))
	}
}

func maps(d pdf.Dict) pdf.Dict {
	out := pdf.Dict{}
	for k, v := range d {
		out[k] = v
	}
	return out
}

func asArray(o pdf.Object) pdf.Array {
	if a, ok := o.(pdf.Array); ok {
		return slices.Clone(a)
	}
	return pdf.Array{o}
}
