package portal

import (
	"context"

	"cloud.google.com/go/civil"
	"net/http"
	"net/url"
	"strings"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Retention and legal hold on the completed case page (issue 12,
// casework): the retention end date and policy (extend or delete), which
// the owner side sets; the legal holds, which an administrator of a
// party company places or lifts with a reason. casework decides who may;
// the portal shows the forms to whom they apply and the refusal in words.

// retention adds the case's retention and holds to data; a case without
// retention (completed before it existed) shows none.
func (h *Handler) retention(ctx context.Context, p account.Principal, id string, data map[string]any) error {
	ret, err := h.svc.Cases.RetentionOf(ctx, p, id)
	if kerr.Of(err) == kerr.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	holds, err := h.svc.Cases.Holds(ctx, p, id)
	if err != nil {
		return err
	}
	ours := false
	for _, hd := range holds {
		ours = ours || hd.CompanyID == p.CompanyID
	}
	data["Retention"], data["Holds"], data["OurHold"], data["MaxHoldReason"] = ret, holds, ours, storage.MaxHoldReason
	return nil
}

// caseAction runs f on the case in the path and comes back to the case
// with done, or shows the case with the refusal.
func (h *Handler) caseAction(done string, f func(r *http.Request, pg *page, id string) error) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, pg *page) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		id := r.PathValue("id")
		if err := f(r, pg, id); err != nil {
			h.actionFailed(w, r, pg, id, err, nil, nil, "")
			return
		}
		h.redirect(w, r, "/cases/"+url.PathEscape(id)+"?done="+done)
	}
}

func (h *Handler) setRetention(r *http.Request, pg *page, id string) error {
	_, err := h.svc.Cases.SetRetention(r.Context(), pg.P, id, r.PostFormValue("action"))
	return err
}

func (h *Handler) placeHold(r *http.Request, pg *page, id string) error {
	return h.svc.Cases.PlaceHold(r.Context(), pg.P, id, strings.TrimSpace(r.PostFormValue("reason")))
}

func (h *Handler) liftHold(r *http.Request, pg *page, id string) error {
	return h.svc.Cases.LiftHold(r.Context(), pg.P, id, strings.TrimSpace(r.PostFormValue("reason")))
}

// retentionActions are the policies offered, in the form's order.
var retentionActions = []string{casework.RetainExtend, casework.RetainDelete}

// deletionsShown bounds the upcoming deletions listed on one page.
const deletionsShown = 100

// deletions is an administrator's list of the company's cases due for
// deletion on or before "through" (YYYY-MM-DD; default a year from
// today in the service's clock), without a hold, soonest first.
func (h *Handler) deletions(w http.ResponseWriter, r *http.Request, pg *page) {
	pg.Title = "del.title"
	through := civil.DateOf(h.svc.Now().In(jst)).AddDays(366)
	if s := strings.TrimSpace(r.URL.Query().Get("through")); s != "" {
		d, err := civil.ParseDate(s)
		if err != nil {
			h.fail(w, r, pg, kerr.E(kerr.Invalid, "portal.deletions", "the date %q must be like 2027-12-04", s))
			return
		}
		through = d
	}
	list, err := h.svc.Cases.UpcomingDeletions(r.Context(), pg.P, through, casework.RetentionCursor{}, deletionsShown)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	type row struct {
		Ret  casework.Retention
		Name string
	}
	var rows []row
	for _, ret := range list {
		name := ret.CaseID
		if c, err := h.svc.Cases.Get(r.Context(), pg.P, ret.CaseID); err == nil {
			name = c.Name
		}
		rows = append(rows, row{Ret: ret, Name: name})
	}
	pg.Data = map[string]any{"Rows": rows, "Through": through.String()}
	h.render(w, r, http.StatusOK, "deletions", pg)
}
