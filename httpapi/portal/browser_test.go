package portal_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/internal/testenv"
)

// chromiumPath is KEIYAKU_CHROMIUM, or chromium on PATH (Debian package
// chromium); the test skips without it (fails under CI).
func chromiumPath(t *testing.T) string {
	if p := os.Getenv("KEIYAKU_CHROMIUM"); p != "" {
		return p
	}
	return testenv.Command(t, "chromium", "chromium")
}

// axeSource is axe-core's axe.min.js, from the file KEIYAKU_AXE names
// (.ci/run installs axe-core@4.14.1 from npm outside the repository).
func axeSource(t *testing.T) string {
	p := testenv.Env(t, "KEIYAKU_AXE", "the path of axe.min.js of the npm package axe-core@4.14.1")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("KEIYAKU_AXE: %v", err)
	}
	return string(b)
}

// startBrowser starts a headless chromium with a fresh profile and
// returns a context for it (no tab is used from it directly).
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// tab is one person's browser: its own browser context (cookies), a
// download directory, and the axe source to check each page with.
type tab struct {
	t     *testing.T
	w     *world
	name  string
	ctx   context.Context
	dl    string
	axe   string
	shots string
}

func (w *world) tab(t *testing.T, root context.Context, name, axe string) *tab {
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &tab{t: t, w: w, name: name, ctx: ctx, dl: t.TempDir(), axe: axe, shots: os.Getenv("KEIYAKU_SCREENSHOTS")}
	// The first Run on a context opens its tab for the context's life:
	// it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	c := chromedp.FromContext(ctx)
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: c.BrowserContextID,
		DownloadPath: tb.dl, EventsEnabled: ptr(true),
	})
	if err != nil {
		t.Fatalf("SetDownloadBehavior: %v", err)
	}
	// Every person's browser asks for Japanese first, as in Japan; the
	// English speaker switches with the portal's language button.
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"}}); err != nil {
		t.Fatalf("SetExtraHTTPHeaders: %v", err)
	}
	return tb
}

func ptr[T any](v T) *T { return &v }

// do runs the steps with a time limit.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		ctx2, cancel2 := context.WithTimeout(tb.ctx, 5*time.Second)
		defer cancel2()
		loc, _ := chromedp.Run(ctx2, chromedp.Location())
		body, _ := chromedp.Run(ctx2, chromedp.Text(chromedp.CSS("main")))
		tb.t.Fatalf("%s at %s: %v\npage: %s", tb.name, loc, err, body)
	}
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("%s: text of %s: %v", tb.name, sel, err)
	}
	return s
}

func (tb *tab) go_(path string) { tb.do(chromedp.Navigate(tb.w.srv.URL + path)) }

