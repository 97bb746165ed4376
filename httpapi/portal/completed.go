package portal

import (
	"cloud.google.com/go/civil"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// searchForm is the completed-cases search as typed.
type searchForm struct {
	From, To             string // transaction date range, YYYY-MM-DD
	AmountMin, AmountMax string
	Counterparty         string
	Name                 string
	Hidden               string // exclude (default), only or include
}

// parseSearch reads the search of completed cases (電子帳簿保存法: date,
// amount and counterparty, by range, combined) from a query string. An
// empty field leaves its filter out; a malformed one is kerr.Invalid
// naming it.
func parseSearch(v url.Values) (*casework.Query, *searchForm, error) {
	const op = "portal.parseSearch"
	sf := &searchForm{From: strings.TrimSpace(v.Get("from")), To: strings.TrimSpace(v.Get("to")),
		AmountMin: strings.TrimSpace(v.Get("min")), AmountMax: strings.TrimSpace(v.Get("max")),
		Counterparty: strings.TrimSpace(v.Get("counterparty")), Name: strings.TrimSpace(v.Get("name")), Hidden: v.Get("hidden")}
	q := &casework.Query{States: []casework.State{casework.StateCompleted}, Counterparty: sf.Counterparty, NameContains: sf.Name,
		Sort: storage.SortTransactionDate, Desc: true, Limit: 100, Cursor: v.Get("cursor")}
	var err error
	if q.Hidden, err = parseHidden(sf.Hidden); err != nil {
		return nil, sf, err
	}
	for _, d := range []struct {
		s    string
		dst  *civil.Date
		what string
	}{{sf.From, &q.TransactionFrom, "from"}, {sf.To, &q.TransactionTo, "to"}} {
		if d.s == "" {
			continue
		}
		t, err := civil.ParseDate(d.s)
		if err != nil {
			return nil, sf, kerr.E(kerr.Invalid, op, "the date %q (%s) must be like 2026-12-04", d.s, d.what)
		}
		*d.dst = t
	}
	for _, a := range []struct {
		s   string
		dst **int64
	}{{sf.AmountMin, &q.AmountMin}, {sf.AmountMax, &q.AmountMax}} {
		if a.s == "" {
			continue
		}
		n, err := strconv.ParseInt(strings.ReplaceAll(a.s, ",", ""), 10, 64)
		if err != nil || n < 0 || n > casework.MaxAmount {
			return nil, sf, kerr.E(kerr.Invalid, op, "the amount %q must be a whole number of yen", a.s)
		}
		*a.dst = &n
	}
	return q, sf, nil
}

func (h *Handler) completed(w http.ResponseWriter, r *http.Request, pg *page) {
	pg.Title = "completed.title"
	if f := r.URL.Query().Get("done"); f == "hide" || f == "unhide" {
		pg.Flash = "done." + f
	}
	q, sf, err := parseSearch(r.URL.Query())
	data := map[string]any{"S": sf, "CSV": h.url("/completed.csv?" + r.URL.RawQuery), "Modes": hiddenModes, "Here": h.url(returnPath(r))}
	pg.Data = data
	if err != nil {
		pg.Err = explain(err)
		h.render(w, r, pg.Err.Status, "completed", pg)
		return
	}
	res, err := h.svc.Cases.Search(r.Context(), pg.P, q)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	names := map[string]string{}
	var views []*caseView
	for _, c := range res.Cases {
		views = append(views, h.view(r.Context(), pg.P, c, names))
	}
	data["Cases"], data["Next"] = views, res.Next
	// Which rows are hidden, for their hide or unhide button: known from
	// the filter, asked per row only when it lists both.
	hidden := map[string]bool{}
	for _, c := range res.Cases {
		switch q.Hidden {
		case casework.HiddenOnly:
			hidden[c.ID] = true
		case casework.HiddenInclude:
			if hidden[c.ID], err = h.svc.Cases.IsHidden(r.Context(), pg.P, c.ID); err != nil {
				h.fail(w, r, pg, err)
				return
			}
		}
	}
	data["Hidden"] = hidden
	h.render(w, r, http.StatusOK, "completed", pg)
}

func (h *Handler) completedCSV(w http.ResponseWriter, r *http.Request, pg *page) {
	q, _, err := parseSearch(r.URL.Query())
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	q.Limit, q.Cursor = 0, ""
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="completed.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	if _, err := h.svc.Cases.ExportCSV(r.Context(), pg.P, q, w); err != nil {
		// The header may be out: the log says why the file is short.
		h.log.ErrorContext(r.Context(), "portal CSV export", "err", err)
	}
}

func (h *Handler) verification(w http.ResponseWriter, r *http.Request, pg *page) {
	pg.Title = "verify.title"
	id := r.PathValue("id")
	c, err := h.svc.Cases.Get(r.Context(), pg.P, id)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	chk, err := h.svc.VerifyOriginal(r.Context(), pg.P, id)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	var pdfSigs [][]sigView
	for _, p := range chk.PDFs {
		pdfSigs = append(pdfSigs, sigViews(p.Verdict.Report))
	}
	pg.Data = map[string]any{"Case": h.view(r.Context(), pg.P, c, map[string]string{}), "Check": chk, "PDFSigs": pdfSigs}
	h.render(w, r, http.StatusOK, "verification", pg)
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request, pg *page) {
	pg.Title = "audit.title"
	id := r.PathValue("id")
	c, err := h.svc.Cases.Get(r.Context(), pg.P, id)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	entries, err := h.svc.Cases.AuditTrail(r.Context(), pg.P, id)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	names := map[string]string{}
	type row struct {
		Time            time.Time
		Company, Action string
		Detail          string
		Seq             int64
	}
	var rows []row
	for _, e := range entries {
		rows = append(rows, row{Time: e.Time, Company: h.companyName(r.Context(), e.ActorCompanyID, names), Action: e.Action, Detail: e.Detail, Seq: e.Seq})
	}
	pg.Data = map[string]any{"Case": h.view(r.Context(), pg.P, c, names), "Rows": rows}
	h.render(w, r, http.StatusOK, "audit", pg)
}
