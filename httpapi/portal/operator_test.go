package portal_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/storage"
)

// TestOperatorAndNameChangePages: the operator creates a company with its
// first administrator (the initial password shown once, and it logs in);
// A's administrator asks for a new name; the operator rejects one request
// and approves another, and the company's name changes only then; A's
// administrator is refused the operator page, an ordinary user the
// name form.
func TestOperatorAndNameChangePages(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	_, initial, err := w.svc.Accounts.CreateOperator(w.ctx, account.NewUser{LoginID: "op-1", Profile: storage.Profile{Name: "運営 一郎"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	op := &company{Login: "op-1", Initial: initial, Password: strongPassword(), Name: account.OperatorCompanyName}
	oc, ac := w.client(), w.client()
	oc.login(op)
	ac.login(w.co["A"])

	if resp, _ := ac.get("/operator", nil); resp.StatusCode != 403 {
		t.Fatalf("an administrator on the operator page: %d", resp.StatusCode)
	}
	if resp, _ := ac.post("/operator/companies", url.Values{"company": {"不正株式会社"}, "login": {"x-admin"}}); resp.StatusCode != 403 {
		t.Fatalf("an administrator creating a company: %d", resp.StatusCode)
	}
	resp, body := oc.post("/operator/companies", url.Values{"company": {"ディー商会"}, "login": {"admin-d"}, "name": {"伊藤 四郎"}, "email": {"d@example.jp"}})
	if resp.StatusCode != 200 {
		t.Fatalf("create company: %d %s", resp.StatusCode, body)
	}
	m := regexp.MustCompile(`id="op-initial">([^<]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no initial password: %s", body)
	}
	dc := w.client()
	dc.login(&company{Login: "admin-d", Initial: m[1], Password: strongPassword()})

	if resp, body = ac.post("/company/name", url.Values{"name": {"株式会社エー商事ホールディングス"}, "reason": {"持株会社化"}}); resp.Request.URL.Path != "/company/name" || !strings.Contains(body, "審査中") {
		t.Fatalf("name request: %s %s", resp.Request.URL, body)
	}
	_, body = oc.get("/operator", nil)
	id := regexp.MustCompile(`id="reject-([^"]+)"`).FindStringSubmatch(body)
	if id == nil || !strings.Contains(body, "株式会社エー商事ホールディングス") {
		t.Fatalf("the operator does not see the request: %s", body)
	}
	if resp, _ = oc.post("/operator/name-requests/"+id[1]+"/reject", url.Values{"note": {"登記簿の写しを添付してください"}}); !strings.Contains(resp.Request.URL.RawQuery, "done=reject") {
		t.Fatalf("reject: %s", resp.Request.URL)
	}
	if co, _ := w.svc.Store.GetCompany(w.ctx, w.co["A"].P.CompanyID); co.Name != w.co["A"].Name {
		t.Fatalf("name changed by a rejected request: %s", co.Name)
	}
	ac.post("/company/name", url.Values{"name": {"株式会社エー商事ホールディングス"}, "reason": {"持株会社化(登記簿添付)"}})
	_, body = oc.get("/operator", nil)
	id = regexp.MustCompile(`id="approve-([^"]+)"`).FindStringSubmatch(body)
	if id == nil {
		t.Fatalf("no pending request: %s", body)
	}
	if resp, _ = oc.post("/operator/name-requests/"+id[1]+"/approve", nil); !strings.Contains(resp.Request.URL.RawQuery, "done=approve") {
		t.Fatalf("approve: %s", resp.Request.URL)
	}
	if co, _ := w.svc.Store.GetCompany(w.ctx, w.co["A"].P.CompanyID); co.Name != "株式会社エー商事ホールディングス" {
		t.Fatalf("name after approval: %s", co.Name)
	}
	if _, body = ac.get("/company/name", nil); !strings.Contains(body, "登記簿の写しを添付してください") || !strings.Contains(body, "承認") {
		t.Errorf("the administrator's list: %s", body)
	}
}