// check runs axe-core on the page (no serious or critical violation
// allowed) and writes screenshots in a narrow and a wide window when
// KEIYAKU_SCREENSHOTS is set.
func (tb *tab) check(shot string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](tb.axe+";true")); err != nil {
		tb.t.Fatalf("injecting axe: %v", err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ['violations']}).then(r =>
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
		 .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', ')))`,
		func(p *runtime.EvaluateParams) { p.AwaitPromise = ptr(true) }))
	if err != nil {
		tb.t.Fatalf("axe.run: %v", err)
	}
	for _, v := range violations {
		tb.t.Errorf("%s %s: accessibility: %s", tb.name, shot, v)
	}
	if tb.shots == "" {
		return
	}
	if err := os.MkdirAll(tb.shots, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"narrow", 390, 844}, {"wide", 1280, 900}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.w, vp.h)); err != nil {
			tb.t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			tb.t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(tb.shots, shot+"-"+vp.name+".png"), png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		tb.t.Fatal(err)
	}
}

// download clicks sel, which answers with an attachment, and returns the
// bytes the browser saved.
func (tb *tab) download(sel string) []byte {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	// Download events come on the browser's session, not the tab's.
	done := make(chan *browser.EventDownloadProgress, 1)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	if err := chromedp.ListenBrowser(lctx, func(ev any) {
		if p, ok := ev.(*browser.EventDownloadProgress); ok && (p.State == browser.DownloadProgressStateCompleted || p.State == browser.DownloadProgressStateCanceled) {
			select {
			case done <- p:
			default:
			}
		}
	}); err != nil {
		tb.t.Fatal(err)
	}
	tb.do(chromedp.Click(chromedp.CSS(sel)))
	select {
	case ev := <-done:
		if ev.State != browser.DownloadProgressStateCompleted {
			tb.t.Fatalf("%s: download by %s cancelled", tb.name, sel)
		}
		b, err := os.ReadFile(filepath.Join(tb.dl, ev.GUID))
		if err != nil {
			tb.t.Fatal(err)
		}
		return b
	case <-ctx.Done():
	}
	tb.t.Fatalf("%s: no download by %s", tb.name, sel)
	return nil
}

// file writes b to a temporary file for an upload and returns its path.
func (tb *tab) file(name string, b []byte) string {
	dir := tb.t.TempDir()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	return p
}

// findParty searches the register page's directory for text and chooses
// co's administrator as counterparty slot: the search is a form round
// trip, so it waits for the answer offering co.
func (tb *tab) findParty(slot int, text string, co *company) {
	tb.t.Helper()
	tb.do(
		chromedp.SetValue(chromedp.CSS("#q"), text),
		chromedp.Click(chromedp.CSS("#find")),
		chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`#party%d option[value="%s"]`, slot, co.party()))),
		chromedp.WaitVisible(chromedp.CSS("#found")),
		chromedp.SetValue(chromedp.CSS(fmt.Sprintf("#party%d", slot)), co.party()),
	)
}

