package portal

import (
	"errors"
	"net/http"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
)

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	pg := h.newPage(r, "login.title")
	switch {
	case r.URL.Query().Get("expired") != "":
		pg.Flash = "login.expired"
	case r.URL.Query().Get("out") != "":
		pg.Flash = "login.loggedout"
	case r.URL.Query().Get("changed") != "":
		pg.Flash = "password.changed"
	}
	h.render(w, r, http.StatusOK, "login", pg)
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	pg := h.newPage(r, "login.title")
	sess, err := h.svc.Accounts.Login(r.Context(), r.PostFormValue("login"), r.PostFormValue("password"), remoteAddr(r))
	if errors.Is(err, account.ErrAddressNotAllowed) {
		h.addressRefused(w, r)
		return
	}
	if err != nil {
		pg.Err = explain(err)
		pg.Data = map[string]string{"Login": r.PostFormValue("login")}
		h.render(w, r, pg.Err.Status, "login", pg)
		return
	}
	h.setSession(w, sess.Token)
	if sess.MustChangePassword {
		h.redirect(w, r, "/password")
		return
	}
	h.redirect(w, r, "/cases")
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if tok := h.token(r); tok != "" {
		// An expired session is already gone: logging out succeeds.
		if err := h.svc.Accounts.Logout(r.Context(), tok, remoteAddr(r)); err != nil && !errors.Is(err, kerr.Unauthenticated) {
			h.fail(w, r, h.newPage(r, ""), err)
			return
		}
	}
	h.setSession(w, "")
	h.redirect(w, r, "/login?out=1")
}

// passwordPage is the change of password, forced after the first login
// with an initial password and open to every logged-in user.
func (h *Handler) passwordPage(w http.ResponseWriter, r *http.Request) {
	if h.token(r) == "" {
		h.redirect(w, r, "/login")
		return
	}
	if _, err := h.svc.Accounts.Authenticate(r.Context(), h.token(r), remoteAddr(r)); errors.Is(err, account.ErrAddressNotAllowed) {
		h.addressRefused(w, r)
		return
	}
	pg := h.newPage(r, "password.title")
	h.passwordForm(w, r, pg, http.StatusOK)
}

func (h *Handler) passwordForm(w http.ResponseWriter, r *http.Request, pg *page, status int) {
	_, err := h.svc.Accounts.Authenticate(r.Context(), h.token(r), remoteAddr(r))
	pg.Data = map[string]any{"Forced": errors.Is(err, account.ErrPasswordChangeRequired), "Min": account.MinPasswordLen, "Max": account.MaxPasswordLen}
	h.render(w, r, status, "password", pg)
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	pg := h.newPage(r, "password.title")
	tok := h.token(r)
	if tok == "" {
		h.redirect(w, r, "/login")
		return
	}
	var err error
	if r.PostFormValue("new") != r.PostFormValue("confirm") {
		err = kerr.E(kerr.Invalid, "portal.changePassword", "the new password and its confirmation differ")
		pg.Err = explain(err)
		pg.Err.Message = "password.mismatch"
	} else if err = h.svc.Accounts.ChangePassword(r.Context(), tok, r.PostFormValue("current"), r.PostFormValue("new"), remoteAddr(r)); err != nil {
		pg.Err = explain(err)
		if errors.Is(err, account.ErrBadCredentials) {
			pg.Err.Message, pg.Err.Next = "password.wrongcurrent", "password.wrongcurrent.next"
		} else if errors.Is(err, account.ErrAddressNotAllowed) {
			h.addressRefused(w, r)
			return
		} else if errors.Is(err, account.ErrSessionExpired) {
			h.setSession(w, "")
			h.redirect(w, r, "/login?expired=1")
			return
		}
	}
	if err != nil {
		h.passwordForm(w, r, pg, pg.Err.Status)
		return
	}
	h.redirect(w, r, "/profile?changed=1")
}

func (h *Handler) profile(w http.ResponseWriter, r *http.Request, pg *page) {
	pg.Title = "profile.title"
	if r.URL.Query().Get("changed") != "" {
		pg.Flash = "password.changed"
	}
	h.render(w, r, http.StatusOK, "profile", pg)
}
