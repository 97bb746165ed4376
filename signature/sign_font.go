package signature

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/tdewolff/font"

	"github.com/keiyaku/keiyaku/internal/fifo"
	"github.com/keiyaku/keiyaku/kerr"
)

// DefaultFontPath is IPAex Gothic (IPAexゴシック) from Debian's
// fonts-ipaexfont package. Its licence, the IPA Font License v1.0, allows
// embedding the font (or a subset of it) in documents (§3.1). LoadFont("")
// reads it.
const DefaultFontPath = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"

// Limits of fonts for visible signatures.
const (
	// MaxFontFile bounds a font file LoadFont or ParseFont accepts.
	MaxFontFile = 64 << 20
	// maxAppearanceRunes bounds the distinct characters of one
	// appearance, so the subset stays small.
	maxAppearanceRunes = 1024
)

// Font is a TrueType font (glyf outlines) for the text of visible
// signatures. Each signature embeds a subset of it holding only the
// glyphs its text uses (ISO 32000-2 §9.9, §9.6.4 subset tag), as a
// CIDFontType2 font with Identity-H encoding and a ToUnicode CMap
// (§9.10.3), so every viewer shows the same glyphs and text can be
// copied. A Font is safe for concurrent use; load it once and share it.
type Font struct {
	data []byte
	name string // PostScript name
	// subsets memoises the subsets already made, by the text's runes:
	// signing many documents with the same appearance text subsets once.
	subsets *fifo.Map[string, *fontSubset]
}

// LoadFont reads a TrueType font file; path "" means DefaultFontPath.
// A missing file is kerr.NotFound (install fonts-ipaexfont, or give
// another path); a file that is not a TrueType font with glyf outlines is
// kerr.Invalid.
func LoadFont(path string) (*Font, error) {
	const op = "signature.LoadFont"
	if path == "" {
		path = DefaultFontPath
	}
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, kerr.E(kerr.NotFound, op, "font %s not found: install the Debian package fonts-ipaexfont or give the path of a TrueType font with Japanese glyphs", path)
		}
		return nil, kerr.E(kerr.Invalid, op, "read font: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFontFile+1))
	if err != nil {
		return nil, kerr.E(kerr.Invalid, op, "read font: %w", err)
	}
	fnt, err := ParseFont(b)
	if err != nil {
		return nil, kerr.Wrap(op, fmt.Errorf("%s: %w", path, err))
	}
	return fnt, nil
}

// ParseFont makes a Font from the bytes of a TrueType font file (.ttf, or
// the first font of a .ttc). It fails with kerr.Invalid when data is
// larger than MaxFontFile, is not a font, or has CFF outlines.
func ParseFont(data []byte) (*Font, error) {
	const op = "signature.ParseFont"
	if len(data) > MaxFontFile {
		return nil, kerr.E(kerr.Invalid, op, "the font file is larger than %d bytes", MaxFontFile)
	}
	sf, err := parseSFNT(data)
	if err != nil {
		return nil, kerr.E(kerr.Invalid, op, "not a usable font: %w", err)
	}
	if !sf.IsTrueType || sf.Glyf == nil || sf.Head == nil || sf.Hhea == nil || sf.Hmtx == nil || sf.Head.UnitsPerEm == 0 {
		return nil, kerr.E(kerr.Invalid, op, "the font has no TrueType (glyf) outlines or lacks head, hhea or hmtx: use a .ttf font such as IPAex Gothic")
	}
	name := "Embedded"
	if sf.Name != nil {
		for _, r := range sf.Name.Get(font.NamePostScript) {
			if s := pdfNameSafe(r.String()); s != "" {
				name = s
				break
			}
		}
	}
	return &Font{data: data, name: name, subsets: fifo.New[string, *fontSubset](64)}, nil
}

// parseSFNT parses the font and turns a panic of the parser on a damaged
// file into an error: the font file is configuration, but a damaged one
// must not take the signing service down.
func parseSFNT(data []byte) (sf *font.SFNT, err error) {
	defer func() {
		if r := recover(); r != nil {
			sf, err = nil, fmt.Errorf("damaged font (%v)", r)
		}
	}()
	return font.ParseSFNT(data, 0)
}

// pdfNameSafe keeps the characters of a PostScript name that need no
// escaping in a PDF name.
func pdfNameSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > ' ' && r < 0x7f && !strings.ContainsRune("()<>[]{}/%#", r) {
			b.WriteRune(r)
		}
	}
	if b.Len() > 60 {
		return b.String()[:60]
	}
	return b.String()
}