// firstLogin logs in with the initial password, is sent to the forced
// password change, and changes it.
func (tb *tab) firstLogin(co *company, lang string) {
	tb.t.Helper()
	tb.go_("/login")
	tb.do(chromedp.WaitVisible(chromedp.CSS("#login")))
	tb.check("login-" + lang)
	tb.do(
		chromedp.SendKeys(chromedp.CSS("#login"), co.Login),
		chromedp.SendKeys(chromedp.CSS("#password"), co.Initial),
		chromedp.Click(chromedp.CSS("form.card button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
	)
	tb.check("password-" + lang)
	tb.do(
		chromedp.SendKeys(chromedp.CSS("#current"), co.Initial),
		chromedp.SendKeys(chromedp.CSS("#new"), co.Password),
		chromedp.SendKeys(chromedp.CSS("#confirm"), co.Password),
		chromedp.Click(chromedp.CSS("form.card button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("dl.props")),
	)
	tb.check("profile-" + lang)
	if got := tb.text("main"); !strings.Contains(got, co.Name) || !strings.Contains(got, co.Login) {
		tb.t.Fatalf("%s: profile does not show the company and login: %s", tb.name, got)
	}
}

var caseURLRE = regexp.MustCompile(`/cases/([0-9a-f]+)`)

// TestBrowserBilateral: two companies in two browser contexts carry a 1:1
// contract from registration to original verification, with a send-back,
// a resend and a refused tampered return; every page passes axe-core.
func TestBrowserBilateral(t *testing.T) {
	axe := axeSource(t)
	root := startBrowser(t)
	w := newWorld(t, portal.Brand{})
	a, b := w.co["A"], w.co["B"]
	ta, tbB := w.tab(t, root, "A", axe), w.tab(t, root, "B", axe)

	ta.firstLogin(a, "ja")
	// B works in English: the switch on the login page.
	tbB.go_("/login")
	tbB.do(chromedp.Click(chromedp.CSS(`button[name=lang][value=en]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=en] #login`)))
	tbB.firstLogin(b, "en")

	// B's administrator, in English, replaces its signing certificate on
	// the company page: remove, then upload the PEM file.
	tbB.do(chromedp.Click(chromedp.CSS("#nav-company")), chromedp.WaitVisible(chromedp.CSS("#certs")))
	tbB.check("company-en")
	tbB.do(chromedp.Click(chromedp.CSS("#certs table button.danger")), chromedp.WaitVisible(chromedp.CSS("#no-certs")))
	tbB.check("company-nocert-en")
	tbB.do(
		chromedp.SetUploadFiles(chromedp.CSS("#certificate"), []string{tbB.file("signer.pem", pemOf(b.Cert.Cert.Raw))}),
		chromedp.Click(chromedp.CSS("#add-cert")),
		// (the page before showed a notice too: wait for the list)
		chromedp.WaitVisible(chromedp.CSS("#certs table")),
	)
	if got, err := w.svc.Accounts.SignerCertificates(w.ctx, b.P); err != nil || len(got) != 1 || got[0].CertSHA256 == "" {
		t.Fatalf("B's certificates after the upload: %+v (%v)", got, err)
	}

	// A registers the case: the contract signed by A, one supplementary file.
	signedA := w.sign(a, contract("Service agreement 2026"))
	ta.go_("/cases/new")
	ta.do(chromedp.WaitVisible(chromedp.CSS("#register")))
	ta.check("register-ja")
	ta.do(
		chromedp.SendKeys(chromedp.CSS("#name"), "業務委託契約書 2026"),
		chromedp.SendKeys(chromedp.CSS("#order"), "PO-2026-001"),
		chromedp.SendKeys(chromedp.CSS("#amount"), "1,100,000"),
		chromedp.SetValue(chromedp.CSS("#date"), "2026-12-01"),
	)
	// B is no trading partner of A: A finds it in the directory (a form
	// round trip that keeps what was typed) and chooses its person.
	ta.findParty(1, "ビー販売", b)
	ta.check("register-found-ja")
	ta.do(
		chromedp.SetUploadFiles(chromedp.CSS("#document"), []string{ta.file("契約書.pdf", signedA)}),
		chromedp.Click(chromedp.CSS("#check")),
		chromedp.WaitVisible(chromedp.CSS("#checked.checked-ok")),
	)
	// The check shows the verdict before anything is sent.
	ta.check("register-checked-ja")
	if n, err := w.svc.Cases.Search(w.ctx, a.P, nil); err != nil || len(n.Cases) != 0 {
		t.Fatalf("the check registered a case: %v", err)
	}
	ta.do(
		chromedp.WaitVisible(chromedp.CSS("#register")),
		chromedp.SetUploadFiles(chromedp.CSS("#document"), []string{ta.file("契約書.pdf", signedA)}),
		chromedp.SetUploadFiles(chromedp.CSS("#supplement"), []string{ta.file("見積書.txt", []byte("見積 1,100,000円"))}),
		chromedp.Click(chromedp.CSS("#register")),
		chromedp.WaitVisible(chromedp.CSS(".state-sent")),
	)
	ta.check("case-sent-ja")
	loc, _ := chromedp.Run(ta.ctx, chromedp.Location())
	m := caseURLRE.FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("after registering A is at %s", loc)
	}
	id := m[1]
	if got := ta.text("main"); !strings.Contains(got, "¥1,100,000") || !strings.Contains(got, "2026年12月1日") || !strings.Contains(got, b.Name+" の対応待ち") {
		t.Errorf("case page lacks the amount, date or whose turn: %s", got)
	}
	if got := ta.text("#sealable.ok"); !strings.Contains(got, "封印できます") {
		t.Errorf("the case page does not say the contract can be sealed: %s", got)
	}

	// B sees it in the list, with what it may do now.
	tbB.go_("/cases")
	tbB.do(chromedp.WaitVisible(chromedp.CSS("table")))
	tbB.check("cases-en")
	if got := tbB.text("table"); !strings.Contains(got, "業務委託契約書 2026") || !strings.Contains(got, "Receive and download") || !strings.Contains(got, a.Name) {
		t.Errorf("B's list: %s", got)
	}
	tbB.go_("/cases/" + id)
	tbB.do(chromedp.WaitVisible(chromedp.CSS("#receive")))
	tbB.check("case-receive-en")
	if got := tbB.text("#sigs-h + .report"); !strings.Contains(got, "Valid") || !strings.Contains(got, "Issuer") || !strings.Contains(got, "Serial number") ||
		!strings.Contains(got, a.Cert.Cert.Subject.Organization[0]) || !strings.Contains(got, a.Name) {
		t.Errorf("the signature of A is not shown with its verdict, certificate and company: %s", got)
	}
	if got := tbB.text("#sealable.ok"); !strings.Contains(got, "can be sealed") {
		t.Errorf("the case page does not say the contract can be sealed: %s", got)
	}
	got := tbB.download("#receive")
	if !bytes.Equal(got, signedA) {
		t.Fatalf("B downloaded %d bytes, not the %d A registered", len(got), len(signedA))
	}

	// B sends it back; A resends it unchanged.
	tbB.go_("/cases/" + id)
	tbB.do(
		chromedp.WaitVisible(chromedp.CSS(".state-received")),
		chromedp.SendKeys(chromedp.CSS("#reason"), "Please correct the delivery date."),
		chromedp.Click(chromedp.CSS("#send-back")),
		chromedp.WaitVisible(chromedp.CSS(".state-sent-back")),
	)
	ta.go_("/cases/" + id)
	ta.do(chromedp.WaitVisible(chromedp.CSS("#resend")))
	if got := ta.text(".reason"); !strings.Contains(got, "Please correct the delivery date.") {
		t.Errorf("A does not see the reason: %s", got)
	}
	ta.check("case-sent-back-ja")
	ta.do(chromedp.Click(chromedp.CSS("#resend")), chromedp.WaitVisible(chromedp.CSS(".state-sent")))

	// B receives again, tries a tampered return (refused, the case
	// unchanged), then returns the PDF it signed.
	tbB.go_("/cases/" + id)
	tbB.do(chromedp.WaitVisible(chromedp.CSS("#receive")))
	got = tbB.download("#receive")
	signedB := w.sign(b, got)
	tbB.go_("/cases/" + id)
	tbB.do(
		chromedp.WaitVisible(chromedp.CSS(".state-received")),
		chromedp.SetUploadFiles(chromedp.CSS("#return-doc"), []string{tbB.file("contract-signed.pdf", tamper(t, signedB, "Service agreement 2026: price 1 yen"))}),
		chromedp.Click(chromedp.CSS("#return")),
		chromedp.WaitVisible(chromedp.CSS(".refused")),
	)
	tbB.check("return-refused-en")
	if got := tbB.text("[role=alert]"); !strings.Contains(got, "The returned PDF was refused") {
		t.Errorf("refusal not in plain words: %s", got)
	}
	tbB.do(chromedp.WaitVisible(chromedp.CSS(".state-received")))
	tbB.do(
		chromedp.SetUploadFiles(chromedp.CSS("#return-doc"), []string{tbB.file("contract-signed.pdf", signedB)}),
		chromedp.Click(chromedp.CSS("#return")),
		chromedp.WaitVisible(chromedp.CSS(".state-returned")),
	)

	// A completes and verifies the original.
	ta.go_("/cases/" + id)
	ta.do(chromedp.WaitVisible(chromedp.CSS("#complete")))
	ta.check("case-returned-ja")
	ta.do(chromedp.Click(chromedp.CSS("#complete")), chromedp.WaitVisible(chromedp.CSS(".state-completed")))
	ta.check("case-completed-ja")
	ta.do(chromedp.Click(chromedp.CSS("#verify")), chromedp.WaitVisible(chromedp.CSS("#original.ok")))
	ta.check("verification-ja")
	if got := ta.text("main"); !strings.Contains(got, "contract-signed.sealed.pdf") || !strings.Contains(got, "見積書.txt") {
		t.Errorf("verification does not cover the PDF and the file: %s", got)
	}
	tbB.go_("/cases/" + id + "/verification")
	tbB.do(chromedp.WaitVisible(chromedp.CSS("#original.ok")))
	tbB.check("verification-en")

	// The audit trail has every step.
	ta.go_("/cases/" + id + "/audit")
	ta.do(chromedp.WaitVisible(chromedp.CSS("table")))
	ta.check("audit-ja")
	trail := ta.text("table")
	for _, step := range []string{"登録・送付", "受領", "差し戻し", "再送", "返送", "締結完了"} {
		if !strings.Contains(trail, step) {
			t.Errorf("audit trail lacks %s: %s", step, trail)
		}
	}

	// Completed cases: a combined search finds it, one out of range
	// does not; the CSV has it.
	ta.go_("/completed?from=2026-11-01&to=2026-12-31&min=1000000&max=2000000&counterparty=" + "ビー販売")
	ta.do(chromedp.WaitVisible(chromedp.CSS("table")))
	ta.check("completed-ja")
	if got := ta.text("table"); !strings.Contains(got, "業務委託契約書 2026") {
		t.Errorf("combined search does not find the case: %s", got)
	}
	csv := ta.download("#csv")
	if !strings.Contains(string(csv), "業務委託契約書 2026") {
		t.Errorf("CSV lacks the case: %s", csv)
	}
	ta.go_("/completed?max=1000")
	ta.do(chromedp.WaitVisible(chromedp.CSS("#search")))
	if got := ta.text("main"); strings.Contains(got, "業務委託契約書 2026") {
		t.Errorf("an amount out of range still finds the case")
	}
	tbB.go_("/completed")
	tbB.do(chromedp.WaitVisible(chromedp.CSS("table")))
	tbB.check("completed-en")
}

// receiveAndReturn: the party opens the case, downloads it, signs what it
// got and returns it through the file input; it waits for wantState.
func (tb *tab) receiveAndReturn(id string, co *company, wantState string) {
	tb.t.Helper()
	tb.go_("/cases/" + id)
	tb.do(chromedp.WaitVisible(chromedp.CSS("#receive")))
	got := tb.download("#receive")
	tb.go_("/cases/" + id)
	tb.do(
		chromedp.WaitVisible(chromedp.CSS(".state-received")),
		chromedp.SetUploadFiles(chromedp.CSS("#return-doc"), []string{tb.file("signed.pdf", tb.w.sign(co, got))}),
		chromedp.Click(chromedp.CSS("#return")),
		chromedp.WaitVisible(chromedp.CSS(".state-"+wantState)),
	)
}

// TestBrowserMultiParty: a 3-party contract (A registers, B then C sign)
// carried from registration to original verification in three browser
// contexts.
func TestBrowserMultiParty(t *testing.T) {
	axe := axeSource(t)
	root := startBrowser(t)
	w := newWorld(t, portal.Brand{})
	a, b, c := w.co["A"], w.co["B"], w.co["C"]
	ta, tbB, tc := w.tab(t, root, "A", axe), w.tab(t, root, "B", axe), w.tab(t, root, "C", axe)
	ta.firstLogin(a, "ja")
	tbB.firstLogin(b, "ja")
	tc.firstLogin(c, "ja")
	// A's administrator adds B as a trading partner on the company page
	// (a directory search, then "add").
	ta.do(chromedp.Click(chromedp.CSS("#nav-company")), chromedp.WaitVisible(chromedp.CSS("#certs")))
	ta.check("company-ja")
	ta.do(
		chromedp.SetValue(chromedp.CSS("#q"), "ビー販売"),
		chromedp.Click(chromedp.CSS("#find")),
		chromedp.WaitVisible(chromedp.CSS("#add-partner-"+b.P.CompanyID)),
	)
	ta.check("company-found-ja")
	ta.do(chromedp.Click(chromedp.CSS("#add-partner-"+b.P.CompanyID)), chromedp.WaitVisible(chromedp.CSS("#partner-list")))
	ta.check("company-partner-ja")
	if ps, err := w.svc.Accounts.Partners(w.ctx, a.P); err != nil || len(ps) != 1 || ps[0].ID != b.P.CompanyID {
		t.Fatalf("A's partners: %+v (%v)", ps, err)
	}

	ta.go_("/cases/new")
	ta.do(
		chromedp.WaitVisible(chromedp.CSS("#register")),
		chromedp.Click(chromedp.CSS("#form-multi-party")),
		chromedp.SendKeys(chromedp.CSS("#name"), "三社間業務提携契約"),
		chromedp.SendKeys(chromedp.CSS("#amount"), "3000000"),
		chromedp.SetValue(chromedp.CSS("#date"), "2026-11-20"),
		// B is a trading partner of A: offered without a search.
		chromedp.SetValue(chromedp.CSS("#party1"), b.party()),
	)
	// C is found by a search; the choice of B stays.
	ta.findParty(2, "シー工業", c)
	ta.do(
		chromedp.Click(chromedp.CSS("#form-multi-party")),
		chromedp.SetUploadFiles(chromedp.CSS("#document"), []string{ta.file("三社契約.pdf", w.sign(a, contract("Three-party agreement")))}),
		chromedp.Click(chromedp.CSS("#register")),
		chromedp.WaitVisible(chromedp.CSS(".state-sent")),
	)
	loc, _ := chromedp.Run(ta.ctx, chromedp.Location())
	m := caseURLRE.FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("after registering A is at %s", loc)
	}
	id := m[1]

	// C may see nothing to do before B has signed.
	tc.go_("/cases")
	if got := tc.text("main"); strings.Contains(got, "三社間業務提携契約") && strings.Contains(got, "受領してダウンロード") {
		t.Errorf("C is offered to receive before B signed: %s", got)
	}
	tbB.receiveAndReturn(id, b, "sent")
	ta.go_("/cases/" + id)
	ta.do(chromedp.WaitVisible(chromedp.CSS(".state-sent")))
	if got := ta.text("main"); !strings.Contains(got, c.Name+" の対応待ち") {
		t.Errorf("after B signed, A's page does not say C is on turn: %s", got)
	}
	tc.receiveAndReturn(id, c, "returned")
	tc.check("case-multi-returned-ja")

	ta.go_("/cases/" + id)
	ta.do(chromedp.WaitVisible(chromedp.CSS("#complete")))
	if got := ta.text("main"); strings.Count(got, "有効") < 3 {
		t.Errorf("three valid signatures are not shown: %s", got)
	}
	ta.do(chromedp.Click(chromedp.CSS("#complete")), chromedp.WaitVisible(chromedp.CSS(".state-completed")))
	ta.do(chromedp.Click(chromedp.CSS("#verify")), chromedp.WaitVisible(chromedp.CSS("#original.ok")))
	ta.check("verification-multi-ja")
	tc.go_("/cases/" + id + "/verification")
	tc.do(chromedp.WaitVisible(chromedp.CSS("#original.ok")))
}

// TestBrowserWhiteLabel: under a vendor's brand the browser shows the
// vendor's colour (brand.css is allowed by the CSP), its logo and name,
// and no text of the default brand.
func TestBrowserWhiteLabel(t *testing.T) {
	axe := axeSource(t)
	root := startBrowser(t)
	w := newWorld(t, portal.Brand{Name: "Acme契約クラウド", Logo: onePixelPNG, Primary: "#004d40", Footer: "Acme Corporation", Support: "support@acme.example"})
	ta := w.tab(t, root, "A", axe)
	ta.firstLogin(w.co["A"], "whitelabel-ja")
	bg, err := chromedp.Run(ta.ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('header.bar')).backgroundColor`))
	if err != nil || bg != "rgb(0, 77, 64)" {
		t.Errorf("header colour %q (%v), want the vendor's rgb(0, 77, 64)", bg, err)
	}
	logo, err := chromedp.Run(ta.ctx, chromedp.Evaluate[int](`document.querySelector('header .logo').naturalWidth`))
	if err != nil || logo != 1 {
		t.Errorf("the logo did not load: width %d (%v)", logo, err)
	}
	text, err := chromedp.Run(ta.ctx, chromedp.Evaluate[string](`document.title + ' ' + document.body.innerText`))
	if err != nil || strings.Contains(strings.ToLower(text), "keiyaku") || !strings.Contains(text, "Acme Corporation") {
		t.Errorf("the page shows the default brand or lacks the vendor's footer: %q (%v)", text, err)
	}
}
