package keiyaku_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/notify"
	"github.com/keiyaku/keiyaku/storage"
)

// testClock is a service clock a test moves forward: 15 years of
// retention in seconds.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// retentionWorld is a world on a movable clock whose notices go to the
// mailpit named by KEIYAKU_SMTP_ADDR (read back through
// KEIYAKU_MAILPIT_API); it skips without them.
func retentionWorld(t *testing.T) (*world, *testClock, string) {
	t.Helper()
	addr := testenv.Env(t, "KEIYAKU_SMTP_ADDR", "host:port of a mailpit SMTP listener")
	api := strings.TrimRight(testenv.Env(t, "KEIYAKU_MAILPIT_API", "the base URL of that mailpit's HTTP API"), "/")
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("KEIYAKU_SMTP_ADDR %q: %v", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		t.Fatalf("KEIYAKU_SMTP_ADDR %q: %v", addr, err)
	}
	clk := &testClock{t: fixedClock()}
	w := newWorldWith(t, func(w *world, cfg *keiyaku.Config) {
		cfg.Clock = clk.Now
		cfg.SMTP = notify.SMTPConfig{Host: host, Port: port, From: "keiyaku <no-reply@keiyaku.example>", TLSPolicy: notify.TLSOpportunistic, Timeout: 10 * time.Second}
	})
	return w, clk, api
}

// travel moves the clock to at and reopens the service there. The
// development TSA's certificate lasts ten years: a service running for
// fifteen has replaced it, which the reopen does (as its error message
// tells an operator to) when it has expired.
func (w *world) travel(clk *testClock, at time.Time) {
	w.t.Helper()
	if err := w.svc.Close(); err != nil {
		w.t.Fatal(err)
	}
	clk.Set(at)
	if cert := w.svc.TSACertificate; cert != nil && !at.Before(cert.NotAfter) {
		for _, f := range []string{"tsa-cert.pem", "tsa-key.pem"} {
			if err := os.Remove(filepath.Join(w.dir, "tsa", f)); err != nil {
				w.t.Fatal(err)
			}
		}
	}
	w.svc = w.open()
}

func uniqueName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + " " + hex.EncodeToString(b[:])
}

// mailpitMails returns the subject and text of every deletion notice in
// mailpit to address whose subject holds caseName (recipient A reads
// Japanese: 削除予定のお知らせ).
func mailpitMails(t *testing.T, api, address, caseName string) []string {
	t.Helper()
	var list struct {
		Messages []struct {
			ID, Subject string
			To          []struct{ Address string }
		}
	}
	getJSONURL(t, api+"/api/v1/messages?limit=500", &list)
	var out []string
	for _, m := range list.Messages {
		if !strings.Contains(m.Subject, caseName) || !strings.Contains(m.Subject, "削除予定のお知らせ") || len(m.To) != 1 || m.To[0].Address != address {
			continue
		}
		var full struct{ Text string }
		getJSONURL(t, api+"/api/v1/message/"+m.ID, &full)
		out = append(out, m.Subject+"\n"+full.Text)
	}
	return out
}

