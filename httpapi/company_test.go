package httpapi_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/httpapi"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/storage"
)

func pemOf(c *testpki.Cert) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw}))
}

// tryRegister registers a bilateral case from u to party over HTTP and
// returns the status and problem type (no fatal on refusal).
func (e *env) tryRegister(u, party *user, pdf []byte) (int, string) {
	e.t.Helper()
	status, typ, _ := e.tryRegisterNamed(u, party, nil, pdf)
	return status, typ
}

// tryRegisterNamed is tryRegister naming the counterparty's company
// name; nil leaves it out (the directory's is taken).
func (e *env) tryRegisterNamed(u, party *user, name *string, pdf []byte) (int, string, string) {
	e.t.Helper()
	nc := httpapi.NewCase{Form: httpapi.FormBilateral, Name: "登録", TransactionDate: openapi_types.Date{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		Amount:  httpapi.Money{Amount: "1", Currency: "JPY"},
		Parties: []httpapi.NewParty{{CompanyId: party.p.CompanyID, CompanyName: name, UserId: party.p.UserID}}}
	ct, body := multipartBody(e.t, jsonPart(e.t, nc), part{name: "contract", file: "c.pdf", ctype: "application/pdf", body: pdf})
	status, typ, _, resp := e.rawBody("POST", "/v1/cases", u.token, ct, body.String())
	return status, typ, resp
}

// TestCounterpartyName: a counterparty's company name is the directory's;
// left out, the directory's is stored; a different one is refused.
func TestCounterpartyName(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	status, _, body := e.tryRegisterNamed(a, b, nil, e.sign(a, contract("no name")))
	var c httpapi.Case
	if status != 201 || json.Unmarshal([]byte(body), &c) != nil || len(c.Parties) != 1 || c.Parties[0].CompanyName != b.company {
		t.Fatalf("register without the name: %d %s", status, body)
	}
	forged := "Bee Trading Holdings"
	if status, typ, body := e.tryRegisterNamed(a, b, &forged, e.sign(a, contract("forged"))); status != 400 || typ != httpapi.ProblemBase+"invalid" {
		t.Errorf("register with another name: %d %s %s", status, typ, body)
	}
}

// member creates an ordinary (non-administrator) user in admin's company
// and logs it in, with a random password strong under the policy.
func (e *env) member(admin *user, login string) (token, userID string) {
	e.t.Helper()
	u, initial, err := e.svc.Accounts.CreateUser(e.ctx, admin.p, account.NewUser{LoginID: login, Profile: storage.Profile{Name: "Member " + login, Email: login + "@example.com", Language: "ja"}})
	if err != nil {
		e.t.Fatal(err)
	}
	sess, err := e.svc.Accounts.Login(e.ctx, login, initial, "")
	if err != nil {
		e.t.Fatal(err)
	}
	pw := rand.Text()
	if err := e.svc.Accounts.ChangePassword(e.ctx, sess.Token, initial, pw, ""); err != nil {
		e.t.Fatal(err)
	}
	status, _, _, body := e.rawBody("POST", "/v1/sessions", "", "application/json", fmt.Sprintf(`{"login_id":%q,"password":%q}`, login, pw))
	if status != 201 {
		e.t.Fatalf("member login: %d %s", status, body)
	}
	return jsonField(e.t, body, "token"), u.ID
}

func (e *env) wantStatus(who, method, path, token, body string, status int, typ string) string {
	e.t.Helper()
	ctype := ""
	if body != "" {
		ctype = "application/json"
	}
	got, gotTyp, _, resp := e.rawBody(method, path, token, ctype, body)
	if got != status || (typ != "" && gotTyp != httpapi.ProblemBase+typ) {
		e.t.Errorf("%s %s %s: got %d %s, want %d %s: %s", who, method, path, got, gotTyp, status, typ, resp)
	}
	return resp
}

// TestSigningCertificates registers, lists and removes the company's
// signing certificates over HTTP, and shows that only signatures from a
// registered certificate (or under a registered issuer rule) count.
func TestSigningCertificates(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256) // registers its certificate over REST
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)

	list, err := a.c.ListSigningCertificatesWithResponse(e.ctx)
	if err != nil || list.JSON200 == nil || len(list.JSON200.Certificates) != 1 {
		t.Fatalf("list: %v %s", err, list.Body)
	}
	reg := list.JSON200.Certificates[0]
	if reg.CertSha256 == nil || *reg.CertSha256 != sha(a.cert.Cert.Raw) {
		t.Fatalf("the registration is not A's certificate: %s", list.Body)
	}
	// The same certificate again, by A or by another company: 409. As
	// base64 DER it is the same certificate.
	der := base64.StdEncoding.EncodeToString(a.cert.Cert.Raw)
	e.wantStatus("A again", "POST", "/v1/company/signing-certificates", a.token, fmt.Sprintf(`{"certificate":%q}`, der), 409, "conflict")
	e.wantStatus("B takes A's", "POST", "/v1/company/signing-certificates", b.token, fmt.Sprintf(`{"certificate":%q}`, pemOf(a.cert)), 409, "conflict")
	// Not a certificate; a CA certificate.
	e.wantStatus("garbage", "POST", "/v1/company/signing-certificates", a.token, `{"certificate":"not a certificate"}`, 400, "invalid")
	e.wantStatus("PEM garbage", "POST", "/v1/company/signing-certificates", a.token, `{"certificate":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}`, 400, "invalid")
	e.wantStatus("a CA", "POST", "/v1/company/signing-certificates", a.token, fmt.Sprintf(`{"certificate":%q}`, pemOf(e.pki.Intermediate)), 400, "invalid")
	e.wantStatus("unknown field", "POST", "/v1/company/signing-certificates", a.token, `{"certificate":"x","admin":true}`, 400, "invalid")

	// A registered case goes through; B's signature is B's to give.
	if status, typ := e.tryRegister(a, b, e.sign(a, contract("registered"))); status != 201 {
		t.Fatalf("register signed with A's registered certificate: %d %s", status, typ)
	}
	if status, typ := e.tryRegister(a, b, e.sign(b, contract("B's signature"))); status != 403 || typ != httpapi.ProblemBase+"permission-denied" {
		t.Errorf("register signed with B's certificate by A: %d %s, want 403 permission-denied", status, typ)
	}

	// Removed: nothing is registered, the upload is refused as a missing
	// setup step.
	e.wantStatus("remove", "DELETE", "/v1/company/signing-certificates/"+reg.Id, a.token, "", 204, "")
	e.wantStatus("remove again", "DELETE", "/v1/company/signing-certificates/"+reg.Id, a.token, "", 404, "not-found")
	if status, typ := e.tryRegister(a, b, e.sign(a, contract("removed"))); status != 409 || typ != httpapi.ProblemBase+"failed-precondition" {
		t.Errorf("register after removal: %d %s, want 409 failed-precondition", status, typ)
	}

	// An issuer rule: the intermediate CA, with the company's own name as O.
	e.wantStatus("other org", "POST", "/v1/company/signing-issuers", a.token,
		fmt.Sprintf(`{"ca_certificate":%q,"organization":"Bee Trading Ltd."}`, pemOf(e.pki.Intermediate)), 400, "invalid")
	e.wantStatus("neither attribute", "POST", "/v1/company/signing-issuers", a.token,
		fmt.Sprintf(`{"ca_certificate":%q}`, pemOf(e.pki.Intermediate)), 400, "invalid")
	body := e.wantStatus("issuer", "POST", "/v1/company/signing-issuers", a.token,
		fmt.Sprintf(`{"ca_certificate":%q,"organization":%q}`, pemOf(e.pki.Intermediate), a.company), 201, "")
	var rule httpapi.SigningCertificate
	if err := json.Unmarshal([]byte(body), &rule); err != nil || rule.IssuerSha256 == nil || *rule.IssuerSha256 != sha(e.pki.Intermediate.Cert.Raw) || rule.CertSha256 != nil {
		t.Fatalf("issuer rule: %v %s", err, body)
	}
	staff, err := e.pki.IssueSigner("a-staff", a.company, "", "社員 一郎")
	if err != nil {
		t.Fatal(err)
	}
	outsider, err := e.pki.IssueSigner("outsider", "株式会社ほか", "", "他社 花子")
	if err != nil {
		t.Fatal(err)
	}
	orig := a.cert
	a.cert = staff
	if status, typ := e.tryRegister(a, b, e.sign(a, contract("staff"))); status != 201 {
		t.Errorf("register signed under the issuer rule: %d %s", status, typ)
	}
	a.cert = outsider
	if status, typ := e.tryRegister(a, b, e.sign(a, contract("outsider"))); status != 403 || typ != httpapi.ProblemBase+"permission-denied" {
		t.Errorf("register signed by another organization under the same CA: %d %s, want 403", status, typ)
	}
	a.cert = orig
}

