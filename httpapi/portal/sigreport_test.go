package portal_test

import (
	"bytes"
	"html"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// TestCaseSignatureReport: the case page shows the service's signature
// report (casework.CheckSignatures): every signer certificate's subject,
// issuer, serial, organization and validity, the company whose upload
// carried it, and whether the contract can be sealed, in both languages.
func TestCaseSignatureReport(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	a, b := w.co["A"], w.co["B"]
	pa := w.apiLogin(a)
	c, err := w.svc.Cases.Register(w.ctx, pa, &casework.NewCase{Form: casework.FormBilateral, Name: "署名の報告",
		TransactionDate: civil.DateOf(testpki.Now), Amount: casework.Money{Currency: "JPY"},
		Parties:  []casework.Party{{CompanyID: b.P.CompanyID, CompanyName: b.Name, UserID: b.P.UserID}},
		Document: casework.Upload{Name: "契約書.pdf", Body: bytes.NewReader(w.sign(a, contract("report")))}})
	if err != nil {
		t.Fatal(err)
	}
	reps, err := w.svc.Cases.CheckSignatures(w.ctx, pa, c.ID)
	if err != nil || len(reps) != 1 || len(reps[0].Signers) != 1 {
		t.Fatalf("CheckSignatures: %v", err)
	}
	want := reps[0].Signers[0].Certificate
	cert := a.Cert.Cert
	for _, tc := range []struct {
		co              *company
		lang, ok, valid string
	}{
		{a, "ja", "封印できます", "有効"},
		{b, "en", "can be sealed", "Valid"},
	} {
		cl := w.client()
		cl.login(tc.co)
		resp, page := cl.get("/cases/"+c.ID, map[string]string{"Accept-Language": tc.lang})
		page = html.UnescapeString(page)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: case page %d", tc.lang, resp.StatusCode)
		}
		for what, s := range map[string]string{
			"subject": want.Subject, "issuer": want.Issuer, "serial": want.Serial, "organization": cert.Subject.Organization[0],
			"company": a.Name, "sealable": tc.ok, "verdict": tc.valid, "validity": cert.NotAfter.In(time.FixedZone("JST", 9*3600)).Format("15:04"),
		} {
			if !strings.Contains(page, s) {
				t.Errorf("%s: the case page lacks the %s %q", tc.lang, what, s)
			}
		}
		if !strings.Contains(page, `class="seal ok" id="sealable"`) {
			t.Errorf("%s: the contract is not shown as sealable", tc.lang)
		}
	}
}
