package httpapi_test

import (
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/httpapi"
	"github.com/keiyaku/keiyaku/storage"
)

// operatorToken creates the service operator and logs it in over HTTP.
func (e *env) operatorToken(login string) string {
	e.t.Helper()
	_, initial, err := e.svc.Accounts.CreateOperator(e.ctx, account.NewUser{LoginID: login, Profile: storage.Profile{Name: "運営"}}, "")
	if err != nil {
		e.t.Fatal(err)
	}
	sess, err := e.svc.Accounts.Login(e.ctx, login, initial, "")
	if err != nil {
		e.t.Fatal(err)
	}
	const pw = "operator harbor lantern 42"
	if err := e.svc.Accounts.ChangePassword(e.ctx, sess.Token, initial, pw, ""); err != nil {
		e.t.Fatal(err)
	}
	return e.login(login, pw)
}

// TestMovesOverHTTP: moving completed cases over REST. An administrator
// moves a case to a colleague (who then sees it) and every case back;
// the service operator moves a case to another company (whose
// administrator then sees it, while the old company gets 404), with the
// answer a count, never the case. Refused: a colleague, read and write
// tokens (the move is an administrator's), the counterparty's and another
// company's administrators, a case not completed; each refusal audited.
func TestMovesOverHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	c := e.newUser("C", "シー工業株式会社", e.pki.ECDSAP384)
	done := e.completed(a, b, "移動案件")
	open := e.register(a, httpapi.FormBilateral, "未完了", e.sign(a, contract("open")), []*user{b}, nil)
	colleague, colleagueID := e.member(a, "a-member")
	token := func(u *user, scope string) string {
		status, _, _, body := e.rawBody("POST", "/v1/me/tokens", u.token, "application/json", `{"name":"`+scope+`","scope":"`+scope+`"}`)
		if status != 201 {
			t.Fatalf("token: %d %s", status, body)
		}
		return jsonField(t, body, "secret")
	}
	read, write, admin := token(a, "read"), token(a, "write"), token(a, "admin")
	op := e.operatorToken("operator")

	move := "/v1/cases/" + done.Id + "/move"
	toColleague := `{"from_user_id":"` + a.p.UserID + `","to_user_id":"` + colleagueID + `"}`
	e.wantStatus("colleague before", "GET", "/v1/cases/"+done.Id, colleague, "", 404, "not-found")
	for _, r := range []struct {
		who, token string
		status     int
		typ        string
	}{
		{"A colleague", colleague, 403, "permission-denied"},
		{"A read token", read, 403, "permission-denied"},
		{"A write token", write, 403, "permission-denied"},
		{"B counterparty admin", b.token, 404, "not-found"},
		{"C other company", c.token, 404, "not-found"},
		{"anonymous", "", 401, ""},
	} {
		e.wantStatus(r.who, "POST", move, r.token, toColleague, r.status, r.typ)
	}
	e.wantStatus("A open case", "POST", "/v1/cases/"+open.Id+"/move", a.token,
		`{"from_user_id":"`+a.p.UserID+`","to_user_id":"`+colleagueID+`"}`, 409, "failed-precondition")
	e.wantStatus("A same user", "POST", move, a.token, `{"from_user_id":"`+a.p.UserID+`","to_user_id":"`+a.p.UserID+`"}`, 400, "invalid")
	e.wantStatus("A to another company", "POST", move, a.token, `{"from_user_id":"`+a.p.UserID+`","to_user_id":"`+c.p.UserID+`"}`, 403, "permission-denied")

	res, err := e.client(admin).MoveCaseWithResponse(e.ctx, done.Id, nil, httpapi.MoveCaseJSONRequestBody{FromUserId: a.p.UserID, ToUserId: colleagueID})
	if err != nil || res.JSON200 == nil || res.JSON200.Moved != 1 {
		t.Fatalf("move to the colleague: %v %s", err, res.Body)
	}
	if body := e.wantStatus("colleague after", "GET", "/v1/cases/"+done.Id, colleague, "", 200, ""); !strings.Contains(body, colleagueID) {
		t.Errorf("the moved case does not name the colleague: %s", body)
	}
	all, err := a.c.MoveUserCasesWithResponse(e.ctx, colleagueID, nil, httpapi.MoveUserCasesJSONRequestBody{ToUserId: a.p.UserID})
	if err != nil || all.JSON200 == nil || all.JSON200.Moved != 1 {
		t.Fatalf("move every case back: %v %s", err, all.Body)
	}
	e.wantStatus("colleague after moving back", "GET", "/v1/cases/"+done.Id, colleague, "", 404, "not-found")
	e.wantStatus("colleague moves all", "POST", "/v1/users/"+a.p.UserID+"/move-cases", colleague, `{"to_user_id":"`+colleagueID+`"}`, 403, "permission-denied")
	e.wantStatus("C moves A's user", "POST", "/v1/users/"+a.p.UserID+"/move-cases", c.token, `{"to_user_id":"`+c.p.UserID+`"}`, 404, "not-found")

	// The operator moves across companies, seeing nothing of the case.
	e.wantStatus("operator onto the counterparty's company", "POST", move, op, `{"from_user_id":"`+a.p.UserID+`","to_user_id":"`+b.p.UserID+`"}`, 409, "failed-precondition")
	body := e.wantStatus("operator", "POST", move, op, `{"from_user_id":"`+a.p.UserID+`","to_user_id":"`+c.p.UserID+`"}`, 200, "")
	if strings.Contains(body, "移動案件") || !strings.Contains(body, `"moved":1`) {
		t.Errorf("the operator's answer: %s", body)
	}
	e.wantStatus("operator reads the case", "GET", "/v1/cases/"+done.Id, op, "", 404, "not-found")
	e.wantStatus("A after the move", "GET", "/v1/cases/"+done.Id, a.token, "", 404, "not-found")
	audit := e.wantStatus("C after the move", "GET", "/v1/cases/"+done.Id+"/audit", c.token, "", 200, "")
	for _, action := range []string{"case.move-out", "case.move-in", "case.refused"} {
		if !strings.Contains(audit, action) {
			t.Errorf("the audit trail lacks %s: %s", action, audit)
		}
	}
}
