package httpapi_test

import (
	"encoding/json"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/keiyaku/keiyaku/httpapi"
)

// TestRemindersOverHTTP: the administrator sets the reminder interval;
// a case registered with a reply-by date shows it; only the registrant
// changes or clears it.
func TestRemindersOverHTTP(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	clerk, _ := e.member(a, "clerk-r")
	e.wantStatus("colleague", "PUT", "/v1/company/reminder-days", clerk, `{"reminder_days":3}`, 403, "permission-denied")
	e.wantStatus("A", "PUT", "/v1/company/reminder-days", a.token, `{"reminder_days":400}`, 400, "invalid")
	co := e.wantStatus("A", "PUT", "/v1/company/reminder-days", a.token, `{"reminder_days":3}`, 200, "")
	var company httpapi.Company
	if json.Unmarshal([]byte(co), &company) != nil || company.ReminderDays == nil || *company.ReminderDays != 3 {
		t.Errorf("company after setting 3 days: %s", co)
	}

	reply := openapi_types.Date{Time: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	nc := httpapi.NewCase{Form: httpapi.FormBilateral, Name: "回答期限つき", TransactionDate: openapi_types.Date{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		Amount: httpapi.Money{Amount: "1", Currency: "JPY"}, ReplyBy: &reply,
		Parties: []httpapi.NewParty{{CompanyId: b.p.CompanyID, UserId: b.p.UserID}}}
	ct, body := multipartBody(t, jsonPart(t, nc), part{name: "contract", file: "c.pdf", ctype: "application/pdf", body: e.sign(a, contract("reply by"))})
	status, _, _, resp := e.rawBody("POST", "/v1/cases", a.token, ct, body.String())
	var c httpapi.Case
	if status != 201 || json.Unmarshal([]byte(resp), &c) != nil || c.ReplyBy == nil || c.ReplyBy.String() != "2026-02-01" {
		t.Fatalf("register with reply_by: %d %s", status, resp)
	}
	path := "/v1/cases/" + c.Id + "/reply-by"
	e.wantStatus("B", "PUT", path, b.token, `{"reply_by":"2026-03-01"}`, 403, "permission-denied")
	e.wantStatus("A", "PUT", path, a.token, `{"reply_by":"March"}`, 400, "invalid")
	got := e.wantStatus("A", "PUT", path, a.token, `{"reply_by":"2026-03-01"}`, 200, "")
	if json.Unmarshal([]byte(got), &c) != nil || c.ReplyBy == nil || c.ReplyBy.String() != "2026-03-01" {
		t.Errorf("after PUT: %s", got)
	}
	got = e.wantStatus("A", "DELETE", path, a.token, "", 200, "")
	c = httpapi.Case{}
	if json.Unmarshal([]byte(got), &c) != nil || c.ReplyBy != nil {
		t.Errorf("after DELETE: %s", got)
	}
}
