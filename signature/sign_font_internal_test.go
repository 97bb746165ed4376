package signature

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"image"
	"image/png"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tdewolff/font"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/kerr"
)

// jaFont loads the Japanese font the visible-signature tests use:
// KEIYAKU_JA_FONT or DefaultFontPath (Debian fonts-ipaexfont).
func jaFont(t testing.TB) *Font {
	t.Helper()
	path := os.Getenv("KEIYAKU_JA_FONT")
	if path == "" {
		path = DefaultFontPath
	}
	if _, err := os.Stat(path); err != nil {
		testenv.Missing(t, path+" not found: install the Debian package fonts-ipaexfont or set KEIYAKU_JA_FONT to a Japanese TrueType font")
	}
	f, err := LoadFont(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFontSubset: the subset holds the glyphs of the text and no others,
// maps every character to its own glyph, and is a small fraction of the
// font.
func TestFontSubset(t *testing.T) {
	f := jaFont(t)
	const text = "株式会社テスト\n山田 太郎\n署名日 2026年1月1日 9:00 JST"
	s, err := f.subset(text)
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[rune]bool{}
	for _, r := range text {
		if r != '\n' {
			distinct[r] = true
		}
	}
	sf, err := font.ParseEmbeddedSFNT(s.ttf, 0) // no cmap: PDF maps CIDs to glyphs itself
	if err != nil {
		t.Fatalf("the subset does not parse: %v", err)
	}
	if int(sf.NumGlyphs()) != len(distinct)+1 || len(s.widths) != len(distinct)+1 {
		t.Fatalf("subset has %d glyphs (%d widths), want %d (.notdef and one per character)", sf.NumGlyphs(), len(s.widths), len(distinct)+1)
	}
	seen := map[uint16]rune{}
	for r := range distinct {
		c := s.cid[r]
		if c == 0 {
			t.Errorf("%q has no glyph in the subset", r)
		}
		if o, dup := seen[c]; dup && o != r {
			t.Errorf("%q and %q share CID %d", r, o, c)
		}
		seen[c] = r
	}
	if len(s.ttf)*100 > len(f.data) {
		t.Fatalf("subset %d bytes of a %d-byte font: not a subset", len(s.ttf), len(f.data))
	}
	t.Logf("subset of %d characters: %d bytes (font %d bytes)", len(distinct), len(s.ttf), len(f.data))
	again, err := f.subset(text)
	if err != nil || again != s {
		t.Fatalf("the same text was subset twice (%v)", err)
	}
}

func TestParseFontRefuses(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":            nil,
		"not font":         []byte("%PDF-1.7 hello"),
		"truncated header": {0, 1, 0, 0, 0, 9},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseFont(data); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := LoadFont("/nonexistent/font.ttf"); err == nil || !errors.Is(err, kerr.NotFound) {
		t.Fatalf("missing file: %v", err)
	}
}

// FuzzParseFont feeds damaged fonts to ParseFont and the subsetter: they
// may fail, never panic. The seed is a real subset of the Japanese font.
func FuzzParseFont(f *testing.F) {
	path := os.Getenv("KEIYAKU_JA_FONT")
	if path == "" {
		path = DefaultFontPath
	}
	if fnt, err := LoadFont(path); err == nil {
		if s, err := fnt.subset("山田太郎 2026年"); err == nil {
			f.Add(s.ttf)
		}
	}
	f.Add([]byte("\x00\x01\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fnt, err := ParseFont(data)
		if err != nil {
			return
		}
		if s, err := fnt.subset("山田 Taro 2026"); err == nil {
			s.toUnicode()
			s.encode("山田")
			s.advance("Taro")
		}
	})
}

// TestAppearanceImageErrors: a bad image is refused before anything is
// written.
func TestAppearanceImageErrors(t *testing.T) {
	f := jaFont(t)
	huge := image.NewNRGBA(image.Rect(0, 0, MaxImagePixels+1, 1))
	var hugePNG bytes.Buffer
	if err := png.Encode(&hugePNG, huge); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"}, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	doc := pdftest.OnePage("BT ET").Bytes()
	for name, app := range map[string]*Appearance{
		"image without font": {Rect: [4]float64{0, 0, 100, 50}, Image: hugePNG.Bytes()},
		"not a PNG":          {Rect: [4]float64{0, 0, 100, 50}, Font: f, Image: []byte("GIF89a")},
		"too many pixels":    {Rect: [4]float64{0, 0, 100, 50}, Font: f, Image: hugePNG.Bytes()},
		"too large":          {Rect: [4]float64{0, 0, 100, 50}, Font: f, Image: make([]byte, MaxImageBytes+1)},
		"too many glyphs":    {Rect: [4]float64{0, 0, 100, 50}, Font: f, Text: manyRunes(maxAppearanceRunes + 1)},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := Sign(context.Background(), bytes.NewReader(doc), int64(len(doc)), &out, &SignOptions{Signer: key, Certificate: cert, Visible: app})
			if !errors.Is(err, ErrInvalidSignOptions) {
				t.Fatalf("err = %v, want ErrInvalidSignOptions", err)
			}
		})
	}
}

func manyRunes(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteRune(rune(0x4e00 + i))
	}
	return b.String()
}
