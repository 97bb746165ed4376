package portal_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/kerr/kmsg"
)

// TestMessagesComplete: every message key a template or the Go code uses
// exists in both languages, and no translation is left empty.
func TestMessagesComplete(t *testing.T) {
	raw, err := os.ReadFile("messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var msgs map[string]map[string]string
	if err := json.Unmarshal(raw, &msgs); err != nil {
		t.Fatalf("messages.json: %v", err)
	}
	used := map[string]bool{}
	keyRE := regexp.MustCompile(`\.T "([a-z0-9_.-]+)"|"((?:err|login|password|profile|cases|case|register|completed|verify|audit|refused|sig|done)\.[a-z0-9_.-]+)"`)
	for _, glob := range []string{"templates/*.html", "*.go"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, _ := os.ReadFile(f)
			for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
				used[m[1]+m[2]] = true
			}
		}
	}
	// Keys made at run time.
	for _, s := range casework.States() {
		used["state."+s.String()] = true
	}
	for _, f := range casework.Forms() {
		used["form."+f.String()] = true
	}
	for _, e := range casework.Events() {
		used["audit.case."+e.String()] = true
		if e != casework.EventRegister && e != casework.EventAcknowledge {
			used["action."+e.String()] = true
		}
	}
	for _, e := range []string{"register", "return", "send-back", "resend", "complete", "delete"} {
		used["done."+e] = true
	}
	for k := range used {
		if strings.HasSuffix(k, ".") {
			continue
		}
		if _, ok := kmsg.English(k); ok && msgs[k] == nil {
			continue // a refusal's message code (kerr.M), in kerr/kmsg's catalog
		}
		tr, ok := msgs[k]
		if !ok {
			t.Errorf("message %q is used but not in messages.json", k)
			continue
		}
		if tr["ja"] == "" || tr["en"] == "" {
			t.Errorf("message %q lacks a translation: %q", k, tr)
		}
	}
	if len(used) < 100 {
		t.Fatalf("only %d keys found in use; the scan is broken", len(used))
	}
}

// TestNoInlineScriptOrStyle: the templates and static files hold nothing
// the strict Content-Security-Policy would block.
func TestNoInlineScriptOrStyle(t *testing.T) {
	bad := regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=|javascript:`)
	script := regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`)
	n := 0
	err := fs.WalkDir(os.DirFS("."), "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, _ := os.ReadFile(p)
		if m := bad.Find(b); m != nil {
			t.Errorf("%s has inline script or style: %q", p, m)
		}
		for _, m := range script.FindAllSubmatch(b, -1) {
			if !strings.Contains(string(m[1]), "src=") || strings.TrimSpace(string(m[2])) != "" {
				t.Errorf("%s has an inline script: %q", p, m[0])
			}
		}
		return nil
	})
	if err != nil || n < 10 {
		t.Fatalf("walked %d templates: %v", n, err)
	}
}

func TestSecurityHeadersAndSession(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	c := w.client()
	resp, _ := c.get("/login", nil)
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}

	// A cross-site form post is refused and logs nobody in.
	a := w.co["A"]
	form := url.Values{"login": {a.Login}, "password": {a.Initial}}
	resp, _ = c.do(http.MethodPost, "/login", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded",
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login post: %d, want 403", resp.StatusCode)
	}
	if u, _ := url.Parse(w.srv.URL); len(c.hc.Jar.Cookies(u)) != 0 {
		t.Errorf("a refused post set cookies: %v", c.hc.Jar.Cookies(u))
	}

	// The first login leads to the forced password change; nothing else
	// opens before it.
	noRedirect := *c.hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/password" {
		t.Errorf("first login redirects to %q, want /password", loc)
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "session" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax", sess)
	}
	if resp, _ := c.get("/cases", nil); resp.Request.URL.Path != "/password" {
		t.Errorf("before the password change /cases ends at %s, want /password", resp.Request.URL.Path)
	}
	c.login(a)
	if resp, body := c.get("/profile", nil); resp.StatusCode != 200 || !strings.Contains(body, a.Person) || !strings.Contains(body, a.Name) {
		t.Errorf("profile: %d, without the user's name and company", resp.StatusCode)
	}
	// Logging out ends the session on the server too.
	u, _ := url.Parse(w.srv.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "session" {
			sess = ck
		}
	}
	if _, err := w.svc.Accounts.Authenticate(w.ctx, sess.Value, ""); err != nil {
		t.Fatalf("the session of the jar does not authenticate: %v", err)
	}
	c.post("/logout", nil)
	if _, err := w.svc.Accounts.Authenticate(w.ctx, sess.Value, ""); !errors.Is(err, kerr.Unauthenticated) {
		t.Errorf("after logout the session still authenticates: %v", err)
	}
	if resp, _ := c.get("/cases", nil); resp.Request.URL.Path != "/login" {
		t.Errorf("after logout /cases ends at %s", resp.Request.URL.Path)
	}
}

