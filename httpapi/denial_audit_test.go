package httpapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// deniedEntries returns every account.ActionDenied entry of the log.
func deniedEntries(t *testing.T, ctx context.Context, s storage.Store) []storage.AuditEntry {
	t.Helper()
	var out []storage.AuditEntry
	var after int64
	for {
		page, err := s.ListAudit(ctx, after, "", 1000)
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

// TestScopeRefusalIsAudited: a token refused for its scope leaves one
// audit entry naming its user, company, operation, reason and address,
// and never the token; an allowed request leaves none.
func TestScopeRefusalIsAudited(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	done := e.completed(a, b, "完了案件")
	status, _, _, body := e.rawBody("POST", "/v1/me/tokens", a.token, "application/json", `{"name":"ro","scope":"read"}`)
	if status != 201 {
		t.Fatalf("token: %d %s", status, body)
	}
	read := jsonField(t, body, "secret")
	if n := len(deniedEntries(t, e.ctx, e.svc.Store)); n != 0 {
		t.Fatalf("%d denial entries before any refusal", n)
	}
	e.wantStatus("read token GET", "GET", "/v1/cases/"+done.Id, read, "", 200, "")
	e.wantStatus("read token PUT", "PUT", "/v1/cases/"+done.Id+"/hidden", read, "", 403, "permission-denied")
	got := deniedEntries(t, e.ctx, e.svc.Store)
	if len(got) != 1 {
		t.Fatalf("%d denial entries after one refusal, want 1: %+v", len(got), got)
	}
	d := got[0]
	if d.ActorUserID != a.p.UserID || d.ActorCompanyID != a.p.CompanyID || d.RemoteAddr == "" {
		t.Errorf("denial entry %+v: want user %s of %s and an address", d, a.p.UserID, a.p.CompanyID)
	}
	if !strings.Contains(d.Detail, "PUT") || !strings.Contains(d.Detail, "scope read does not include write") {
		t.Errorf("denial detail %q: want the operation and the reason", d.Detail)
	}
	if strings.Contains(d.Detail, read) || strings.Contains(d.Detail, read[len(read)/2:]) {
		t.Errorf("denial detail %q holds the token", d.Detail)
	}
	e.wantStatus("read token admin", "GET", "/v1/me/tokens", read, "", 403, "permission-denied")
	if n := len(deniedEntries(t, e.ctx, e.svc.Store)); n != 2 {
		t.Errorf("%d denial entries after two refusals, want 2", n)
	}
	// No entry without an authenticated actor.
	if err := e.svc.Accounts.AuditDenial(e.ctx, account.Principal{}, "GET /x", "y"); !errors.Is(err, kerr.Invalid) {
		t.Errorf("AuditDenial without a principal: %v, want kerr.Invalid", err)
	}
}
