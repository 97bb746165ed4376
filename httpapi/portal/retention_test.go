package portal_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/httpapi/portal"
)

// TestRetentionAndHoldOnCasePage: the completed case page shows the
// retention end date and policy; the registrant's administrator sets the
// policy to delete, places and lifts a legal hold with a reason; the
// counterparty is refused the policy (403, nothing changed) and sees no
// policy form.
func TestRetentionAndHoldOnCasePage(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	c := w.completedCase("保管テスト契約", 100000)
	a, b := w.client(), w.client()
	a.login(w.co["A"])
	b.login(w.co["B"])
	ret, err := w.svc.Cases.RetentionOf(w.ctx, w.co["A"].P, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := a.get("/cases/"+c.ID, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="ret-until"`) || !strings.Contains(body, `id="save-retention"`) {
		t.Fatalf("case page: %d %s", resp.StatusCode, body)
	}
	want := casework.RetainDelete
	if ret.Action == casework.RetainDelete {
		want = casework.RetainExtend
	}
	if resp, body = a.post("/cases/"+c.ID+"/retention", url.Values{"action": {want}}); !strings.Contains(resp.Request.URL.RawQuery, "done=retention") {
		t.Fatalf("set retention: %s %s", resp.Request.URL, body)
	}
	if got, _ := w.svc.Cases.RetentionOf(w.ctx, w.co["A"].P, c.ID); got.Action != want {
		t.Fatalf("policy %q, want %q", got.Action, want)
	}
	_, bodyB := b.get("/cases/"+c.ID, nil)
	if strings.Contains(bodyB, `id="save-retention"`) {
		t.Error("the counterparty is offered the policy form")
	}
	if resp, _ = b.post("/cases/"+c.ID+"/retention", url.Values{"action": {ret.Action}}); resp.StatusCode != 403 {
		t.Fatalf("the counterparty's policy change: %d", resp.StatusCode)
	}
	if got, _ := w.svc.Cases.RetentionOf(w.ctx, w.co["A"].P, c.ID); got.Action != want {
		t.Fatalf("the counterparty changed the policy to %q", got.Action)
	}
	if resp, _ = a.post("/cases/"+c.ID+"/retention", url.Values{"action": {"forever"}}); resp.StatusCode != 422 {
		t.Fatalf("unknown policy: %d", resp.StatusCode)
	}

	if resp, body = a.post("/cases/"+c.ID+"/hold", url.Values{"reason": {"訴訟対応のため"}}); !strings.Contains(resp.Request.URL.RawQuery, "done=hold") || !strings.Contains(body, "訴訟対応のため") || !strings.Contains(body, `id="lift-hold"`) {
		t.Fatalf("place hold: %s %s", resp.Request.URL, body)
	}
	if hs, _ := w.svc.Cases.Holds(w.ctx, w.co["A"].P, c.ID); len(hs) != 1 || hs[0].Reason != "訴訟対応のため" {
		t.Fatalf("holds %+v", hs)
	}
	if resp, _ = a.post("/cases/"+c.ID+"/hold/lift", url.Values{"reason": {"和解成立"}}); !strings.Contains(resp.Request.URL.RawQuery, "done=unhold") {
		t.Fatalf("lift hold: %s", resp.Request.URL)
	}
	if hs, _ := w.svc.Cases.Holds(w.ctx, w.co["A"].P, c.ID); len(hs) != 0 {
		t.Fatalf("holds after lift %+v", hs)
	}

	// The administrators' upcoming deletions: the case, once due by the
	// day asked; not before; not under a hold; an ordinary user refused.
	cur, err := w.svc.Cases.RetentionOf(w.ctx, w.co["A"].P, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	due := cur.Until.String()
	if resp, body = a.get("/company/deletions?through="+due, nil); resp.StatusCode != 200 || !strings.Contains(body, "保管テスト契約") {
		t.Fatalf("deletions through %s: %d %s", due, resp.StatusCode, body)
	}
	if _, body = a.get("/company/deletions?through="+cur.Until.AddDays(-1).String(), nil); strings.Contains(body, "保管テスト契約") {
		t.Errorf("listed before its day: %s", body)
	}
	if resp, _ = a.get("/company/deletions?through=soon", nil); resp.StatusCode != 422 {
		t.Errorf("bad date: %d", resp.StatusCode)
	}
	a.post("/cases/"+c.ID+"/hold", url.Values{"reason": {"監査"}})
	if _, body = a.get("/company/deletions?through="+due, nil); strings.Contains(body, "保管テスト契約") {
		t.Errorf("a held case is listed: %s", body)
	}
}
