package portal_test

import (
	"cloud.google.com/go/civil"

	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/storage"
)

// fastParams keep argon2id cheap in tests.
var fastParams = account.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

// company is a company with one administrator, not yet logged in: Initial
// is the password CreateCompany gave, Password the one the test changes
// it to.
type company struct {
	Name, Person, Login string
	Initial, Password   string
	Cert                *testpki.Cert
	P                   account.Principal
}

// world is a real service (SQLite in a temporary directory, the test PKI
// trusted, its development TSA) with the portal on a loopback server.
type world struct {
	t   testing.TB
	ctx context.Context
	pki *testpki.PKI
	svc *keiyaku.Service
	srv *httptest.Server
	co  map[string]*company
	// skew moves the service's clock past testpki.Now (advance).
	skew atomic.Int64
}

// advance moves the service's clock forward by d.
func (w *world) advance(d time.Duration) { w.skew.Add(int64(d)) }

func newWorld(t testing.TB, brand portal.Brand) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), pki: testpki.New(t), co: map[string]*company{}}
	svc, err := keiyaku.Open(w.ctx, keiyaku.Config{
		Dir:            t.TempDir(),
		TrustAnchors:   []*x509.Certificate{w.pki.Root.Cert},
		Intermediates:  []*x509.Certificate{w.pki.Intermediate.Cert},
		Online:         true,
		PasswordParams: fastParams,
		Clock:          func() time.Time { return testpki.Now.Add(time.Duration(w.skew.Load())) },
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { svc.Close() })
	w.svc = svc
	h, err := portal.New(portal.Config{Service: svc, Brand: brand, InsecureCookies: true,
		Logger: slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		t.Fatalf("portal.New: %v", err)
	}
	w.srv = httptest.NewServer(h)
	t.Cleanup(w.srv.Close)
	for _, s := range []struct {
		key, name, person string
		cert              *testpki.Cert
	}{
		{"A", "株式会社エー商事", "山田 太郎", w.pki.ECDSAP256},
		{"B", "ビー販売株式会社", "鈴木 花子", w.pki.RSA},
		{"C", "シー工業株式会社", "佐藤 次郎", w.pki.ECDSAP384},
	} {
		login := "admin-" + strings.ToLower(s.key)
		_, u, initial, err := svc.Accounts.CreateCompany(w.ctx, s.name, account.NewUser{LoginID: login,
			Profile: storage.Profile{Name: s.person, Email: strings.ToLower(s.key) + "@example.jp", Department: "購買部"}}, "")
		if err != nil {
			t.Fatalf("CreateCompany: %v", err)
		}
		w.co[s.key] = &company{Name: s.name, Person: s.person, Login: login, Initial: initial,
			Password: strongPassword(), Cert: s.cert, P: account.Principal{UserID: u.ID, CompanyID: u.CompanyID, Admin: true}}
		// A signature counts only from a certificate registered to the
		// uploading company (issue #9): the administrator registers the
		// one its person signs with.
		if _, err := svc.Accounts.RegisterSignerCertificate(w.ctx, w.co[s.key].P, s.cert.Cert); err != nil {
			t.Fatalf("RegisterSignerCertificate: %v", err)
		}
	}
	return w
}

// tlog writes the portal's error log into the test's log, so that a 500
// says why.
type tlog struct{ t testing.TB }

func (l tlog) Write(b []byte) (int, error) { l.t.Log(strings.TrimSpace(string(b))); return len(b), nil }

// party is co's administrator as the register form names a counterparty
// chosen from the directory.
func (co *company) party() string { return co.P.CompanyID + "/" + co.P.UserID }

// strongPassword is a random password account.CheckPassword accepts:
// 26 base32 characters, 130 bits.
func strongPassword() string { return rand.Text() }

// contract is an unsigned one-page contract PDF.
func contract(text string) []byte {
	return bytes.Clone(pdftest.OnePage("BT /F1 12 Tf 72 720 Td (" + text + ") Tj ET").Bytes())
}

// sign adds c's PAdES B-B signature in a new incremental update.
func (w *world) sign(c *company, in []byte) []byte {
	w.t.Helper()
	var out bytes.Buffer
	err := signature.Sign(w.ctx, bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
		Signer: c.Cert.Key, Certificate: c.Cert.Cert, Chain: []*x509.Certificate{w.pki.Intermediate.Cert},
		SigningTime: testpki.Now, Name: c.Person, Reason: "contract",
	})
	if err != nil {
		w.t.Fatalf("Sign: %v", err)
	}
	return out.Bytes()
}

