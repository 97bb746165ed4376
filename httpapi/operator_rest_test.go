package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/httpapi"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// TestOperatorOverHTTP: the service operator's REST calls. It creates a
// company whose first administrator logs in with the initial password
// shown once; an administrator files a name-change request (one pending
// at a time) that the operator lists and approves (the directory shows
// the new name) or rejects with a note. Refused: company creation and
// decisions to anyone but the operator, requests to a colleague and to a
// read token; another company's administrator lists only its own.
func TestOperatorOverHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	colleague, _ := e.member(a, "a-member")
	status, _, _, body := e.rawBody("POST", "/v1/me/tokens", a.token, "application/json", `{"name":"ro","scope":"read"}`)
	if status != 201 {
		t.Fatalf("token: %d %s", status, body)
	}
	read := jsonField(t, body, "secret")
	op := e.operatorToken("operator")
	opc := e.client(op)

	const newCo = `{"name":"新設株式会社","admin":{"login_id":"new-admin","name":"新 管理者","email":"new@example.com"}}`
	e.wantStatus("A admin", "POST", "/v1/companies", a.token, newCo, 403, "permission-denied")
	e.wantStatus("A colleague", "POST", "/v1/companies", colleague, newCo, 403, "permission-denied")
	cr, err := opc.CreateCompanyWithResponse(e.ctx, nil, httpapi.CreateCompanyJSONRequestBody{Name: "新設株式会社", Admin: struct {
		Email    string                                      `json:"email"`
		Language *httpapi.CreateCompanyJSONBodyAdminLanguage `json:"language,omitempty"`
		LoginId  string                                      `json:"login_id"`
		Name     string                                      `json:"name"`
	}{Email: "new@example.com", LoginId: "new-admin", Name: "新 管理者"}})
	if err != nil || cr.JSON201 == nil || cr.JSON201.InitialPassword == "" || cr.JSON201.Company.Name != "新設株式会社" {
		t.Fatalf("create company: %v %s", err, cr.Body)
	}
	_, newAdmin := e.firstLogin("new-admin", cr.JSON201.InitialPassword)
	e.wantStatus("the new administrator", "GET", "/v1/users", newAdmin, "", 200, "")
	e.wantStatus("operator again, same login", "POST", "/v1/companies", op, `{"name":"別会社","admin":{"login_id":"new-admin","name":"x","email":"x@example.com"}}`, 409, "")

	const ask = `{"name":"株式会社エー・ホールディングス","reason":"合併"}`
	e.wantStatus("A colleague", "POST", "/v1/company/name-requests", colleague, ask, 403, "permission-denied")
	e.wantStatus("A read token", "POST", "/v1/company/name-requests", read, ask, 403, "permission-denied")
	e.wantStatus("A read token lists", "GET", "/v1/name-requests", read, "", 403, "permission-denied")
	rq := e.wantStatus("A admin", "POST", "/v1/company/name-requests", a.token, ask, 201, "")
	id := jsonField(t, rq, "id")
	e.wantStatus("A again", "POST", "/v1/company/name-requests", a.token, `{"name":"別の名前"}`, 409, "conflict")
	if l, _ := b.c.ListNameRequestsWithResponse(e.ctx, nil); l.JSON200 == nil || len(l.JSON200.Requests) != 0 {
		t.Errorf("B lists A's request: %s", l.Body)
	}
	pending := httpapi.ListNameRequestsParamsStatusPending
	if l, _ := opc.ListNameRequestsWithResponse(e.ctx, &httpapi.ListNameRequestsParams{Status: &pending}); l.JSON200 == nil || len(l.JSON200.Requests) != 1 || l.JSON200.Requests[0].Id != id {
		t.Errorf("the operator's list: %s", l.Body)
	}
	e.wantStatus("A approves its own", "POST", "/v1/name-requests/"+id+"/approve", a.token, `{}`, 403, "permission-denied")
	e.wantStatus("B approves", "POST", "/v1/name-requests/"+id+"/approve", b.token, `{}`, 403, "permission-denied")
	ap, err := opc.ApproveNameChangeWithResponse(e.ctx, id, httpapi.NameDecision{})
	if err != nil || ap.JSON200 == nil || ap.JSON200.Status != httpapi.NameRequestStatusApproved {
		t.Fatalf("approve: %v %s", err, ap.Body)
	}
	if dir := e.wantStatus("directory", "GET", "/v1/companies?id="+a.p.CompanyID, b.token, "", 200, ""); !strings.Contains(dir, "株式会社エー・ホールディングス") {
		t.Errorf("the directory after the approval: %s", dir)
	}
	e.wantStatus("operator approves again", "POST", "/v1/name-requests/"+id+"/approve", op, `{}`, 409, "")

	id2 := jsonField(t, e.wantStatus("A second", "POST", "/v1/company/name-requests", a.token, `{"name":"エー株式会社"}`, 201, ""), "id")
	why := "登記事項証明書の添付がありません"
	rj, err := opc.RejectNameChangeWithResponse(e.ctx, id2, httpapi.NameDecision{Note: &why})
	if err != nil || rj.JSON200 == nil || rj.JSON200.Status != httpapi.NameRequestStatusRejected || rj.JSON200.Note == nil || *rj.JSON200.Note != why {
		t.Fatalf("reject: %v %s", err, rj.Body)
	}
	if l, _ := a.c.ListNameRequestsWithResponse(e.ctx, nil); l.JSON200 == nil || len(l.JSON200.Requests) != 2 {
		t.Errorf("A's own requests: %s", l.Body)
	}
}

