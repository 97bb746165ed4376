package portal_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keiyaku/keiyaku/httpapi/portal"
)

// TestBrowserAdministration: in a real browser, A's administrator adds a
// user on the users page, restricts the user's addresses to a network
// that is not the browser's (127.0.0.1), and the user is refused with
// the clear page at every request and at login, in English and in
// Japanese; the administrator adds the address and the user gets back
// in. Every new page passes axe-core; screenshots in ja and en.
func TestBrowserAdministration(t *testing.T) {
	axe := axeSource(t)
	root := startBrowser(t)
	w := newWorld(t, portal.Brand{})
	a := w.co["A"]
	ta, tu := w.tab(t, root, "A", axe), w.tab(t, root, "user", axe)
	ta.firstLogin(a, "admin-ja")

	// The users page: the administrator alone is listed; add a user.
	ta.do(chromedp.Click(chromedp.CSS("#nav-users")), chromedp.WaitVisible(chromedp.CSS("#users")))
	ta.check("users-ja")
	ta.do(
		chromedp.SendKeys(chromedp.CSS("#new-login"), "tanaka"),
		chromedp.SendKeys(chromedp.CSS("#new-name"), "田中 一郎"),
		chromedp.SendKeys(chromedp.CSS("#new-department"), "経理部"),
		chromedp.Click(chromedp.CSS("#create-user")),
		chromedp.WaitVisible(chromedp.CSS("#initial-password")),
	)
	ta.check("user-created-ja")
	initial := strings.TrimSpace(ta.text("#initial-password"))
	if len(initial) < 12 {
		t.Fatalf("initial password %q", initial)
	}
	u := &company{Name: a.Name, Person: "田中 一郎", Login: "tanaka", Initial: initial, Password: strongPassword()}

	// The user works in English.
	tu.go_("/login")
	tu.do(chromedp.Click(chromedp.CSS(`button[name=lang][value=en]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=en] #login`)))
	tu.firstLogin(u, "user-en")
	if got := tu.text("nav"); strings.Contains(got, "Users") || strings.Contains(got, "Certificates") {
		t.Errorf("an ordinary user's menu shows the administrator's links: %s", got)
	}

	// The administrator restricts the user to 192.0.2.0/24.
	ta.go_("/company/users")
	ta.do(chromedp.WaitVisible(chromedp.CSS("#user-tanaka")))
	if got := ta.text("#user-tanaka"); !strings.Contains(got, "利用中") || !strings.Contains(got, "制限なし") {
		t.Errorf("the list does not show the user active and unrestricted: %s", got)
	}
	ta.do(chromedp.Click(chromedp.CSS("#user-tanaka a")), chromedp.WaitVisible(chromedp.CSS("#allow")))
	ta.check("user-ja")
	ta.do(
		chromedp.SendKeys(chromedp.CSS("#allow"), "192.0.2.0/24"),
		chromedp.Click(chromedp.CSS("#save-allow")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	ta.check("user-allow-ja")
	uid := ""
	if us, err := w.svc.Accounts.ListUsers(w.ctx, a.P); err == nil {
		for _, x := range us {
			if x.LoginID == "tanaka" {
				uid = x.ID
				if len(x.AllowList) != 1 || x.AllowList[0].String() != "192.0.2.0/24" {
					t.Fatalf("stored allow-list %v", x.AllowList)
				}
			}
		}
	}

	// The user's next request is refused with the clear page, in English,
	// and in Japanese after the switch on the page itself.
	tu.go_("/cases")
	tu.do(chromedp.WaitVisible(chromedp.CSS("#address-refused")))
	tu.check("address-refused-en")
	if got := tu.text("main"); !strings.Contains(got, "Not available from this network") || !strings.Contains(got, "127.0.0.1") || !strings.Contains(got, "administrator") {
		t.Errorf("the refusal page in English: %s", got)
	}
	tu.do(chromedp.Click(chromedp.CSS(`button[name=lang][value=ja]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=ja] #address-refused`)))
	tu.check("address-refused-ja")
	if got := tu.text("main"); !strings.Contains(got, "IPアドレス制限") || !strings.Contains(got, "127.0.0.1") {
		t.Errorf("the refusal page in Japanese: %s", got)
	}
	// A fresh login with the right password is refused the same way.
	tu.go_("/login")
	tu.do(
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), u.Login),
		chromedp.SendKeys(chromedp.CSS("#password"), u.Password),
		chromedp.Click(chromedp.CSS("form.card button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#address-refused")),
	)

	// The administrator changes the list to hold the browser's address:
	// the user gets back in with the same session.
	// (A fresh page: the one after the first save shows a notice already.)
	ta.go_("/company/users/" + uid)
	ta.do(
		chromedp.WaitVisible(chromedp.CSS("#allow")),
		chromedp.SetValue(chromedp.CSS("#allow"), "192.0.2.0/24\n127.0.0.1"),
		chromedp.Click(chromedp.CSS("#save-allow")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if ui, err := w.svc.Accounts.ViewUser(w.ctx, a.P, uid); err != nil || len(ui.AllowList) != 2 {
		t.Fatalf("allow-list after the change: %+v %v", ui, err)
	}
	tu.go_("/cases")
	tu.do(chromedp.WaitVisible(chromedp.CSS("#nav-label, nav")))
	if got := tu.text("main"); strings.Contains(got, "IPアドレス制限") {
		t.Errorf("the user is still refused: %s", got)
	}

	// The other actions on the user's page: lock (failed logins), unlock,
	// disable, enable, reset the password.
	for range 12 {
		_, _ = w.svc.Accounts.Login(w.ctx, "tanaka", "wrong password", "127.0.0.1")
	}
	ta.go_("/company/users")
	ta.do(chromedp.WaitVisible(chromedp.CSS("#user-tanaka")))
	if got := ta.text("#user-tanaka"); !strings.Contains(got, "ロック中") {
		t.Errorf("the list does not show the lock: %s", got)
	}
	ta.do(chromedp.Click(chromedp.CSS("#user-tanaka a")), chromedp.WaitVisible(chromedp.CSS("#unlock")))
	ta.check("user-locked-ja")
	ta.do(chromedp.Click(chromedp.CSS("#unlock")), chromedp.WaitNotPresent(chromedp.CSS("#unlock")), chromedp.WaitVisible(chromedp.CSS("#disable")))
	if ui, _ := w.svc.Accounts.ViewUser(w.ctx, a.P, uid); ui.Blocked() {
		t.Error("still locked after unlock")
	}
	ta.do(chromedp.Click(chromedp.CSS("#disable")), chromedp.WaitVisible(chromedp.CSS("#enable")))
	tu.go_("/cases")
	tu.do(chromedp.WaitVisible(chromedp.CSS("#login")))
	ta.do(chromedp.Click(chromedp.CSS("#enable")), chromedp.WaitVisible(chromedp.CSS("#disable")))
	ta.do(chromedp.Click(chromedp.CSS("#reset")), chromedp.WaitVisible(chromedp.CSS("#initial-password")))
	if got := strings.TrimSpace(ta.text("#initial-password")); got == initial || len(got) < 12 {
		t.Errorf("reset password %q", got)
	}
	// The administrator's pages in English.
	ta.do(chromedp.Click(chromedp.CSS(`button[name=lang][value=en]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=en] #allow`)))
	ta.check("user-en")
	ta.go_("/company/users")
	ta.do(chromedp.WaitVisible(chromedp.CSS("#users")))
	ta.check("users-en")
	if got := ta.text("#users"); !strings.Contains(got, "192.0.2.0/24") || !strings.Contains(got, "Initial password not yet changed") {
		t.Errorf("the English list: %s", got)
	}
}

// TestBrowserHideAndComment: on a completed case, A hides it from the
// completed list, finds it with the hidden filter, shows it again from
// the case page and keeps a private note there; B, the counterparty,
// sees the case and never A's note.
func TestBrowserHideAndComment(t *testing.T) {
	axe := axeSource(t)
	root := startBrowser(t)
	w := newWorld(t, portal.Brand{})
	a, b := w.co["A"], w.co["B"]
	ta, tb := w.tab(t, root, "A", axe), w.tab(t, root, "B", axe)
	ta.firstLogin(a, "hide-ja")
	done := w.completedCase("保守契約 2026", 550000)
	tb.go_("/login")
	tb.do(chromedp.Click(chromedp.CSS(`button[name=lang][value=en]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=en] #login`)))
	tb.do(
		chromedp.SendKeys(chromedp.CSS("#login"), b.Login),
		chromedp.SendKeys(chromedp.CSS("#password"), b.Password),
		chromedp.Click(chromedp.CSS("form.card button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("nav")),
	)

	ta.go_("/completed")
	ta.do(chromedp.WaitVisible(chromedp.CSS("button.hide")))
	ta.check("completed-hide-ja")
	ta.do(chromedp.Click(chromedp.CSS("button.hide")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := ta.text("main"); strings.Contains(got, "保守契約 2026") {
		t.Errorf("the hidden case is still listed: %s", got)
	}
	if hidden, err := w.svc.Cases.IsHidden(w.ctx, a.P, done.ID); err != nil || !hidden {
		t.Fatalf("not hidden: %v", err)
	}
	ta.do(
		chromedp.SetValue(chromedp.CSS("#hidden"), "only"),
		chromedp.Click(chromedp.CSS("#search")),
		chromedp.WaitVisible(chromedp.CSS("button.unhide")),
	)
	ta.check("completed-hidden-only-ja")
	tb.go_("/completed")
	tb.do(chromedp.WaitVisible(chromedp.CSS("table")))
	if got := tb.text("table"); !strings.Contains(got, "保守契約 2026") {
		t.Errorf("the counterparty lost the case A hid: %s", got)
	}
	tb.check("completed-hide-en")

	// The case page: the private note, then show the case again.
	ta.go_("/cases/" + done.ID)
	ta.do(chromedp.WaitVisible(chromedp.CSS("#comment")))
	ta.do(
		chromedp.SendKeys(chromedp.CSS("#comment"), "更新は来年3月に交渉。担当: 山田"),
		chromedp.Click(chromedp.CSS("#save-comment")),
		chromedp.WaitVisible(chromedp.CSS("#delete-comment")),
	)
	ta.check("case-comment-ja")
	if cm, err := w.svc.Cases.Comment(w.ctx, a.P, done.ID); err != nil || cm == nil || cm.Text != "更新は来年3月に交渉。担当: 山田" {
		t.Fatalf("stored comment: %+v %v", cm, err)
	}
	ta.do(chromedp.Click(chromedp.CSS("#unhide")), chromedp.WaitVisible(chromedp.CSS("#hide")))
	if hidden, _ := w.svc.Cases.IsHidden(w.ctx, a.P, done.ID); hidden {
		t.Error("still hidden after unhide")
	}
	tb.go_("/cases/" + done.ID)
	tb.do(chromedp.WaitVisible(chromedp.CSS("#comment")))
	tb.check("case-comment-en")
	if got := tb.text("main"); strings.Contains(got, "更新は来年3月") {
		t.Errorf("B sees A's note: %s", got)
	}
}