// TestCompanyAdministration covers the directory, trading partners, the
// corporate number, the time zone and the administrator's user controls,
// and refuses the administrator-only operations to ordinary users and to
// read and write tokens.
func TestCompanyAdministration(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	mTok, mID := e.member(a, "member-a")

	// The corporate number: a valid 法人番号 (check digit 9 - (Σ mod 9)).
	const number = "9234567890123"
	if err := account.CheckCorporateNumber("test", number); err != nil {
		t.Fatalf("the test number is not a valid 法人番号: %v", err)
	}
	e.wantStatus("A", "PUT", "/v1/company/corporate-number", a.token, `{"corporate_number":"1234567890123"}`, 400, "invalid")
	if body := e.wantStatus("A", "PUT", "/v1/company/corporate-number", a.token, fmt.Sprintf(`{"corporate_number":%q}`, number), 200, ""); jsonField(t, body, "corporate_number") != number {
		t.Errorf("corporate number: %s", body)
	}
	e.wantStatus("B takes A's number", "PUT", "/v1/company/corporate-number", b.token, fmt.Sprintf(`{"corporate_number":%q}`, number), 409, "conflict")
	if body := e.wantStatus("A", "PUT", "/v1/company/time-zone", a.token, `{"time_zone":"America/New_York"}`, 200, ""); jsonField(t, body, "time_zone") != "America/New_York" {
		t.Errorf("time zone: %s", body)
	}
	e.wantStatus("A", "PUT", "/v1/company/time-zone", a.token, `{"time_zone":"Mars/Olympus"}`, 400, "invalid")
	if body := e.wantStatus("A", "PUT", "/v1/company/time-zone", a.token, `{"time_zone":""}`, 200, ""); jsonField(t, body, "time_zone") != account.DefaultTimeZone {
		t.Errorf("time zone reset: %s", body)
	}

	// The directory, by number, ID and name; members without login IDs.
	for _, q := range []string{"corporate_number=" + number, "id=" + a.p.CompanyID, "name=%E3%82%A8%E3%83%BC%E5%95%86"} {
		body := e.wantStatus("B", "GET", "/v1/companies?"+q, b.token, "", 200, "")
		var dl httpapi.DirectoryList
		if err := json.Unmarshal([]byte(body), &dl); err != nil || len(dl.Companies) != 1 || dl.Companies[0].Id != a.p.CompanyID || dl.Companies[0].Name != a.company {
			t.Errorf("find %s: %v %s", q, err, body)
		}
	}
	e.wantStatus("B", "GET", "/v1/companies", b.token, "", 400, "invalid")
	body := e.wantStatus("B", "GET", "/v1/companies/"+a.p.CompanyID+"/members", b.token, "", 200, "")
	var ml httpapi.MemberList
	if err := json.Unmarshal([]byte(body), &ml); err != nil || len(ml.Members) != 2 {
		t.Errorf("members: %v %s", err, body)
	}
	e.wantStatus("B", "GET", "/v1/companies/nope/members", b.token, "", 404, "not-found")

	// Trading partners.
	e.wantStatus("A", "PUT", "/v1/partners/"+b.p.CompanyID, a.token, "", 204, "")
	e.wantStatus("A again", "PUT", "/v1/partners/"+b.p.CompanyID, a.token, "", 204, "")
	e.wantStatus("A itself", "PUT", "/v1/partners/"+a.p.CompanyID, a.token, "", 400, "invalid")
	e.wantStatus("A unknown", "PUT", "/v1/partners/nope", a.token, "", 404, "not-found")
	pl, err := a.c.ListPartnersWithResponse(e.ctx)
	if err != nil || pl.JSON200 == nil || len(pl.JSON200.Companies) != 1 || pl.JSON200.Companies[0].Id != b.p.CompanyID || !pl.JSON200.Companies[0].Partner {
		t.Errorf("partners: %v %s", err, pl.Body)
	}
	e.wantStatus("member", "GET", "/v1/partners", mTok, "", 200, "")
	e.wantStatus("A", "DELETE", "/v1/partners/"+b.p.CompanyID, a.token, "", 204, "")
	e.wantStatus("A again", "DELETE", "/v1/partners/"+b.p.CompanyID, a.token, "", 404, "not-found")

	// The administrator's user controls.
	// The member has two sessions: the one that changed the initial
	// password and the one over HTTP.
	var ended struct{ Ended int }
	if body := e.wantStatus("A", "DELETE", "/v1/users/"+mID+"/sessions", a.token, "", 200, ""); json.Unmarshal([]byte(body), &ended) != nil || ended.Ended != 2 {
		t.Errorf("end sessions: %s", body)
	}
	e.wantStatus("member after end", "GET", "/v1/partners", mTok, "", 401, "unauthenticated")
	e.wantStatus("A", "POST", "/v1/users/"+mID+"/unlock", a.token, "", 204, "")
	e.wantStatus("A", "PUT", "/v1/users/"+mID+"/disabled", a.token, "", 204, "")
	e.wantStatus("A itself", "PUT", "/v1/users/"+a.p.UserID+"/disabled", a.token, "", 409, "failed-precondition")
	e.wantStatus("A", "DELETE", "/v1/users/"+mID+"/disabled", a.token, "", 204, "")
	e.wantStatus("B on A's user", "PUT", "/v1/users/"+mID+"/disabled", b.token, "", 404, "not-found")
	mTok, _ = e.member(a, "member-a2")

	// Administrator-only operations: refused to an ordinary user (the
	// account package's rule) and to read and write tokens (the scope).
	token := func(u *user, scope string) string {
		status, _, _, body := e.rawBody("POST", "/v1/me/tokens", u.token, "application/json", fmt.Sprintf(`{"name":"t %s","scope":%q}`, scope, scope))
		if status != 201 {
			t.Fatalf("token: %d %s", status, body)
		}
		return jsonField(t, body, "secret")
	}
	read, write, admin := token(a, "read"), token(a, "write"), token(a, "admin")
	certBody := fmt.Sprintf(`{"certificate":%q}`, pemOf(e.pki.ECDSAP384))
	for _, op := range []struct{ method, path, body string }{
		{"POST", "/v1/company/signing-certificates", certBody},
		{"POST", "/v1/company/signing-issuers", fmt.Sprintf(`{"ca_certificate":%q,"organization":%q}`, pemOf(e.pki.Intermediate), a.company)},
		{"DELETE", "/v1/company/signing-certificates/whatever", ""},
		{"PUT", "/v1/company/corporate-number", fmt.Sprintf(`{"corporate_number":%q}`, number)},
		{"PUT", "/v1/company/time-zone", `{"time_zone":"Asia/Tokyo"}`},
		{"PUT", "/v1/partners/" + b.p.CompanyID, ""},
		{"DELETE", "/v1/partners/" + b.p.CompanyID, ""},
		{"POST", "/v1/users/" + a.p.UserID + "/unlock", ""},
		{"DELETE", "/v1/users/" + a.p.UserID + "/sessions", ""},
		{"PUT", "/v1/users/" + a.p.UserID + "/disabled", ""},
		{"DELETE", "/v1/users/" + a.p.UserID + "/disabled", ""},
	} {
		for who, tok := range map[string]string{"member": mTok, "read token": read, "write token": write} {
			e.wantStatus(who, op.method, op.path, tok, op.body, 403, "permission-denied")
		}
	}
	// The admin token acts with the administrator's rights.
	e.wantStatus("admin token", "POST", "/v1/company/signing-certificates", admin, certBody, 201, "")
	e.wantStatus("read token", "GET", "/v1/company/signing-certificates", read, "", 200, "")
	e.wantStatus("member", "GET", "/v1/company/signing-certificates", mTok, "", 200, "")
	e.wantStatus("anonymous", "GET", "/v1/company/signing-certificates", "", "", 401, "unauthenticated")
}

