package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/httpapi"
)

// raw sends a request with plain net/http and returns the status and the
// decoded problem (nil when the answer is not a problem document).
func (e *env) raw(method, path, token, ctype string, body io.Reader, hdr map[string]string) (int, *httpapi.Problem, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Type") != "application/problem+json" {
		return resp.StatusCode, nil, resp.Header
	}
	var p httpapi.Problem
	if err := json.Unmarshal(b, &p); err != nil {
		e.t.Fatalf("problem does not decode: %v %s", err, b)
	}
	if p.Status != resp.StatusCode || p.Title == "" || p.Detail == nil {
		e.t.Errorf("incomplete problem %s", b)
	}
	if strings.Contains(string(b), "casework.") || strings.Contains(string(b), "goroutine") {
		e.t.Errorf("problem leaks internals: %s", b)
	}
	return resp.StatusCode, &p, resp.Header
}

func (e *env) caseCount(u *user) int {
	e.t.Helper()
	r, err := u.c.SearchCasesWithResponse(e.ctx, nil)
	if err != nil || r.JSON200 == nil {
		e.t.Fatalf("search: %v", err)
	}
	return len(r.JSON200.Cases)
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	signed := e.sign(a, contract("bad input"))
	goodCase := map[string]any{"form": "bilateral", "name": "x", "transaction_date": "2026-01-01", "amount": map[string]string{"amount": "100", "currency": "JPY"},
		"parties": []map[string]string{{"company_id": b.p.CompanyID, "company_name": b.company, "user_id": b.p.UserID}}}
	caseJSON, _ := json.Marshal(goodCase)

	bigJSON := `{"login_id":"` + strings.Repeat("a", httpapi.MaxJSONBody) + `","password":"x"}`
	truncated := func() (string, io.Reader) {
		ct, body := multipartBody(t, part{name: "case", ctype: "application/json", body: caseJSON},
			part{name: "contract", file: "c.pdf", ctype: "application/pdf", body: signed})
		return ct, bytes.NewReader(body.Bytes()[:body.Len()-200])
	}
	for _, tc := range []struct {
		name, method, path, token, ctype string
		body                             func() (string, io.Reader)
		hdr                              map[string]string
		status                           int
		typ                              string
	}{
		{name: "malformed JSON", method: "POST", path: "/v1/sessions", ctype: "application/json",
			body: func() (string, io.Reader) { return "", strings.NewReader(`{"login_id":`) }, status: 400, typ: "invalid"},
		{name: "unknown field", method: "POST", path: "/v1/sessions", ctype: "application/json",
			body: func() (string, io.Reader) {
				return "", strings.NewReader(`{"login_id":"a","password":"b","admin":true}`)
			}, status: 400, typ: "invalid"},
		{name: "wrong content type", method: "POST", path: "/v1/sessions", ctype: "text/plain",
			body: func() (string, io.Reader) { return "", strings.NewReader(`login`) }, status: 415, typ: "unsupported-media-type"},
		{name: "oversize JSON", method: "POST", path: "/v1/sessions", ctype: "application/json",
			body: func() (string, io.Reader) { return "", strings.NewReader(bigJSON) }, status: 413, typ: "too-large"},
		{name: "no token", method: "GET", path: "/v1/cases", status: 401, typ: "unauthenticated"},
		{name: "bad token", method: "GET", path: "/v1/cases", token: "nope", status: 401, typ: "unauthenticated"},
		{name: "bad query", method: "GET", path: "/v1/cases?limit=100000", token: a.token, status: 400, typ: "invalid"},
		{name: "unknown path", method: "GET", path: "/v1/nothing", token: a.token, status: 404, typ: "no-such-resource"},
		{name: "wrong method", method: "PATCH", path: "/v1/cases", token: a.token, status: 405, typ: "method-not-allowed"},
		{name: "missing contract part", method: "POST", path: "/v1/cases", token: a.token,
			body: func() (string, io.Reader) {
				ct, body := multipartBody(t, part{name: "case", ctype: "application/json", body: caseJSON})
				return ct, body
			}, status: 400, typ: "invalid"},
		{name: "truncated upload", method: "POST", path: "/v1/cases", token: a.token, body: truncated, status: 400, typ: "invalid"},
		{name: "surplus part", method: "POST", path: "/v1/cases", token: a.token,
			body: func() (string, io.Reader) {
				ct, body := multipartBody(t, part{name: "case", ctype: "application/json", body: caseJSON},
					part{name: "contract", file: "c.pdf", ctype: "application/pdf", body: signed},
					part{name: "supplement", file: "undeclared.txt", body: []byte("x")})
				return ct, body
			}, status: 400, typ: "invalid"},
		{name: "invalid case JSON", method: "POST", path: "/v1/cases", token: a.token,
			body: func() (string, io.Reader) {
				ct, body := multipartBody(t, part{name: "case", ctype: "application/json", body: []byte(`{"form":"bilateral","name":""}`)},
					part{name: "contract", file: "c.pdf", ctype: "application/pdf", body: signed})
				return ct, body
			}, status: 400, typ: "invalid"},
		{name: "oversize upload by Content-Length", method: "POST", path: "/v1/verify", token: a.token, ctype: "application/pdf",
			body: func() (string, io.Reader) { return "", bytes.NewReader(make([]byte, httpapi.MaxDocumentBody+1)) }, status: 413, typ: "too-large"},
		{name: "oversize contract part", method: "POST", path: "/v1/cases", token: a.token,
			body: func() (string, io.Reader) {
				ct, body := multipartBody(t, part{name: "case", ctype: "application/json", body: caseJSON},
					part{name: "contract", file: "c.pdf", ctype: "application/pdf", body: make([]byte, casework.MaxDocumentSize+1)})
				return ct, body
			}, status: 413, typ: "too-large"},
		{name: "cross-site form post", method: "POST", path: "/v1/sessions", ctype: "application/json",
			hdr:  map[string]string{"Sec-Fetch-Site": "cross-site"},
			body: func() (string, io.Reader) { return "", strings.NewReader(`{"login_id":"a","password":"b"}`) }, status: 403, typ: "cross-origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			ctype := tc.ctype
			if tc.body != nil {
				ct, b := tc.body()
				body = b
				if ct != "" {
					ctype = ct
				}
			}
			e.t = t
			status, p, _ := e.raw(tc.method, tc.path, tc.token, ctype, body, tc.hdr)
			if status != tc.status || p == nil || p.Type != httpapi.ProblemBase+tc.typ {
				t.Fatalf("got %d %+v, want %d %s", status, p, tc.status, tc.typ)
			}
		})
	}
	e.t = t
	if n := e.caseCount(a); n != 0 {
		t.Fatalf("bad input stored %d cases", n)
	}
	// Path tricks in a file name keep only the base name.
	ct, body := multipartBody(t, jsonPart(t, goodCase), part{name: "contract", file: `../../etc/契約書.pdf`, ctype: "application/pdf", body: signed})
	res, err := a.c.RegisterCaseWithBodyWithResponse(e.ctx, nil, ct, body)
	if err != nil || res.JSON201 == nil || res.JSON201.Document.Name != "契約書.pdf" {
		t.Fatalf("path trick: %v %s", err, res.Body)
	}
	// A cookie session is refused on a cross-site state-changing request.
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/cases/"+res.JSON201.Id+"/completion", nil)
	req.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: a.token})
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("cross-site cookie post: %d", resp.StatusCode)
	}
	// Japanese detail by Accept-Language.
	_, p, hdr := e.raw("GET", "/v1/cases/nope", a.token, "", nil, map[string]string{"Accept-Language": "ja,en;q=0.5"})
	if p == nil || p.Type != httpapi.ProblemBase+"not-found" || hdr.Get("Content-Language") != "ja" || !strings.Contains(*p.Detail, "存在しない") {
		t.Fatalf("ja problem: %+v", p)
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	nc := map[string]any{"form": "bilateral", "name": "idem", "transaction_date": "2026-01-01", "amount": map[string]string{"amount": "100", "currency": "JPY"},
		"parties": []map[string]string{{"company_id": b.p.CompanyID, "company_name": b.company, "user_id": b.p.UserID}}}
	ct, body := multipartBody(t, jsonPart(t, nc), part{name: "contract", file: "c.pdf", ctype: "application/pdf", body: e.sign(a, contract("idem"))})
	raw := body.Bytes()
	key := map[string]string{"Idempotency-Key": "order-4711"}
	s1, _, h1 := e.raw("POST", "/v1/cases", a.token, ct, bytes.NewReader(raw), key)
	s2, _, h2 := e.raw("POST", "/v1/cases", a.token, ct, bytes.NewReader(raw), key)
	if s1 != 201 || s2 != 201 || h1.Get("Location") != h2.Get("Location") || h2.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %d %v %v", s1, s2, h1, h2)
	}
	if n := e.caseCount(a); n != 1 {
		t.Fatalf("retry stored %d cases", n)
	}
	other := bytes.Replace(raw, []byte(`"idem"`), []byte(`"mied"`), 1)
	if s, p, _ := e.raw("POST", "/v1/cases", a.token, ct, bytes.NewReader(other), key); s != 422 || p.Type != httpapi.ProblemBase+"idempotency-key-reused" {
		t.Fatalf("other body: %d %+v", s, p)
	}
}

// rawBody is raw with a string body; it returns the status, the problem
// type ("" for none), the headers and the body.
func (e *env) rawBody(method, path, token, ctype, body string) (int, string, map[string][]string, string) {
	e.t.Helper()
	return e.rawBodyHeader(method, path, token, ctype, body, nil)
}

// rawBodyHeader is rawBody with extra request headers.
func (e *env) rawBodyHeader(method, path, token, ctype, body string, hdr map[string]string) (int, string, map[string][]string, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Transport: validating{e.t, e.router}}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	typ := ""
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		var p httpapi.Problem
		json.Unmarshal(b, &p)
		typ = p.Type
	}
	return resp.StatusCode, typ, resp.Header, string(b)
}

func jsonField(t testing.TB, body, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	s, _ := m[field].(string)
	return s
}
