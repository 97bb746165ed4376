package portal

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Third-party disclosure (第三者開示, issue 12) in the portal: a user's
// own disclosure accounts (list, create, cases, period, revoke, access
// log) under /disclosures, and what a disclosure login sees: a read-only
// list of the cases it was given under /shared, each case's files and
// its original verification, nothing else. Every rule is account's and
// casework's; the portal only shows it.

// Limits of the disclosure pages.
const (
	// disclosureCasesShown bounds the owner's completed cases offered to
	// choose from on one page (the newest first).
	disclosureCasesShown = 100
	// disclosureLogShown bounds the access-log rows shown.
	disclosureLogShown = 100
	// sharedCasesShown bounds the cases listed to a disclosure login.
	sharedCasesShown = 100
)

// parseDay reads a YYYY-MM-DD field as midnight in the service's time
// zone (the day it names begins then); what names it for the error.
func parseDay(v, what string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(v), jst)
	if err != nil {
		return time.Time{}, kerr.E(kerr.Invalid, "portal.parseDay", "the date %q (%s) must be like 2026-12-04", v, what)
	}
	return t, nil
}

// parsePeriod reads the from and until fields: from is the first day
// (empty: now), until the last day the account works (inclusive, so the
// period ends at the following midnight).
func parsePeriod(r *http.Request) (from, until time.Time, err error) {
	return parsePeriodForm(r.PostFormValue("from"), r.PostFormValue("until"))
}

// parsePeriodForm is parsePeriod of the two fields' values.
func parsePeriodForm(fromField, untilField string) (from, until time.Time, err error) {
	if strings.TrimSpace(fromField) != "" {
		if from, err = parseDay(fromField, "from"); err != nil {
			return
		}
	}
	if until, err = parseDay(untilField, "until"); err != nil {
		return
	}
	return from, until.AddDate(0, 0, 1), nil
}

func (h *Handler) disclosures(w http.ResponseWriter, r *http.Request, pg *page) {
	pg.Title = "disc.title"
	h.renderDisclosures(w, r, pg, http.StatusOK, nil)
}

func (h *Handler) renderDisclosures(w http.ResponseWriter, r *http.Request, pg *page, status int, data map[string]any) {
	pg.Title = "disc.title"
	list, err := h.svc.Accounts.ListDisclosures(r.Context(), pg.P)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	if data == nil {
		data = map[string]any{}
	}
	data["List"], data["Now"] = list, h.svc.Now()
	if r.URL.Query().Get("done") == "revoke" {
		pg.Flash = "disc.done.revoke"
	}
	pg.Data = data
	h.render(w, r, status, "disclosures", pg)
}

func (h *Handler) createDisclosure(w http.ResponseWriter, r *http.Request, pg *page) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	nd := account.NewDisclosure{LoginID: strings.TrimSpace(r.PostFormValue("login")), Label: strings.TrimSpace(r.PostFormValue("label"))}
	form := map[string]any{"Login": nd.LoginID, "Label": nd.Label, "From": r.PostFormValue("from"), "Until": r.PostFormValue("until")}
	var err error
	if nd.From, nd.Until, err = parsePeriod(r); err == nil {
		var info *account.DisclosureInfo
		var initial string
		if info, initial, err = h.svc.Accounts.CreateDisclosure(r.Context(), pg.P, nd); err == nil {
			// The initial password is shown this once and never again.
			pg.Flash = "disc.done.create"
			h.renderDisclosures(w, r, pg, http.StatusOK, map[string]any{"Created": info, "Initial": initial})
			return
		}
	}
	pg.Err = explain(err)
	h.renderDisclosures(w, r, pg, pg.Err.Status, map[string]any{"Form": form})
}

func (h *Handler) disclosurePage(w http.ResponseWriter, r *http.Request, pg *page) {
	pg.Title = "disc.one.title"
	if f := r.URL.Query().Get("done"); f == "cases" || f == "period" {
		pg.Flash = "disc.done." + f
	}
	h.renderDisclosure(w, r, pg, http.StatusOK)
}

