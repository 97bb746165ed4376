package httpapi_test

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/keiyaku/keiyaku/httpapi"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// TestRetentionOverHTTP: a completed case's retention and legal holds and
// the company's retention settings over REST, with the generated client
// (every answer checked against the spec): reading the 10-year dates,
// extending to 15, placing, listing and lifting a hold of each party
// company, and the settings round trip.
func TestRetentionOverHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	done := e.completed(a, b, "保管案件")

	r, err := a.c.GetRetentionWithResponse(e.ctx, done.Id)
	if err != nil || r.JSON200 == nil {
		t.Fatalf("get retention: %v %s", err, r.Body)
	}
	got := r.JSON200
	if got.CaseId != done.Id || got.CompanyId != a.p.CompanyID || got.Deleting {
		t.Errorf("retention: %+v", got)
	}
	if want := got.Start.Time.AddDate(10, 0, 0); got.Action == httpapi.RetentionActionDelete && !got.Until.Time.Equal(want) {
		t.Errorf("delete: until %s, want start+10y %s", got.Until, want.Format(time.DateOnly))
	}
	if rb, _ := b.c.GetRetentionWithResponse(e.ctx, done.Id); rb.JSON200 == nil || rb.JSON200.Until != got.Until {
		t.Errorf("the counterparty reads another retention: %s", rb.Body)
	}

	s, err := a.c.SetRetentionWithResponse(e.ctx, done.Id, httpapi.SetRetentionJSONRequestBody{Action: httpapi.SetRetentionJSONBodyActionExtend})
	if err != nil || s.JSON200 == nil {
		t.Fatalf("set retention: %v %s", err, s.Body)
	}
	if s.JSON200.Action != httpapi.RetentionActionExtend || !s.JSON200.Until.Time.Equal(s.JSON200.Start.Time.AddDate(15, 0, 0)) ||
		s.JSON200.SetBy == nil || *s.JSON200.SetBy != a.p.UserID {
		t.Errorf("extended: %+v", s.JSON200)
	}
	s, err = a.c.SetRetentionWithResponse(e.ctx, done.Id, httpapi.SetRetentionJSONRequestBody{Action: httpapi.SetRetentionJSONBodyActionDelete})
	if err != nil || s.JSON200 == nil || !s.JSON200.Until.Time.Equal(s.JSON200.Start.Time.AddDate(10, 0, 0)) {
		t.Fatalf("set delete: %v %s", err, s.Body)
	}

	if h, err := a.c.PlaceHoldWithResponse(e.ctx, done.Id, httpapi.HoldReason{Reason: "訴訟 2026(ワ)123"}); err != nil || h.StatusCode() != 204 {
		t.Fatalf("place hold: %v %s", err, h.Body)
	}
	if h, err := b.c.PlaceHoldWithResponse(e.ctx, done.Id, httpapi.HoldReason{Reason: "税務調査"}); err != nil || h.StatusCode() != 204 {
		t.Fatalf("B place hold: %v %s", err, h.Body)
	}
	l, err := b.c.ListHoldsWithResponse(e.ctx, done.Id)
	if err != nil || l.JSON200 == nil || len(l.JSON200.Holds) != 2 {
		t.Fatalf("holds: %v %s", err, l.Body)
	}
	reasons := map[string]string{}
	for _, h := range l.JSON200.Holds {
		reasons[h.CompanyId] = h.Reason
	}
	if reasons[a.p.CompanyID] != "訴訟 2026(ワ)123" || reasons[b.p.CompanyID] != "税務調査" {
		t.Errorf("holds: %+v", l.JSON200.Holds)
	}
	why := "和解"
	if d, err := a.c.LiftHoldWithResponse(e.ctx, done.Id, &httpapi.LiftHoldParams{Reason: &why}); err != nil || d.StatusCode() != 204 {
		t.Fatalf("lift: %v %s", err, d.Body)
	}
	if d, _ := a.c.LiftHoldWithResponse(e.ctx, done.Id, nil); d.StatusCode() != 404 {
		t.Errorf("lift again: %d %s", d.StatusCode(), d.Body)
	}
	l, _ = a.c.ListHoldsWithResponse(e.ctx, done.Id)
	if l.JSON200 == nil || len(l.JSON200.Holds) != 1 || l.JSON200.Holds[0].CompanyId != b.p.CompanyID {
		t.Errorf("after A lifted its hold, B's must stay: %s", l.Body)
	}

	on, month, ext := true, 3, 1
	act := httpapi.RetentionSettingsDefaultActionExtend
	set, err := a.c.SetRetentionSettingsWithResponse(e.ctx, httpapi.RetentionSettings{DefaultAction: &act, FiscalYear: &on, FiscalYearEndMonth: &month, FilingExtensionMonths: &ext})
	if err != nil || set.JSON200 == nil || *set.JSON200.FiscalYearEndMonth != 3 {
		t.Fatalf("settings: %v %s", err, set.Body)
	}
	// A case completed afterwards follows the settings.
	later := e.completed(a, b, "設定後")
	if r, _ := a.c.GetRetentionWithResponse(e.ctx, later.Id); r.JSON200 == nil || r.JSON200.Rule != "fiscal-year end=3 extension=1" ||
		r.JSON200.Action != httpapi.RetentionActionExtend || r.JSON200.Start.Day() != 1 {
		t.Errorf("a case completed after the settings: %s", r.Body)
	}

	// The audit trail records each change.
	body := e.wantStatus("A audit", "GET", "/v1/cases/"+done.Id+"/audit", a.token, "", 200, "")
	for _, action := range []string{"case.retention.set", "case.hold.place", "case.hold.lift"} {
		if !strings.Contains(body, action) {
			t.Errorf("the audit trail lacks %s", action)
		}
	}
}

