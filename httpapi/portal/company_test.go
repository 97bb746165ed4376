package portal_test

import (
	"bytes"
	"encoding/pem"
	"errors"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// certUpload is a multipart form with the file field and text fields.
func certUpload(field string, file []byte, fields map[string]string) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(field, "cert.pem")
	fw.Write(file)
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func pemOf(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }

// TestCompanyPage: an administrator lists, removes and registers signing
// certificates (PEM, DER, an issuer rule) and trading partners on the
// company page, each change visible through the Go API; refusals come
// back as the page with the reason.
func TestCompanyPage(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	a, b := w.co["A"], w.co["B"]
	c := w.client()
	c.login(a)
	certs := func() []storage.SignerCert {
		t.Helper()
		got, err := w.svc.Accounts.SignerCertificates(w.ctx, a.P)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	resp, page := c.get("/company", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="nav-company"`) || !strings.Contains(page, "CN=") || len(certs()) != 1 {
		t.Fatalf("company page: %d, %d certificates", resp.StatusCode, len(certs()))
	}
	remove := func() {
		t.Helper()
		for _, sc := range certs() {
			if resp, _ := c.post("/company/certificates/"+sc.ID+"/remove", nil); resp.StatusCode != 200 || resp.Request.URL.Query().Get("done") != "cert-remove" {
				t.Fatalf("remove: %d at %s", resp.StatusCode, resp.Request.URL)
			}
		}
		if n := len(certs()); n != 0 {
			t.Fatalf("%d certificates after removing all", n)
		}
	}
	remove()
	if _, page := c.get("/company", nil); !strings.Contains(page, `id="no-certs"`) {
		t.Error("the page does not say that no certificate is registered")
	}
	for _, file := range [][]byte{pemOf(a.Cert.Cert.Raw), a.Cert.Cert.Raw} {
		ct, body := certUpload("certificate", file, nil)
		resp, page := c.do(http.MethodPost, "/company/certificates", body, ct, nil)
		if resp.StatusCode != 200 || !strings.Contains(page, "証明書を登録しました") {
			t.Fatalf("register a certificate: %d", resp.StatusCode)
		}
		if got := certs(); len(got) != 1 || got[0].Subject != a.Cert.Cert.Subject.String() {
			t.Fatalf("registered: %+v", got)
		}
		remove()
	}
	// Refused: B's certificate (registered to B), a private key, junk, a
	// CA as a single certificate.
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})
	for name, f := range map[string]struct {
		file   []byte
		status int
	}{
		"another company's": {pemOf(b.Cert.Cert.Raw), http.StatusConflict},
		"a private key":     {key, http.StatusUnprocessableEntity},
		"junk":              {[]byte("not a certificate"), http.StatusUnprocessableEntity},
		"a CA":              {pemOf(w.pki.Intermediate.Cert.Raw), http.StatusUnprocessableEntity},
	} {
		ct, body := certUpload("certificate", f.file, nil)
		resp, page := c.do(http.MethodPost, "/company/certificates", body, ct, nil)
		if resp.StatusCode != f.status || !strings.Contains(page, `class="error"`) || !strings.Contains(page, `id="certs"`) {
			t.Errorf("%s certificate: %d, want %d with the page and the reason", name, resp.StatusCode, f.status)
		}
	}
	if n := len(certs()); n != 0 {
		t.Fatalf("%d certificates registered by refused uploads", n)
	}
	// An issuer rule: the CA and the company's own organization name; a
	// name that is not the company's is refused.
	ct, body := certUpload("ca", pemOf(w.pki.Intermediate.Cert.Raw), map[string]string{"organization": "他社株式会社"})
	if resp, _ := c.do(http.MethodPost, "/company/issuers", body, ct, nil); resp.StatusCode != http.StatusUnprocessableEntity || len(certs()) != 0 {
		t.Errorf("issuer rule for another organization: %d, %d registered", resp.StatusCode, len(certs()))
	}
	ct, body = certUpload("ca", pemOf(w.pki.Intermediate.Cert.Raw), map[string]string{"organization": a.Name})
	if resp, _ := c.do(http.MethodPost, "/company/issuers", body, ct, nil); resp.StatusCode != 200 {
		t.Fatalf("issuer rule: %d", resp.StatusCode)
	}
	if got := certs(); len(got) != 1 || got[0].Organization != a.Name || got[0].IssuerSHA256 == "" {
		t.Fatalf("issuer rule registered as %+v", got)
	}

	// Trading partners: found in the directory, added, offered on the
	// register page without a search, removed.
	_, page = c.get("/company?q="+url.QueryEscape("ビー"), nil)
	if !strings.Contains(page, `id="add-partner-`+b.P.CompanyID+`"`) || strings.Contains(page, `id="add-partner-`+a.P.CompanyID+`"`) {
		t.Fatal("the directory search does not offer B (or offers A itself)")
	}
	if resp, _ := c.post("/company/partners", url.Values{"company": {b.P.CompanyID}}); resp.StatusCode != 200 {
		t.Fatalf("add partner: %d", resp.StatusCode)
	}
	if ps, err := w.svc.Accounts.Partners(w.ctx, a.P); err != nil || len(ps) != 1 || ps[0].ID != b.P.CompanyID {
		t.Fatalf("partners after adding B: %+v, %v", ps, err)
	}
	if _, page := c.get("/cases/new", nil); !strings.Contains(page, `value="`+b.party()+`"`) {
		t.Error("the register page does not offer the partner's person without a search")
	}
	if resp, _ := c.post("/company/partners", url.Values{"company": {"no-such-company"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("add an unknown partner: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/company/partners/"+b.P.CompanyID+"/remove", nil); resp.StatusCode != 200 {
		t.Fatalf("remove partner: %d", resp.StatusCode)
	}
	if ps, _ := w.svc.Accounts.Partners(w.ctx, a.P); len(ps) != 0 {
		t.Fatalf("partners after removing B: %+v", ps)
	}
}

// TestCompanyPageAdminsOnly: an ordinary user has no link to the company
// page, is refused it (403) and changes nothing by posting to it.
func TestCompanyPageAdminsOnly(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	a, b := w.co["A"], w.co["B"]
	u, initial, err := w.svc.Accounts.CreateUser(w.ctx, a.P, account.NewUser{LoginID: "clerk-a", Profile: storage.Profile{Name: "田中 一郎"}})
	if err != nil {
		t.Fatal(err)
	}
	clerk := &company{Name: a.Name, Person: "田中 一郎", Login: "clerk-a", Initial: initial, Password: strongPassword(),
		P: account.Principal{UserID: u.ID, CompanyID: u.CompanyID}}
	c := w.client()
	c.login(clerk)
	if _, page := c.get("/cases", nil); strings.Contains(page, `id="nav-company"`) {
		t.Error("an ordinary user sees the link to the company page")
	}
	if resp, _ := c.get("/company", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("company page for an ordinary user: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/company/partners", url.Values{"company": {b.P.CompanyID}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("add partner by an ordinary user: %d", resp.StatusCode)
	}
	sc, _ := w.svc.Accounts.SignerCertificates(w.ctx, a.P)
	if resp, _ := c.post("/company/certificates/"+sc[0].ID+"/remove", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("remove certificate by an ordinary user: %d", resp.StatusCode)
	}
	ct, body := certUpload("certificate", pemOf(w.pki.ECDSAP384.Cert.Raw), nil)
	if resp, _ := c.do(http.MethodPost, "/company/certificates", body, ct, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("register certificate by an ordinary user: %d", resp.StatusCode)
	}
	if ps, _ := w.svc.Accounts.Partners(w.ctx, a.P); len(ps) != 0 {
		t.Errorf("an ordinary user added partners: %+v", ps)
	}
	if got, _ := w.svc.Accounts.SignerCertificates(w.ctx, a.P); len(got) != 1 {
		t.Errorf("an ordinary user changed the certificates: %d", len(got))
	}
}

// FuzzParseCertificate: any bytes are a certificate or kerr.Invalid,
// never a panic.
func FuzzParseCertificate(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte{0x30, 0x82, 0x01, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := portal.ParseCertificate(b)
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("error of kind %v: %v", kerr.Of(err), err)
			}
			return
		}
		if c == nil || len(c.Raw) == 0 {
			t.Fatal("no certificate and no error")
		}
	})
}