// TestSecureCookie: without InsecureCookies the session cookie is Secure
// and __Host- prefixed.
func TestSecureCookie(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	h, err := portal.New(portal.Config{Service: w.svc})
	if err != nil {
		t.Fatal(err)
	}
	a := w.co["A"]
	req, _ := http.NewRequest(http.MethodPost, "https://portal.example/login", strings.NewReader(url.Values{"login": {a.Login}, "password": {a.Initial}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptestRecorder()
	h.ServeHTTP(rec, req)
	cookies := (&http.Response{Header: rec.Header()}).Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-session" || !cookies[0].Secure || !cookies[0].HttpOnly {
		t.Fatalf("cookies %+v: want one Secure HttpOnly __Host-session", cookies)
	}
}

func TestLanguage(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	c := w.client()
	for _, tc := range []struct {
		accept, want string
	}{
		{"", "ログインID"},
		{"en-US,en;q=0.9", "Login ID"},
		{"fr-FR", "ログインID"},
		{"ja,en;q=0.5", "ログインID"},
	} {
		_, body := c.get("/login", map[string]string{"Accept-Language": tc.accept})
		if !strings.Contains(body, tc.want) {
			t.Errorf("Accept-Language %q: page lacks %q", tc.accept, tc.want)
		}
	}
	// The switch overrides the browser's language.
	resp, body := c.post("/lang", url.Values{"lang": {"en"}, "next": {"/login"}})
	if resp.Request.URL.Path != "/login" || !strings.Contains(body, "Login ID") || !strings.Contains(body, `lang="en"`) {
		t.Errorf("after switching to English: %s %q", resp.Request.URL, body[:200])
	}
	// An open redirect through next is refused.
	resp, _ = c.post("/lang", url.Values{"lang": {"ja"}, "next": {"//evil.example/"}})
	if resp.Request.URL.Host != strings.TrimPrefix(w.srv.URL, "http://") {
		t.Errorf("lang switch redirected off-site to %s", resp.Request.URL)
	}
}

// TestErrorPage: each kind gets a status and a message in each language,
// internal errors show no detail.
func TestErrorPage(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	c := w.client()
	c.login(w.co["A"])
	resp, body := c.get("/cases/no-such-case", nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "見つかりません") {
		t.Errorf("unknown case: %d", resp.StatusCode)
	}
	resp, body = c.get("/cases/no-such-case", map[string]string{"Accept-Language": "en"})
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "does not exist") {
		t.Errorf("unknown case in English: %d", resp.StatusCode)
	}
	resp, body = c.get("/nowhere", nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "見つかりません") {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}
	// Wrong password: 401 with the plain message, the login ID kept.
	resp, body = c.post("/login", url.Values{"login": {"admin-b"}, "password": {"wrong password"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "ログインIDまたはパスワードが正しくありません") || !strings.Contains(body, `value="admin-b"`) {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	// An action the state does not allow: completing a completed case.
	cs := w.completedCase("完了済みの契約", 1000)
	resp, body = c.post("/cases/"+cs.ID+"/complete", nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "案件の今の状態では") {
		t.Errorf("completing twice: %d", resp.StatusCode)
	}
}

func TestBrandRefused(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	for name, b := range map[string]portal.Brand{
		"light primary":  {Name: "X", Primary: "#ffff00"},
		"bad colour":     {Name: "X", Primary: "red"},
		"light text":     {Name: "X", Text: "#cccccc"},
		"logo both":      {Name: "X", LogoURL: "https://cdn.example/logo.png", Logo: []byte("\x89PNG\r\n\x1a\n")},
		"logo http":      {Name: "X", LogoURL: "http://cdn.example/logo.png"},
		"logo csp break": {Name: "X", LogoURL: "https://cdn.example/a;script-src *"},
		"logo type":      {Name: "X", Logo: []byte("GIF89a..."), LogoType: "image/gif"},
		"name newline":   {Name: "X\nY"},
	} {
		if _, err := portal.New(portal.Config{Service: w.svc, Brand: b}); !errors.Is(err, kerr.Invalid) {
			t.Errorf("%s: New = %v, want kerr.Invalid", name, err)
		}
	}
	if _, err := portal.New(portal.Config{}); !errors.Is(err, kerr.Invalid) {
		t.Errorf("no service: %v", err)
	}
}

// multipartBody builds a register form with the given document.
func multipartBody(t *testing.T, fields map[string]string, docName string, doc []byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if doc != nil {
		fw, _ := mw.CreateFormFile("document", docName)
		fw.Write(doc)
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

// TestRegisterRefusedLeavesNothing: an unsigned contract, an unknown
// counterparty and an oversize upload are each refused in plain words,
// and no case is stored.
func TestRegisterRefusedLeavesNothing(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	c := w.client()
	c.login(w.co["A"])
	fields := map[string]string{"form": "bilateral", "name": "未署名の契約", "amount": "1000", "date": "2026-12-01", "party1": w.co["B"].party()}

	ct, body := multipartBody(t, fields, "unsigned.pdf", contract("unsigned"))
	resp, page := c.do(http.MethodPost, "/cases/new", body, ct, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "契約書PDFは受け付けられませんでした") || !strings.Contains(page, "未署名の契約") {
		t.Errorf("unsigned contract: %d; want 422 with the refusal and the form kept", resp.StatusCode)
	}

	// Check only: the verdict in words, nothing registered.
	ct, body = multipartBody(t, fields, "unsigned.pdf", contract("unsigned"))
	resp, page = c.do(http.MethodPost, "/cases/check", body, ct, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "このままでは受け付けられません") || !strings.Contains(page, "未署名の契約") {
		t.Errorf("check of an unsigned contract: %d", resp.StatusCode)
	}
	ct, body = multipartBody(t, fields, "signed.pdf", w.sign(w.co["A"], contract("signed")))
	resp, page = c.do(http.MethodPost, "/cases/check", body, ct, map[string]string{"Accept-Language": "en"})
	if resp.StatusCode != 200 || !strings.Contains(page, "The signature of this contract PDF is valid") {
		t.Errorf("check of a signed contract: %d", resp.StatusCode)
	}
	// Signed validly, but with B's certificate: registration would refuse
	// it (issue #9), and the check says so.
	ct, body = multipartBody(t, fields, "signed-by-b.pdf", w.sign(w.co["B"], contract("signed")))
	resp, page = c.do(http.MethodPost, "/cases/check", body, ct, map[string]string{"Accept-Language": "en"})
	if resp.StatusCode != 200 || !strings.Contains(page, "not registered to your company") || strings.Contains(page, "The signature of this contract PDF is valid") {
		t.Errorf("check of a contract signed with another company's certificate: %d", resp.StatusCode)
	}

	// A company not in the directory, a person not in the company chosen,
	// a value that names no person.
	for _, p := range []string{"nobody/here", w.co["B"].P.CompanyID + "/" + w.co["C"].P.UserID, "admin-b"} {
		fields["party1"] = p
		ct, body = multipartBody(t, fields, "signed.pdf", w.sign(w.co["A"], contract("signed")))
		resp, page = c.do(http.MethodPost, "/cases/new", body, ct, map[string]string{"Accept-Language": "en"})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "counterparty 1") {
			t.Errorf("counterparty %q: %d", p, resp.StatusCode)
		}
	}

	// Larger than MaxUploadBytes: cut off and answered 413.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, _ := mw.CreateFormFile("document", "huge.pdf")
		io.Copy(fw, io.LimitReader(zeros{}, portal.MaxUploadBytes+1))
		mw.Close()
		pw.Close()
	}()
	resp, _ = c.do(http.MethodPost, "/cases/new", pr, mw.FormDataContentType(), nil)
	pr.CloseWithError(io.ErrClosedPipe)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize upload: %d, want 413", resp.StatusCode)
	}

	page2, err := w.svc.Cases.Search(w.ctx, w.co["A"].P, &casework.Query{})
	if err != nil || len(page2.Cases) != 0 {
		t.Fatalf("after refusals %d cases are stored (%v); want none", len(page2.Cases), err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestLanguageSwitchAfterPost: the switch on a page answering a form
// post leads back to a page, not to the action's URL.
func TestLanguageSwitchAfterPost(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	c := w.client()
	c.login(w.co["A"])
	cs := w.completedCase("言語切替", 1)
	_, body := c.post("/cases/"+cs.ID+"/complete", nil)
	want := `name="next" value="/cases/` + cs.ID + `"`
	if !strings.Contains(body, want) {
		t.Fatalf("the switch after a refused post does not lead back to the case (%s)", want)
	}
	resp, body := c.post("/lang", url.Values{"lang": {"en"}, "next": {"/cases/" + cs.ID}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Original verification") {
		t.Errorf("switching language on the case: %d", resp.StatusCode)
	}
}

// TestLifecycleWithoutJavaScript: every action works as a plain form
// post, as a browser without JavaScript sends it: register, receive
// (download), send back, resend, return, complete, verify, search, CSV,
// audit.
func TestLifecycleWithoutJavaScript(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	a, b := w.co["A"], w.co["B"]
	ca, cb := w.client(), w.client()
	ca.login(a)
	cb.login(b)
	signedA := w.sign(a, contract("no script"))
	// The counterparty is found in the directory by a form round trip:
	// what was typed comes back, B's people are offered.
	fields := map[string]string{"form": "bilateral", "name": "スクリプトなし", "amount": "２５０，０００", "date": "2026-10-01", "q": "ビー"}
	ct, body := multipartBody(t, fields, "", nil)
	resp, page := ca.do(http.MethodPost, "/cases/find", body, ct, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `value="`+b.party()+`"`) || !strings.Contains(page, "スクリプトなし") || strings.Contains(page, `value="`+w.co["C"].party()+`"`) {
		t.Fatalf("directory search: %d, B offered %v", resp.StatusCode, strings.Contains(page, b.party()))
	}
	fields["party1"] = b.party()
	ct, body = multipartBody(t, fields, "契約書.pdf", signedA)
	resp, page = ca.do(http.MethodPost, "/cases/new", body, ct, nil)
	m := caseURLRE.FindStringSubmatch(resp.Request.URL.Path)
	if resp.StatusCode != 200 || m == nil || !strings.Contains(page, "¥250,000") {
		t.Fatalf("register: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	id := m[1]
	resp, got := cb.post("/cases/"+id+"/receive", nil)
	if resp.StatusCode != 200 || got != string(signedA) || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("receive: %d, %d bytes (%s)", resp.StatusCode, len(got), resp.Header.Get("Content-Disposition"))
	}
	if resp, _ := cb.post("/cases/"+id+"/send-back", url.Values{"reason": {"日付を直してください"}}); resp.StatusCode != 200 {
		t.Fatalf("send back: %d", resp.StatusCode)
	}
	ct, body = multipartBody(t, nil, "", nil)
	if resp, _ := ca.do(http.MethodPost, "/cases/"+id+"/resend", body, ct, nil); resp.StatusCode != 200 {
		t.Fatalf("resend: %d", resp.StatusCode)
	}
	_, got = cb.post("/cases/"+id+"/receive", nil)
	ct, body = multipartBody(t, nil, "signed.pdf", w.sign(b, []byte(got)))
	if resp, _ := cb.do(http.MethodPost, "/cases/"+id+"/return", body, ct, nil); resp.StatusCode != 200 {
		t.Fatalf("return: %d", resp.StatusCode)
	}
	if resp, page := ca.post("/cases/"+id+"/complete", nil); resp.StatusCode != 200 || !strings.Contains(page, "state-completed") {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
	if resp, page := cb.get("/cases/"+id+"/verification", nil); resp.StatusCode != 200 || !strings.Contains(page, `id="original"`) || !strings.Contains(page, "原本であることを確認しました") ||
		!strings.Contains(page, "件の署名が有効です") || strings.Contains(page, "signature(s) valid") {
		t.Fatalf("verification: %d", resp.StatusCode)
	}
	if _, page := ca.get("/completed?counterparty="+url.QueryEscape("ビー")+"&min=250000&max=250000", nil); !strings.Contains(page, "スクリプトなし") {
		t.Error("search by counterparty and exact amount does not find the case")
	}
	if resp, csv := ca.get("/completed.csv?min=250000", nil); resp.StatusCode != 200 || !strings.Contains(csv, "スクリプトなし") {
		t.Errorf("CSV: %d", resp.StatusCode)
	}
	if _, page := ca.get("/cases/"+id+"/audit", nil); strings.Count(page, "<tr>") < 8 {
		t.Errorf("audit trail has %d rows, want every step", strings.Count(page, "<tr>")-1)
	}
	// The other company's user who is not a party sees nothing.
	cc := w.client()
	cc.login(w.co["C"])
	if resp, _ := cc.get("/cases/"+id, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a stranger opens the case: %d", resp.StatusCode)
	}
}
