package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/httpapi"
)

// TestAuthorizationMatrix repeats the authorization rules over HTTP for
// sessions and API tokens: each cell is the status and problem type of
// one caller on one operation.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	c := e.newUser("C", "シー工業株式会社", e.pki.ECDSAP384)
	cs := e.register(a, httpapi.FormBilateral, "matrix", e.sign(a, contract("matrix")), []*user{b}, nil)

	token := func(u *user, scope string, ttl int) (secret, id string) {
		t.Helper()
		status, _, _, body := e.rawBody("POST", "/v1/me/tokens", u.token, "application/json",
			fmt.Sprintf(`{"name":"matrix %s","scope":%q,"ttl_seconds":%d}`, scope, scope, ttl))
		if status != 201 {
			t.Fatalf("create %s token: %d %s", scope, status, body)
		}
		return jsonField(t, body, "secret"), jsonField(t, body, "id")
	}
	bRead, _ := token(b, "read", 3600)
	bWrite, _ := token(b, "write", 3600)
	aAdmin, _ := token(a, "admin", 3600)
	aWrite, _ := token(a, "write", 3600)
	expired, _ := token(b, "write", 60)
	revoked, revokedID := token(b, "write", 3600)
	if status, _, _, body := e.rawBody("DELETE", "/v1/me/tokens/"+revokedID, b.token, "", ""); status != 204 {
		t.Fatalf("revoke: %d %s", status, body)
	}
	e.offset.Store(int64(2 * time.Minute)) // expired is now past its minute

	id := cs.Id
	for _, tc := range []struct {
		who, token, method, path, body string
		status                         int
		typ                            string
	}{
		{"A session", a.token, "GET", "/v1/cases/" + id, "", 200, ""},
		{"B session", b.token, "GET", "/v1/cases/" + id, "", 200, ""},
		{"C session", c.token, "GET", "/v1/cases/" + id, "", 404, "not-found"},
		{"anonymous", "", "GET", "/v1/cases/" + id, "", 401, "unauthenticated"},
		{"B read token", bRead, "GET", "/v1/cases/" + id, "", 200, ""},
		{"expired token", expired, "GET", "/v1/cases/" + id, "", 401, "unauthenticated"},
		{"A write token", aWrite, "GET", "/v1/cases/" + id, "", 200, ""},
		{"C session", c.token, "POST", "/v1/cases/" + id + "/receipt", "", 404, "not-found"},
		{"A session", a.token, "POST", "/v1/cases/" + id + "/receipt", "", 403, "permission-denied"},
		{"revoked token", revoked, "GET", "/v1/cases/" + id, "", 401, "unauthenticated"},
		{"B read token", bRead, "POST", "/v1/cases/" + id + "/receipt", "", 403, "permission-denied"},
		{"B write token", bWrite, "POST", "/v1/cases/" + id + "/receipt", "", 200, ""},
		{"B write token", bWrite, "POST", "/v1/cases/" + id + "/completion", "", 409, "failed-precondition"},
		{"A write token", aWrite, "GET", "/v1/me/tokens", "", 403, "permission-denied"},
		{"A admin token", aAdmin, "GET", "/v1/me/tokens", "", 200, ""},
		{"A admin token", aAdmin, "PUT", "/v1/me/password", `{"old_password":"x","new_password":"yyyyyyyyyyyy"}`, 403, "permission-denied"},
		{"B session", b.token, "POST", "/v1/me/tokens", `{"name":"n","scope":"admin"}`, 201, ""},
		// Issue 12 over REST: user administration is the administrator's
		// (admin scope), hide and comments each user's own (write scope).
		{"A admin token", aAdmin, "GET", "/v1/users", "", 200, ""},
		{"A write token", aWrite, "GET", "/v1/users", "", 403, "permission-denied"},
		{"A session", a.token, "GET", "/v1/users/" + b.p.UserID, "", 404, "not-found"},
		{"B read token", bRead, "PUT", "/v1/users/" + b.p.UserID + "/allow-list", `{"entries":[]}`, 403, "permission-denied"},
		{"A write token", aWrite, "PUT", "/v1/cases/" + id + "/hidden", "", 409, "failed-precondition"},
		{"B read token", bRead, "PUT", "/v1/cases/" + id + "/hidden", "", 403, "permission-denied"},
		{"C session", c.token, "PUT", "/v1/cases/" + id + "/comment", `{"text":"x"}`, 404, "not-found"},
		{"B read token", bRead, "GET", "/v1/cases/" + id + "/comment", "", 404, "not-found"},
		{"anonymous", "", "DELETE", "/v1/cases/" + id + "/comment", "", 401, "unauthenticated"},
	} {
		t.Run(tc.who+" "+tc.method+" "+tc.path, func(t *testing.T) {
			ctype := ""
			if tc.body != "" {
				ctype = "application/json"
			}
			var hdr map[string]string
			if tc.method == "POST" && strings.HasPrefix(tc.path, "/v1/cases/"+id+"/") {
				// Case actions require the case's current ETag.
				hdr = map[string]string{"If-Match": e.ifMatch(a, id)}
			}
			status, typ, _, body := e.rawBodyHeader(tc.method, tc.path, tc.token, ctype, tc.body, hdr)
			if status != tc.status || (tc.typ != "" && typ != httpapi.ProblemBase+tc.typ) {
				t.Errorf("got %d %s, want %d %s: %s", status, typ, tc.status, tc.typ, body)
			}
		})
	}
	// The token list shows the last use and the revocation.
	_, _, _, list := e.rawBody("GET", "/v1/me/tokens", b.token, "", "")
	if !strings.Contains(list, `"revoked_at"`) || !strings.Contains(list, `"last_used_addr":"127.0.0.1"`) || strings.Contains(list, "kyk_") {
		t.Errorf("token list: %s", list)
	}
	// An out-of-allow-list token and session: B's list (set through the
	// Go API, from no address) leaves out the test's 127.0.0.1.
	if _, err := e.svc.Accounts.SetAllowList(e.ctx, b.p, b.p.UserID, []string{"192.0.2.0/24"}); err != nil {
		t.Fatal(err)
	}
	for who, tok := range map[string]string{"B read token": bRead, "B session": b.token} {
		if status, typ, _, body := e.rawBody("GET", "/v1/cases/"+id, tok, "", ""); status != 403 || typ != httpapi.ProblemBase+"address-not-allowed" {
			t.Errorf("%s out of its allow-list: %d %s %s", who, status, typ, body)
		}
	}
}
