package pdf_test

import (
	"bytes"
	"fmt"

	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
)

func ExampleOpen() {
	// A one-page document and one incremental update adding a signature
	// dictionary.
	w := pdftest.OnePage("BT (hello) Tj ET")
	w.Object(5, "<< /Type /Sig /ByteRange [0 0 0 0] /Contents <0102> >>")
	w.EndRevision(pdftest.Section{XRefStream: true})
	b := w.Bytes()

	f, err := pdf.Open(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range f.Revisions() {
		fmt.Printf("revision %d ends at %d and defines %d objects\n", r.Index, r.End, len(r.Entries))
	}
	start, end, _ := f.ValueSpan(pdf.Ref{Num: 5}, 1, "Contents")
	fmt.Printf("/Contents is %s\n", b[start:end])
	sig, _ := f.Object(pdf.Ref{Num: 5}, 1)
	fmt.Println(sig.(pdf.Dict).Name("Type"))
	// Output:
	// revision 0 ends at 455 and defines 5 objects
	// revision 1 ends at 675 and defines 2 objects
	// /Contents is <0102>
	// Sig
}
