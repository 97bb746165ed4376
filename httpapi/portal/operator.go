package portal

import (
	"net/http"
	"strings"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// The service operator's pages (issue 12, account/operator.go): create a
// company with its first administrator (the initial password shown once)
// and decide the pending company-name requests; and the company
// administrator's name-change request form. account decides who may:
// every call is refused (and audited) for anyone but an active operator,
// or an administrator for the request.

// operatorRequestsShown bounds the pending requests listed.
const operatorRequestsShown = 100

// operatorOnly runs f for a service operator; anyone else is refused.
func (h *Handler) operatorOnly(f authedFunc) http.HandlerFunc {
	return h.authed(func(w http.ResponseWriter, r *http.Request, pg *page) {
		if !pg.P.Operator {
			h.fail(w, r, pg, kerr.E(kerr.PermissionDenied, "portal.operator", "only the service operator creates companies and decides name requests"))
			return
		}
		f(w, r, pg)
	})
}

func (h *Handler) operatorPage(w http.ResponseWriter, r *http.Request, pg *page) {
	h.renderOperator(w, r, pg, http.StatusOK, map[string]any{})
}

func (h *Handler) renderOperator(w http.ResponseWriter, r *http.Request, pg *page, status int, data map[string]any) {
	pg.Title = "op.title"
	if f := r.URL.Query().Get("done"); f == "approve" || f == "reject" {
		pg.Flash = "op.done." + f
	}
	reqs, err := h.svc.Accounts.NameRequests(r.Context(), pg.P, account.NameRequestFilter{Status: storage.NamePending, Limit: operatorRequestsShown})
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	data["Requests"] = reqs
	pg.Data = data
	h.render(w, r, status, "operator", pg)
}

func (h *Handler) operatorCreateCompany(w http.ResponseWriter, r *http.Request, pg *page) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	name := strings.TrimSpace(r.PostFormValue("company"))
	nu := account.NewUser{LoginID: strings.TrimSpace(r.PostFormValue("login")),
		Profile: storage.Profile{Name: strings.TrimSpace(r.PostFormValue("name")), Email: strings.TrimSpace(r.PostFormValue("email"))}}
	co, _, initial, err := h.svc.Accounts.CreateCompanyAs(r.Context(), pg.P, name, nu)
	if err != nil {
		pg.Err = explain(err)
		h.renderOperator(w, r, pg, pg.Err.Status, map[string]any{"Form": map[string]string{"Company": name, "Login": nu.LoginID, "Name": nu.Profile.Name, "Email": nu.Profile.Email}})
		return
	}
	pg.Flash = "op.done.create"
	h.renderOperator(w, r, pg, http.StatusOK, map[string]any{"Created": co, "Login": nu.LoginID, "Initial": initial})
}

func (h *Handler) operatorDecide(approve bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, pg *page) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		id, note := r.PathValue("id"), strings.TrimSpace(r.PostFormValue("note"))
		var err error
		if approve {
			_, _, err = h.svc.Accounts.ApproveNameChange(r.Context(), pg.P, id, note)
		} else {
			_, err = h.svc.Accounts.RejectNameChange(r.Context(), pg.P, id, note)
		}
		if err != nil {
			pg.Err = explain(err)
			h.renderOperator(w, r, pg, pg.Err.Status, map[string]any{})
			return
		}
		h.redirect(w, r, "/operator?done="+map[bool]string{true: "approve", false: "reject"}[approve])
	}
}

// nameChangePage is the administrator's company-name request form and
// the company's requests.
func (h *Handler) nameChangePage(w http.ResponseWriter, r *http.Request, pg *page) {
	if r.URL.Query().Get("done") == "1" {
		pg.Flash = "name.done"
	}
	h.renderNameChange(w, r, pg, http.StatusOK, nil)
}

func (h *Handler) renderNameChange(w http.ResponseWriter, r *http.Request, pg *page, status int, form map[string]string) {
	pg.Title = "name.title"
	reqs, err := h.svc.Accounts.NameRequests(r.Context(), pg.P, account.NameRequestFilter{Limit: operatorRequestsShown})
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	pg.Data = map[string]any{"Requests": reqs, "Form": form}
	h.render(w, r, status, "namechange", pg)
}

func (h *Handler) requestNameChange(w http.ResponseWriter, r *http.Request, pg *page) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	name, reason := strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("reason"))
	if _, err := h.svc.Accounts.RequestNameChange(r.Context(), pg.P, name, reason); err != nil {
		pg.Err = explain(err)
		h.renderNameChange(w, r, pg, pg.Err.Status, map[string]string{"Name": name, "Reason": reason})
		return
	}
	h.redirect(w, r, "/company/name?done=1")
}
