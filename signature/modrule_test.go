package signature

import (
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
)

// modCase is one document for a rule, judged for Sig1 (signed revision
// index 1 of signedDoc).
type modCase struct {
	name    string
	build   func() *pdftest.Writer
	mdp     MDP
	want    Modification
	wantMsg string // a word the reasons must contain, when set
}

func runModCases(t *testing.T, cases []modCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			f := openPDF(t, tt.build().Bytes())
			got, reasons := analyzeModifications(f, 1, pdf.Ref{Num: numSigField}, tt.mdp)
			if got != tt.want {
				t.Fatalf("got %s %q, want %s", got, reasons, tt.want)
			}
			if tt.want == ModificationDisallowed && len(reasons) == 0 {
				t.Fatal("disallowed without a reason")
			}
			if tt.wantMsg != "" && !strings.Contains(strings.Join(reasons, "\n"), tt.wantMsg) {
				t.Errorf("reasons %q do not name %q", reasons, tt.wantMsg)
			}
		})
	}
}

const (
	pageWithSig2 = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 9 0 R >> >> /Annots [7 0 R 6 0 R 21 0 R] >>"
	catWithSig2  = "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [7 0 R 6 0 R 21 0 R] /SigFlags 3 >> >>"
)

// TestRuleFieldLocking: a later signature that locks earlier or its own
// fields, as Acrobat does, is allowed; /Ff used to change how a value is
// shown, or /Lock on a field that is no signature field, is not.
func TestRuleFieldLocking(t *testing.T) {
	runModCases(t, []modCase{
		{"Sig2 locks all fields and sets ReadOnly on them", func() *pdftest.Writer {
			w := signedDoc(false, false)
			w.Object(20, sig2Body)
			w.Object(21, "<< /FT /Sig /T (Sig2) /V 20 0 R /Type /Annot /Subtype /Widget /Rect [300 50 400 100] /P 3 0 R /Lock 22 0 R /Ff 1 >>")
			w.Object(22, "<< /Type /SigFieldLock /Action /All >>")
			w.Object(numText, "<< /FT /Tx /T (Name) /Ff 1 /Type /Annot /Subtype /Widget /Rect [72 600 272 620] /P 3 0 R /AP << /N 8 0 R >> >>")
			w.Object(numSigField, "<< /FT /Sig /T (Sig1) /V 5 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 /P 3 0 R /Ff 1 /Lock << /Type /SigFieldLock /Action /All >> >>")
			w.Object(numPage, pageWithSig2)
			w.Object(numCatalog, catWithSig2)
			w.EndRevision(pdftest.Section{})
			return w
		}, MDP{Certification: true, P: 2}, ModificationAllowed, ""},
		{"Ff used to show the value masked (Password flag)", func() *pdftest.Writer {
			w := signedDoc(false, false)
			w.Object(numText, "<< /FT /Tx /T (Name) /Ff 8193 /Type /Annot /Subtype /Widget /Rect [72 600 272 620] /P 3 0 R /AP << /N 8 0 R >> >>")
			w.EndRevision(pdftest.Section{})
			return w
		}, MDP{}, ModificationDisallowed, `"Name" /Ff`},
		{"ReadOnly cleared on a locked field", func() *pdftest.Writer {
			w := signedDoc(false, false)
			w.Object(numText, "<< /FT /Tx /T (Name) /Ff 1 /Type /Annot /Subtype /Widget /Rect [72 600 272 620] /P 3 0 R /AP << /N 8 0 R >> >>")
			w.EndRevision(pdftest.Section{})
			w.Object(numText, "<< /FT /Tx /T (Name) /Ff 0 /Type /Annot /Subtype /Widget /Rect [72 600 272 620] /P 3 0 R /AP << /N 8 0 R >> >>")
			w.EndRevision(pdftest.Section{})
			return w
		}, MDP{}, ModificationDisallowed, `"Name" /Ff`},
		{"Lock on a text field", func() *pdftest.Writer {
			w := signedDoc(false, false)
			w.Object(numText, "<< /FT /Tx /T (Name) /Lock << /Action /All >> /Type /Annot /Subtype /Widget /Rect [72 600 272 620] /P 3 0 R /AP << /N 8 0 R >> >>")
			w.EndRevision(pdftest.Section{})
			return w
		}, MDP{}, ModificationDisallowed, `"Name"`},
	})
}

