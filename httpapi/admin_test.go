package httpapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/httpapi"
)

// login logs in over HTTP and returns the session token, failing the
// test on any status but 201.
func (e *env) login(loginID, password string) string {
	e.t.Helper()
	status, _, _, body := e.rawBody("POST", "/v1/sessions", "", "application/json", fmt.Sprintf(`{"login_id":%q,"password":%q}`, loginID, password))
	if status != 201 {
		e.t.Fatalf("login %s: %d %s", loginID, status, body)
	}
	return jsonField(e.t, body, "token")
}

// firstLogin logs in with an initial password, changes it to a new
// random one over HTTP and returns the new password and a session.
func (e *env) firstLogin(loginID, initial string) (password, token string) {
	e.t.Helper()
	tok := e.login(loginID, initial)
	password = rand.Text()
	e.wantStatus(loginID, "PUT", "/v1/me/password", tok, fmt.Sprintf(`{"old_password":%q,"new_password":%q}`, initial, password), 204, "")
	return password, e.login(loginID, password)
}

// TestUserAdministration: the company administrator's user management
// and IP allow-lists over REST: list, view, create (the initial password
// shown once and working), reset a password (the old one and the
// sessions stop at once), and an allow-list that refuses the user's
// login, session and API token from another address with the
// address-not-allowed problem until the administrator lifts it.
func TestUserAdministration(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)

	// Create a user: the initial password is in the answer, once.
	body := e.wantStatus("A", "POST", "/v1/users", a.token,
		`{"login_id":"sato","profile":{"name":"佐藤 花子","department":"購買部","email":"sato@example.jp","language":"ja"}}`, 201, "")
	var created httpapi.CreatedUser
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.InitialPassword == "" || created.User.LoginId != "sato" ||
		created.User.Admin || !created.User.MustChangePassword || created.User.Profile.Name == nil || *created.User.Profile.Name != "佐藤 花子" {
		t.Fatalf("create user: %v %s", err, body)
	}
	uid := created.User.Id
	e.wantStatus("A again", "POST", "/v1/users", a.token, `{"login_id":"sato"}`, 409, "conflict")
	e.wantStatus("A bad login", "POST", "/v1/users", a.token, `{"login_id":"a b"}`, 400, "invalid")
	pw, tok := e.firstLogin("sato", created.InitialPassword)

	// List and view.
	body = e.wantStatus("A", "GET", "/v1/users", a.token, "", 200, "")
	var list httpapi.UserList
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Users) != 2 {
		t.Fatalf("list: %v %s", err, body)
	}
	for _, u := range list.Users {
		if u.Id == uid && (u.LastLoginAt == nil || u.MustChangePassword || len(u.AllowList) != 0) {
			t.Errorf("listed user: %+v", u)
		}
	}
	if strings.Contains(body, created.InitialPassword) || strings.Contains(body, pw) || strings.Contains(body, "argon2") {
		t.Errorf("the list shows a password or a hash: %s", body)
	}
	body = e.wantStatus("A", "GET", "/v1/users/"+uid, a.token, "", 200, "")
	if jsonField(t, body, "login_id") != "sato" {
		t.Errorf("view: %s", body)
	}
	e.wantStatus("B on A's user", "GET", "/v1/users/"+uid, b.token, "", 404, "not-found")
	e.wantStatus("A on nobody", "GET", "/v1/users/nobody", a.token, "", 404, "not-found")

	// Reset the password: the old password and the session stop at once.
	body = e.wantStatus("A", "POST", "/v1/users/"+uid+"/password-reset", a.token, "", 200, "")
	reset := jsonField(t, body, "initial_password")
	if reset == "" || reset == pw {
		t.Fatalf("reset: %s", body)
	}
	e.wantStatus("user's old session", "GET", "/v1/cases", tok, "", 401, "unauthenticated")
	e.wantStatus("old password", "POST", "/v1/sessions", "", fmt.Sprintf(`{"login_id":"sato","password":%q}`, pw), 401, "unauthenticated")
	e.wantStatus("A itself", "POST", "/v1/users/"+a.p.UserID+"/password-reset", a.token, "", 409, "failed-precondition")
	pw, tok = e.firstLogin("sato", reset)
	// An API token of the user, to show the allow-list holds for it too.
	body = e.wantStatus("user", "POST", "/v1/me/tokens", tok, `{"name":"erp","scope":"read"}`, 201, "")
	userToken := jsonField(t, body, "secret")

	// The allow-list: empty, then one network that is not the test's
	// loopback address.
	if body := e.wantStatus("A", "GET", "/v1/users/"+uid+"/allow-list", a.token, "", 200, ""); !strings.Contains(body, `"entries":[]`) {
		t.Errorf("empty allow-list: %s", body)
	}
	e.wantStatus("A bad entry", "PUT", "/v1/users/"+uid+"/allow-list", a.token, `{"entries":["not-an-address"]}`, 400, "invalid")
	e.wantStatus("A too many", "PUT", "/v1/users/"+uid+"/allow-list", a.token, `{"entries":[`+strings.Repeat(`"192.0.2.1",`, 20)+`"192.0.2.1"]}`, 400, "invalid")
	body = e.wantStatus("A", "PUT", "/v1/users/"+uid+"/allow-list", a.token, `{"entries":["192.0.2.7/24","2001:db8::1"]}`, 200, "")
	if !strings.Contains(body, `"192.0.2.0/24"`) || !strings.Contains(body, `"2001:db8::1/128"`) {
		t.Errorf("stored list: %s", body)
	}
	if body := e.wantStatus("A", "GET", "/v1/users/"+uid+"/allow-list", a.token, "", 200, ""); !strings.Contains(body, `"192.0.2.0/24"`) {
		t.Errorf("allow-list: %s", body)
	}
	e.wantStatus("user's session from 127.0.0.1", "GET", "/v1/cases", tok, "", 403, "address-not-allowed")
	e.wantStatus("user's token from 127.0.0.1", "GET", "/v1/cases", userToken, "", 403, "address-not-allowed")
	e.wantStatus("user's login from 127.0.0.1", "POST", "/v1/sessions", "", fmt.Sprintf(`{"login_id":"sato","password":%q}`, pw), 403, "address-not-allowed")
	// A wrong password from the refused address is not told apart.
	e.wantStatus("wrong password from 127.0.0.1", "POST", "/v1/sessions", "", `{"login_id":"sato","password":"wrong"}`, 401, "unauthenticated")
	// The refusal is in Japanese for a Japanese client.
	_, _, hdr, jbody := e.rawBodyLang("GET", "/v1/cases", tok, "ja")
	if hdr["Content-Language"][0] != "ja" || !strings.Contains(jbody, "許可リストにありません") {
		t.Errorf("Japanese refusal: %v %s", hdr, jbody)
	}
	// An administrator may not lock itself out.
	e.wantStatus("A own list", "PUT", "/v1/users/"+a.p.UserID+"/allow-list", a.token, `{"entries":["192.0.2.0/24"]}`, 409, "failed-precondition")
	e.wantStatus("A own list with itself", "PUT", "/v1/users/"+a.p.UserID+"/allow-list", a.token, `{"entries":["127.0.0.1"]}`, 200, "")
	e.wantStatus("A own list lifted", "PUT", "/v1/users/"+a.p.UserID+"/allow-list", a.token, `{"entries":[]}`, 200, "")
	// The administrator lifts it: the same session and token work again.
	e.wantStatus("A", "PUT", "/v1/users/"+uid+"/allow-list", a.token, `{"entries":["127.0.0.0/8"]}`, 200, "")
	e.wantStatus("user's session", "GET", "/v1/cases", tok, "", 200, "")
	e.wantStatus("user's token", "GET", "/v1/cases", userToken, "", 200, "")
	e.wantStatus("A", "PUT", "/v1/users/"+uid+"/allow-list", a.token, `{"entries":[]}`, 200, "")
	e.login("sato", pw)

	// Administrator-only: an ordinary user, read and write tokens are
	// refused; the admin token acts with the administrator's rights.
	adminTok := func(scope string) string {
		status, _, _, body := e.rawBody("POST", "/v1/me/tokens", a.token, "application/json", fmt.Sprintf(`{"name":"t %s","scope":%q}`, scope, scope))
		if status != 201 {
			t.Fatalf("token: %d %s", status, body)
		}
		return jsonField(t, body, "secret")
	}
	read, write, admin := adminTok("read"), adminTok("write"), adminTok("admin")
	// B, another company's administrator: its own list and users, never
	// A's user (404).
	ops := []struct {
		method, path, body string
		b                  int
	}{
		{"GET", "/v1/users", "", 200},
		{"POST", "/v1/users", `{"login_id":"someone"}`, 201},
		{"GET", "/v1/users/" + uid, "", 404},
		{"POST", "/v1/users/" + uid + "/password-reset", "", 404},
		{"GET", "/v1/users/" + uid + "/allow-list", "", 404},
		{"PUT", "/v1/users/" + uid + "/allow-list", `{"entries":[]}`, 404},
	}
	for _, op := range ops {
		for who, tk := range map[string]string{"ordinary user": tok, "read token": read, "write token": write} {
			e.wantStatus(who, op.method, op.path, tk, op.body, 403, "permission-denied")
		}
		e.wantStatus("anonymous", op.method, op.path, "", op.body, 401, "unauthenticated")
		e.wantStatus("B", op.method, op.path, b.token, op.body, op.b, "")
	}
	e.wantStatus("admin token", "GET", "/v1/users", admin, "", 200, "")
	e.wantStatus("admin token", "GET", "/v1/users/"+uid, admin, "", 200, "")
	e.wantStatus("admin token", "PUT", "/v1/users/"+uid+"/allow-list", admin, `{"entries":["127.0.0.1"]}`, 200, "")
}

