package portal_test

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/kerr"
)

var initialRE = regexp.MustCompile(`id="initial-password">([^<]+)<`)

// TestUsersPages: the administrator's users pages without a browser:
// create a user (the initial password shown once and working), see its
// state in the list, disable and enable it, reset its password, end its
// sessions, and restrict it to another network: the user is then refused
// with the clear page at login and on every page, in both languages,
// until the administrator changes the list.
func TestUsersPages(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	a := w.co["A"]
	admin := w.client()
	admin.login(a)

	resp, page := admin.get("/company/users", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="nav-users"`) || !strings.Contains(page, "admin-a") {
		t.Fatalf("users page: %d %s", resp.StatusCode, page)
	}
	resp, page = admin.post("/company/users", url.Values{"login": {"tanaka"}, "name": {"田中 一郎"}, "department": {"経理部"}, "language": {"ja"}})
	m := initialRE.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("create: %d %s", resp.StatusCode, page)
	}
	initial := m[1]
	uid := strings.TrimPrefix(regexp.MustCompile(`/company/users/([0-9a-f]+)/reset-password`).FindString(page), "/company/users/")
	uid = strings.TrimSuffix(uid, "/reset-password")
	if uid == "" {
		t.Fatalf("no actions on the new user's page: %s", page)
	}
	// Shown once: the user's page does not show it again.
	if _, page := admin.get("/company/users/"+uid, nil); strings.Contains(page, initial) {
		t.Error("the initial password is shown again")
	}
	// A taken login ID comes back as the form with the reason, as typed.
	if resp, page := admin.post("/company/users", url.Values{"login": {"tanaka"}, "name": {"別人"}}); resp.StatusCode != http.StatusConflict || !strings.Contains(page, `value="別人"`) {
		t.Errorf("taken login ID: %d", resp.StatusCode)
	}
	if _, page := admin.get("/company/users", nil); !strings.Contains(page, "田中 一郎") || !strings.Contains(page, "初期パスワードのまま") {
		t.Errorf("the list does not show the new user and its state: %s", page)
	}

	tanaka := &company{Name: a.Name, Person: "田中 一郎", Login: "tanaka", Initial: initial, Password: strongPassword(),
		P: account.Principal{UserID: uid, CompanyID: a.P.CompanyID}}
	user := w.client()
	user.login(tanaka)
	if _, page := user.get("/cases", nil); strings.Contains(page, `id="nav-users"`) || strings.Contains(page, `id="nav-company"`) {
		t.Error("an ordinary user sees the administrator's links")
	}
	for _, path := range []string{"/company/users", "/company/users/" + uid, "/company/users/" + a.P.UserID} {
		if resp, _ := user.get(path, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s for an ordinary user: %d", path, resp.StatusCode)
		}
	}
	for _, act := range []string{"disable", "enable", "unlock", "end-sessions", "reset-password", "allow-list"} {
		if resp, _ := user.post("/company/users/"+a.P.UserID+"/"+act, url.Values{"allow": {"192.0.2.0/24"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s by an ordinary user: %d", act, resp.StatusCode)
		}
	}
	if _, page := admin.get("/company/users", nil); !strings.Contains(page, "利用中") {
		t.Errorf("the list does not show the user as active after its login: %s", page)
	}
	// Another company's administrator sees nothing of it.
	other := w.client()
	other.login(w.co["B"])
	if resp, _ := other.get("/company/users/"+uid, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("B's administrator on A's user: %d", resp.StatusCode)
	}
	if resp, _ := other.post("/company/users/"+uid+"/disable", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("B's administrator disables A's user: %d", resp.StatusCode)
	}

	// Disable: the user's session ends; enable again.
	if resp, page := admin.post("/company/users/"+uid+"/disable", nil); resp.StatusCode != 200 || !strings.Contains(page, "無効") || !strings.Contains(page, `id="enable"`) {
		t.Errorf("disable: %d", resp.StatusCode)
	}
	if resp, _ := user.get("/cases", nil); resp.Request.URL.Path != "/login" {
		t.Errorf("a disabled user's session still works: at %s", resp.Request.URL)
	}
	if resp, _ := admin.post("/company/users/"+uid+"/enable", nil); resp.StatusCode != 200 || resp.Request.URL.Query().Get("done") != "enable" {
		t.Errorf("enable: %d", resp.StatusCode)
	}
	user.login(tanaka)
	// End the sessions.
	if resp, _ := admin.post("/company/users/"+uid+"/end-sessions", nil); resp.StatusCode != 200 {
		t.Errorf("end sessions: %d", resp.StatusCode)
	}
	if resp, _ := user.get("/cases", nil); resp.Request.URL.Path != "/login" {
		t.Errorf("the session survived: at %s", resp.Request.URL)
	}
	// An administrator cannot disable or reset itself here.
	if resp, _ := admin.post("/company/users/"+a.P.UserID+"/reset-password", nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("self reset: %d", resp.StatusCode)
	}
	// Reset: a new initial password, shown once, that works.
	resp, page = admin.post("/company/users/"+uid+"/reset-password", nil)
	if m = initialRE.FindStringSubmatch(page); resp.StatusCode != 200 || m == nil || m[1] == initial {
		t.Fatalf("reset: %d", resp.StatusCode)
	}
	tanaka.Initial, tanaka.Password = m[1], strongPassword()
	user.login(tanaka)

	// The IP allow-list: a network that is not the test's 127.0.0.1.
	if resp, page := admin.post("/company/users/"+uid+"/allow-list", url.Values{"allow": {"192.0.2.0/24\n\n2001:db8::/32"}}); resp.StatusCode != 200 || !strings.Contains(page, "192.0.2.0/24") {
		t.Fatalf("allow-list: %d", resp.StatusCode)
	}
	if ui, err := w.svc.Accounts.ViewUser(w.ctx, a.P, uid); err != nil || len(ui.AllowList) != 2 {
		t.Fatalf("stored allow-list: %+v %v", ui, err)
	}
	// A malformed entry comes back with the reason and the text as typed.
	if resp, page := admin.post("/company/users/"+uid+"/allow-list", url.Values{"allow": {"192.0.2.0/24\nnot-an-address"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "not-an-address") {
		t.Errorf("bad allow-list: %d", resp.StatusCode)
	}
	// Every page refuses the user with the clear page, in its language.
	for _, path := range []string{"/cases", "/completed", "/profile"} {
		resp, page := user.get(path, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, `id="address-refused"`) || !strings.Contains(page, "127.0.0.1") || !strings.Contains(page, "IPアドレス制限") {
			t.Errorf("%s from a refused address: %d %s", path, resp.StatusCode, page)
		}
	}
	resp, page = user.get("/cases", map[string]string{"Accept-Language": "en"})
	if !strings.Contains(page, "Not available from this network") {
		t.Errorf("the English refusal: %d %s", resp.StatusCode, page)
	}
	// A new login is refused too, after the right password only.
	fresh := w.client()
	resp, page = fresh.post("/login", url.Values{"login": {"tanaka"}, "password": {tanaka.Password}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, `id="address-refused"`) {
		t.Errorf("login from a refused address: %d %s", resp.StatusCode, page)
	}
	resp, page = fresh.post("/login", url.Values{"login": {"tanaka"}, "password": {"wrong password"}})
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(page, `id="address-refused"`) {
		t.Errorf("a wrong password from a refused address: %d", resp.StatusCode)
	}
	// The administrator may not lock itself out.
	if resp, _ := admin.post("/company/users/"+a.P.UserID+"/allow-list", url.Values{"allow": {"192.0.2.0/24"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("an administrator locking itself out: %d", resp.StatusCode)
	}
	// The administrator adds the address: the same session works again.
	if resp, _ := admin.post("/company/users/"+uid+"/allow-list", url.Values{"allow": {"192.0.2.0/24\n127.0.0.1"}}); resp.StatusCode != 200 {
		t.Fatalf("allow-list: %d", resp.StatusCode)
	}
	if resp, _ := user.get("/cases", nil); resp.StatusCode != 200 {
		t.Errorf("allowed again: %d", resp.StatusCode)
	}
	if resp, _ := admin.post("/company/users/"+uid+"/allow-list", url.Values{"allow": {""}}); resp.StatusCode != 200 {
		t.Errorf("clear the allow-list: %d", resp.StatusCode)
	}
	if ui, _ := w.svc.Accounts.ViewUser(w.ctx, a.P, uid); len(ui.AllowList) != 0 {
		t.Errorf("the list was not cleared: %v", ui.AllowList)
	}
}

// TestHideAndCommentPages: hide and unhide from the completed list and
// the case page, the hidden filter, and the private comment box; the
// counterparty's view is unchanged and never shows A's note.
func TestHideAndCommentPages(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	done := w.completedCase("保守契約 2026", 550000)
	a := w.client()
	a.login(w.co["A"])
	b := w.client()
	b.login(w.co["B"])

	if _, page := a.get("/completed", nil); !strings.Contains(page, "保守契約 2026") || !strings.Contains(page, "/cases/"+done.ID+"/hide") {
		t.Fatalf("completed list lacks the case or its hide button: %s", page)
	}
	resp, page := a.post("/cases/"+done.ID+"/hide", url.Values{"next": {"/completed?name=%E4%BF%9D%E5%AE%88"}})
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/completed" || resp.Request.URL.Query().Get("name") != "保守" || strings.Contains(page, "/cases/"+done.ID+"/hide") {
		t.Errorf("hide from the list: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	if !strings.Contains(page, "案件を非表示にしました") {
		t.Errorf("no notice after hiding")
	}
	if _, page := a.get("/completed?hidden=only", nil); !strings.Contains(page, "保守契約 2026") || !strings.Contains(page, "/cases/"+done.ID+"/unhide") {
		t.Errorf("hidden=only: %s", page)
	}
	if _, page := a.get("/completed?hidden=include", nil); !strings.Contains(page, "/cases/"+done.ID+"/unhide") {
		t.Errorf("hidden=include does not mark the hidden case")
	}
	if resp, _ := a.get("/completed?hidden=everything", nil); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("unknown hidden filter: %d", resp.StatusCode)
	}
	if _, page := a.get("/completed.csv", nil); strings.Contains(page, "保守契約 2026") {
		t.Errorf("the CSV holds the hidden case")
	}
	if _, page := b.get("/completed", nil); !strings.Contains(page, "保守契約 2026") {
		t.Errorf("the counterparty lost the case A hid")
	}
	// Unhide from the case page.
	if _, page := a.get("/cases/"+done.ID, nil); !strings.Contains(page, `id="unhide"`) {
		t.Errorf("the case page does not offer to unhide")
	}
	if resp, _ := a.post("/cases/"+done.ID+"/unhide", nil); resp.Request.URL.Path != "/cases/"+done.ID {
		t.Errorf("unhide: at %s", resp.Request.URL)
	}
	if hidden, _ := w.svc.Cases.IsHidden(w.ctx, w.co["A"].P, done.ID); hidden {
		t.Errorf("still hidden")
	}

	// The private comment.
	resp, page = a.post("/cases/"+done.ID+"/comment", url.Values{"comment": {"更新は来年3月に交渉"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "更新は来年3月に交渉") || !strings.Contains(page, "メモを保存しました") {
		t.Errorf("save comment: %d", resp.StatusCode)
	}
	if cm, err := w.svc.Cases.Comment(w.ctx, w.co["A"].P, done.ID); err != nil || cm == nil || cm.Text != "更新は来年3月に交渉" {
		t.Errorf("stored comment: %+v %v", cm, err)
	}
	if _, page := b.get("/cases/"+done.ID, nil); strings.Contains(page, "更新は来年3月に交渉") || !strings.Contains(page, `id="comment"`) {
		t.Errorf("B sees A's note, or has no box of its own")
	}
	// A refused comment comes back as typed with the reason.
	resp, page = a.post("/cases/"+done.ID+"/comment", url.Values{"comment": {"bad\x07bell"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "bad\x07bell") && !strings.Contains(page, "bad&#x7;bell") && !strings.Contains(page, "bad\u0007bell") {
		t.Errorf("refused comment: %d", resp.StatusCode)
	}
	if resp, _ := a.post("/cases/"+done.ID+"/comment", url.Values{"comment": {"x"}, "delete": {"1"}}); resp.StatusCode != 200 {
		t.Errorf("delete comment: %d", resp.StatusCode)
	}
	if cm, _ := w.svc.Cases.Comment(w.ctx, w.co["A"].P, done.ID); cm != nil {
		t.Errorf("the comment was not deleted")
	}
	// A case of another company: not found, nothing hidden.
	c := w.client()
	c.login(w.co["C"])
	if resp, _ := c.post("/cases/"+done.ID+"/hide", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("C hides A's case: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/cases/"+done.ID+"/comment", url.Values{"comment": {"x"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("C comments A's case: %d", resp.StatusCode)
	}
}

// FuzzParseAllowListText: any box is entries or kerr.Invalid, never a
// panic, and no entry holds a separator.
func FuzzParseAllowListText(f *testing.F) {
	f.Add("192.0.2.0/24\n2001:db8::1")
	f.Add(" , \r\n")
	f.Add(strings.Repeat("1", portal.MaxAllowListText+1))
	f.Fuzz(func(t *testing.T, s string) {
		es, err := portal.ParseAllowListText(s)
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("kind %v", kerr.Of(err))
			}
			return
		}
		for _, e := range es {
			if e == "" || strings.ContainsAny(e, "\r\n, \t") {
				t.Fatalf("entry %q", e)
			}
		}
		if _, err := account.ParseAllowList(es); err != nil && !errors.Is(err, kerr.Invalid) {
			t.Fatalf("ParseAllowList: kind %v", kerr.Of(err))
		}
	})
}

// FuzzParseHidden: a mode or kerr.Invalid.
func FuzzParseHidden(f *testing.F) {
	for _, s := range []string{"", "exclude", "only", "include", "ONLY"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := portal.ParseHidden(s)
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("kind %v", kerr.Of(err))
			}
			return
		}
		if m != casework.HiddenExclude && m != casework.HiddenOnly && m != casework.HiddenInclude {
			t.Fatalf("mode %v", m)
		}
	})
}
