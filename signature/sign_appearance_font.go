package signature

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image/png"
	"strings"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// Limits of Appearance.Image.
const (
	// MaxImageBytes bounds the PNG file of Appearance.Image.
	MaxImageBytes = 4 << 20
	// MaxImagePixels bounds its width and its height.
	MaxImagePixels = 2048
)

// swAppearanceFont writes the normal appearance of a visible signature
// drawn with an embedded subset of font: a frame, the image (if any) in a
// square at the right, and the text lines at the left, as large as fits
// (at most 24 pt).
func swAppearanceFont(u *swUpdate, w, h float64, text string, fnt *Font, img []byte) (pdf.Ref, error) {
	if !utf8.ValidString(text) {
		return pdf.Ref{}, fmt.Errorf("%w: Visible.Text is not UTF-8", ErrInvalidSignOptions)
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if len(lines) > 20 {
		return pdf.Ref{}, fmt.Errorf("%w: Visible.Text has more than 20 lines", ErrInvalidSignOptions)
	}
	sub, err := fnt.subset(text)
	if err != nil {
		return pdf.Ref{}, err
	}
	const margin = 2.0
	resources := pdf.Dict{}
	var cs bytes.Buffer
	fmt.Fprintf(&cs, "q 0.5 w 0.2 0.2 0.6 RG 0.25 0.25 %.2f %.2f re S Q\n", w-0.5, h-0.5)
	textW := w - 2*margin
	if img != nil {
		imgRef, iw, ih, err := swImage(u, img)
		if err != nil {
			return pdf.Ref{}, err
		}
		// The image keeps its aspect ratio in a square of the box's
		// height (less the margins) at the right.
		side := min(h-2*margin, w/2)
		dw, dh := side, side
		if iw > ih {
			dh = side * float64(ih) / float64(iw)
		} else {
			dw = side * float64(iw) / float64(ih)
		}
		x := w - margin - side + (side-dw)/2
		y := (h - dh) / 2
		fmt.Fprintf(&cs, "q %.2f 0 0 %.2f %.2f %.2f cm /Im1 Do Q\n", dw, dh, x, y)
		resources["XObject"] = pdf.Dict{"Im1": imgRef}
		textW -= side + margin
	}
	var widest int64 = 1
	for _, l := range lines {
		widest = max(widest, sub.advance(l))
	}
	lineH := float64(sub.ascent-sub.descent) / 1000 * 1.1
	size := min((h-2*margin)/(lineH*float64(len(lines))), textW*1000/float64(widest), 24)
	if size <= 0 {
		return pdf.Ref{}, fmt.Errorf("%w: Visible.Rect too small for the text", ErrInvalidSignOptions)
	}
	cs.WriteString("BT 0 0 0 rg\n")
	y := h - margin - size*float64(sub.ascent)/1000
	for _, l := range lines {
		fmt.Fprintf(&cs, "/F1 %.2f Tf 1 0 0 1 %.2f %.2f Tm ", size, margin, y)
		swHex(&cs, sub.encode(l))
		cs.WriteString(" Tj\n")
		y -= lineH * size
	}
	cs.WriteString("ET\n")

	fileRef, descRef, cidRef, uniRef, fontRef, apRef := u.newRef(), u.newRef(), u.newRef(), u.newRef(), u.newRef(), u.newRef()
	if err := u.setFlateStream(fileRef, pdf.Dict{"Length1": int64(len(sub.ttf))}, sub.ttf); err != nil {
		return pdf.Ref{}, err
	}
	if err := u.set(descRef, pdf.Dict{
		"Type": pdf.Name("FontDescriptor"), "FontName": pdf.Name(sub.name),
		"Flags":       int64(4), // Symbolic (§9.8.2)
		"FontBBox":    pdf.Array{sub.bbox[0], sub.bbox[1], sub.bbox[2], sub.bbox[3]},
		"ItalicAngle": int64(0), "Ascent": sub.ascent, "Descent": sub.descent,
		"CapHeight": sub.ascent, "StemV": int64(80), "FontFile2": fileRef,
	}); err != nil {
		return pdf.Ref{}, err
	}
	widths := make(pdf.Array, len(sub.widths))
	for i, v := range sub.widths {
		widths[i] = v
	}
	if err := u.set(cidRef, pdf.Dict{
		"Type": pdf.Name("Font"), "Subtype": pdf.Name("CIDFontType2"),
		"BaseFont":       pdf.Name(sub.name),
		"CIDSystemInfo":  pdf.Dict{"Registry": pdf.String("Adobe"), "Ordering": pdf.String("Identity"), "Supplement": int64(0)},
		"FontDescriptor": descRef,
		"DW":             int64(1000),
		"W":              pdf.Array{int64(0), widths},
		"CIDToGIDMap":    pdf.Name("Identity"), // CIDs are the subset's glyph IDs
	}); err != nil {
		return pdf.Ref{}, err
	}
	if err := u.setFlateStream(uniRef, pdf.Dict{}, sub.toUnicode()); err != nil {
		return pdf.Ref{}, err
	}
	if err := u.set(fontRef, pdf.Dict{
		"Type": pdf.Name("Font"), "Subtype": pdf.Name("Type0"),
		"BaseFont": pdf.Name(sub.name), "Encoding": pdf.Name("Identity-H"),
		"DescendantFonts": pdf.Array{cidRef}, "ToUnicode": uniRef,
	}); err != nil {
		return pdf.Ref{}, err
	}
	resources["Font"] = pdf.Dict{"F1": fontRef}
	err = u.setFlateStream(apRef, pdf.Dict{
		"Type": pdf.Name("XObject"), "Subtype": pdf.Name("Form"),
		"BBox":      pdf.Array{int64(0), int64(0), w, h},
		"Resources": resources,
	}, cs.Bytes())
	return apRef, err
}

// swImage writes a PNG as an image XObject (ISO 32000-2 §8.9.5), RGB with
// its alpha channel as a soft mask (§11.6.5.3) so a seal impression's
// background stays transparent, and returns it with its pixel size.
func swImage(u *swUpdate, data []byte) (pdf.Ref, int, int, error) {
	if len(data) > MaxImageBytes {
		return pdf.Ref{}, 0, 0, fmt.Errorf("%w: Visible.Image is larger than %d bytes", ErrInvalidSignOptions, MaxImageBytes)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return pdf.Ref{}, 0, 0, fmt.Errorf("%w: Visible.Image is not a PNG: %v", ErrInvalidSignOptions, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxImagePixels || cfg.Height > MaxImagePixels {
		return pdf.Ref{}, 0, 0, fmt.Errorf("%w: Visible.Image is %d×%d pixels: want 1 to %d each way", ErrInvalidSignOptions, cfg.Width, cfg.Height, MaxImagePixels)
	}
	im, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return pdf.Ref{}, 0, 0, fmt.Errorf("%w: Visible.Image is not a readable PNG: %v", ErrInvalidSignOptions, err)
	}
	b := im.Bounds()
	rgb := make([]byte, 0, 3*b.Dx()*b.Dy())
	alpha := make([]byte, 0, b.Dx()*b.Dy())
	opaque := true
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := im.At(x, y).RGBA()
			if a != 0 && a != 0xffff {
				// Un-premultiply: PDF blends the colour with the mask.
				r, g, bl = r*0xffff/a, g*0xffff/a, bl*0xffff/a
			}
			rgb = append(rgb, byte(r>>8), byte(g>>8), byte(bl>>8))
			alpha = append(alpha, byte(a>>8))
			opaque = opaque && a == 0xffff
		}
	}
	ref := u.newRef()
	d := pdf.Dict{
		"Type": pdf.Name("XObject"), "Subtype": pdf.Name("Image"),
		"Width": int64(b.Dx()), "Height": int64(b.Dy()),
		"ColorSpace": pdf.Name("DeviceRGB"), "BitsPerComponent": int64(8),
	}
	if !opaque {
		mask := u.newRef()
		if err := u.setFlateStream(mask, pdf.Dict{
			"Type": pdf.Name("XObject"), "Subtype": pdf.Name("Image"),
			"Width": int64(b.Dx()), "Height": int64(b.Dy()),
			"ColorSpace": pdf.Name("DeviceGray"), "BitsPerComponent": int64(8),
		}, alpha); err != nil {
			return pdf.Ref{}, 0, 0, err
		}
		d["SMask"] = mask
	}
	return ref, b.Dx(), b.Dy(), u.setFlateStream(ref, d, rgb)
}

// setFlateStream writes data compressed with FlateDecode (§7.4.4).
func (u *swUpdate) setFlateStream(ref pdf.Ref, d pdf.Dict, data []byte) error {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	d = swCopyDict(d)
	d["Filter"] = pdf.Name("FlateDecode")
	return u.setStream(ref, d, z.Bytes())
}