func (h *Handler) renderDisclosure(w http.ResponseWriter, r *http.Request, pg *page, status int) {
	pg.Title = "disc.one.title"
	id := r.PathValue("id")
	d, err := h.svc.Accounts.Disclosure(r.Context(), pg.P, id)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	res, err := h.svc.Cases.Search(r.Context(), pg.P, &casework.Query{States: []casework.State{casework.StateCompleted},
		Sort: storage.SortTransactionDate, Desc: true, Limit: disclosureCasesShown})
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	given := map[string]bool{}
	for _, c := range d.Cases {
		given[c] = true
	}
	log, err := h.svc.Accounts.AccessLog(r.Context(), pg.P, id, 0, disclosureLogShown)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	pg.Data = map[string]any{"D": d, "Cases": res.Cases, "Given": given, "Log": log,
		"Active": d.ActiveAt(h.svc.Now()), "Until": d.Until.In(jst).AddDate(0, 0, -1).Format(time.DateOnly),
		"From": d.From.In(jst).Format(time.DateOnly)}
	h.render(w, r, status, "disclosure", pg)
}

// disclosureAction runs f on the disclosure named in the path and comes
// back to its page, or shows the page with the refusal.
func (h *Handler) disclosureAction(done string, f func(r *http.Request, pg *page, id string) error) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, pg *page) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		id := r.PathValue("id")
		if err := f(r, pg, id); err != nil {
			pg.Err = explain(err)
			if kerr.Of(err) == kerr.NotFound || kerr.Of(err) == kerr.PermissionDenied {
				h.fail(w, r, pg, err)
				return
			}
			h.renderDisclosure(w, r, pg, pg.Err.Status)
			return
		}
		if done == "revoke" {
			h.redirect(w, r, "/disclosures?done=revoke")
			return
		}
		h.redirect(w, r, "/disclosures/"+url.PathEscape(id)+"?done="+done)
	}
}

func (h *Handler) setDisclosureCases(r *http.Request, pg *page, id string) error {
	if err := r.ParseForm(); err != nil {
		return kerr.WrapKind(kerr.Invalid, "portal.setDisclosureCases", "the form could not be read", err)
	}
	cases := append([]string{}, r.PostForm["case"]...)
	_, err := h.svc.Accounts.UpdateDisclosure(r.Context(), pg.P, id, account.DisclosureUpdate{Cases: &cases})
	return err
}

func (h *Handler) setDisclosurePeriod(r *http.Request, pg *page, id string) error {
	from, until, err := parsePeriod(r)
	if err != nil {
		return err
	}
	up := account.DisclosureUpdate{Until: &until}
	if !from.IsZero() {
		up.From = &from
	}
	_, err = h.svc.Accounts.UpdateDisclosure(r.Context(), pg.P, id, up)
	return err
}

func (h *Handler) revokeDisclosure(r *http.Request, pg *page, id string) error {
	return h.svc.Accounts.RevokeDisclosure(r.Context(), pg.P, id)
}

// ---- what a disclosure login sees ----

func (h *Handler) shared(w http.ResponseWriter, r *http.Request, pg *page) {
	pg.Title = "shared.title"
	res, err := h.svc.Cases.Search(r.Context(), pg.P, &casework.Query{States: []casework.State{casework.StateCompleted},
		Sort: storage.SortTransactionDate, Desc: true, Limit: sharedCasesShown})
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	pg.Data = map[string]any{"Cases": res.Cases}
	h.render(w, r, http.StatusOK, "shared", pg)
}

func (h *Handler) sharedCase(w http.ResponseWriter, r *http.Request, pg *page) {
	pg.Title = "shared.case.title"
	c, err := h.svc.Cases.Get(r.Context(), pg.P, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	pg.Data = map[string]any{"Case": c}
	h.render(w, r, http.StatusOK, "sharedcase", pg)
}
