package portal_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// TestDisclosurePages: an owner creates a disclosure account in the
// portal (its initial password shown once), gives it one of two
// completed cases; the disclosure login changes its password, sees
// exactly that case read-only, downloads its contract, is sent back to
// its list from every other page, and no action of its takes effect; the
// owner sees its access in the log, revokes it, and it is refused.
func TestDisclosurePages(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	given := w.completedCase("開示する契約", 1100000)
	other := w.completedCase("開示しない契約", 2200000)
	owner := w.client()
	owner.login(w.co["A"])

	until := testpki.Now.AddDate(0, 0, 10).Format(time.DateOnly)
	resp, body := owner.post("/disclosures", url.Values{"label": {"監査法人"}, "login": {"auditor-1"}, "until": {until}})
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	initial := match(t, body, `id="created-password">([^<]+)<`)
	id := match(t, body, `href="/disclosures/([^"]+)" id="created-link"`)
	if _, again := owner.get("/disclosures", nil); strings.Contains(again, initial) {
		t.Fatal("the initial password is shown again on the list")
	}
	if resp, body = owner.post("/disclosures/"+id+"/cases", url.Values{"case": {given.ID}}); resp.StatusCode != 200 || !strings.Contains(resp.Request.URL.RawQuery, "done=cases") {
		t.Fatalf("set cases: %d %s %s", resp.StatusCode, resp.Request.URL, body)
	}
	// A bad period is refused in words, not a panic.
	if resp, _ = owner.post("/disclosures/"+id+"/period", url.Values{"until": {"someday"}}); resp.StatusCode != 422 {
		t.Fatalf("bad period: %d", resp.StatusCode)
	}

	aud := w.client()
	resp, body = aud.post("/login", url.Values{"login": {"auditor-1"}, "password": {initial}})
	if resp.Request.URL.Path != "/password" {
		t.Fatalf("first login ended at %s: %s", resp.Request.URL, body)
	}
	pw := strongPassword()
	resp, body = aud.post("/password", url.Values{"current": {initial}, "new": {pw}, "confirm": {pw}})
	if resp.Request.URL.Path != "/shared" {
		t.Fatalf("after the password change: %s %d %s", resp.Request.URL, resp.StatusCode, body)
	}
	if n := strings.Count(body, `class="shared-case"`); n != 1 || !strings.Contains(body, given.Name) || strings.Contains(body, other.Name) {
		t.Fatalf("the disclosure list shows %d cases: %s", n, body)
	}
	if strings.Contains(body, `action="/cases`) || strings.Contains(body, "/completed") {
		t.Fatalf("the disclosure list offers user pages: %s", body)
	}
	resp, body = aud.get("/shared/"+given.ID, nil)
	if resp.StatusCode != 200 || strings.Contains(body, "<form method=\"post\" action=\"/cases") {
		t.Fatalf("shared case: %d %s", resp.StatusCode, body)
	}
	file := match(t, body, `href="(/cases/[^"]+/files/[^"]+)" class="shared-file"`)
	if resp, body = aud.get(file, nil); resp.StatusCode != 200 || !strings.HasPrefix(body, "%PDF") {
		t.Fatalf("download: %d %q", resp.StatusCode, body[:min(len(body), 40)])
	}
	if resp, _ = aud.get("/shared/"+other.ID, nil); resp.StatusCode != 404 && resp.StatusCode != 403 {
		t.Fatalf("a case not given: %d", resp.StatusCode)
	}
	if resp, _ = aud.get("/cases/"+other.ID+"/files/x", nil); resp.StatusCode != 404 && resp.StatusCode != 403 {
		t.Fatalf("a file of a case not given: %d", resp.StatusCode)
	}
	for _, p := range []string{"/cases", "/completed", "/cases/" + given.ID, "/disclosures", "/profile", "/company"} {
		if resp, _ = aud.get(p, nil); resp.Request.URL.Path != "/shared" {
			t.Errorf("GET %s as a disclosure ended at %s", p, resp.Request.URL)
		}
	}
	if resp, _ = aud.post("/cases/"+given.ID+"/comment", url.Values{"comment": {"x"}}); resp.Request.URL.Path != "/shared" {
		t.Errorf("a comment as a disclosure ended at %s", resp.Request.URL)
	}

	_, body = owner.get("/disclosures/"+id, nil)
	if !strings.Contains(body, "<td class=\"num\" data-label=\"#\">") {
		t.Fatalf("the access log is empty: %s", body)
	}
	if resp, _ = owner.post("/disclosures/"+id+"/revoke", nil); !strings.Contains(resp.Request.URL.RawQuery, "done=revoke") {
		t.Fatalf("revoke ended at %s", resp.Request.URL)
	}
	if resp, _ = aud.get("/shared", nil); resp.Request.URL.Path != "/login" {
		t.Fatalf("after revocation the disclosure reached %s", resp.Request.URL)
	}
	if resp, body = aud.post("/login", url.Values{"login": {"auditor-1"}, "password": {pw}}); resp.StatusCode != 401 || resp.Request.URL.Path != "/login" {
		t.Fatalf("login after revocation: %d %s", resp.StatusCode, resp.Request.URL)
	}
}

func match(t *testing.T, body, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in %s", re, body)
	}
	return m[1]
}
