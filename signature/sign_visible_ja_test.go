package signature

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

var updateAppearance = flag.Bool("update-appearance", false, "rewrite testdata/appearance_ja.png from this run's rendering")

// sealPNG draws a seal impression (印影): a red ring with a cross on a
// transparent background, its edge anti-aliased (partial alpha).
func sealPNG(t testing.TB) []byte {
	const n = 96
	im := image.NewNRGBA(image.Rect(0, 0, n, n))
	c := float64(n-1) / 2
	for y := range n {
		for x := range n {
			d := math.Hypot(float64(x)-c, float64(y)-c)
			a := 0.0
			switch {
			case d > 40 && d < 46:
				a = 1
			case d >= 46 && d < 47:
				a = 47 - d
			case d < 40 && (math.Abs(float64(x)-c) < 3 || math.Abs(float64(y)-c) < 3):
				a = 1
			}
			im.SetNRGBA(x, y, color.NRGBA{R: 0xd0, G: 0x10, B: 0x10, A: uint8(a * 255)})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestVisibleJapanese signs with a visible appearance in Japanese drawn
// with an embedded subset of IPAex Gothic and a seal image, then checks
// it as a reader would see it: pdffonts reports the font embedded and
// subset, and pdftoppm's rendering of the signature's region matches the
// reference image (built once with -update-appearance and inspected by
// eye) within a tolerance.
func TestVisibleJapanese(t *testing.T) {
	fnt := jaFont(t)
	pdffonts := testpki.RequireTool(t, "pdffonts")
	pdftoppm := testpki.RequireTool(t, "pdftoppm")
	p := testpki.New(t)
	in := pdftest.OnePage("BT ET").Bytes()
	rect := [4]float64{300, 700, 560, 780}
	jst := time.FixedZone("JST", 9*3600)
	opts := &SignOptions{
		Signer: p.RSA.Key, Certificate: p.RSA.Cert, Field: "Registrant",
		SigningTime: testpki.Now.In(jst),
		Visible:     &Appearance{Page: 1, Rect: rect, Font: fnt, Image: sealPNG(t)},
	}
	var out bytes.Buffer
	if err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, opts); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	signed := filepath.Join(dir, "signed.pdf")
	if err := os.WriteFile(signed, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	// The size the appearance adds over the same signature with the
	// non-embedded font.
	plain := *opts
	plain.Visible = &Appearance{Page: 1, Rect: rect, Text: swDefaultText(opts, opts.SigningTime)}
	var ref bytes.Buffer
	if err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &ref, &plain); err != nil {
		t.Fatal(err)
	}
	noSeal := *opts
	noSeal.Visible = &Appearance{Page: 1, Rect: rect, Font: fnt}
	var fontOnly bytes.Buffer
	if err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &fontOnly, &noSeal); err != nil {
		t.Fatal(err)
	}
	t.Logf("bytes added over the non-embedded font: %d with the embedded subset, %d with the subset and the 96×96 seal", fontOnly.Len()-ref.Len(), out.Len()-ref.Len())

	fonts, err := exec.Command(pdffonts, signed).CombinedOutput()
	if err != nil {
		t.Fatalf("pdffonts: %v\n%s", err, fonts)
	}
	found := false
	for _, l := range strings.Split(string(fonts), "\n") {
		f := strings.Fields(l)
		// name type(2 words) encoding emb sub uni object ID
		if len(f) >= 7 && strings.HasSuffix(f[0], "+IPAexGothic") && len(f[0]) == len("ABCDEF+IPAexGothic") {
			found = true
			if strings.Join(f[1:3], " ") != "CID TrueType" || f[3] != "Identity-H" || f[4] != "yes" || f[5] != "yes" || f[6] != "yes" {
				t.Fatalf("pdffonts: want CID TrueType, Identity-H, emb yes, sub yes, uni yes:\n%s", fonts)
			}
		}
	}
	if !found {
		t.Fatalf("pdffonts does not list the subset font:\n%s", fonts)
	}

	// 72 dpi: one pixel per point; the page is 612×792 (pdftest).
	if b, err := exec.Command(pdftoppm, "-r", "72", "-png", "-singlefile", "-f", "1", "-l", "1", signed, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, b)
	}
	page := readPNG(t, filepath.Join(dir, "page.png"))
	h := page.Bounds().Dy()
	region := image.Rect(int(rect[0]), h-int(rect[3]), int(rect[2]), h-int(rect[1]))
	got := image.NewNRGBA(image.Rect(0, 0, region.Dx(), region.Dy()))
	for y := range region.Dy() {
		for x := range region.Dx() {
			got.Set(x, y, page.At(region.Min.X+x, region.Min.Y+y))
		}
	}
	refPath := filepath.Join("testdata", "appearance_ja.png")
	if *updateAppearance {
		var b bytes.Buffer
		if err := png.Encode(&b, got); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(refPath, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readPNG(t, refPath)
	if want.Bounds().Size() != got.Bounds().Size() {
		t.Fatalf("rendered region %v, reference %v", got.Bounds(), want.Bounds())
	}
	// Tolerance: renderers anti-alias a little differently from version
	// to version; the mean difference must stay under 3% of full scale
	// and at most 1% of the pixels may differ by more than a quarter.
	var sum, far, dark, red float64
	n := float64(got.Bounds().Dx() * got.Bounds().Dy())
	for y := range got.Bounds().Dy() {
		for x := range got.Bounds().Dx() {
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			d := (absDiff(r1, r2) + absDiff(g1, g2) + absDiff(b1, b2)) / 3 / 0xffff
			sum += d
			if d > 0.25 {
				far++
			}
			if r1 < 0x4000 && g1 < 0x4000 && b1 < 0x4000 {
				dark++
			}
			if r1 > 0xa000 && g1 < 0x6000 && b1 < 0x6000 {
				red++
			}
		}
	}
	if sum/n > 0.03 || far/n > 0.01 {
		t.Fatalf("rendering differs from %s: mean %.4f, %.2f%% of pixels far off", refPath, sum/n, 100*far/n)
	}
	// The reference itself must show text and the seal, not an empty box.
	if dark/n < 0.02 || red/n < 0.01 {
		t.Fatalf("rendering shows too little: %.1f%% dark (text), %.1f%% red (seal)", 100*dark/n, 100*red/n)
	}
}

func absDiff(a, b uint32) float64 {
	if a > b {
		return float64(a - b)
	}
	return float64(b - a)
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return im
}