// rawBodyLang is rawBody without a body, with an Accept-Language.
func (e *env) rawBodyLang(method, path, token, lang string) (int, string, map[string][]string, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept-Language", lang)
	resp, err := (&http.Client{Transport: validating{e.t, e.router}}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header, string(b)
}

// searchIDs returns the IDs of the cases u's search with query finds.
func (e *env) searchIDs(token, query string) []string {
	e.t.Helper()
	body := e.wantStatus("search", "GET", "/v1/cases?"+query, token, "", 200, "")
	var page httpapi.CasePage
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, c := range page.Cases {
		ids = append(ids, c.Id)
	}
	return ids
}

// TestHideAndComment: hide and the private comment over REST. Hidden is
// the caller's alone (the counterparty still lists the case), the
// hidden=exclude|only|include search modes, and a comment nobody else
// reads; both refused on a case not completed, on another company's
// case (404) and to a read-only token.
func TestHideAndComment(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	c := e.newUser("C", "シー工業株式会社", e.pki.ECDSAP384)
	done := e.completed(a, b, "完了案件")
	open := e.register(a, httpapi.FormBilateral, "未完了案件", e.sign(a, contract("open")), []*user{b}, nil)
	status, _, _, body := e.rawBody("POST", "/v1/me/tokens", a.token, "application/json", `{"name":"ro","scope":"read"}`)
	if status != 201 {
		t.Fatalf("token: %d %s", status, body)
	}
	read := jsonField(t, body, "secret")
	// The service clock stands still: cases created at one instant come
	// in no defined order, so the comparison is of sets.
	same := func(got []string, want ...string) bool {
		got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}

	e.wantStatus("A", "PUT", "/v1/cases/"+done.Id+"/hidden", a.token, "", 204, "")
	e.wantStatus("A again", "PUT", "/v1/cases/"+done.Id+"/hidden", a.token, "", 204, "")
	e.wantStatus("A open case", "PUT", "/v1/cases/"+open.Id+"/hidden", a.token, "", 409, "failed-precondition")
	e.wantStatus("C", "PUT", "/v1/cases/"+done.Id+"/hidden", c.token, "", 404, "not-found")
	e.wantStatus("A read token", "PUT", "/v1/cases/"+done.Id+"/hidden", read, "", 403, "permission-denied")
	e.wantStatus("A bad mode", "GET", "/v1/cases?hidden=some", a.token, "", 400, "invalid")
	if got := e.searchIDs(a.token, "state=completed"); len(got) != 0 {
		t.Errorf("A's default search lists the hidden case: %v", got)
	}
	if got := e.searchIDs(a.token, "state=completed&hidden=exclude"); len(got) != 0 {
		t.Errorf("hidden=exclude lists the hidden case: %v", got)
	}
	if got := e.searchIDs(a.token, "hidden=only"); !same(got, done.Id) {
		t.Errorf("hidden=only: %v", got)
	}
	if got := e.searchIDs(read, "hidden=include"); !same(got, done.Id, open.Id) {
		t.Errorf("hidden=include: %v", got)
	}
	if got := e.searchIDs(b.token, "state=completed"); !same(got, done.Id) {
		t.Errorf("the counterparty no longer sees the case A hid: %v", got)
	}
	_, _, _, csv := e.rawBodyAccept("GET", "/v1/cases?state=completed", a.token, "text/csv")
	if strings.Contains(csv, "完了案件") {
		t.Errorf("the CSV export holds the hidden case: %s", csv)
	}
	e.wantStatus("A", "DELETE", "/v1/cases/"+done.Id+"/hidden", a.token, "", 204, "")
	e.wantStatus("A again", "DELETE", "/v1/cases/"+done.Id+"/hidden", a.token, "", 204, "")
	if got := e.searchIDs(a.token, "state=completed"); !same(got, done.Id) {
		t.Errorf("after unhide: %v", got)
	}

	// The private comment.
	e.wantStatus("A none yet", "GET", "/v1/cases/"+done.Id+"/comment", a.token, "", 404, "not-found")
	body = e.wantStatus("A", "PUT", "/v1/cases/"+done.Id+"/comment", a.token, `{"text":"更新交渉は来年3月\n担当: 山田"}`, 200, "")
	if jsonField(t, body, "text") != "更新交渉は来年3月\n担当: 山田" || jsonField(t, body, "case_id") != done.Id {
		t.Errorf("set comment: %s", body)
	}
	if body := e.wantStatus("A read token", "GET", "/v1/cases/"+done.Id+"/comment", read, "", 200, ""); jsonField(t, body, "text") != "更新交渉は来年3月\n担当: 山田" {
		t.Errorf("get comment: %s", body)
	}
	e.wantStatus("B does not read A's", "GET", "/v1/cases/"+done.Id+"/comment", b.token, "", 404, "not-found")
	e.wantStatus("C", "GET", "/v1/cases/"+done.Id+"/comment", c.token, "", 404, "not-found")
	e.wantStatus("C", "PUT", "/v1/cases/"+done.Id+"/comment", c.token, `{"text":"x"}`, 404, "not-found")
	e.wantStatus("A read token", "PUT", "/v1/cases/"+done.Id+"/comment", read, `{"text":"x"}`, 403, "permission-denied")
	e.wantStatus("A open case", "PUT", "/v1/cases/"+open.Id+"/comment", a.token, `{"text":"x"}`, 409, "failed-precondition")
	e.wantStatus("A control character", "PUT", "/v1/cases/"+done.Id+"/comment", a.token, `{"text":"a\u0007b"}`, 400, "invalid")
	e.wantStatus("A too long", "PUT", "/v1/cases/"+done.Id+"/comment", a.token, `{"text":"`+strings.Repeat("あ", 2001)+`"}`, 400, "invalid")
	e.wantStatus("A empty", "PUT", "/v1/cases/"+done.Id+"/comment", a.token, `{"text":""}`, 400, "invalid")
	e.wantStatus("B its own", "PUT", "/v1/cases/"+done.Id+"/comment", b.token, `{"text":"B's note"}`, 200, "")
	if body := e.wantStatus("A", "GET", "/v1/cases/"+done.Id+"/comment", a.token, "", 200, ""); strings.Contains(body, "B's note") {
		t.Errorf("A reads B's comment: %s", body)
	}
	// The audit trail records that the comment changed, never its text.
	if body := e.wantStatus("A", "GET", "/v1/cases/"+done.Id+"/audit", a.token, "", 200, ""); strings.Contains(body, "更新交渉") || !strings.Contains(body, "case.comment") || !strings.Contains(body, "case.hide") {
		t.Errorf("audit trail: %s", body)
	}
	e.wantStatus("A read token", "DELETE", "/v1/cases/"+done.Id+"/comment", read, "", 403, "permission-denied")
	e.wantStatus("A", "DELETE", "/v1/cases/"+done.Id+"/comment", a.token, "", 204, "")
	e.wantStatus("A again", "DELETE", "/v1/cases/"+done.Id+"/comment", a.token, "", 404, "not-found")
	e.wantStatus("A gone", "GET", "/v1/cases/"+done.Id+"/comment", a.token, "", 404, "not-found")
	e.wantStatus("B's stays", "GET", "/v1/cases/"+done.Id+"/comment", b.token, "", 200, "")
}

// rawBodyAccept is a GET with an Accept header.
func (e *env) rawBodyAccept(method, path, token, accept string) (int, string, map[string][]string, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", accept)
	resp, err := (&http.Client{Transport: validating{e.t, e.router}}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header, string(b)
}

// FuzzAdminDecoders sends arbitrary bodies to the JSON decoders of issue
// 12's operations (a new user, an allow-list, a comment) and requires an
// answer that is never a 5xx, and for a refusal a problem document.
func FuzzAdminDecoders(f *testing.F) {
	e := newEnv(f)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	f.Add(uint8(0), "application/json", []byte(`{"login_id":"sato","admin":true,"profile":{"name":"佐藤","language":"ja"}}`))
	f.Add(uint8(1), "application/json", []byte(`{"entries":["192.0.2.0/24","::1"]}`))
	f.Add(uint8(1), "application/json", []byte(`{"entries":["999.1.1.1/33"]}`))
	f.Add(uint8(2), "application/json", []byte(`{"text":"メモ\n\u202e"}`))
	f.Add(uint8(2), "text/plain", []byte(`x`))
	f.Fuzz(func(t *testing.T, op uint8, ctype string, b []byte) {
		ops := []struct{ method, path string }{{"POST", "/v1/users"}, {"PUT", "/v1/users/" + a.p.UserID + "/allow-list"}, {"PUT", "/v1/cases/x/comment"}}
		o := ops[int(op)%len(ops)]
		req := httptest.NewRequest(o.method, o.path, bytes.NewReader(b))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer "+a.token)
		// The administrator may not lock itself out: its own list must
		// hold the request's address (httptest's 192.0.2.1).
		rec := httptest.NewRecorder()
		e.srv.Config.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s → %d %s", o.method, o.path, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
			t.Fatalf("refusal %d is not a problem document: %s", rec.Code, rec.Body)
		}
		// Leave no list behind that would refuse the next input.
		if _, err := e.svc.Accounts.SetAllowList(e.ctx, a.p, a.p.UserID, nil); err != nil {
			t.Fatal(err)
		}
	})
}
