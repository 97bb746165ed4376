package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/keiyaku/keiyaku/httpapi"
)

func (e *env) register(u *user, form httpapi.Form, name string, pdf []byte, parties []*user, sups map[string][]byte) *httpapi.Case {
	e.t.Helper()
	nc := httpapi.NewCase{Form: form, Name: name, TransactionDate: openapi_types.Date{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		Amount: httpapi.Money{Amount: "1100000", Currency: "JPY"}}
	for _, p := range parties {
		nc.Parties = append(nc.Parties, httpapi.NewParty{CompanyId: p.p.CompanyID, CompanyName: &p.company, UserId: p.p.UserID})
	}
	parts := []part{{}, {name: "contract", file: "契約書.pdf", ctype: "application/pdf", body: pdf}}
	var decl []struct {
		ContentType *string `json:"content_type,omitempty"`
		Name        string  `json:"name"`
	}
	for n, b := range sups {
		decl = append(decl, struct {
			ContentType *string `json:"content_type,omitempty"`
			Name        string  `json:"name"`
		}{Name: n})
		parts = append(parts, part{name: "supplement", file: n, ctype: "text/plain", body: b})
	}
	if decl != nil {
		nc.Supplements = &decl
	}
	parts[0] = jsonPart(e.t, nc)
	ct, body := multipartBody(e.t, parts...)
	res, err := u.c.RegisterCaseWithBodyWithResponse(e.ctx, nil, ct, body)
	if err != nil || res.JSON201 == nil {
		e.t.Fatalf("register: %v %d %s", err, res.StatusCode(), res.Body)
	}
	if res.HTTPResponse.Header.Get("ETag") == "" || res.HTTPResponse.Header.Get("Location") != "/v1/cases/"+res.JSON201.Id {
		e.t.Errorf("register headers: %v", res.HTTPResponse.Header)
	}
	return res.JSON201
}

func (e *env) get(u *user, id string) *httpapi.Case {
	e.t.Helper()
	res, err := u.c.GetCaseWithResponse(e.ctx, id)
	if err != nil || res.JSON200 == nil {
		e.t.Fatalf("get: %v %s", err, res.Body)
	}
	if got, want := res.HTTPResponse.Header.Get("ETag"), `"v`+itoa(res.JSON200.Version)+`"`; got != want {
		e.t.Errorf("ETag %s, want %s", got, want)
	}
	return res.JSON200
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func hasAction(c *httpapi.Case, a httpapi.Action) bool { return slices.Contains(c.Actions, a) }

// download fetches a document and checks ETag, Content-Digest and the
// disposition; it returns the bytes.
func (e *env) download(u *user, id string, f httpapi.File) []byte {
	e.t.Helper()
	res, err := u.c.DownloadDocumentWithResponse(e.ctx, id, f.Key, nil)
	if err != nil || res.StatusCode() != 200 {
		e.t.Fatalf("download: %v %d %s", err, res.StatusCode(), res.Body)
	}
	sum := sha256.Sum256(res.Body)
	if hex.EncodeToString(sum[:]) != f.Key {
		e.t.Fatal("downloaded bytes are not the document")
	}
	h := res.HTTPResponse.Header
	if h.Get("ETag") != `"`+f.Key+`"` || h.Get("Content-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" {
		e.t.Errorf("download headers: %v", h)
	}
	if !strings.Contains(h.Get("Content-Disposition"), "filename*=UTF-8''") {
		e.t.Errorf("Content-Disposition %q", h.Get("Content-Disposition"))
	}
	return res.Body
}

func (e *env) returnDoc(u *user, id string, pdf []byte) *httpapi.ReturnCaseResponse {
	e.t.Helper()
	ct, body := multipartBody(e.t, part{name: "contract", file: "signed.pdf", ctype: "application/pdf", body: pdf})
	res, err := u.c.ReturnCaseWithBodyWithResponse(e.ctx, id, &httpapi.ReturnCaseParams{IfMatch: e.ifMatch(u, id)}, ct, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func TestBilateralLifecycle(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)

	signed := e.sign(a, contract("bilateral"))
	c := e.register(a, httpapi.FormBilateral, "業務委託契約", signed, []*user{b}, map[string][]byte{"見積書.txt": []byte("estimate")})
	if c.State != httpapi.StateSent || len(c.Supplements) != 1 || c.Supplements[0].Name != "見積書.txt" {
		t.Fatalf("registered: %+v", c)
	}
	if hasAction(c, httpapi.ActionReceive) || !hasAction(c, httpapi.ActionDelete) {
		t.Errorf("registrant's actions %v", c.Actions)
	}
	cb := e.get(b, c.Id)
	if !hasAction(cb, httpapi.ActionReceive) {
		t.Fatalf("counterparty's actions %v", cb.Actions)
	}
	// Without If-Match (or with "*", which names no version) a case
	// action is 428, in the request's language, and changes nothing.
	for _, im := range []string{"", "*"} {
		hdr := map[string]string{"Accept-Language": "ja"}
		if im != "" {
			hdr["If-Match"] = im
		}
		s, p, h := e.raw("POST", "/v1/cases/"+c.Id+"/receipt", b.token, "", nil, hdr)
		if s != 428 || p == nil || p.Type != httpapi.ProblemBase+"precondition-required" || p.Detail == nil || !strings.Contains(*p.Detail, "If-Match") || h.Get("Content-Language") != "ja" {
			t.Fatalf("receipt with If-Match %q: %d %+v", im, s, p)
		}
	}
	if got := e.get(b, c.Id); got.State != httpapi.StateSent {
		t.Fatalf("a refused receipt changed the case: %s", got.State)
	}
	// A stale If-Match is refused and changes nothing.
	stale := `"v0"`
	if r, _ := b.c.ReceiveCaseWithResponse(e.ctx, c.Id, &httpapi.ReceiveCaseParams{IfMatch: stale}); r.StatusCode() != 412 {
		t.Fatalf("stale If-Match: %d %s", r.StatusCode(), r.Body)
	}
	etag := `"v` + itoa(cb.Version) + `"`
	rr, err := b.c.ReceiveCaseWithResponse(e.ctx, c.Id, &httpapi.ReceiveCaseParams{IfMatch: etag})
	if err != nil || rr.JSON200 == nil || rr.JSON200.State != httpapi.StateReceived {
		t.Fatalf("receive: %v %s", err, rr.Body)
	}
	got := e.download(b, c.Id, rr.JSON200.Document)
	if !bytes.Equal(got, signed) {
		t.Fatal("received document differs")
	}
	// Range.
	rangeRes, err := b.c.DownloadDocumentWithResponse(e.ctx, c.Id, c.Document.Key, &httpapi.DownloadDocumentParams{Range: ptr("bytes=0-9")})
	if err != nil || rangeRes.StatusCode() != 206 || !bytes.Equal(rangeRes.Body, signed[:10]) {
		t.Fatalf("range: %v %d", err, rangeRes.StatusCode())
	}
	// A tampered return is refused; the case is unchanged.
	if r := e.returnDoc(b, c.Id, e.sign(b, tamper(t, got, "changed"))); r.StatusCode() != 400 || r.ApplicationproblemJSONDefault.Type != httpapi.ProblemBase+"invalid" {
		t.Fatalf("tampered return: %d %s", r.StatusCode(), r.Body)
	}
	if now := e.get(b, c.Id); now.Version != rr.JSON200.Version || now.State != httpapi.StateReceived {
		t.Fatalf("tampered return changed the case: %+v", now)
	}
	r := e.returnDoc(b, c.Id, e.sign(b, got))
	if r.JSON200 == nil || r.JSON200.State != httpapi.StateReturned {
		t.Fatalf("return: %d %s", r.StatusCode(), r.Body)
	}
	done, err := a.c.CompleteCaseWithResponse(e.ctx, c.Id, &httpapi.CompleteCaseParams{IfMatch: e.ifMatch(a, c.Id)})
	if err != nil || done.JSON200 == nil || done.JSON200.State != httpapi.StateCompleted || len(done.JSON200.Sealed) == 0 {
		t.Fatalf("complete: %v %s", err, done.Body)
	}
	ver, err := b.c.VerifyCaseWithResponse(e.ctx, c.Id)
	if err != nil || ver.JSON200 == nil || !ver.JSON200.Original || len(ver.JSON200.Files) != 1 {
		t.Fatalf("verification: %v %s", err, ver.Body)
	}
	sigs, err := a.c.CaseSignaturesWithResponse(e.ctx, c.Id)
	if err != nil || sigs.JSON200 == nil || len(sigs.JSON200.Reports) != 1 || !sigs.JSON200.Reports[0].Passed {
		t.Fatalf("signatures: %v %s", err, sigs.Body)
	}
	// The report names both companies' signer certificates, by contents.
	signedBy := map[string]bool{}
	for _, sg := range sigs.JSON200.Reports[0].Signers {
		if !sg.Passed {
			t.Errorf("signature %s did not pass: %s %v", sg.Field, sg.Indication, sg.Reasons)
		}
		signedBy[sg.Certificate.Sha256] = true
	}
	for _, u := range []*user{a, b} {
		if !signedBy[sha(u.cert.Cert.Raw)] {
			t.Errorf("the signature report does not name %s's certificate: %s", u.key, sigs.Body)
		}
	}
	for _, f := range done.JSON200.Sealed {
		e.download(a, c.Id, f)
	}
	audit, err := a.c.CaseAuditWithResponse(e.ctx, c.Id)
	if err != nil || audit.JSON200 == nil || len(audit.JSON200.Entries) < 4 {
		t.Fatalf("audit: %v %s", err, audit.Body)
	}
	// A change relates to the completed case.
	nc := httpapi.NewCase{Form: httpapi.FormBilateral, Name: "変更契約", Category: ptr(httpapi.CategoryChange), OriginalId: &c.Id,
		TransactionDate: openapi_types.Date{Time: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}, Amount: httpapi.Money{Amount: "1", Currency: "JPY"},
		Parties: []httpapi.NewParty{{CompanyId: b.p.CompanyID, UserId: b.p.UserID}}}
	ct, body := multipartBody(t, jsonPart(t, nc), part{name: "contract", file: "change.pdf", ctype: "application/pdf", body: e.sign(a, contract("change"))})
	change, err := a.c.RegisterCaseWithBodyWithResponse(e.ctx, nil, ct, body)
	if err != nil || change.JSON201 == nil {
		t.Fatalf("register change: %v %s", err, change.Body)
	}
	rel, err := b.c.RelatedCasesWithResponse(e.ctx, c.Id)
	if err != nil || rel.JSON200 == nil || len(rel.JSON200.Cases) != 1 || rel.JSON200.Cases[0].Id != change.JSON201.Id {
		t.Fatalf("related: %v %s", err, rel.Body)
	}
	// The sealed PDF verifies statelessly too.
	sealedPDF := e.download(a, c.Id, done.JSON200.Sealed[0])
	v, err := a.c.VerifyPDFWithBodyWithResponse(e.ctx, nil, "application/pdf", bytes.NewReader(sealedPDF))
	if err != nil || v.JSON200 == nil || !v.JSON200.Original {
		t.Fatalf("verify: %v %s", err, v.Body)
	}
	// Search and CSV.
	completed := []httpapi.State{httpapi.StateCompleted}
	sr, err := a.c.SearchCasesWithResponse(e.ctx, &httpapi.SearchCasesParams{State: &completed, Counterparty: ptr("Bee")})
	if err != nil || sr.JSON200 == nil || len(sr.JSON200.Cases) != 1 || sr.JSON200.Cases[0].Id != c.Id {
		t.Fatalf("search: %v %s", err, sr.Body)
	}
	csvRes, err := a.c.SearchCases(e.ctx, nil, func(_ ctx_, r *http.Request) error { r.Header.Set("Accept", "text/csv"); return nil })
	if err != nil {
		t.Fatal(err)
	}
	csvBody, _ := io.ReadAll(csvRes.Body)
	csvRes.Body.Close()
	// UTF-8 with a byte order mark, so that Excel reads it as UTF-8.
	if csvRes.StatusCode != 200 || !strings.HasPrefix(string(csvBody), "\ufeffid,form,state") || !strings.Contains(string(csvBody), c.Id) {
		t.Fatalf("csv: %d %s", csvRes.StatusCode, csvBody)
	}
	// After completion (issue 12): B keeps a private note and hides the
	// case from its own lists, with the generated client.
	cm, err := b.c.SetCommentWithResponse(e.ctx, c.Id, httpapi.SetCommentJSONRequestBody{Text: "更新は来年3月"})
	if err != nil || cm.JSON200 == nil || cm.JSON200.Text != "更新は来年3月" {
		t.Fatalf("set comment: %v %s", err, cm.Body)
	}
	if got, err := b.c.GetCommentWithResponse(e.ctx, c.Id); err != nil || got.JSON200 == nil || got.JSON200.Text != "更新は来年3月" {
		t.Fatalf("get comment: %v %s", err, got.Body)
	}
	if h, err := b.c.HideCaseWithResponse(e.ctx, c.Id); err != nil || h.StatusCode() != 204 {
		t.Fatalf("hide: %v %s", err, h.Body)
	}
	only := httpapi.SearchCasesParamsHiddenOnly
	if sr, err := b.c.SearchCasesWithResponse(e.ctx, &httpapi.SearchCasesParams{Hidden: &only}); err != nil || sr.JSON200 == nil || len(sr.JSON200.Cases) != 1 || sr.JSON200.Cases[0].Id != c.Id {
		t.Fatalf("search hidden=only: %v %s", err, sr.Body)
	}
	if sr, err := b.c.SearchCasesWithResponse(e.ctx, &httpapi.SearchCasesParams{State: &completed}); err != nil || sr.JSON200 == nil || len(sr.JSON200.Cases) != 0 {
		t.Fatalf("B's default search still lists the hidden case: %v %s", err, sr.Body)
	}
	if sr, err := a.c.SearchCasesWithResponse(e.ctx, &httpapi.SearchCasesParams{State: &completed}); err != nil || sr.JSON200 == nil || len(sr.JSON200.Cases) != 1 {
		t.Fatalf("A's search lost the case B hid: %v %s", err, sr.Body)
	}
}

func TestSendBackAndResend(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	c := e.register(a, httpapi.FormBilateral, "NDA", e.sign(a, contract("nda")), []*user{b}, nil)
	sb, err := b.c.SendBackCaseWithResponse(e.ctx, c.Id, &httpapi.SendBackCaseParams{IfMatch: e.ifMatch(b, c.Id)}, httpapi.SendBack{Reason: "金額が違います"})
	if err != nil || sb.JSON200 == nil || sb.JSON200.State != httpapi.StateSentBack {
		t.Fatalf("send back: %v %s", err, sb.Body)
	}
	if !hasAction(e.get(a, c.Id), httpapi.ActionResend) {
		t.Fatal("resend not offered after a send-back")
	}
	ct, body := multipartBody(t)
	rs, err := a.c.ResendCaseWithBodyWithResponse(e.ctx, c.Id, &httpapi.ResendCaseParams{IfMatch: e.ifMatch(a, c.Id)}, ct, body)
	if err != nil || rs.JSON200 == nil || rs.JSON200.State != httpapi.StateSent {
		t.Fatalf("resend: %v %s", err, rs.Body)
	}
	del, err := a.c.DeleteCaseWithResponse(e.ctx, c.Id, &httpapi.DeleteCaseParams{IfMatch: e.ifMatch(a, c.Id)})
	if err != nil || del.JSON200 == nil || del.JSON200.State != httpapi.StateDeleted {
		t.Fatalf("delete: %v %s", err, del.Body)
	}
}

func TestThreePartyAndSendOnly(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	c3 := e.newUser("C", "シー工業株式会社", e.pki.ECDSAP384)

	c := e.register(a, httpapi.FormMultiParty, "三者契約", e.sign(a, contract("three")), []*user{b, c3}, nil)
	for _, u := range []*user{b, c3} {
		rr, err := u.c.ReceiveCaseWithResponse(e.ctx, c.Id, &httpapi.ReceiveCaseParams{IfMatch: e.ifMatch(u, c.Id)})
		if err != nil || rr.JSON200 == nil {
			t.Fatalf("receive by %s: %v %s", u.key, err, rr.Body)
		}
		doc := e.download(u, c.Id, rr.JSON200.Document)
		if r := e.returnDoc(u, c.Id, e.sign(u, doc)); r.JSON200 == nil {
			t.Fatalf("return by %s: %d %s", u.key, r.StatusCode(), r.Body)
		}
	}
	done, err := a.c.CompleteCaseWithResponse(e.ctx, c.Id, &httpapi.CompleteCaseParams{IfMatch: e.ifMatch(a, c.Id)})
	if err != nil || done.JSON200 == nil || done.JSON200.State != httpapi.StateCompleted {
		t.Fatalf("complete: %v %s", err, done.Body)
	}
	if v, _ := c3.c.VerifyCaseWithResponse(e.ctx, c.Id); v.JSON200 == nil || !v.JSON200.Original {
		t.Fatalf("verification: %s", v.Body)
	}

	// Send-only: an unsigned PDF; the acknowledgement completes it.
	so := e.register(a, httpapi.FormSendOnly, "送付のみ", contract("notice"), []*user{b}, nil)
	for _, step := range []struct {
		u  *user
		do func() (int, []byte)
	}{
		{b, func() (int, []byte) {
			r, _ := b.c.ReceiveCaseWithResponse(e.ctx, so.Id, &httpapi.ReceiveCaseParams{IfMatch: e.ifMatch(b, so.Id)})
			return r.StatusCode(), r.Body
		}},
		{b, func() (int, []byte) {
			r, _ := b.c.AcknowledgeCaseWithResponse(e.ctx, so.Id, &httpapi.AcknowledgeCaseParams{IfMatch: e.ifMatch(b, so.Id)})
			return r.StatusCode(), r.Body
		}},
	} {
		if code, body := step.do(); code != 200 {
			t.Fatalf("send-only step by %s: %d %s", step.u.key, code, body)
		}
	}
	if got := e.get(a, so.Id); got.State != httpapi.StateCompleted {
		t.Fatalf("send-only after acknowledgement: %s", got.State)
	}
	if v, _ := b.c.VerifyCaseWithResponse(e.ctx, so.Id); v.JSON200 == nil {
		t.Fatalf("send-only verification: %s", v.Body)
	}
}

func ptr[T any](v T) *T { return &v }

// TestCookieSession: a browser login sets an HttpOnly, Secure,
// SameSite=Strict cookie that authenticates same-origin requests; logout
// clears it and ends the session.
func TestCookieSession(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	res, err := e.client("").LoginWithResponse(e.ctx, nil, httpapi.LoginRequest{LoginId: a.loginID, Password: a.password, Cookie: ptr(true)})
	if err != nil || res.JSON201 == nil {
		t.Fatalf("login: %v %s", err, res.Body)
	}
	cookies := res.HTTPResponse.Cookies()
	if len(cookies) != 1 || cookies[0].Name != httpapi.SessionCookie || !cookies[0].HttpOnly || !cookies[0].Secure || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie: %+v", cookies)
	}
	send := func(method, path string) int {
		req, _ := http.NewRequest(method, e.srv.URL+path, nil)
		req.AddCookie(cookies[0])
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := (&http.Client{Transport: validating{t, e.router}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := send("GET", "/v1/cases"); got != 200 {
		t.Fatalf("cookie GET: %d", got)
	}
	if got := send("DELETE", "/v1/sessions/current"); got != 204 {
		t.Fatalf("logout: %d", got)
	}
	if got := send("GET", "/v1/cases"); got != 401 {
		t.Fatalf("after logout: %d", got)
	}
}