// tamper appends an incremental update that replaces the page's content
// stream (pdftest.ReplacePageContent): the visible contract changes while
// every earlier byte stays as it was.
func tamper(t testing.TB, in []byte, text string) []byte {
	t.Helper()
	out, err := pdftest.ReplacePageContent(in, text)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// client is a browser-less user of the portal: a cookie jar, no
// redirects followed unless asked.
type client struct {
	w  *world
	hc *http.Client
}

func (w *world) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{w: w, hc: &http.Client{Jar: jar}}
}

// do sends a request with a same-origin Origin header on writes (as a
// browser does) and returns the status and body.
func (c *client) do(method, path string, body io.Reader, ctype string, hdr map[string]string) (*http.Response, string) {
	c.w.t.Helper()
	req, err := http.NewRequest(method, c.w.srv.URL+path, body)
	if err != nil {
		c.w.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if method != http.MethodGet {
		req.Header.Set("Origin", c.w.srv.URL)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) get(path string, hdr map[string]string) (*http.Response, string) {
	return c.do(http.MethodGet, path, nil, "", hdr)
}

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	return c.do(http.MethodPost, path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", nil)
}

// login logs in as co through the portal, changing the initial password
// on the first login.
func (c *client) login(co *company) {
	c.w.t.Helper()
	resp, body := c.post("/login", url.Values{"login": {co.Login}, "password": {co.Password}})
	if !strings.HasSuffix(resp.Request.URL.Path, "/cases") {
		resp, body = c.post("/login", url.Values{"login": {co.Login}, "password": {co.Initial}})
		if resp.Request.URL.Path != "/password" {
			c.w.t.Fatalf("first login of %s ended at %s (%d): %s", co.Login, resp.Request.URL, resp.StatusCode, body)
		}
		resp, body = c.post("/password", url.Values{"current": {co.Initial}, "new": {co.Password}, "confirm": {co.Password}})
		if resp.Request.URL.Path != "/profile" {
			c.w.t.Fatalf("password change of %s ended at %s (%d): %s", co.Login, resp.Request.URL, resp.StatusCode, body)
		}
	}
	_ = body
}

// apiLogin changes co's initial password through the Go API and returns
// its principal, for tests that set up cases without a browser.
func (w *world) apiLogin(co *company) account.Principal {
	w.t.Helper()
	sess, err := w.svc.Accounts.Login(w.ctx, co.Login, co.Initial, "127.0.0.1")
	if err == nil {
		if err := w.svc.Accounts.ChangePassword(w.ctx, sess.Token, co.Initial, co.Password, "127.0.0.1"); err != nil {
			w.t.Fatalf("ChangePassword: %v", err)
		}
	}
	sess, err = w.svc.Accounts.Login(w.ctx, co.Login, co.Password, "127.0.0.1")
	if err != nil {
		w.t.Fatalf("Login: %v", err)
	}
	p, err := w.svc.Accounts.Authenticate(w.ctx, sess.Token, "127.0.0.1")
	if err != nil {
		w.t.Fatalf("Authenticate: %v", err)
	}
	return p
}

// completedCase carries a 1:1 case from A to B to completion through the
// Go API and returns it.
func (w *world) completedCase(name string, amount int64) *casework.Case {
	w.t.Helper()
	a, b := w.co["A"], w.co["B"]
	pa, pb := w.apiLogin(a), w.apiLogin(b)
	doc := w.sign(a, contract(name))
	c, err := w.svc.Cases.Register(w.ctx, pa, &casework.NewCase{Form: casework.FormBilateral, Name: name,
		Amount: casework.Money{Amount: amount, Currency: "JPY"}, TransactionDate: civil.DateOf(testpki.Now),
		Parties:     []casework.Party{{CompanyID: pb.CompanyID, CompanyName: b.Name, UserID: pb.UserID}},
		Document:    casework.Upload{Name: "契約書.pdf", Body: bytes.NewReader(doc)},
		Supplements: []casework.Upload{{Name: "見積書.txt", ContentType: "text/plain", Body: strings.NewReader("見積 1,100,000円")}}})
	if err != nil {
		w.t.Fatalf("Register: %v", err)
	}
	rc, _, err := w.svc.Cases.Receive(w.ctx, pb, c.ID)
	if err != nil {
		w.t.Fatalf("Receive: %v", err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if _, err := w.svc.Cases.Return(w.ctx, pb, c.ID, casework.Upload{Name: "契約書.pdf", Body: bytes.NewReader(w.sign(b, got))}); err != nil {
		w.t.Fatalf("Return: %v", err)
	}
	if c, err = w.svc.Cases.Complete(w.ctx, pa, c.ID); err != nil {
		w.t.Fatalf("Complete: %v", err)
	}
	return c
}