// TestSendBackToParty: the registrant sends a returned case back to the
// counterparty (sent-back-to-party, in the document's State enum), the
// counterparty receives it again and sends it back to the registrant.
func TestSendBackToParty(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	c := e.register(a, httpapi.FormBilateral, "差戻し", e.sign(a, contract("send back to party")), []*user{b}, nil)
	rr, err := b.c.ReceiveCaseWithResponse(e.ctx, c.Id, &httpapi.ReceiveCaseParams{IfMatch: e.ifMatch(b, c.Id)})
	if err != nil || rr.JSON200 == nil {
		t.Fatalf("receive: %v %s", err, rr.Body)
	}
	got := e.download(b, c.Id, rr.JSON200.Document)
	if r := e.returnDoc(b, c.Id, e.sign(b, got)); r.JSON200 == nil || r.JSON200.State != httpapi.StateReturned {
		t.Fatalf("return: %d %s", r.StatusCode(), r.Body)
	}
	sb, err := a.c.SendBackCaseWithResponse(e.ctx, c.Id, &httpapi.SendBackCaseParams{IfMatch: e.ifMatch(a, c.Id)}, httpapi.SendBack{Reason: "押印欄が違います"})
	if err != nil || sb.JSON200 == nil || sb.JSON200.State != httpapi.StateSentBackToParty {
		t.Fatalf("send back to the party: %v %s", err, sb.Body)
	}
	if now := e.get(b, c.Id); !hasAction(now, httpapi.ActionReceive) || now.State != httpapi.StateSentBackToParty {
		t.Fatalf("the party is not offered to receive again: %+v", now)
	}
	// Search by the new state.
	st := []httpapi.State{httpapi.StateSentBackToParty}
	if sr, err := a.c.SearchCasesWithResponse(e.ctx, &httpapi.SearchCasesParams{State: &st}); err != nil || sr.JSON200 == nil || len(sr.JSON200.Cases) != 1 {
		t.Fatalf("search sent-back-to-party: %v %s", err, sr.Body)
	}
	sb2, err := b.c.SendBackCaseWithResponse(e.ctx, c.Id, &httpapi.SendBackCaseParams{IfMatch: e.ifMatch(b, c.Id)}, httpapi.SendBack{Reason: "こちらでは直せません"})
	if err != nil || sb2.JSON200 == nil || sb2.JSON200.State != httpapi.StateSentBack {
		t.Fatalf("the party sends it back to the registrant: %v %s", err, sb2.Body)
	}
}

// TestPasswordPolicy: a weak new password is 400 invalid with a pointer
// to new_password; a random one is accepted.
func TestPasswordPolicy(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	for _, weak := range []string{"password1234", "admin-aadmin-a", "aaaaaaaaaaaaaaaa", "123456789012"} {
		r, err := a.c.ChangePasswordWithResponse(e.ctx, httpapi.PasswordChange{OldPassword: a.password, NewPassword: weak})
		if err != nil || r.StatusCode() != 400 || r.ApplicationproblemJSONDefault == nil || r.ApplicationproblemJSONDefault.Type != httpapi.ProblemBase+"invalid" ||
			r.ApplicationproblemJSONDefault.Errors == nil || (*r.ApplicationproblemJSONDefault.Errors)[0].Pointer != "/new_password" {
			t.Errorf("weak %q: %v %d %s", weak, err, r.StatusCode(), r.Body)
		}
	}
	if r, err := a.c.ChangePasswordWithResponse(e.ctx, httpapi.PasswordChange{OldPassword: a.password, NewPassword: rand.Text()}); err != nil || r.StatusCode() != 204 {
		t.Errorf("random password: %v %d %s", err, r.StatusCode(), r.Body)
	}
}