// TestRuleStructureTree: a signing revision that adds or updates the
// logical structure of a tagged PDF (structure tree, parent tree, the
// page's /StructParents, the widget's /StructParent) is allowed; the
// structure tree used to reach and rewrite page content is not.
func TestRuleStructureTree(t *testing.T) {
	tagged := func(stm string) func() *pdftest.Writer {
		return func() *pdftest.Writer {
			w := signedDoc(false, false)
			// Revision 2: the document is tagged.
			w.Object(30, "<< /Type /StructTreeRoot /K [31 0 R] /ParentTree 32 0 R /ParentTreeNextKey 1 >>")
			w.Object(31, "<< /Type /StructElem /S /P /P 30 0 R /Pg 3 0 R /K [0"+stm+"] >>")
			w.Object(32, "<< /Nums [0 [31 0 R]] >>")
			w.Object(numPage, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 9 0 R >> >> /Annots [7 0 R 6 0 R] /StructParents 0 >>")
			w.Object(numCatalog, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [7 0 R 6 0 R] /SigFlags 3 >> /StructTreeRoot 30 0 R /MarkInfo << /Marked true >> >>")
			w.EndRevision(pdftest.Section{})
			return w
		}
	}
	runModCases(t, []modCase{
		{"signing revision updates the structure tree", func() *pdftest.Writer {
			w := tagged("")()
			// Revision 3: Sig2 signed, as Acrobat does on a tagged file.
			w.Object(20, sig2Body)
			w.Object(21, "<< /FT /Sig /T (Sig2) /V 20 0 R /Type /Annot /Subtype /Widget /Rect [300 50 400 100] /P 3 0 R /StructParent 1 >>")
			w.Object(33, "<< /Type /StructElem /S /Form /P 30 0 R /Pg 3 0 R /K << /Type /OBJR /Obj 21 0 R >> >>")
			w.Object(30, "<< /Type /StructTreeRoot /K [31 0 R 33 0 R] /ParentTree 32 0 R /ParentTreeNextKey 2 >>")
			w.Object(32, "<< /Nums [0 [31 0 R] 1 33 0 R] >>")
			w.Object(numSigField, "<< /FT /Sig /T (Sig1) /V 5 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 /P 3 0 R /StructParent 2 >>")
			w.Object(numPage, strings.Replace(pageWithSig2, ">> /Annots", ">> /StructParents 0 /Tabs /S /Annots", 1))
			w.Object(numCatalog, strings.Replace(catWithSig2, "/SigFlags 3 >>", "/SigFlags 3 >> /StructTreeRoot 30 0 R /MarkInfo << /Marked true >> /Lang (ja-JP)", 1))
			w.EndRevision(pdftest.Section{})
			return w
		}, MDP{Certification: true, P: 2}, ModificationAllowed, ""},
		{"structure tree used to rewrite page content", func() *pdftest.Writer {
			w := tagged(" << /Type /MCR /MCID 0 /Stm 4 0 R >>")()
			w.Stream(numContent, "", []byte("BT /F1 12 Tf 72 700 Td (Pay 9999 EUR) Tj ET"))
			w.Object(30, "<< /Type /StructTreeRoot /K [31 0 R] /ParentTree 32 0 R /ParentTreeNextKey 2 >>")
			w.EndRevision(pdftest.Section{})
			return w
		}, MDP{}, ModificationDisallowed, "page 1 /Contents"},
	})
}

// TestRuleProducerKeys: private keys a library adds to the catalog or the
// page tree (iText's /ITXT) draw nothing and are allowed; a private key
// that reaches what a page draws does not make a change to it allowed,
// nor does a defined key that draws.
func TestRuleProducerKeys(t *testing.T) {
	runModCases(t, []modCase{
		{"ITXT in the catalog and page tree, PieceInfo on the page", func() *pdftest.Writer {
			w := signedDoc(false, false)
			w.Object(40, "<< /Version (5.5.13) >>")
			w.Object(numCatalog, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [7 0 R 6 0 R] /SigFlags 3 >> /ITXT 40 0 R >>")
			w.Object(numPages, "<< /Type /Pages /Kids [3 0 R] /Count 1 /ITXT (5.5.13) >>")
			w.Object(numPage, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 9 0 R >> >> /Annots [7 0 R 6 0 R] /PieceInfo << /MyApp << /LastModified (D:2026) /Private 1 >> >> /LastModified (D:2026) >>")
			w.EndRevision(pdftest.Section{})
			// The library's bookkeeping object updated again.
			w.Object(40, "<< /Version (5.5.14) >>")
			w.EndRevision(pdftest.Section{})
			return w
		}, MDP{Certification: true, P: 1}, ModificationAllowed, ""},
		{"private key reaching the page content, then the content rewritten", func() *pdftest.Writer {
			w := signedDoc(false, false)
			w.Object(numCatalog, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [7 0 R 6 0 R] /SigFlags 3 >> /ITXT 4 0 R >>")
			w.Stream(numContent, "", []byte("BT /F1 12 Tf 72 700 Td (Pay 9999 EUR) Tj ET"))
			w.EndRevision(pdftest.Section{})
			return w
		}, MDP{}, ModificationDisallowed, "content"},
		{"private key sharing the font, then the font replaced", func() *pdftest.Writer {
			w := signedDoc(false, false)
			w.Object(numPages, "<< /Type /Pages /Kids [3 0 R] /Count 1 /ITXT 9 0 R >>")
			w.EndRevision(pdftest.Section{})
			w.Object(numFont, "<< /Type /Font /Subtype /Type1 /BaseFont /Symbol >>")
			w.EndRevision(pdftest.Section{})
			return w
		}, MDP{}, ModificationDisallowed, "Resources"},
		{"page tree node MediaBox changed", func() *pdftest.Writer {
			w := signedDoc(false, false)
			w.Object(numPages, "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 100 100] >>")
			w.EndRevision(pdftest.Section{})
			return w
		}, MDP{}, ModificationDisallowed, "/MediaBox"},
	})
}

// annotatedDoc is signedDoc with a visible stamp annotation (object 11,
// appearance 12) on the page when Sig1 signs, out of the way of the text.
func annotatedDoc() *pdftest.Writer {
	w := pdftest.New()
	w.Object(numCatalog, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [7 0 R] >> >>")
	w.Object(numPages, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	w.Object(numPage, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 9 0 R >> >> /Annots [7 0 R 11 0 R] >>")
	w.Stream(numContent, "", []byte("BT /F1 12 Tf 72 700 Td (Pay 100 EUR) Tj ET"))
	w.Object(numText, "<< /FT /Tx /T (Name) /Type /Annot /Subtype /Widget /Rect [72 600 272 620] /P 3 0 R /AP << /N 8 0 R >> >>")
	w.Stream(numTextAP, "/Type /XObject /Subtype /Form /BBox [0 0 200 20]", []byte("/Tx BMC EMC"))
	w.Object(numFont, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	w.Object(11, "<< /Type /Annot /Subtype /Stamp /Rect [400 400 500 450] /Name /Approved /M (D:20260101) /AP << /N 12 0 R >> >>")
	w.Stream(12, "/Type /XObject /Subtype /Form /BBox [0 0 100 50]", []byte("1 0 0 rg BT /F1 12 Tf 5 20 Td (APPROVED) Tj ET"))
	w.EndRevision(pdftest.Section{})
	w.Object(numSig1, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 0 0 0] /Contents <00> >>")
	w.Object(numSigField, "<< /FT /Sig /T (Sig1) /V 5 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 /P 3 0 R >>")
	w.Object(numPage, annotatedPage("7 0 R 11 0 R 6 0 R"))
	w.Object(numCatalog, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [7 0 R 6 0 R] /SigFlags 3 >> >>")
	w.EndRevision(pdftest.Section{})
	return w
}

func annotatedPage(annots string) string {
	return "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 9 0 R >> >> /Annots [" + annots + "] >>"
}

// TestRuleSignedAnnotations: an annotation or widget the signer saw may
// not be emptied, replaced, given another appearance, hidden or removed in
// a later revision, even where P=3 (an approval signature) permits
// annotating; a form fill may change only the value and the appearance
// that shows it. What draws nothing (/M, a pop-up's /Open), annotations
// added after signing, a form fill and a new signature stay allowed.
func TestRuleSignedAnnotations(t *testing.T) {
	approval := MDP{}
	certForms := MDP{Certification: true, P: 2}
	rev := func(f func(w *pdftest.Writer)) func() *pdftest.Writer {
		return func() *pdftest.Writer {
			w := annotatedDoc()
			f(w)
			w.EndRevision(pdftest.Section{})
			return w
		}
	}
	runModCases(t, []modCase{
		{"stamp's date changed (draws nothing)", rev(func(w *pdftest.Writer) {
			w.Object(11, "<< /Type /Annot /Subtype /Stamp /Rect [400 400 500 450] /Name /Approved /M (D:20260202) /AP << /N 12 0 R >> >>")
		}), approval, ModificationAllowed, ""},
		{"annotation added after signing, then edited", func() *pdftest.Writer {
			w := annotatedDoc()
			w.Object(40, "<< /Type /Annot /Subtype /Square /Rect [300 300 350 350] >>")
			w.Object(numPage, annotatedPage("7 0 R 11 0 R 6 0 R 40 0 R"))
			w.EndRevision(pdftest.Section{})
			w.Object(40, "<< /Type /Annot /Subtype /Square /Rect [300 300 360 360] /C [1 0 0] >>")
			w.EndRevision(pdftest.Section{})
			return w
		}, approval, ModificationAllowed, ""},
		{"form fill: value and the appearance showing it", rev(func(w *pdftest.Writer) {
			w.Stream(40, "/Type /XObject /Subtype /Form /BBox [0 0 200 20]", []byte("/Tx BMC BT (Alice) Tj ET EMC"))
			w.Object(numText, "<< /FT /Tx /T (Name) /V (Alice) /DA (/Helv 0 Tf 0 g) /Type /Annot /Subtype /Widget /Rect [72 600 272 620] /P 3 0 R /AP << /N 40 0 R >> >>")
		}), certForms, ModificationAllowed, ""},
		{"stamp emptied", rev(func(w *pdftest.Writer) {
			w.Object(11, "<< >>")
		}), approval, ModificationDisallowed, "object 11"},
		{"stamp replaced by an empty dictionary in the annotation list", rev(func(w *pdftest.Writer) {
			w.Object(numPage, annotatedPage("7 0 R << >> 6 0 R"))
		}), approval, ModificationDisallowed, "object 11"},
		{"stamp given a new appearance", rev(func(w *pdftest.Writer) {
			w.Stream(40, "/Type /XObject /Subtype /Form /BBox [0 0 100 50]", []byte("0 g BT /F1 12 Tf 5 20 Td (REJECTED) Tj ET"))
			w.Object(11, "<< /Type /Annot /Subtype /Stamp /Rect [400 400 500 450] /Name /Approved /M (D:20260101) /AP << /N 40 0 R >> >>")
		}), approval, ModificationDisallowed, "object 11"},
		{"stamp appearance rewritten in place", rev(func(w *pdftest.Writer) {
			w.Stream(12, "/Type /XObject /Subtype /Form /BBox [0 0 100 50]", []byte("0 g BT /F1 12 Tf 5 20 Td (REJECTED) Tj ET"))
		}), approval, ModificationDisallowed, "annotation 11"},
		{"stamp hidden", rev(func(w *pdftest.Writer) {
			w.Object(11, "<< /Type /Annot /Subtype /Stamp /Rect [400 400 500 450] /F 2 /Name /Approved /M (D:20260101) /AP << /N 12 0 R >> >>")
		}), approval, ModificationDisallowed, "/F"},
		{"stamp removed", rev(func(w *pdftest.Writer) {
			w.Object(numPage, annotatedPage("7 0 R 6 0 R"))
		}), approval, ModificationDisallowed, "object 11"},
		{"field appearance replaced while its value stays", rev(func(w *pdftest.Writer) {
			w.Stream(40, "/Type /XObject /Subtype /Form /BBox [0 0 200 20]", []byte("/Tx BMC BT (Mallory) Tj ET EMC"))
			w.Object(numText, "<< /FT /Tx /T (Name) /Type /Annot /Subtype /Widget /Rect [72 600 272 620] /P 3 0 R /AP << /N 40 0 R >> >>")
		}), certForms, ModificationDisallowed, `"Name" /AP`},
		{"field appearance stream rewritten while its value stays", rev(func(w *pdftest.Writer) {
			w.Stream(numTextAP, "/Type /XObject /Subtype /Form /BBox [0 0 200 20]", []byte("/Tx BMC BT (Mallory) Tj ET EMC"))
		}), certForms, ModificationDisallowed, `"Name"`},
		{"form fill that also hides the field", rev(func(w *pdftest.Writer) {
			w.Stream(40, "/Type /XObject /Subtype /Form /BBox [0 0 200 20]", []byte("/Tx BMC BT (Alice) Tj ET EMC"))
			w.Object(numText, "<< /FT /Tx /T (Name) /V (Alice) /F 2 /Type /Annot /Subtype /Widget /Rect [72 600 272 620] /P 3 0 R /AP << /N 40 0 R >> >>")
		}), certForms, ModificationDisallowed, `"Name" /F`},
	})
}

// TestRuleSignedDirectAnnotation: a direct annotation (written inside the
// page's /Annots array) that the signer saw may not be removed or
// replaced either.
func TestRuleSignedDirectAnnotation(t *testing.T) {
	const stamp = "<< /Type /Annot /Subtype /Stamp /Rect [400 400 500 450] /Name /Approved >>"
	doc := func(later string) func() *pdftest.Writer {
		return func() *pdftest.Writer {
			w := signedDoc(false, false)
			w.Object(numPage, annotatedPage("7 0 R 6 0 R "+stamp))
			w.EndRevision(pdftest.Section{})
			w.Object(numPage, annotatedPage(later))
			w.EndRevision(pdftest.Section{})
			return w
		}
	}
	for _, tt := range []modCase{
		{"direct stamp kept", doc("7 0 R 6 0 R " + stamp), MDP{}, ModificationAllowed, ""},
		{"direct stamp removed", doc("7 0 R 6 0 R"), MDP{}, ModificationDisallowed, "/Stamp"},
		{"direct stamp replaced", doc("7 0 R 6 0 R << /Type /Annot /Subtype /Stamp /Rect [400 400 500 450] /Name /Rejected >>"), MDP{}, ModificationDisallowed, "/Stamp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Signed revision index 2: the page with the direct stamp.
			f := openPDF(t, tt.build().Bytes())
			got, reasons := analyzeModifications(f, 2, pdf.Ref{Num: numSigField}, tt.mdp)
			if got != tt.want {
				t.Fatalf("got %s %q, want %s", got, reasons, tt.want)
			}
			if tt.wantMsg != "" && !strings.Contains(strings.Join(reasons, "\n"), tt.wantMsg) {
				t.Errorf("reasons %q do not name %q", reasons, tt.wantMsg)
			}
		})
	}
}
