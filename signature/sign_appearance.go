package signature

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// swAppearance writes the normal appearance of a visible signature: a
// form XObject of w×h points with a thin frame and text lines, and the
// font it uses. The font is the predefined Japanese CID font
// HeiseiKakuGo-W5 with the UniJIS-UCS2-H CMap (ISO 32000-2 §9.7.5.2), not
// embedded: no font covering kana and kanji is available to embed (see
// Appearance.Text). Characters outside the Basic Multilingual Plane are
// shown as "?" because UCS-2 cannot encode them.
func swAppearance(u *swUpdate, w, h float64, text string) (pdf.Ref, error) {
	if !utf8.ValidString(text) {
		return pdf.Ref{}, fmt.Errorf("%w: Visible.Text is not UTF-8", ErrInvalidSignOptions)
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if len(lines) > 20 {
		return pdf.Ref{}, fmt.Errorf("%w: Visible.Text has more than 20 lines", ErrInvalidSignOptions)
	}
	// Advance widths: 500/1000 em for ASCII (CIDs 1-95 set in /W below),
	// 1000 for everything else.
	widest := 1.0
	for _, l := range lines {
		em := 0.0
		for _, r := range l {
			if r < 0x80 {
				em += 0.5
			} else {
				em++
			}
		}
		widest = max(widest, em)
	}
	const margin = 2.0
	size := min((h-2*margin)/(1.2*float64(len(lines))), (w-2*margin)/widest, 24)
	if size <= 0 {
		return pdf.Ref{}, fmt.Errorf("%w: Visible.Rect too small for the text", ErrInvalidSignOptions)
	}
	var cs bytes.Buffer
	fmt.Fprintf(&cs, "q 0.5 w 0.2 0.2 0.6 RG 0.25 0.25 %.2f %.2f re S Q\n", w-0.5, h-0.5)
	cs.WriteString("BT 0 0 0 rg\n")
	y := h - margin - size
	for _, l := range lines {
		var enc []byte
		for _, r := range l {
			if r > 0xffff || r >= 0xd800 && r < 0xe000 {
				r = '?'
			}
			enc = append(enc, byte(r>>8), byte(r))
		}
		fmt.Fprintf(&cs, "/F1 %.2f Tf 1 0 0 1 %.2f %.2f Tm ", size, margin, y)
		swHex(&cs, enc)
		cs.WriteString(" Tj\n")
		y -= 1.2 * size
	}
	cs.WriteString("ET\n")

	descRef, cidRef, fontRef, apRef := u.newRef(), u.newRef(), u.newRef(), u.newRef()
	if err := u.set(descRef, pdf.Dict{
		"Type": pdf.Name("FontDescriptor"), "FontName": pdf.Name("HeiseiKakuGo-W5"),
		"Flags":       int64(4), // Symbolic (§9.8.2)
		"FontBBox":    pdf.Array{int64(-92), int64(-250), int64(1010), int64(922)},
		"ItalicAngle": int64(0), "Ascent": int64(752), "Descent": int64(-221),
		"CapHeight": int64(737), "StemV": int64(114),
	}); err != nil {
		return pdf.Ref{}, err
	}
	if err := u.set(cidRef, pdf.Dict{
		"Type": pdf.Name("Font"), "Subtype": pdf.Name("CIDFontType0"),
		"BaseFont":       pdf.Name("HeiseiKakuGo-W5"),
		"CIDSystemInfo":  pdf.Dict{"Registry": pdf.String("Adobe"), "Ordering": pdf.String("Japan1"), "Supplement": int64(5)},
		"FontDescriptor": descRef,
		"DW":             int64(1000),
		"W":              pdf.Array{int64(1), int64(95), int64(500), int64(231), int64(632), int64(500)},
	}); err != nil {
		return pdf.Ref{}, err
	}
	if err := u.set(fontRef, pdf.Dict{
		"Type": pdf.Name("Font"), "Subtype": pdf.Name("Type0"),
		"BaseFont": pdf.Name("HeiseiKakuGo-W5"), "Encoding": pdf.Name("UniJIS-UCS2-H"),
		"DescendantFonts": pdf.Array{cidRef},
	}); err != nil {
		return pdf.Ref{}, err
	}
	err := u.setStream(apRef, pdf.Dict{
		"Type": pdf.Name("XObject"), "Subtype": pdf.Name("Form"),
		"BBox":      pdf.Array{int64(0), int64(0), w, h},
		"Resources": pdf.Dict{"Font": pdf.Dict{"F1": fontRef}},
	}, cs.Bytes())
	return apRef, err
}
