package signature_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// TestSignDocumentShapes signs documents laid out in the ways real files
// are, and checks each result with qpdf, pdfsig and internal/pdf.
func TestSignDocumentShapes(t *testing.T) {
	p := testpki.New(t)
	db := p.NSSDB(t, t.TempDir())
	shapes := []struct {
		name    string
		build   func() []byte
		visible *signature.Appearance
		check   func(t *testing.T, f *pdf.File)
	}{
		{"page in object stream", func() []byte {
			w := pdftest.New()
			w.Compressed(1, "<< /Type /Catalog /Pages 2 0 R >>")
			w.Compressed(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
			w.Compressed(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
			w.EndRevision(pdftest.Section{XRefStream: true})
			return w.Bytes()
		}, &signature.Appearance{Rect: [4]float64{10, 10, 200, 60}}, nil},
		{"nested page tree, third page", func() []byte {
			w := pdftest.New()
			w.Object(1, "<< /Type /Catalog /Pages 2 0 R >>")
			w.Object(2, "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 3 >>")
			w.Object(3, "<< /Type /Pages /Parent 2 0 R /Kids [5 0 R 6 0 R] /Count 2 >>")
			w.Object(4, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
			w.Object(5, "<< /Type /Page /Parent 3 0 R /MediaBox [0 0 595 842] >>")
			w.Object(6, "<< /Type /Page /Parent 3 0 R /MediaBox [0 0 595 842] >>")
			w.EndRevision(pdftest.Section{})
			return w.Bytes()
		}, &signature.Appearance{Page: 3, Rect: [4]float64{10, 10, 200, 60}}, func(t *testing.T, f *pdf.File) {
			o, _ := f.Object(pdf.Ref{Num: 4}, len(f.Revisions())-1)
			if a, _ := o.(pdf.Dict)["Annots"].(pdf.Array); len(a) != 1 {
				t.Fatalf("third page (object 4) has annots %v", o)
			}
		}},
		{"inline form and annotations", func() []byte {
			w := pdftest.New()
			w.Object(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] /SigFlags 0 /DA (/Helv 0 Tf 0 g) >> >>")
			w.Object(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
			w.Object(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] >>] >>")
			w.EndRevision(pdftest.Section{})
			return w.Bytes()
		}, nil, func(t *testing.T, f *pdf.File) {
			last := len(f.Revisions()) - 1
			cat, _ := f.Catalog(last)
			acro, _ := cat["AcroForm"].(pdf.Dict)
			if n, _ := acro.Int("SigFlags"); n != 3 || acro["DA"] == nil {
				t.Fatalf("AcroForm %v: want SigFlags 3 and /DA kept", acro)
			}
			o, _ := f.Object(pdf.Ref{Num: 3}, last)
			if a, _ := o.(pdf.Dict)["Annots"].(pdf.Array); len(a) != 2 {
				t.Fatalf("page annots %v: want the link and the widget", o)
			}
		}},
		{"no EOL after %%EOF, with Info and ID", func() []byte {
			w := pdftest.OnePage("BT ET")
			w.Object(5, "<< /Title (契約書) >>")
			w.EndRevision(pdftest.Section{NoEOL: true, Trailer: "/Info 5 0 R /ID [<0102> <0304>]"})
			return w.Bytes()
		}, nil, func(t *testing.T, f *pdf.File) {
			tr := f.Trailer(len(f.Revisions()) - 1)
			if tr["Info"] == nil || tr["ID"] == nil {
				t.Fatalf("trailer %v lost /Info or /ID", tr)
			}
		}},
		{"already updated with xref stream", func() []byte {
			w := pdftest.OnePage("BT ET")
			w.Object(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 595] >>")
			w.EndRevision(pdftest.Section{XRefStream: true, Compress: true})
			return w.Bytes()
		}, &signature.Appearance{Rect: [4]float64{10, 10, 200, 60}}, nil},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			in := sh.build()
			f0, err := pdf.Open(bytes.NewReader(in), int64(len(in)), nil)
			if err != nil || f0.Repaired() {
				t.Fatalf("test document is broken: %v", err)
			}
			opts := baseOpts(p, p.RSA)
			opts.Visible = sh.visible
			out := sign(t, in, opts)
			f, err := pdf.Open(bytes.NewReader(out), int64(len(out)), nil)
			if err != nil || f.Repaired() || len(f.Revisions()) != len(f0.Revisions())+1 {
				t.Fatalf("signed file: err=%v repaired=%v revisions=%d", err, f != nil && f.Repaired(), len(f.Revisions()))
			}
			if sh.check != nil {
				sh.check(t, f)
			}
			qpdfCheck(t, out)
			res := pdfsig(t, db, out)
			if !strings.Contains(res, "Signature is Valid.") || !strings.Contains(res, "Total document signed") {
				t.Fatalf("pdfsig:\n%s", res)
			}
		})
	}
}