func getJSONURL(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// registerWith registers a bilateral case from a to b with one
// supplementary file of the given content and completes it.
func (w *world) registerWith(a, b *member, name, supplement string) *casework.Case {
	w.t.Helper()
	c, err := w.svc.Cases.Register(w.ctx, a.P, &casework.NewCase{
		Form: casework.FormBilateral, Name: name, Amount: casework.Money{Amount: 1000, Currency: "JPY"},
		TransactionDate: civil.DateOf(today()), Parties: []casework.Party{w.party(b)},
		Document:    upload("contract.pdf", w.sign(a, contract(name))),
		Supplements: []casework.Upload{{Name: "shared.txt", Body: strings.NewReader(supplement)}},
	})
	if err != nil {
		w.t.Fatalf("Register %s: %v", name, err)
	}
	return w.complete(c, a, b)
}

func (w *world) sweep() *casework.SweepReport {
	w.t.Helper()
	rep, err := w.svc.Cases.SweepRetention(w.ctx)
	if err != nil {
		w.t.Fatalf("SweepRetention: %v", err)
	}
	return rep
}

// deliverAll delivers the outbox and returns how many notices went out.
func (w *world) deliverAll() int {
	w.t.Helper()
	n, failed, err := w.svc.DeliverOnce(w.ctx)
	if err != nil || failed != 0 {
		w.t.Fatalf("DeliverOnce = %d, %d failed, %v", n, failed, err)
	}
	return n
}

// checkDeleted checks that case id is gone for good, that its deletion
// record verifies (digest and RFC 3161 token) and is named by the audit
// entry of the deletion, and that the audit chain verifies.
func checkDeleted(t *testing.T, w *world, admin *member, id string, action string) *casework.DeletionRecord {
	t.Helper()
	if _, err := w.svc.Store.GetCase(w.ctx, id); !errors.Is(err, kerr.NotFound) {
		t.Fatalf("case %s after its deletion: %v, want NotFound", id, err)
	}
	rec, err := w.svc.Cases.DeletionRecordOf(w.ctx, admin.P, id)
	if err != nil {
		t.Fatalf("DeletionRecordOf: %v", err)
	}
	tok, err := w.svc.Archive.VerifyDeletionRecord(rec)
	if err != nil {
		t.Fatalf("the deletion record does not verify: %v", err)
	}
	if !rec.Finished || rec.Action != action || rec.CompanyIDs[0] != admin.P.CompanyID || tok.Time.Sub(rec.DeletedAt).Abs() > 2*time.Second {
		t.Errorf("deletion record %+v (token time %s)", rec, tok.Time)
	}
	entries, err := w.svc.Store.ListAudit(w.ctx, 0, id, 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.Action == casework.ActionRetentionDelete && strings.Contains(e.Detail, "sha256="+hex.EncodeToString(rec.Digest)) {
			found = true
		}
	}
	if !found {
		t.Errorf("no %s audit entry names the record digest %x", casework.ActionRetentionDelete, rec.Digest)
	}
	if n, err := w.svc.Cases.VerifyAudit(w.ctx); err != nil || n == 0 {
		t.Errorf("VerifyAudit after the deletion = %d, %v", n, err)
	}
	// A forged record does not verify.
	forged := *rec
	forged.Action = casework.RetainExtend + "x"
	if _, err := w.svc.Archive.VerifyDeletionRecord(&forged); err == nil {
		t.Error("a changed deletion record still verifies")
	}
	return rec
}

func blobExists(t *testing.T, w *world, key string) bool {
	t.Helper()
	ok, err := w.svc.Blobs.Exists(w.ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func objectKeys(rec *casework.DeletionRecord) []string {
	var keys []string
	for _, o := range rec.Objects {
		keys = append(keys, o.SHA256)
	}
	return keys
}

// TestRetentionScenario runs 15 years of retention through the facade:
// case X is kept 15 years (the default, extended) and then deleted; case
// Y, set to delete after 10, shares a supplementary file with X and is
// deleted first while the shared blob survives (X still uses it); case
// Z, held by the counterparty's administrator, outlives its policy and
// is deleted after the hold is lifted. Each deletion notice reaches the
// owner through mailpit exactly once, 30 days before; each deletion
// record verifies and is named in the audit chain.
func TestRetentionScenario(t *testing.T) {
	w, clk, api := retentionWorld(t)
	a, b, c := w.m["A"], w.m["B"], w.m["C"]
	shared := "shared supplement " + uniqueName("s")
	nameX, nameY, nameZ := uniqueName("保管X"), uniqueName("保管Y"), uniqueName("保管Z")
	x := w.registerWith(a, b, nameX, shared)
	y := w.registerWith(a, c, nameY, shared)
	z := w.registerWith(a, b, nameZ, "Z's own supplement "+nameZ)
	w.deliverAll() // the lifecycle notices
	if x.Supplements[0].Key != y.Supplements[0].Key {
		t.Fatal("the shared supplement is not one blob")
	}
	sharedKey := x.Supplements[0].Key

	rx, err := w.svc.Cases.RetentionOf(w.ctx, b.P, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	start := civil.DateOf(x.CompletedAt.In(jstZone(t)))
	if rx.Start != start || rx.Action != casework.RetainExtend || rx.Until != start.AddYears(15) || rx.Rule != "completion" {
		t.Fatalf("default retention of X = %+v; want from %s, extend, until %s", rx, start, start.AddYears(15))
	}
	for _, id := range []string{y.ID, z.ID} {
		r, err := w.svc.Cases.SetRetention(w.ctx, a.P, id, casework.RetainDelete)
		if err != nil || r.Until != start.AddYears(10) {
			t.Fatalf("SetRetention(delete) = %+v, %v; want until %s", r, err, start.AddYears(10))
		}
	}
	if err := w.svc.Cases.PlaceHold(w.ctx, b.P, z.ID, "訴訟対応 / litigation hold"); err != nil {
		t.Fatalf("PlaceHold by the counterparty's administrator: %v", err)
	}

	ten := start.AddYears(10).In(jstZone(t)).Add(10 * time.Hour) // 10:00 JST on the day
	// 31 days before: nothing yet.
	w.travel(clk, ten.AddDate(0, 0, -31))
	if rep := w.sweep(); rep.Noticed != 0 || rep.Deleted != 0 {
		t.Errorf("31 days before: %+v, want nothing", rep)
	}
	// 30 days before: Y's notice (Z is held: no notice, no deletion).
	w.travel(clk, ten.AddDate(0, 0, -30))
	if rep := w.sweep(); rep.Noticed != 1 || rep.Deleted != 0 {
		t.Errorf("30 days before: %+v, want one notice", rep)
	}
	w.sweep() // a second sweep the same day sends nothing more
	w.travel(clk, ten.AddDate(0, 0, -29))
	w.sweep()
	if n := w.deliverAll(); n != 1 {
		t.Errorf("%d notices delivered, want 1", n)
	}
	mails := mailpitMails(t, api, a.Email, nameY)
	if len(mails) != 1 || !strings.Contains(mails[0], start.AddYears(10).String()) {
		t.Fatalf("mailpit holds %d deletion notices of Y for %s (want exactly 1, naming %s): %q", len(mails), a.Email, start.AddYears(10), mails)
	}
	up, err := w.svc.Cases.UpcomingDeletions(w.ctx, a.P, start.AddYears(10), casework.RetentionCursor{}, 10)
	if err != nil || len(up) != 1 || up[0].CaseID != y.ID {
		t.Errorf("UpcomingDeletions = %+v, %v; want Y alone (X later, Z held)", up, err)
	}

	// The day before: still kept.
	w.travel(clk, ten.AddDate(0, 0, -1))
	if rep := w.sweep(); rep.Deleted != 0 {
		t.Errorf("the day before: %+v, want nothing deleted", rep)
	}
	// The day: Y is deleted, the shared blob stays for X.
	w.travel(clk, ten)
	rep := w.sweep()
	if rep.Deleted != 1 || rep.Kept != 1 {
		t.Errorf("on the day: %+v, want Y deleted and the shared blob kept", rep)
	}
	recY := checkDeleted(t, w, a, y.ID, casework.RetainDelete)
	if !slices.Contains(objectKeys(recY), sharedKey) || !slices.Contains(objectKeys(recY), y.Document.Key) {
		t.Errorf("Y's record lists %v; want its document and the shared file", objectKeys(recY))
	}
	if !blobExists(t, w, sharedKey) {
		t.Fatal("the blob X still uses was removed with Y")
	}
	if blobExists(t, w, y.Document.Key) || blobExists(t, w, y.Sealed[0].Key) {
		t.Error("Y's own blobs survived its deletion")
	}
	if _, err := w.svc.Cases.Get(w.ctx, b.P, x.ID); err != nil {
		t.Errorf("X after Y's deletion: %v", err)
	}
	if _, err := w.svc.Cases.Get(w.ctx, a.P, z.ID); err != nil {
		t.Errorf("held Z after its date: %v", err)
	}
	if _, err := w.svc.Cases.DeletionRecordOf(w.ctx, b.P, y.ID); !errors.Is(err, kerr.NotFound) {
		t.Errorf("Y's record to a company it never named: %v, want NotFound", err)
	}

	// A year later Z is still there; the hold is lifted, then Z is
	// noticed and deleted 30 days on.
	w.travel(clk, ten.AddDate(1, 0, 0))
	if rep := w.sweep(); rep.Deleted != 0 || rep.Noticed != 0 {
		t.Errorf("held Z a year after its date: %+v, want untouched", rep)
	}
	if err := w.svc.Cases.LiftHold(w.ctx, a.P, z.ID, "not mine"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("A lifting B's hold: %v, want NotFound (A holds none)", err)
	}
	if err := w.svc.Cases.LiftHold(w.ctx, b.P, z.ID, "settled"); err != nil {
		t.Fatal(err)
	}
	if rep := w.sweep(); rep.Noticed != 1 || rep.Deleted != 0 {
		t.Errorf("after the hold was lifted: %+v, want the notice first", rep)
	}
	w.deliverAll()
	if mails := mailpitMails(t, api, a.Email, nameZ); len(mails) != 1 {
		t.Errorf("%d deletion notices of Z, want 1", len(mails))
	}
	w.travel(clk, ten.AddDate(1, 0, 30))
	if rep := w.sweep(); rep.Deleted != 1 {
		t.Errorf("30 days after the notice: %+v, want Z deleted", rep)
	}
	checkDeleted(t, w, a, z.ID, casework.RetainDelete)

	// Fifteen years: X goes, and with it the shared blob.
	fifteen := start.AddYears(15).In(jstZone(t)).Add(10 * time.Hour)
	w.travel(clk, fifteen.AddDate(0, 0, -30))
	if rep := w.sweep(); rep.Noticed != 1 {
		t.Errorf("30 days before 15 years: %+v, want X's notice", rep)
	}
	w.deliverAll()
	if mails := mailpitMails(t, api, a.Email, nameX); len(mails) != 1 {
		t.Errorf("%d deletion notices of X, want 1", len(mails))
	}
	w.travel(clk, fifteen)
	if rep := w.sweep(); rep.Deleted != 1 {
		t.Errorf("at 15 years: %+v, want X deleted", rep)
	}
	recX := checkDeleted(t, w, a, x.ID, casework.RetainExtend)
	if !slices.Contains(recX.Removing, sharedKey) || blobExists(t, w, sharedKey) {
		t.Error("the shared blob survived the last case that used it")
	}
	if rep := w.sweep(); rep.Deleted != 0 || rep.Checked != 0 {
		t.Errorf("a sweep after everything: %+v, want nothing", rep)
	}
}

func jstZone(t testing.TB) *time.Location {
	loc, err := account.LoadTimeZone("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestRetentionFiscalYear completes cases on either side of a fiscal
// year's end (March, filing extended by 1 month) in the company's zone
// and checks where their 10 years start and end.
func TestRetentionFiscalYear(t *testing.T) {
	clk := &testClock{}
	// 2026-03-31 23:59 JST (14:59 UTC) and 2026-04-01 00:00 JST.
	before := time.Date(2026, 3, 31, 14, 59, 0, 0, time.UTC)
	clk.Set(before)
	w := newWorldWith(t, func(w *world, cfg *keiyaku.Config) { cfg.Clock = clk.Now })
	a, b := w.m["A"], w.m["B"]
	set := casework.RetentionSettings{FiscalYear: true, FiscalYearEndMonth: 3, FilingExtensionMonths: 1, DefaultAction: casework.RetainDelete}
	if err := w.svc.Cases.SetRetentionSettings(w.ctx, b.P, casework.RetentionSettings{FiscalYearEndMonth: 13}); !errors.Is(err, kerr.Invalid) {
		t.Errorf("month 13: %v, want Invalid", err)
	}
	if err := w.svc.Cases.SetRetentionSettings(w.ctx, a.P, set); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		completed time.Time
		start     civil.Date
	}{
		{"last minute of the fiscal year", before, civil.Date{Year: 2026, Month: 7, Day: 1}},
		{"first minute of the next", before.Add(time.Minute), civil.Date{Year: 2027, Month: 7, Day: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.Set(tc.completed)
			c := w.registerWith(a, b, uniqueName("FY"), "fy "+tc.name)
			r, err := w.svc.Cases.RetentionOf(w.ctx, a.P, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if r.Start != tc.start || r.Until != tc.start.AddYears(10) || r.Action != casework.RetainDelete || !strings.HasPrefix(r.Rule, "fiscal-year") {
				t.Errorf("completed %s: retention %+v; want start %s, until %s, delete", tc.completed, r, tc.start, tc.start.AddYears(10))
			}
		})
	}
}

// TestRetentionAuthorization: who may read, set, hold, lift and list;
// every other principal is refused with the exact kind, and each refusal
// is audited.
func TestRetentionAuthorization(t *testing.T) {
	w := newWorld(t)
	a, b, d := w.m["A"], w.m["B"], w.m["D"]
	user := func(admin *member, login string) account.Principal {
		u, _, err := w.svc.Accounts.CreateUser(w.ctx, admin.P, account.NewUser{LoginID: login, Profile: storage.Profile{Name: login, Email: login + "@x.example"}})
		if err != nil {
			t.Fatal(err)
		}
		return account.Principal{UserID: u.ID, CompanyID: u.CompanyID}
	}
	registrant := user(a, "reg-a")
	colleague := user(a, "colleague-a")
	partyUser := user(b, "party-b")
	outsider := user(d, "user-d")
	regMember := &member{Key: "A", Company: a.Company, P: registrant, Cert: a.Cert}
	partyMember := &member{Key: "B", Company: b.Company, P: partyUser, Cert: b.Cert}
	c := w.registerWith(regMember, partyMember, uniqueName("authz"), "authz")

	principals := []struct {
		name string
		p    account.Principal
	}{
		{"registrant", registrant}, {"colleague", colleague}, {"registrant admin", a.P},
		{"counterparty user", partyUser}, {"counterparty admin", b.P},
		{"third company user", outsider}, {"third company admin", d.P}, {"nobody", account.Principal{}},
	}
	ops := []struct {
		name string
		run  func(p account.Principal) error
		want map[string]kerr.Kind // principal -> kind; absent = allowed
	}{
		{"RetentionOf", func(p account.Principal) error { _, err := w.svc.Cases.RetentionOf(w.ctx, p, c.ID); return err },
			map[string]kerr.Kind{"colleague": kerr.NotFound, "third company user": kerr.NotFound, "third company admin": kerr.NotFound, "nobody": kerr.Unauthenticated}},
		{"SetRetention", func(p account.Principal) error {
			_, err := w.svc.Cases.SetRetention(w.ctx, p, c.ID, casework.RetainExtend)
			return err
		}, map[string]kerr.Kind{"colleague": kerr.NotFound, "counterparty user": kerr.PermissionDenied, "counterparty admin": kerr.PermissionDenied,
			"third company user": kerr.NotFound, "third company admin": kerr.NotFound, "nobody": kerr.Unauthenticated}},
		{"PlaceHold", func(p account.Principal) error { return w.svc.Cases.PlaceHold(w.ctx, p, c.ID, "audit") },
			map[string]kerr.Kind{"registrant": kerr.PermissionDenied, "colleague": kerr.NotFound, "counterparty user": kerr.PermissionDenied,
				"third company user": kerr.NotFound, "third company admin": kerr.NotFound, "nobody": kerr.Unauthenticated}},
		{"LiftHold", func(p account.Principal) error { return w.svc.Cases.LiftHold(w.ctx, p, c.ID, "done") },
			map[string]kerr.Kind{"registrant": kerr.PermissionDenied, "colleague": kerr.NotFound, "counterparty user": kerr.PermissionDenied,
				"third company user": kerr.NotFound, "third company admin": kerr.NotFound, "nobody": kerr.Unauthenticated}},
		{"UpcomingDeletions", func(p account.Principal) error {
			_, err := w.svc.Cases.UpcomingDeletions(w.ctx, p, civil.Date{Year: 2050, Month: 1, Day: 1}, casework.RetentionCursor{}, 10)
			return err
		}, map[string]kerr.Kind{"registrant": kerr.PermissionDenied, "colleague": kerr.PermissionDenied, "counterparty user": kerr.PermissionDenied,
			"third company user": kerr.PermissionDenied, "nobody": kerr.Unauthenticated}},
		{"SetRetentionSettings", func(p account.Principal) error {
			return w.svc.Cases.SetRetentionSettings(w.ctx, p, casework.RetentionSettings{})
		}, map[string]kerr.Kind{"registrant": kerr.PermissionDenied, "colleague": kerr.PermissionDenied, "counterparty user": kerr.PermissionDenied,
			"third company user": kerr.PermissionDenied, "nobody": kerr.Unauthenticated}},
	}
	for _, op := range ops {
		for _, pr := range principals {
			t.Run(op.name+"/"+pr.name, func(t *testing.T) {
				before := countAudit(t, w, casework.ActionRetentionDenied)
				err := op.run(pr.p)
				want, refused := op.want[pr.name]
				switch {
				case !refused && err != nil:
					t.Fatalf("refused: %v", err)
				case refused && !errors.Is(err, want):
					t.Fatalf("err = %v, want %s", err, want)
				}
				after := countAudit(t, w, casework.ActionRetentionDenied)
				if refused && want != kerr.Unauthenticated && after != before+1 {
					t.Errorf("the refusal was not audited (%d -> %d)", before, after)
				}
			})
		}
	}
	// Each administrator's own hold: B's and A's, lifted separately.
	holds, err := w.svc.Cases.Holds(w.ctx, a.P, c.ID)
	if err != nil || len(holds) != 0 {
		t.Errorf("holds after each admin placed and lifted theirs: %+v, %v", holds, err)
	}
}

func countAudit(t *testing.T, w *world, action string) int {
	t.Helper()
	n := 0
	var after int64
	for {
		page, err := w.svc.Store.ListAudit(w.ctx, after, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return n
		}
		for _, e := range page {
			if e.Action == action {
				n++
			}
		}
		after = page[len(page)-1].Seq
	}
}

// TestRetentionPinRefusesRemovedBlob: while the sweep is removing a blob
// (its deletion recorded, the blob marked removing), storing the same
// bytes again is refused as unavailable, not silently "already stored";
// once the sweep has finished, the same bytes are stored afresh.
func TestRetentionPinRefusesRemovedBlob(t *testing.T) {
	clk := &testClock{t: fixedClock()}
	w := newWorldWith(t, func(w *world, cfg *keiyaku.Config) { cfg.Clock = clk.Now })
	a, b := w.m["A"], w.m["B"]
	body := "only in this case " + uniqueName("pin")
	c := w.registerWith(a, b, uniqueName("pin"), body)
	r, err := w.svc.Cases.SetRetention(w.ctx, a.P, c.ID, casework.RetainDelete)
	if err != nil {
		t.Fatal(err)
	}
	w.travel(clk, r.Until.In(jstZone(t)).Add(10*time.Hour))
	// The first step of a deletion, as the sweep takes it.
	now := clk.Now()
	rec := &storage.DeletionRecord{CaseID: c.ID, CompanyIDs: []string{a.P.CompanyID}, CompletedAt: c.CompletedAt, DeletedAt: now,
		Start: r.Start, Until: r.Until, Action: r.Action, Rule: r.Rule, SetBy: r.SetBy, SetAt: r.SetAt,
		Objects: []storage.RemovedObject{{Name: "shared.txt", SHA256: c.Supplements[0].Key, Size: c.Supplements[0].Size}}}
	rec.Digest = rec.Sum()
	if rec.Token, err = w.svc.Archive.StampDeletion(w.ctx, rec.Digest); err != nil {
		t.Fatal(err)
	}
	entry := []storage.AuditEntry{{Time: now, ActorUserID: casework.SweepActor, Action: casework.ActionRetentionDelete, CaseID: c.ID, Detail: "sha256=" + hex.EncodeToString(rec.Digest)}}
	if err := w.svc.Store.BeginDeletion(w.ctx, rec, now.Add(-storage.PinTTL), entry); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rec.Removing, c.Supplements[0].Key) {
		t.Fatalf("the supplement is not being removed: %v", rec.Removing)
	}
	if _, _, err := w.svc.Blobs.PutBytes(w.ctx, []byte(body)); !errors.Is(err, kerr.Unavailable) {
		t.Fatalf("storing bytes being removed: %v, want Unavailable", err)
	}
	if rep := w.sweep(); rep.Resumed != 1 {
		t.Fatalf("the sweep did not finish the begun deletion: %+v", rep)
	}
	if blobExists(t, w, c.Supplements[0].Key) {
		t.Fatal("the blob was not removed")
	}
	key, _, err := w.svc.Blobs.PutBytes(w.ctx, []byte(body))
	if err != nil || key != c.Supplements[0].Key || !blobExists(t, w, key) {
		t.Fatalf("storing the bytes again after the removal: %s, %v", key, err)
	}
}
