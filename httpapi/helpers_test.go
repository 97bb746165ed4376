package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/httpapi"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/storage"
)

var fastParams = account.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

// env is a service on the embedded default (real SQLite, files, the
// development TSA) with the test PKI trusted, served over real HTTP on
// loopback by the httpapi handler.
type env struct {
	t      testing.TB
	ctx    context.Context
	pki    *testpki.PKI
	svc    *keiyaku.Service
	srv    *httptest.Server
	router routers.Router
	users  map[string]*user
	// offset moves the service's clock (testpki.Now + offset).
	offset atomic.Int64
}

type user struct {
	key, company, loginID, password string
	cert                            *testpki.Cert
	p                               account.Principal
	c                               *httpapi.ClientWithResponses
	token                           string
}

func newEnv(t testing.TB) *env { return newEnvWith(t, nil, nil) }

// newEnvWith is newEnv with the test PKI pki (nil: a new one) and the
// service's Config changed by mutate (nil: unchanged).
func newEnvWith(t testing.TB, pki *testpki.PKI, mutate func(*keiyaku.Config)) *env {
	t.Helper()
	if pki == nil {
		pki = testpki.New(t)
	}
	e := &env{t: t, ctx: context.Background(), pki: pki, users: map[string]*user{}}
	cfg := keiyaku.Config{
		Dir:            t.TempDir(),
		TrustAnchors:   []*x509.Certificate{e.pki.Root.Cert},
		Intermediates:  []*x509.Certificate{e.pki.Intermediate.Cert},
		Online:         true,
		PasswordParams: fastParams,
		Clock:          func() time.Time { return testpki.Now.Add(time.Duration(e.offset.Load())) },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	svc, err := keiyaku.Open(e.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	e.svc = svc
	api, err := httpapi.New(httpapi.Config{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(api)
	t.Cleanup(e.srv.Close)
	doc, err := httpapi.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	if e.router, err = legacy.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	return e
}

// validating checks every response against the OpenAPI document
// (openapi3filter.ValidateResponse) and fails the test on a mismatch.
type validating struct {
	t      testing.TB
	router routers.Router
}

func (v validating) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	// The document's server is "/": route on the path alone.
	rel := r.Clone(r.Context())
	rel.URL.Scheme, rel.URL.Host, rel.Host = "", "", ""
	route, params, err := v.router.FindRoute(rel)
	if err != nil {
		if r.URL.Path != "/openapi.json" {
			v.t.Errorf("%s %s: no route in the document: %v", r.Method, r.URL.Path, err)
		}
		return resp, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: rel, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: true}},
		Status: resp.StatusCode, Header: resp.Header, Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(r.Context(), in); err != nil {
		v.t.Errorf("%s %s → %d does not match the document: %v\n%s", r.Method, r.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

func (e *env) client(token string) *httpapi.ClientWithResponses {
	e.t.Helper()
	c, err := httpapi.NewClientWithResponses(e.srv.URL, httpapi.WithHTTPClient(&http.Client{Transport: validating{e.t, e.router}}),
		httpapi.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
			return nil
		}))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// newUser creates a company with its administrator and logs it in over
// HTTP, changing the initial password first.
func (e *env) newUser(key, company string, cert *testpki.Cert) *user {
	e.t.Helper()
	u := &user{key: key, company: company, loginID: "admin-" + strings.ToLower(key), password: "correct horse " + key, cert: cert}
	_, _, initial, err := e.svc.Accounts.CreateCompany(e.ctx, company, account.NewUser{
		LoginID: u.loginID, Profile: storage.Profile{Name: "Admin " + key, Email: strings.ToLower(key) + "@example.com", Language: "ja"},
	}, "")
	if err != nil {
		e.t.Fatal(err)
	}
	anon := e.client("")
	res, err := anon.LoginWithResponse(e.ctx, nil, httpapi.LoginRequest{LoginId: u.loginID, Password: initial})
	if err != nil || res.JSON201 == nil {
		e.t.Fatalf("login %s: %v %s", u.loginID, err, res.Body)
	}
	if !res.JSON201.MustChangePassword {
		e.t.Fatal("the initial password did not have to be changed")
	}
	// Nothing but the password change works before.
	pre := e.client(res.JSON201.Token)
	if r, _ := pre.SearchCasesWithResponse(e.ctx, nil); r.StatusCode() != 403 || r.ApplicationproblemJSONDefault.Type != httpapi.ProblemBase+"password-change-required" {
		e.t.Fatalf("search before the password change: %d %s", r.StatusCode(), r.Body)
	}
	if r, _ := pre.ChangePasswordWithResponse(e.ctx, httpapi.PasswordChange{OldPassword: initial, NewPassword: u.password}); r.StatusCode() != 204 {
		e.t.Fatalf("change password: %d %s", r.StatusCode(), r.Body)
	}
	res, err = anon.LoginWithResponse(e.ctx, nil, httpapi.LoginRequest{LoginId: u.loginID, Password: u.password})
	if err != nil || res.JSON201 == nil || res.JSON201.MustChangePassword {
		e.t.Fatalf("login again: %v %s", err, res.Body)
	}
	u.token = res.JSON201.Token
	u.p = account.Principal{UserID: res.JSON201.UserId, CompanyID: res.JSON201.CompanyId, Admin: true}
	u.c = e.client(u.token)
	// Only signatures from the company's registered certificates count
	// (issue 9): the administrator registers the one its people sign with.
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Cert.Raw}))
	if r, err := u.c.RegisterSigningCertificateWithResponse(e.ctx, nil, httpapi.NewSigningCertificate{Certificate: certPEM}); err != nil || r.JSON201 == nil {
		e.t.Fatalf("register the signing certificate of %s: %v %s", company, err, r.Body)
	}
	e.users[key] = u
	return u
}

func contract(text string) []byte {
	return bytes.Clone(pdftest.OnePage("BT /F1 12 Tf 72 720 Td (" + text + ") Tj ET").Bytes())
}

func (e *env) sign(u *user, in []byte) []byte {
	e.t.Helper()
	var out bytes.Buffer
	err := signature.Sign(e.ctx, bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
		Signer: u.cert.Key, Certificate: u.cert.Cert, Chain: []*x509.Certificate{e.pki.Intermediate.Cert},
		SigningTime: testpki.Now, Name: "Admin " + u.key, Reason: "contract",
	})
	if err != nil {
		e.t.Fatalf("sign: %v", err)
	}
	return out.Bytes()
}

