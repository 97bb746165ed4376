package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/httpapi"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// TestDisclosuresOverHTTP: a disclosure account over REST. The owner
// creates it (the initial password shown once), lists, reads, changes and
// restricts it and reads its access log; the account logs in with POST
// /v1/sessions like a user and then lists, gets and verifies only the
// cases given; every change, every other case and every non-case call
// is refused. After its period, and once revoked, its session stops.
// Another company and a read-only token cannot manage it.
func TestDisclosuresOverHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	done := e.completed(a, b, "開示案件")
	other := e.completed(a, b, "非開示案件")
	status, _, _, body := e.rawBody("POST", "/v1/me/tokens", a.token, "application/json", `{"name":"ro","scope":"read"}`)
	if status != 201 {
		t.Fatalf("token: %d %s", status, body)
	}
	read := jsonField(t, body, "secret")

	until := testpki.Now.Add(2 * time.Hour) // a session lasts 8 h: the period ends first
	cr, err := a.c.CreateDisclosureWithResponse(e.ctx, nil, httpapi.NewDisclosure{LoginId: "auditor-1", Label: "監査法人", Until: until, Cases: []string{done.Id}})
	if err != nil || cr.JSON201 == nil {
		t.Fatalf("create: %v %s", err, cr.Body)
	}
	d := cr.JSON201.Disclosure
	if d.OwnerUserId != a.p.UserID || !d.MustChangePassword || len(d.Cases) != 1 || d.Cases[0] != done.Id || cr.JSON201.InitialPassword == "" {
		t.Errorf("created: %s", cr.Body)
	}
	path := "/v1/disclosures/" + d.Id
	e.wantStatus("A read token creates", "POST", "/v1/disclosures", read, `{"login_id":"auditor-2","label":"x","until":"2026-02-01T00:00:00Z","cases":[]}`, 403, "permission-denied")
	e.wantStatus("A other's case", "POST", "/v1/disclosures", a.token, `{"login_id":"auditor-3","label":"x","until":"2026-02-01T00:00:00Z","cases":["nope"]}`, 404, "not-found")
	e.wantStatus("B", "GET", path, b.token, "", 404, "not-found")
	e.wantStatus("B", "DELETE", path, b.token, "", 404, "not-found")
	e.wantStatus("A read token", "GET", path, read, "", 200, "")
	e.wantStatus("A read token", "DELETE", path, read, "", 403, "permission-denied")
	if l, _ := a.c.ListDisclosuresWithResponse(e.ctx); l.JSON200 == nil || len(l.JSON200.Disclosures) != 1 {
		t.Errorf("list: %s", l.Body)
	}
	if l, _ := b.c.ListDisclosuresWithResponse(e.ctx); l.JSON200 == nil || len(l.JSON200.Disclosures) != 0 {
		t.Errorf("B lists A's: %s", l.Body)
	}
	label := "監査法人（期末）"
	if u, _ := a.c.UpdateDisclosureWithResponse(e.ctx, d.Id, httpapi.DisclosureUpdate{Label: &label}); u.JSON200 == nil || u.JSON200.Label != label {
		t.Errorf("update: %s", u.Body)
	}
	if al, _ := a.c.SetDisclosureAllowListWithResponse(e.ctx, d.Id, httpapi.AllowList{Entries: []string{"127.0.0.0/8", "::1"}}); al.JSON200 == nil || len(al.JSON200.Entries) != 2 {
		t.Errorf("allow-list: %s", al.Body)
	}

	// The account at work: reads of its case only.
	pw, tok := e.firstLogin("auditor-1", cr.JSON201.InitialPassword)
	for _, r := range []struct {
		method, path, body string
		ok                 bool
	}{
		{"GET", "/v1/cases", "", true},
		{"GET", "/v1/cases/" + done.Id, "", true},
		{"GET", "/v1/cases/" + done.Id + "/signatures", "", true},
		{"GET", "/v1/cases/" + done.Id + "/verification", "", true},
		{"GET", "/v1/cases/" + other.Id, "", false},
		{"PUT", "/v1/cases/" + done.Id + "/hidden", "", false},
		{"PUT", "/v1/cases/" + done.Id + "/comment", `{"text":"x"}`, false},
		{"PUT", "/v1/cases/" + done.Id + "/holds", `{"reason":"x"}`, false},
		{"GET", "/v1/cases/" + done.Id + "/audit", "", false},
		{"GET", "/v1/disclosures", "", false},
		{"POST", "/v1/me/tokens", `{"name":"x","scope":"read"}`, false},
		{"GET", "/v1/users", "", false},
		{"GET", "/v1/webhooks", "", false},
	} {
		got, _, _, resp := e.rawBody(r.method, r.path, tok, map[bool]string{true: "application/json", false: ""}[r.body != ""], r.body)
		if (got < 300) != r.ok {
			t.Errorf("disclosure account %s %s: %d %s", r.method, r.path, got, resp)
		}
	}
	if body := e.wantStatus("list", "GET", "/v1/cases", tok, "", 200, ""); !strings.Contains(body, done.Id) || strings.Contains(body, other.Id) {
		t.Errorf("the account's list: %s", body)
	}
	acc, err := a.c.DisclosureAccessWithResponse(e.ctx, d.Id, nil)
	if err != nil || acc.JSON200 == nil || len(acc.JSON200.Entries) == 0 {
		t.Fatalf("access log: %v %s", err, acc.Body)
	}
	seen := false
	for _, en := range acc.JSON200.Entries {
		seen = seen || strings.HasPrefix(en.Action, "disclosure.login")
	}
	if !seen {
		t.Errorf("the access log lacks the login: %s", acc.Body)
	}
	one := 1
	if p, _ := a.c.DisclosureAccessWithResponse(e.ctx, d.Id, &httpapi.DisclosureAccessParams{Limit: &one}); p.JSON200 == nil || len(p.JSON200.Entries) != 1 {
		t.Errorf("one entry: %s", p.Body)
	}
	e.wantStatus("B access", "GET", path+"/access", b.token, "", 404, "not-found")
	e.wantStatus("A bad limit", "GET", path+"/access?limit=0", a.token, "", 400, "invalid")

	// After its period the session ends and a login is refused.
	e.offset.Store(int64(time.Hour))
	e.wantStatus("inside the period", "GET", "/v1/cases/"+done.Id, tok, "", 200, "")
	e.offset.Store(int64(3 * time.Hour))
	if got, _, _, resp := e.rawBody("GET", "/v1/cases/"+done.Id, tok, "", ""); got != 401 {
		t.Errorf("after the period: %d %s", got, resp)
	}
	if got, _, _, resp := e.rawBody("POST", "/v1/sessions", "", "application/json", `{"login_id":"auditor-1","password":"`+pw+`"}`); got != 401 {
		t.Errorf("login after the period: %d %s", got, resp)
	}
	e.offset.Store(0)
	tok = e.login("auditor-1", pw)
	e.wantStatus("A revokes", "DELETE", path, a.token, "", 204, "")
	if got, _, _, resp := e.rawBody("GET", "/v1/cases/"+done.Id, tok, "", ""); got != 401 {
		t.Errorf("after the revocation: %d %s", got, resp)
	}
	if g, _ := a.c.GetDisclosureWithResponse(e.ctx, d.Id); g.JSON200 == nil || g.JSON200.RevokedAt == nil {
		t.Errorf("revoked: %s", g.Body)
	}
}