// TestIssue12AuthorizationOverHTTP: who may call the retention and hold
// operations over REST, for session and token principals: the owner's
// administrator (session and admin token), a write token (retention yes,
// admin-only holds and settings no), a read-only token (reads only), a
// colleague who does not see the case (404), the counterparty (reads, its
// own holds, never the owner's retention), another company (404), the
// service operator (no case: 404; no company settings: 403), a
// disclosure account inside its period (no change: 403) and after it
// (401).
func TestIssue12AuthorizationOverHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	c := e.newUser("C", "シー工業株式会社", e.pki.ECDSAP384)
	done := e.completed(a, b, "権限案件")
	open := e.register(a, httpapi.FormBilateral, "未完了", e.sign(a, contract("open")), []*user{b}, nil)
	colleague, _ := e.member(a, "a-member")
	token := func(u *user, scope string) string {
		status, _, _, body := e.rawBody("POST", "/v1/me/tokens", u.token, "application/json", `{"name":"`+scope+`","scope":"`+scope+`"}`)
		if status != 201 {
			t.Fatalf("token: %d %s", status, body)
		}
		return jsonField(t, body, "secret")
	}
	read, write, admin := token(a, "read"), token(a, "write"), token(a, "admin")
	op := e.operatorToken("operator")
	cr, err := a.c.CreateDisclosureWithResponse(e.ctx, nil, httpapi.NewDisclosure{LoginId: "auditor-r", Label: "監査", Until: testpki.Now.Add(time.Hour), Cases: []string{done.Id}})
	if err != nil || cr.JSON201 == nil {
		t.Fatalf("disclosure: %v %s", err, cr.Body)
	}
	_, disc := e.firstLogin("auditor-r", cr.JSON201.InitialPassword)

	ret := "/v1/cases/" + done.Id + "/retention"
	holds := "/v1/cases/" + done.Id + "/holds"
	const extend, hold, settings = `{"action":"extend"}`, `{"reason":"監査"}`, `{"fiscal_year":true}`
	rows := []struct {
		who, method, path, token, body string
		status                         int
		typ                            string
	}{
		{"A admin session", "GET", ret, a.token, "", 200, ""},
		{"A read token", "GET", ret, read, "", 200, ""},
		{"A colleague (does not see the case)", "GET", ret, colleague, "", 404, "not-found"},
		{"B counterparty", "GET", ret, b.token, "", 200, ""},
		{"C other company", "GET", ret, c.token, "", 404, "not-found"},
		{"anonymous", "GET", ret, "", "", 401, ""},
		{"open case", "GET", "/v1/cases/" + open.Id + "/retention", a.token, "", 409, "failed-precondition"},

		{"A admin session", "PUT", ret, a.token, extend, 200, ""},
		{"A write token", "PUT", ret, write, extend, 200, ""},
		{"A read token", "PUT", ret, read, extend, 403, "permission-denied"},
		{"A colleague", "PUT", ret, colleague, extend, 404, "not-found"},
		{"B counterparty admin", "PUT", ret, b.token, extend, 403, "permission-denied"},
		{"C other company", "PUT", ret, c.token, extend, 404, "not-found"},
		{"A bad action", "PUT", ret, a.token, `{"action":"keep"}`, 400, "invalid"},

		{"A read token", "GET", holds, read, "", 200, ""},
		{"A colleague", "GET", holds, colleague, "", 404, "not-found"},
		{"C other company", "GET", holds, c.token, "", 404, "not-found"},
		{"open case", "GET", "/v1/cases/" + open.Id + "/holds", a.token, "", 409, "failed-precondition"},
		{"A admin token", "PUT", holds, admin, hold, 204, ""},
		{"A write token (not admin)", "PUT", holds, write, hold, 403, "permission-denied"},
		{"A read token", "PUT", holds, read, hold, 403, "permission-denied"},
		{"A colleague", "PUT", holds, colleague, hold, 404, "not-found"},
		{"B counterparty admin", "PUT", holds, b.token, hold, 204, ""},
		{"C other company", "PUT", holds, c.token, hold, 404, "not-found"},
		{"A empty reason", "PUT", holds, a.token, `{"reason":" "}`, 400, "invalid"},
		{"A colleague", "DELETE", holds, colleague, "", 404, "not-found"},
		{"A read token", "DELETE", holds, read, "", 403, "permission-denied"},
		{"C other company", "DELETE", holds, c.token, "", 404, "not-found"},
		{"A admin session", "DELETE", holds, a.token, "", 204, ""},
		{"B counterparty admin", "DELETE", holds, b.token, "", 204, ""},
		{"C no hold of its own", "DELETE", holds, c.token, "", 404, "not-found"},

		{"operator", "GET", ret, op, "", 404, "not-found"},
		{"operator", "PUT", ret, op, extend, 404, "not-found"},
		{"operator", "GET", holds, op, "", 404, "not-found"},
		{"operator", "PUT", holds, op, hold, 404, "not-found"},
		{"operator", "PUT", "/v1/company/retention-settings", op, settings, 403, "permission-denied"},
		{"operator", "GET", "/v1/company/upcoming-deletions?through=2100-01-01", op, "", 403, "permission-denied"},
		{"disclosure account", "PUT", ret, disc, extend, 403, "permission-denied"},
		{"disclosure account", "PUT", holds, disc, hold, 403, "permission-denied"},
		{"disclosure account", "DELETE", holds, disc, "", 403, "permission-denied"},
		{"disclosure account", "PUT", "/v1/company/retention-settings", disc, settings, 403, "permission-denied"},
		{"disclosure account", "GET", "/v1/company/upcoming-deletions?through=2100-01-01", disc, "", 403, "permission-denied"},
		{"disclosure account", "POST", "/v1/cases/" + done.Id + "/move", disc, `{"from_user_id":"` + a.p.UserID + `","to_user_id":"` + b.p.UserID + `"}`, 403, "permission-denied"},
		{"A admin session", "PUT", "/v1/company/retention-settings", a.token, settings, 200, ""},
		{"A admin token", "PUT", "/v1/company/retention-settings", admin, settings, 200, ""},
		{"A write token", "PUT", "/v1/company/retention-settings", write, settings, 403, "permission-denied"},
		{"A colleague", "PUT", "/v1/company/retention-settings", colleague, settings, 403, "permission-denied"},
		{"A bad month", "PUT", "/v1/company/retention-settings", a.token, `{"fiscal_year_end_month":13}`, 400, "invalid"},
	}
	for _, r := range rows {
		e.wantStatus(r.who, r.method, r.path, r.token, r.body, r.status, r.typ)
	}
	// Every refusal of a principal who sees the case is audited.
	body := e.wantStatus("A audit", "GET", "/v1/cases/"+done.Id+"/audit", a.token, "", 200, "")
	if !strings.Contains(body, "case.retention.denied") {
		t.Errorf("the refusals are not audited: %s", body)
	}
	// After its period the disclosure account's session is gone.
	e.offset.Store(int64(2 * time.Hour))
	e.wantStatus("disclosure account after its period", "PUT", holds, disc, hold, 401, "unauthenticated")
	e.wantStatus("disclosure account after its period", "GET", ret, disc, "", 401, "unauthenticated")
}

