package portal_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// TestSendBackToParty: the registrant sends a returned case back; it goes
// to the counterparty that returned it (sent-back-to-party), whose page
// says so and offers to download it again; the counterparty returns it
// again and the registrant completes.
func TestSendBackToParty(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	a, b := w.co["A"], w.co["B"]
	ca, cb := w.client(), w.client()
	ca.login(a)
	cb.login(b)
	c, err := w.svc.Cases.Register(w.ctx, a.P, &casework.NewCase{Form: casework.FormBilateral, Name: "差し戻しの行き先",
		TransactionDate: civil.DateOf(testpki.Now), Amount: casework.Money{Currency: "JPY"},
		Parties:  []casework.Party{{CompanyID: b.P.CompanyID, CompanyName: b.Name, UserID: b.P.UserID}},
		Document: casework.Upload{Name: "契約書.pdf", Body: bytes.NewReader(w.sign(a, contract("send back")))}})
	if err != nil {
		t.Fatal(err)
	}
	returnIt := func() {
		t.Helper()
		resp, got := cb.post("/cases/"+c.ID+"/receive", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("receive: %d", resp.StatusCode)
		}
		ct, body := multipartBody(t, nil, "signed.pdf", w.sign(b, []byte(got)))
		if resp, _ := cb.do(http.MethodPost, "/cases/"+c.ID+"/return", body, ct, nil); resp.StatusCode != 200 {
			t.Fatalf("return: %d", resp.StatusCode)
		}
	}
	returnIt()
	if resp, _ := ca.post("/cases/"+c.ID+"/send-back", url.Values{"reason": {"押印欄を確認してください"}}); resp.StatusCode != 200 {
		t.Fatalf("send back: %d", resp.StatusCode)
	}
	if got, _ := w.svc.Cases.Get(w.ctx, a.P, c.ID); got.State != casework.StateSentBackToParty {
		t.Fatalf("state after the registrant's send-back: %v", got.State)
	}
	if _, page := ca.get("/cases/"+c.ID, nil); !strings.Contains(page, "state-sent-back-to-party") || !strings.Contains(page, b.Name+" の対応待ち") {
		t.Error("the registrant's page does not show the case sent back to B and waiting for B")
	}
	if _, page := cb.get("/cases/"+c.ID, map[string]string{"Accept-Language": "en"}); !strings.Contains(page, "Sent back to the counterparty") || !strings.Contains(page, `id="receive"`) {
		t.Error("B's page does not show the send-back or offer to download it again")
	}
	returnIt()
	if resp, page := ca.post("/cases/"+c.ID+"/complete", nil); resp.StatusCode != 200 || !strings.Contains(page, "state-completed") {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
}