// TestDisclosureLimitOverHTTP: the administrator's per-user limit of
// unrevoked disclosure accounts holds over REST; a colleague may not set
// it, nor may a value out of range.
func TestDisclosureLimitOverHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	done := e.completed(a, b, "上限")
	colleague, _ := e.member(a, "a-member")
	e.wantStatus("A colleague", "PUT", "/v1/company/disclosure-limit", colleague, `{"limit":1}`, 403, "permission-denied")
	e.wantStatus("A out of range", "PUT", "/v1/company/disclosure-limit", a.token, `{"limit":101}`, 400, "invalid")
	e.wantStatus("A", "PUT", "/v1/company/disclosure-limit", a.token, `{"limit":1}`, 200, "")
	until := testpki.Now.Add(time.Hour)
	if r, _ := a.c.CreateDisclosureWithResponse(e.ctx, nil, httpapi.NewDisclosure{LoginId: "aud-1", Label: "一", Until: until, Cases: []string{done.Id}}); r.StatusCode() != 201 {
		t.Fatalf("first: %s", r.Body)
	}
	if r, _ := a.c.CreateDisclosureWithResponse(e.ctx, nil, httpapi.NewDisclosure{LoginId: "aud-2", Label: "二", Until: until, Cases: []string{done.Id}}); r.StatusCode() < 400 {
		t.Errorf("a second account over the limit of 1: %d %s", r.StatusCode(), r.Body)
	}
	e.wantStatus("A back to the default", "PUT", "/v1/company/disclosure-limit", a.token, `{"limit":0}`, 200, "")
	if r, _ := a.c.CreateDisclosureWithResponse(e.ctx, nil, httpapi.NewDisclosure{LoginId: "aud-2", Label: "二", Until: until, Cases: []string{done.Id}}); r.StatusCode() != 201 {
		t.Errorf("second under the default limit: %s", r.Body)
	}
}