// FuzzIssue12Decoders: the request decoders of the retention, hold,
// retention-settings, move, disclosure, company-creation, name-request
// and profile operations never fail with a 5xx and refuse with a
// problem document.
func FuzzIssue12Decoders(f *testing.F) {
	e := newEnv(f)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	done := e.completed(a, b, "fuzz")
	api, err := httpapi.New(httpapi.Config{Service: e.svc})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), "application/json", []byte(`{"action":"extend"}`), "")
	f.Add(uint8(1), "application/json", []byte(`{"reason":"監査"}`), "")
	f.Add(uint8(2), "application/json", []byte(`{"default_action":"delete","fiscal_year":true,"fiscal_year_end_month":12,"filing_extension_months":4}`), "")
	f.Add(uint8(3), "", []byte(nil), "reason=%E5%92%8C%E8%A7%A3")
	f.Add(uint8(4), "application/json", []byte(`{"from_user_id":"`+a.p.UserID+`","to_user_id":"x"}`), "")
	f.Add(uint8(5), "application/json", []byte(`{"to_user_id":"`+a.p.UserID+`"}`), "")
	f.Add(uint8(6), "application/json", []byte(`{"login_id":"auditor","label":"監査","until":"2026-02-01T00:00:00Z","cases":["`+done.Id+`"]}`), "")
	f.Add(uint8(7), "application/json", []byte(`{"label":"x","until":"2026-03-01T00:00:00+09:00"}`), "")
	f.Add(uint8(8), "application/json", []byte(`{"entries":["10.0.0.0/8"]}`), "")
	f.Add(uint8(9), "", []byte(nil), "after=3&limit=2")
	f.Add(uint8(10), "application/json", []byte(`{"name":"新設","admin":{"login_id":"n-a","name":"n","email":"n@example.com","language":"en"}}`), "")
	f.Add(uint8(11), "application/json", []byte(`{"name":"改名","reason":"合併"}`), "")
	f.Add(uint8(12), "application/json", []byte(`{"note":"不備"}`), "")
	f.Add(uint8(13), "", []byte(nil), "status=pending&limit=5&after=x")
	f.Add(uint8(14), "application/json", []byte(`{"name":"山田","language":"ja","email":"y@example.com"}`), "")
	f.Add(uint8(15), "application/json", []byte(`{"limit":3}`), "")
	f.Fuzz(func(t *testing.T, op uint8, ctype string, body []byte, query string) {
		reqs := []struct{ method, path string }{
			{"PUT", "/v1/cases/" + done.Id + "/retention"},
			{"PUT", "/v1/cases/" + done.Id + "/holds"},
			{"PUT", "/v1/company/retention-settings"},
			{"DELETE", "/v1/cases/" + done.Id + "/holds"},
			{"POST", "/v1/cases/" + done.Id + "/move"},
			{"POST", "/v1/users/" + a.p.UserID + "/move-cases"},
			{"POST", "/v1/disclosures"},
			{"PATCH", "/v1/disclosures/x"},
			{"PUT", "/v1/disclosures/x/allow-list"},
			{"GET", "/v1/disclosures/x/access"},
			{"POST", "/v1/companies"},
			{"POST", "/v1/company/name-requests"},
			{"POST", "/v1/name-requests/x/reject"},
			{"GET", "/v1/name-requests"},
			{"PUT", "/v1/me/profile"},
			{"PUT", "/v1/company/disclosure-limit"},
		}
		rq := reqs[int(op)%len(reqs)]
		req := httptest.NewRequest(rq.method, rq.path, bytes.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer "+a.token)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s → %d %s", rq.method, rq.path, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
			t.Fatalf("refusal %d is not a problem document: %s", rec.Code, rec.Body)
		}
	})
}