// fontSubset is the font cut down to the glyphs of one text.
type fontSubset struct {
	name            string // with the subset tag, e.g. "ABCDEF+IPAexGothic"
	ttf             []byte // the subset font program (FontFile2)
	cid             map[rune]uint16
	runes           []rune // by CID, 0 (.notdef) first
	widths          []int64
	bbox            [4]int64 // in 1000ths of an em
	ascent, descent int64
}

// subset returns the subset for the runes of text (characters the font
// lacks show as its .notdef glyph).
func (f *Font) subset(text string) (*fontSubset, error) {
	runes := []rune{0}
	for _, r := range text {
		if r != '\n' && !slices.Contains(runes, r) {
			runes = append(runes, r)
		}
	}
	if len(runes) > maxAppearanceRunes {
		return nil, fmt.Errorf("%w: the visible text uses more than %d different characters", ErrInvalidSignOptions, maxAppearanceRunes)
	}
	slices.Sort(runes)
	key := string(runes)
	if s, ok := f.subsets.Get(key); ok {
		return s, nil
	}
	s, err := f.makeSubset(runes)
	if err != nil {
		return nil, err
	}
	return f.subsets.Add(key, s), nil
}

func (f *Font) makeSubset(runes []rune) (s *fontSubset, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%w: the font cannot be subset (%v)", ErrInvalidSignOptions, r)
		}
	}()
	// A fresh parse each time: font.SFNT.Subset changes the maxp table
	// of the font it is called on.
	sf, err := font.ParseSFNT(f.data, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: font: %v", ErrInvalidSignOptions, err)
	}
	s = &fontSubset{cid: map[rune]uint16{}}
	var gids []uint16
	for _, r := range runes {
		gid := uint16(0)
		if r != 0 {
			gid = sf.GlyphIndex(r)
		}
		i := slices.Index(gids, gid)
		if i < 0 {
			i = len(gids)
			gids = append(gids, gid)
			s.runes = append(s.runes, r)
		}
		s.cid[r] = uint16(i)
	}
	upem := int64(sf.Head.UnitsPerEm)
	scale := func(v int64) int64 { return v * 1000 / upem }
	for _, g := range gids {
		s.widths = append(s.widths, scale(int64(sf.GlyphAdvance(g))))
	}
	s.bbox = [4]int64{scale(int64(sf.Head.XMin)), scale(int64(sf.Head.YMin)), scale(int64(sf.Head.XMax)), scale(int64(sf.Head.YMax))}
	s.ascent, s.descent = scale(int64(sf.Hhea.Ascender)), scale(int64(sf.Hhea.Descender))
	sub, err := sf.Subset(gids, font.SubsetOptions{Tables: []string{"pdf"}})
	if err != nil {
		return nil, fmt.Errorf("%w: subset the font: %v", ErrInvalidSignOptions, err)
	}
	s.ttf = sub.Write()
	// The subset tag is six capital letters (ISO 32000-2 §9.9.2), here
	// taken from a hash of the glyphs so the same text gives the same
	// name.
	sum := sha256.Sum256([]byte(string(runes)))
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + sum[i]%26
	}
	s.name = string(tag) + "+" + f.name
	return s, nil
}

// advance returns the width of line in 1000ths of an em.
func (s *fontSubset) advance(line string) int64 {
	var w int64
	for _, r := range line {
		w += s.widths[s.cid[r]]
	}
	return w
}

// encode returns line as 2-byte CIDs (Identity-H).
func (s *fontSubset) encode(line string) []byte {
	var b []byte
	for _, r := range line {
		c := s.cid[r]
		b = append(b, byte(c>>8), byte(c))
	}
	return b
}

// toUnicode is the ToUnicode CMap (ISO 32000-2 §9.10.3) of the subset.
func (s *fontSubset) toUnicode() []byte {
	var b strings.Builder
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	var lines []string
	for c, r := range s.runes {
		if r == 0 {
			continue
		}
		u := ""
		for _, v := range utf16Units(r) {
			u += fmt.Sprintf("%04X", v)
		}
		lines = append(lines, fmt.Sprintf("<%04X> <%s>\n", c, u))
	}
	for len(lines) > 0 {
		n := min(len(lines), 100) // at most 100 entries per block (§9.10.3)
		fmt.Fprintf(&b, "%d beginbfchar\n%sendbfchar\n", n, strings.Join(lines[:n], ""))
		lines = lines[n:]
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return []byte(b.String())
}

func utf16Units(r rune) []uint16 {
	if r < 0x10000 {
		return []uint16{uint16(r)}
	}
	r -= 0x10000
	return []uint16{uint16(0xd800 + r>>10), uint16(0xdc00 + r&0x3ff)}
}
