package portal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/storage"
)

// TestAdminOnlyRefusalIsAudited: each refusal of the company pages to an
// ordinary user leaves one audit entry naming the user, the page, the
// reason and the address; the administrator's visit leaves none.
func TestAdminOnlyRefusalIsAudited(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	a := w.co["A"]
	denied := func() []storage.AuditEntry {
		t.Helper()
		var out []storage.AuditEntry
		var after int64
		for {
			page, err := w.svc.Store.ListAudit(w.ctx, after, "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				return out
			}
			for _, e := range page {
				if e.Action == account.ActionDenied {
					out = append(out, e)
				}
			}
			after = page[len(page)-1].Seq
		}
	}
	admin := w.client()
	admin.login(a)
	if resp, _ := admin.get("/company", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("company page for the administrator: %d", resp.StatusCode)
	}
	if n := len(denied()); n != 0 {
		t.Fatalf("%d denial entries after the administrator's visit", n)
	}
	u, initial, err := w.svc.Accounts.CreateUser(w.ctx, a.P, account.NewUser{LoginID: "clerk-a", Profile: storage.Profile{Name: "田中 一郎"}})
	if err != nil {
		t.Fatal(err)
	}
	clerk := &company{Name: a.Name, Person: "田中 一郎", Login: "clerk-a", Initial: initial, Password: strongPassword(),
		P: account.Principal{UserID: u.ID, CompanyID: u.CompanyID}}
	c := w.client()
	c.login(clerk)
	if resp, _ := c.get("/company", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("company page for an ordinary user: %d", resp.StatusCode)
	}
	got := denied()
	if len(got) != 1 {
		t.Fatalf("%d denial entries after one refusal, want 1: %+v", len(got), got)
	}
	d := got[0]
	if d.ActorUserID != u.ID || d.ActorCompanyID != u.CompanyID || d.RemoteAddr == "" || !strings.Contains(d.Detail, "GET /company") {
		t.Errorf("denial entry %+v: want the clerk, the page and an address", d)
	}
	if strings.Contains(d.Detail, clerk.Password) {
		t.Errorf("denial detail %q holds the password", d.Detail)
	}
	if resp, _ := c.get("/company", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("company page again: %d", resp.StatusCode)
	}
	if n := len(denied()); n != 2 {
		t.Errorf("%d denial entries after two refusals, want 2", n)
	}
}
