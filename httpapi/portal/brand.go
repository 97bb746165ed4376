package portal

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/kerr"
)

// Brand is what a vendor shows in place of keiyaku. Every empty field
// takes the value of DefaultBrand, except that a vendor that sets Name
// gets no default logo, footer or support contact.
type Brand struct {
	// Name is the product name, in the header, the window title and the
	// footer; 1 to 100 characters.
	Name string
	// LogoURL is an absolute https URL (or a path on this host) of the
	// logo image; its origin is added to the Content-Security-Policy.
	// Logo, when set, is the image itself (at most 256 KiB, served from
	// /static/logo) and LogoType its media type (image/png, image/svg+xml,
	// image/jpeg or image/webp). At most one of the two; neither means
	// the name is shown as text.
	LogoURL  string
	Logo     []byte
	LogoType string
	// Primary is the colour of the header bar and the buttons, Text the
	// colour of body text, as #rrggbb. White text on Primary and Text on
	// white must each reach a contrast of 4.5:1 (WCAG 2.2 §1.4.3).
	Primary string
	Text    string
	// Footer is one line at the bottom of every page, e.g. the vendor's
	// company name; Support a contact for help (an e-mail address, a
	// phone number or a URL, shown as text).
	Footer  string
	Support string
}

// DefaultBrand is the brand of a portal whose Config.Brand is zero.
var DefaultBrand = Brand{
	Name:    "keiyaku",
	Primary: "#1d4f91",
	Text:    "#1a1a1a",
	Footer:  "keiyaku — electronic contracts",
}

// MaxLogoSize is the largest Brand.Logo, in bytes.
const MaxLogoSize = 256 << 10

var colourRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (b Brand) withDefaults(op string) (Brand, error) {
	if b.Name == "" {
		d := DefaultBrand
		d.Primary, d.Text = b.Primary, b.Text
		d.LogoURL, d.Logo, d.LogoType = b.LogoURL, b.Logo, b.LogoType
		if b.Footer != "" {
			d.Footer = b.Footer
		}
		d.Support = b.Support
		b = d
	}
	if b.Primary == "" {
		b.Primary = DefaultBrand.Primary
	}
	if b.Text == "" {
		b.Text = DefaultBrand.Text
	}
	for field, v := range map[string]string{"Name": b.Name, "Footer": b.Footer, "Support": b.Support} {
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > 200 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return b, kerr.E(kerr.Invalid, op, "Brand.%s must be at most 200 characters of text on one line", field)
		}
	}
	if utf8.RuneCountInString(b.Name) > 100 {
		return b, kerr.E(kerr.Invalid, op, "Brand.Name must be 1 to 100 characters")
	}
	for field, v := range map[string]string{"Primary": b.Primary, "Text": b.Text} {
		if !colourRE.MatchString(v) {
			return b, kerr.E(kerr.Invalid, op, "Brand.%s %q must be a colour like #1d4f91", field, v)
		}
	}
	if c := contrast(b.Primary, "#ffffff"); c < 4.5 {
		return b, kerr.E(kerr.Invalid, op, "Brand.Primary %s gives white text a contrast of %.1f:1; choose a darker colour (at least 4.5:1)", b.Primary, c)
	}
	if c := contrast(b.Text, "#ffffff"); c < 4.5 {
		return b, kerr.E(kerr.Invalid, op, "Brand.Text %s has a contrast of %.1f:1 on white; choose a darker colour (at least 4.5:1)", b.Text, c)
	}
	if b.LogoURL != "" && len(b.Logo) > 0 {
		return b, kerr.E(kerr.Invalid, op, "set Brand.LogoURL or Brand.Logo, not both")
	}
	if b.LogoURL != "" {
		u, err := url.Parse(b.LogoURL)
		if err != nil || strings.ContainsAny(b.LogoURL, " ;'\",") || !(u.Scheme == "https" && u.Host != "" || u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/")) {
			return b, kerr.E(kerr.Invalid, op, "Brand.LogoURL %q must be an https URL or a path on this host", b.LogoURL)
		}
	}
	if len(b.Logo) > 0 {
		if len(b.Logo) > MaxLogoSize {
			return b, kerr.E(kerr.Invalid, op, "Brand.Logo has %d bytes; at most %d are allowed", len(b.Logo), MaxLogoSize)
		}
		if b.LogoType == "" {
			b.LogoType = http.DetectContentType(b.Logo)
		}
		switch b.LogoType {
		case "image/png", "image/svg+xml", "image/jpeg", "image/webp":
		default:
			return b, kerr.E(kerr.Invalid, op, "Brand.LogoType %q: use image/png, image/svg+xml, image/jpeg or image/webp", b.LogoType)
		}
	}
	return b, nil
}

// contrast is the WCAG 2.2 contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is the relative luminance of WCAG 2.2 (sRGB).
func luminance(c string) float64 {
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(c[1+2*i:3+2*i], 16, 8)
		s := float64(v) / 255
		if s <= 0.04045 {
			s /= 12.92
		} else {
			s = math.Pow((s+0.055)/1.055, 2.4)
		}
		l += w * s
	}
	return l
}

// css is the style sheet of the brand's colours, served as
// /static/brand.css: the strict Content-Security-Policy allows no inline
// style, so the colours cannot be written into the page.
func (b Brand) css() []byte {
	return []byte(fmt.Sprintf(":root {\n  --primary: %s;\n  --text: %s;\n}\n", b.Primary, b.Text))
}

func (b Brand) contentSecurityPolicy() string {
	img := "'self'"
	if u, err := url.Parse(b.LogoURL); err == nil && u.Host != "" {
		img += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src " + img +
		"; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}
