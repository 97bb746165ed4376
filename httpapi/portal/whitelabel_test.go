package portal_test

import (
	"crypto/x509"
	"regexp"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/httpapi/portal"
)

// onePixelPNG is a 1×1 PNG, the vendor's logo in the white-label test.
var onePixelPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

// TestWhiteLabel renders every page and static file with a vendor's
// brand and finds no trace of the default brand: not the name, not its
// colours, not its footer. Certificate names of the test PKI and the
// development TSA (which say "keiyaku") are data a signer brings, not
// the brand, and are taken out before the search.
func TestWhiteLabel(t *testing.T) {
	brand := portal.Brand{Name: "Acme契約クラウド", Logo: onePixelPNG, Primary: "#004d40", Text: "#202020",
		Footer: "Acme Corporation", Support: "support@acme.example"}
	w := newWorld(t, brand)
	cs := w.completedCase("白ラベル契約", 500000)
	c := w.client()
	c.login(w.co["A"])

	var certNames []string
	addNames := func(cert *x509.Certificate) {
		if cert == nil {
			return
		}
		for _, n := range []string{cert.Subject.String(), cert.Issuer.String(), cert.Subject.CommonName, cert.Issuer.CommonName} {
			certNames = append(certNames, n)
		}
		certNames = append(certNames, cert.Subject.Organization...)
		certNames = append(certNames, cert.Issuer.Organization...)
	}
	for _, cert := range []*x509.Certificate{w.pki.Root.Cert, w.pki.Intermediate.Cert, w.pki.RSA.Cert, w.pki.ECDSAP256.Cert, w.svc.TSACertificate} {
		addNames(cert)
	}
	defaultTrace := regexp.MustCompile(`(?i)keiyaku|` + regexp.QuoteMeta(portal.DefaultBrand.Primary) + `|` + regexp.QuoteMeta(portal.DefaultBrand.Footer))

	paths := []string{"/login", "/password", "/profile", "/cases", "/cases/new", "/cases/" + cs.ID, "/cases/" + cs.ID + "/verification",
		"/cases/" + cs.ID + "/audit", "/completed", "/completed?min=1&max=999999", "/completed.csv", "/cases/nope",
		"/static/portal.css", "/static/portal.js", "/static/brand.css"}
	for _, lang := range []string{"ja", "en"} {
		for _, p := range paths {
			resp, body := c.get(p, map[string]string{"Accept-Language": lang})
			if resp.StatusCode >= 500 {
				t.Errorf("%s: %d", p, resp.StatusCode)
			}
			if strings.HasSuffix(resp.Header.Get("Content-Type"), "html; charset=utf-8") {
				if !strings.Contains(body, brand.Name) || !strings.Contains(body, brand.Footer) || !strings.Contains(body, brand.Support) || !strings.Contains(body, `src="/static/logo"`) {
					t.Errorf("%s (%s): the vendor's name, footer, support or logo is missing", p, lang)
				}
			}
			for _, n := range certNames {
				body = strings.ReplaceAll(body, n, "")
			}
			if m := defaultTrace.FindString(body); m != "" {
				i := strings.Index(body, m)
				t.Errorf("%s (%s): the default brand shows through: %q in …%s…", p, lang, m, body[max(0, i-80):min(len(body), i+80)])
			}
			for _, h := range []string{"Content-Disposition", "Set-Cookie", "Server"} {
				if defaultTrace.MatchString(resp.Header.Get(h)) {
					t.Errorf("%s: header %s says %q", p, h, resp.Header.Get(h))
				}
			}
		}
	}
	resp, body := c.get("/static/brand.css", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, brand.Primary) {
		t.Errorf("brand.css does not carry the vendor's colour: %s", body)
	}
	if resp, body := c.get("/static/logo", nil); resp.StatusCode != 200 || body != string(onePixelPNG) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("/static/logo: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
