package httpapi_test

import (
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/httpapi"
	"github.com/keiyaku/keiyaku/storage"
)

// TestOperatorSeesNoContent repeats the operator's row of the
// authorization matrix over HTTP: a logged-in service operator gets no
// case — not by ID, not in a list, not a document, not its audit trail —
// and registers nothing.
func TestOperatorSeesNoContent(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	cs := e.register(a, httpapi.FormBilateral, "operator", e.sign(a, contract("operator")), []*user{b}, nil)

	_, initial, err := e.svc.Accounts.CreateOperator(e.ctx, account.NewUser{LoginID: "operator", Profile: storage.Profile{Name: "運営"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	anon := e.client("")
	res, err := anon.LoginWithResponse(e.ctx, nil, httpapi.LoginRequest{LoginId: "operator", Password: initial})
	if err != nil || res.JSON201 == nil {
		t.Fatalf("operator login: %v %s", err, res.Body)
	}
	const pw = "operator harbor lantern 42"
	if r, _ := e.client(res.JSON201.Token).ChangePasswordWithResponse(e.ctx, httpapi.PasswordChange{OldPassword: initial, NewPassword: pw}); r.StatusCode() != 204 {
		t.Fatalf("change password: %d %s", r.StatusCode(), r.Body)
	}
	if res, err = anon.LoginWithResponse(e.ctx, nil, httpapi.LoginRequest{LoginId: "operator", Password: pw}); err != nil || res.JSON201 == nil {
		t.Fatalf("operator login: %v %s", err, res.Body)
	}
	op := res.JSON201.Token
	id := cs.Id
	for _, tc := range []struct {
		method, path, body string
		status             int
		typ                string
	}{
		{"GET", "/v1/cases/" + id, "", 404, "not-found"},
		{"GET", "/v1/cases/" + id + "/audit", "", 404, "not-found"},
		{"GET", "/v1/cases/" + id + "/signatures", "", 404, "not-found"},
		{"GET", "/v1/cases/" + id + "/related", "", 404, "not-found"},
		{"GET", "/v1/cases/" + id + "/documents/" + cs.Document.Key, "", 404, "not-found"},
		{"POST", "/v1/cases/" + id + "/receipt", "", 404, "not-found"},
		{"GET", "/v1/cases", "", 403, "permission-denied"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var hdr map[string]string
			if tc.method == "POST" { // a case action needs the case's ETag
				hdr = map[string]string{"If-Match": e.ifMatch(a, id)}
			}
			status, typ, _, body := e.rawBodyHeader(tc.method, tc.path, op, "", tc.body, hdr)
			if status != tc.status || typ != httpapi.ProblemBase+tc.typ {
				t.Errorf("got %d %s, want %d %s: %s", status, typ, tc.status, tc.typ, body)
			}
		})
	}
	// The same calls by the registrant succeed: the refusals are the
	// operator's, not the paths'.
	if status, _, _, body := e.rawBody("GET", "/v1/cases/"+id, a.token, "", ""); status != 200 {
		t.Errorf("registrant GET: %d %s", status, body)
	}
}
