package portal_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// TestBrowserDisclosure: in a real browser, A's administrator creates a
// disclosure account for an auditor (the initial password shown once)
// and gives it one of two completed cases; the auditor logs in, must
// change the password, sees exactly that case, downloads its contract and
// opens the original verification; after the period ends (the service's
// clock moves past it) the session ends and the login is refused like any
// failure. Every new page passes axe-core; screenshots in ja and en.
func TestBrowserDisclosure(t *testing.T) {
	axe := axeSource(t)
	root := startBrowser(t)
	w := newWorld(t, portal.Brand{})
	a := w.co["A"]
	ta, td := w.tab(t, root, "A", axe), w.tab(t, root, "auditor", axe)
	ta.firstLogin(a, "disc-ja")
	given := w.completedCase("監査対象の契約", 1100000)
	other := w.completedCase("開示しない契約", 330000)

	ta.do(chromedp.Click(chromedp.CSS("#nav-disclosures")), chromedp.WaitVisible(chromedp.CSS("#d-create")))
	ta.check("disclosures-ja")
	ta.do(
		chromedp.SendKeys(chromedp.CSS("#d-label"), "さくら監査法人"),
		chromedp.SendKeys(chromedp.CSS("#d-login"), "sakura-audit"),
		chromedp.SetValue(chromedp.CSS("#d-until"), testpki.Now.AddDate(0, 0, 7).Format(time.DateOnly)),
		chromedp.Click(chromedp.CSS("#d-create")),
		chromedp.WaitVisible(chromedp.CSS("#created-password")),
	)
	ta.check("disclosure-created-ja")
	initial := strings.TrimSpace(ta.text("#created-password"))
	if len(initial) < 12 {
		t.Fatalf("initial password %q", initial)
	}
	ta.do(chromedp.Click(chromedp.CSS("#created-link")), chromedp.WaitVisible(chromedp.CSS("#d-save-cases")))
	ta.do(
		chromedp.Click(chromedp.CSS("#c-"+given.ID)),
		chromedp.Click(chromedp.CSS("#d-save-cases")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	ta.check("disclosure-ja")

	// The auditor, in English: forced password change, then the list.
	td.go_("/login")
	td.do(chromedp.Click(chromedp.CSS(`button[name=lang][value=en]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=en] #login`)))
	pw := strongPassword()
	td.do(
		chromedp.SendKeys(chromedp.CSS("#login"), "sakura-audit"),
		chromedp.SendKeys(chromedp.CSS("#password"), initial),
		chromedp.Click(chromedp.CSS("form.card button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.SendKeys(chromedp.CSS("#current"), initial),
		chromedp.SendKeys(chromedp.CSS("#new"), pw),
		chromedp.SendKeys(chromedp.CSS("#confirm"), pw),
		chromedp.Click(chromedp.CSS("form.card button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("a.shared-case")),
	)
	td.check("shared-en")
	if got := td.text("main"); !strings.Contains(got, given.Name) || strings.Contains(got, other.Name) {
		t.Fatalf("the auditor's list: %s", got)
	}
	if got := td.text("header"); strings.Contains(got, "Completed") || strings.Contains(got, "Register") {
		t.Errorf("the auditor's menu offers user pages: %s", got)
	}
	td.do(chromedp.Click(chromedp.CSS("a.shared-case")), chromedp.WaitVisible(chromedp.CSS("#shared-verify")))
	td.check("shared-case-en")
	if got := td.text("main"); strings.Contains(got, "Hide") || strings.Contains(got, "note") {
		t.Errorf("the auditor's case page offers actions: %s", got)
	}
	pdf := td.download("a.shared-file")
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("downloaded %d bytes, not a PDF", len(pdf))
	}
	td.do(chromedp.Click(chromedp.CSS("#shared-verify")), chromedp.WaitVisible(chromedp.CSS("main h1")))
	td.check("shared-verification-en")
	td.do(chromedp.Click(chromedp.CSS(`button[name=lang][value=ja]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=ja] main h1`)))
	td.go_("/shared")
	td.do(chromedp.WaitVisible(chromedp.CSS("a.shared-case")))
	td.check("shared-ja")

	// The owner sees the access in the log, in English.
	list, err := w.svc.Accounts.ListDisclosures(w.ctx, a.P)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListDisclosures: %d %v", len(list), err)
	}
	ta.go_("/disclosures/" + list[0].ID)
	ta.do(chromedp.Click(chromedp.CSS(`button[name=lang][value=en]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=en] #d-revoke`)))
	ta.check("disclosure-en")
	if got := ta.text("table"); strings.Contains(got, "No access yet") {
		t.Errorf("the access log is empty after the auditor's visit: %s", got)
	}

	// The administrator's upcoming deletions (the retention pages share
	// this test's browser): both cases are due by 2045.
	ta.go_("/company/deletions?through=2045-01-01")
	ta.do(chromedp.WaitVisible(chromedp.CSS("#deletions")))
	ta.check("deletions-en")
	if got := ta.text("#deletions"); !strings.Contains(got, given.Name) || !strings.Contains(got, other.Name) {
		t.Errorf("upcoming deletions: %s", got)
	}

	// After the period: the session ends and the login is refused.
	w.advance(8 * 24 * time.Hour)
	td.go_("/shared")
	td.do(chromedp.WaitVisible(chromedp.CSS("#login")))
	td.do(
		chromedp.SendKeys(chromedp.CSS("#login"), "sakura-audit"),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("form.card button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".error, [role=alert]")),
	)
	td.check("shared-expired-ja")
	if got := td.text("main"); !strings.Contains(got, "ログイン") {
		t.Errorf("the refused login page: %s", got)
	}
}

// TestBrowserOperator: the operator creates a company and approves A's
// name request in a real browser; both pages and A's request form pass
// axe-core; screenshots in ja and en.
func TestBrowserOperator(t *testing.T) {
	axe := axeSource(t)
	root := startBrowser(t)
	w := newWorld(t, portal.Brand{})
	_, initial, err := w.svc.Accounts.CreateOperator(w.ctx, account.NewUser{LoginID: "op-1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	op := &company{Login: "op-1", Initial: initial, Password: strongPassword(), Name: account.OperatorCompanyName}
	a := w.co["A"]
	ta, to := w.tab(t, root, "A", axe), w.tab(t, root, "operator", axe)
	ta.firstLogin(a, "name-ja")
	ta.do(chromedp.Click(chromedp.CSS("#nav-name")), chromedp.WaitVisible(chromedp.CSS("#nc-send")))
	ta.do(
		chromedp.SendKeys(chromedp.CSS("#nc-name"), "株式会社エーHD"),
		chromedp.SendKeys(chromedp.CSS("#nc-reason"), "持株会社化"),
		chromedp.Click(chromedp.CSS("#nc-send")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	ta.check("namechange-ja")
	to.firstLogin(op, "operator-ja")
	to.do(chromedp.Click(chromedp.CSS("#nav-operator")), chromedp.WaitVisible(chromedp.CSS("#op-create")))
	to.check("operator-ja")
	to.do(
		chromedp.SendKeys(chromedp.CSS("#op-company"), "ディー商会"),
		chromedp.SendKeys(chromedp.CSS("#op-login"), "admin-d"),
		chromedp.Click(chromedp.CSS("#op-create")),
		chromedp.WaitVisible(chromedp.CSS("#op-initial")),
	)
	to.do(chromedp.Click(chromedp.CSS(`button[name=lang][value=en]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=en] #op-create`)))
	to.check("operator-en")
	to.do(chromedp.Click(chromedp.CSS(`button[id^=approve-]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if co, _ := w.svc.Store.GetCompany(w.ctx, a.P.CompanyID); co.Name != "株式会社エーHD" {
		t.Fatalf("name after approval: %s", co.Name)
	}
	ta.do(chromedp.Click(chromedp.CSS(`button[name=lang][value=en]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=en] #nc-send`)))
	ta.check("namechange-en")
}