// TestMyProfileOverHTTP: a user replaces its own profile over REST (its
// administrator then sees the new one); a read token and a disclosure
// account are refused, and so is a bad profile.
func TestMyProfileOverHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	colleague, colleagueID := e.member(a, "a-member")
	name, dept, lang := "山田 花子", "法務部", httpapi.ProfileLanguageEn
	r, err := e.client(colleague).SetMyProfileWithResponse(e.ctx, httpapi.Profile{Name: &name, Department: &dept, Language: &lang})
	if err != nil || r.JSON200 == nil || r.JSON200.Name == nil || *r.JSON200.Name != name {
		t.Fatalf("set profile: %v %s", err, r.Body)
	}
	if body := e.wantStatus("A views", "GET", "/v1/users/"+colleagueID, a.token, "", 200, ""); !strings.Contains(body, name) || !strings.Contains(body, dept) {
		t.Errorf("the administrator sees another profile: %s", body)
	}
	status, _, _, body := e.rawBody("POST", "/v1/me/tokens", a.token, "application/json", `{"name":"ro","scope":"read"}`)
	if status != 201 {
		t.Fatalf("token: %d %s", status, body)
	}
	e.wantStatus("A read token", "PUT", "/v1/me/profile", jsonField(t, body, "secret"), `{"name":"x"}`, 403, "permission-denied")
	e.wantStatus("A too long", "PUT", "/v1/me/profile", a.token, `{"name":"`+strings.Repeat("あ", 201)+`"}`, 400, "invalid")
	done := e.completed(a, b, "開示")
	cr, err := a.c.CreateDisclosureWithResponse(e.ctx, nil, httpapi.NewDisclosure{LoginId: "auditor-p", Label: "監査", Until: testpki.Now.Add(time.Hour), Cases: []string{done.Id}})
	if err != nil || cr.JSON201 == nil {
		t.Fatalf("disclosure: %v %s", err, cr.Body)
	}
	_, tok := e.firstLogin("auditor-p", cr.JSON201.InitialPassword)
	if got, _, _, resp := e.rawBody("PUT", "/v1/me/profile", tok, "application/json", `{"name":"x"}`); got < 400 {
		t.Errorf("a disclosure account set a profile: %d %s", got, resp)
	}
}