// TestUpcomingDeletionsOverHTTP: the administrator's list of the
// company's cases due for deletion, paged with the cursor the answer
// gives, leaving out a held case and the cases of other companies;
// refused to a colleague and to a non-admin token, 400 for a
// bad date.
func TestUpcomingDeletionsOverHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	ids := map[string]bool{}
	var held string
	for _, name := range []string{"一", "二", "三", "四"} {
		c := e.completed(a, b, "削除予定"+name)
		ids[c.Id] = true
		held = c.Id
	}
	if h, err := a.c.PlaceHoldWithResponse(e.ctx, held, httpapi.HoldReason{Reason: "保全"}); err != nil || h.StatusCode() != 204 {
		t.Fatalf("hold: %v %s", err, h.Body)
	}
	delete(ids, held)
	through := openapi_types.Date{Time: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	two := 2
	p1, err := a.c.UpcomingDeletionsWithResponse(e.ctx, &httpapi.UpcomingDeletionsParams{Through: through, Limit: &two})
	if err != nil || p1.JSON200 == nil || len(p1.JSON200.Retentions) != 2 || p1.JSON200.Next == nil {
		t.Fatalf("first page: %v %s", err, p1.Body)
	}
	n := p1.JSON200.Next
	p2, err := a.c.UpcomingDeletionsWithResponse(e.ctx, &httpapi.UpcomingDeletionsParams{Through: through, Limit: &two, AfterUntil: &n.AfterUntil, AfterCaseId: &n.AfterCaseId})
	if err != nil || p2.JSON200 == nil || len(p2.JSON200.Retentions) != 1 || p2.JSON200.Next != nil {
		t.Fatalf("second page: %v %s", err, p2.Body)
	}
	seen := map[string]bool{}
	for _, r := range append(p1.JSON200.Retentions, p2.JSON200.Retentions...) {
		if !ids[r.CaseId] || seen[r.CaseId] {
			t.Errorf("listed %s (held %s, want each of %v once)", r.CaseId, held, ids)
		}
		seen[r.CaseId] = true
	}
	early := openapi_types.Date{Time: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if r, _ := a.c.UpcomingDeletionsWithResponse(e.ctx, &httpapi.UpcomingDeletionsParams{Through: early}); r.JSON200 == nil || len(r.JSON200.Retentions) != 0 {
		t.Errorf("nothing is due by 2000: %s", r.Body)
	}
	if r, _ := b.c.UpcomingDeletionsWithResponse(e.ctx, &httpapi.UpcomingDeletionsParams{Through: through}); r.JSON200 == nil || len(r.JSON200.Retentions) != 0 {
		t.Errorf("the counterparty lists cases it does not own: %s", r.Body)
	}
	colleague, _ := e.member(a, "a-member")
	status, _, _, body := e.rawBody("POST", "/v1/me/tokens", a.token, "application/json", `{"name":"w","scope":"write"}`)
	if status != 201 {
		t.Fatalf("token: %d %s", status, body)
	}
	write := jsonField(t, body, "secret")
	const path = "/v1/company/upcoming-deletions?through=2100-01-01"
	e.wantStatus("A colleague", "GET", path, colleague, "", 403, "permission-denied")
	e.wantStatus("A write token", "GET", path, write, "", 403, "permission-denied")
	e.wantStatus("A bad date", "GET", "/v1/company/upcoming-deletions?through=2100-13-01", a.token, "", 400, "invalid")
	e.wantStatus("A no date", "GET", "/v1/company/upcoming-deletions", a.token, "", 400, "invalid")
	e.wantStatus("A limit too big", "GET", path+"&limit=1001", a.token, "", 400, "invalid")
}
