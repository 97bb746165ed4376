package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/httpapi"
)

// completed runs a bilateral case from a to b to completion over HTTP.
func (e *env) completed(a, b *user, name string) *httpapi.Case {
	e.t.Helper()
	c := e.register(a, httpapi.FormBilateral, name, e.sign(a, contract(name)), []*user{b}, nil)
	rr, err := b.c.ReceiveCaseWithResponse(e.ctx, c.Id, &httpapi.ReceiveCaseParams{IfMatch: e.ifMatch(b, c.Id)})
	if err != nil || rr.JSON200 == nil {
		e.t.Fatalf("receive: %v %s", err, rr.Body)
	}
	if r := e.returnDoc(b, c.Id, e.sign(b, e.download(b, c.Id, rr.JSON200.Document))); r.JSON200 == nil {
		e.t.Fatalf("return: %d %s", r.StatusCode(), r.Body)
	}
	done, err := a.c.CompleteCaseWithResponse(e.ctx, c.Id, &httpapi.CompleteCaseParams{IfMatch: e.ifMatch(a, c.Id)})
	if err != nil || done.JSON200 == nil || done.JSON200.State != httpapi.StateCompleted {
		e.t.Fatalf("complete: %v %s", err, done.Body)
	}
	return done.JSON200
}

func (e *env) bulk(token, accept, body string) (int, string, string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/bulk-verifications", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := (&http.Client{Transport: validating{e.t, e.router}}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestBulkVerification runs POST /v1/bulk-verifications on a completed
// case in JSON, CSV and PDF, within and outside the period, for another
// company and with a read token, and refuses a period over the limit.
func TestBulkVerification(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	c := e.newUser("C", "シー工業株式会社", e.pki.ECDSAP384)
	cs := e.completed(a, b, "一括検証")

	period := `{"completed_from":"2025-12-01","completed_to":"2026-03-31"}`
	res, err := a.c.BulkVerifyWithResponse(e.ctx, nil, httpapi.BulkVerifyJSONRequestBody{})
	if err != nil || res.JSON200 == nil {
		t.Fatalf("bulk, unbounded: %v %s", err, res.Body)
	}
	rep := res.JSON200
	if rep.Summary.Cases != 1 || rep.Summary.Objects != len(rep.Rows) || len(rep.Rows) < 3 || rep.Summary.Passed != len(rep.Rows) || rep.Summary.Failed != 0 {
		t.Fatalf("bulk report: %s", res.Body)
	}
	kinds := map[string]bool{}
	for _, r := range rep.Rows {
		if r.CaseId != cs.Id || r.Result != "PASSED" {
			t.Errorf("row %+v", r)
		}
		kinds[string(r.Kind)] = true
	}
	if !kinds["signature"] || !kinds["sealed-pdf"] {
		t.Errorf("the rows cover %v, want the signatures and the sealed PDF", kinds)
	}
	// Within the period; before it; B sees it too, C sees nothing.
	for _, tc := range []struct {
		who   *user
		body  string
		cases int
	}{{a, period, 1}, {a, `{"completed_from":"2026-02-01"}`, 0}, {b, period, 1}, {c, period, 0}} {
		status, ctype, body := e.bulk(tc.who.token, "", tc.body)
		var got httpapi.BulkReport
		if status != 200 || !strings.HasPrefix(ctype, "application/json") || json.Unmarshal([]byte(body), &got) != nil || got.Summary.Cases != tc.cases {
			t.Errorf("%s %s: %d %s %s, want %d cases", tc.who.key, tc.body, status, ctype, body, tc.cases)
		}
	}
	status, ctype, body := e.bulk(a.token, "text/csv", period)
	if status != 200 || !strings.HasPrefix(ctype, "text/csv") || !strings.HasPrefix(body, "case_id,") || !strings.Contains(body, cs.Id) || !strings.Contains(body, "PASSED") {
		t.Errorf("csv: %d %s %s", status, ctype, body)
	}
	status, ctype, body = e.bulk(a.token, "application/pdf", period)
	if status != 200 || ctype != "application/pdf" || !strings.HasPrefix(body, "%PDF-") || !strings.Contains(body, "%%EOF") {
		t.Errorf("pdf: %d %s %.40q", status, ctype, body)
	}
	// Bad input.
	e.wantStatus("A", "POST", "/v1/bulk-verifications", a.token, `{"completed_from":"2026-03-01","completed_to":"2026-02-01"}`, 400, "invalid")
	e.wantStatus("A", "POST", "/v1/bulk-verifications", a.token, `{"completed_from":"yesterday"}`, 400, "invalid")
	e.wantStatus("A", "POST", "/v1/bulk-verifications", a.token, `{"all":true}`, 400, "invalid")
	e.wantStatus("anonymous", "POST", "/v1/bulk-verifications", "", period, 401, "unauthenticated")
	// A read token may: the run changes nothing.
	_, _, _, tok := e.rawBody("POST", "/v1/me/tokens", a.token, "application/json", `{"name":"r","scope":"read"}`)
	e.wantStatus("read token", "POST", "/v1/bulk-verifications", jsonField(t, tok, "secret"), period, 200, "")

	// Over the limit: a server that verifies one case per request.
	e.completed(a, b, "二件目")
	small, err := httpapi.New(httpapi.Config{Service: e.svc, MaxBulkCases: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/v1/bulk-verifications", bytes.NewReader([]byte(period)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	small.ServeHTTP(rec, req)
	var p httpapi.Problem
	if rec.Code != 400 || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Type != httpapi.ProblemBase+"invalid" || p.Errors == nil || (*p.Errors)[0].Pointer != "/completed_from" {
		t.Errorf("over the limit: %d %s", rec.Code, rec.Body)
	}
	if status, _, body := e.bulk(a.token, "", period); status != 200 || !strings.Contains(body, `"cases":2`) {
		t.Errorf("two cases under the default limit: %d %s", status, body)
	}
}