type part struct {
	name, file, ctype string
	body              []byte
}

// multipartBody encodes parts in order; it returns the content type.
func multipartBody(t testing.TB, parts ...part) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, p.name)
		if p.file != "" {
			cd += fmt.Sprintf(`; filename=%q`, p.file)
		}
		h.Set("Content-Disposition", cd)
		if p.ctype != "" {
			h.Set("Content-Type", p.ctype)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.body)
	}
	mw.Close()
	return mw.FormDataContentType(), &b
}

func jsonPart(t testing.TB, v any) part {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return part{name: "case", ctype: "application/json", body: b}
}

type ctx_ = context.Context

// tamper appends an incremental update that replaces the page's content
// stream (pdftest.ReplacePageContent): the visible contract changes while
// every earlier byte stays as it was.
func tamper(t *testing.T, in []byte, text string) []byte {
	t.Helper()
	out, err := pdftest.ReplacePageContent(in, text)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ifMatch returns the current ETag of case id as u sees it, for the
// If-Match every case action requires.
func (e *env) ifMatch(u *user, id string) string {
	e.t.Helper()
	res, err := u.c.GetCaseWithResponse(e.ctx, id)
	if err != nil || res.JSON200 == nil || res.HTTPResponse.Header.Get("ETag") == "" {
		e.t.Fatalf("get %s for its ETag: %v %s", id, err, res.Body)
	}
	return res.HTTPResponse.Header.Get("ETag")
}
