package portal

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// The company administrator's pages of issue 12: the users of the
// company with their state, one user's page with the actions on it
// (disable, enable, unlock, reset the password, end the sessions) and
// its IP allow-list. Every rule is the account package's (an
// administrator of the same company, not itself for a reset or a
// disabling); adminOnly keeps ordinary users out before.

// userView is a user as the administrator's pages show it.
type userView struct {
	*account.UserInfo
	// Status is the message key of the user's state: the strongest of
	// disabled, locked, initial password and active.
	Status string
	Self   bool // the administrator looking
}

func newUserView(u *account.UserInfo, self string) userView {
	v := userView{UserInfo: u, Status: "users.status.active", Self: u.ID == self}
	switch {
	case u.Disabled:
		v.Status = "users.status.disabled"
	case u.Blocked():
		v.Status = "users.status.locked"
	case u.MustChangePassword:
		v.Status = "users.status.initial"
	}
	return v
}

// DisplayName is the user's name, or its login ID without one.
func (v userView) DisplayName() string {
	if v.Profile.Name != "" {
		return v.Profile.Name
	}
	return v.LoginID
}

// AllowText is the allow-list as the edit box holds it: one entry a line.
func (v userView) AllowText() string {
	var b strings.Builder
	for _, p := range v.AllowList {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request, pg *page) {
	h.showUsers(w, r, pg, http.StatusOK, nil)
}

// showUsers renders the users list; form is the create form as typed
// when it was refused.
func (h *Handler) showUsers(w http.ResponseWriter, r *http.Request, pg *page, status int, form url.Values) {
	pg.Title = "users.title"
	us, err := h.svc.Accounts.ListUsers(r.Context(), pg.P)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	views := make([]userView, 0, len(us))
	for _, u := range us {
		views = append(views, newUserView(u, pg.P.UserID))
	}
	if form == nil {
		form = url.Values{}
	}
	pg.Data = map[string]any{"Users": views, "Form": form}
	h.render(w, r, status, "users", pg)
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, pg *page) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, pg, kerr.WrapKind(kerr.Invalid, "portal.createUser", "the form could not be read", err))
		return
	}
	f := r.PostForm
	nu := account.NewUser{LoginID: strings.TrimSpace(f.Get("login")), Admin: f.Get("admin") == "1",
		Profile: storage.Profile{Name: strings.TrimSpace(f.Get("name")), Department: strings.TrimSpace(f.Get("department")),
			Email: strings.TrimSpace(f.Get("email")), Language: f.Get("language")}}
	u, pw, err := h.svc.Accounts.CreateUser(r.Context(), pg.P, nu)
	if err != nil {
		pg.Err = explain(err)
		h.showUsers(w, r, pg, pg.Err.Status, f)
		return
	}
	// The initial password is shown on this answer only (no redirect:
	// a reload must not show it again from a URL, and the page is
	// no-store).
	pg.Flash = "users.done.create"
	h.showUser(w, r, pg, u.ID, http.StatusCreated, pw)
}

func (h *Handler) userPage(w http.ResponseWriter, r *http.Request, pg *page) {
	if f := r.URL.Query().Get("done"); f != "" {
		switch f {
		case "disable", "enable", "unlock", "sessions", "allow-list":
			pg.Flash = "users.done." + f
		}
	}
	h.showUser(w, r, pg, r.PathValue("id"), http.StatusOK, "")
}

// showUser renders one user's page; password, when set, is a new
// initial password to show this once.
func (h *Handler) showUser(w http.ResponseWriter, r *http.Request, pg *page, id string, status int, password string) {
	pg.Title = "user.title"
	u, err := h.svc.Accounts.ViewUser(r.Context(), pg.P, id)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	data := map[string]any{"U": newUserView(u, pg.P.UserID), "Password": password, "MaxAllow": account.MaxAllowListEntries,
		"Addr": remoteAddr(r)}
	if old, ok := pg.Data.(string); ok {
		data["AllowText"] = old // the refused list as typed
	} else {
		data["AllowText"] = newUserView(u, "").AllowText()
	}
	pg.Data = data
	h.render(w, r, status, "user", pg)
}

// userAction runs one of the administrator's actions on user {id} and
// comes back to its page with a notice, or shows the page with the
// error in plain words.
func (h *Handler) userAction(done string, act func(r *http.Request, p account.Principal, id string) error) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, pg *page) {
		id := r.PathValue("id")
		if err := act(r, pg.P, id); err != nil {
			pg.Err = explain(err)
			h.showUser(w, r, pg, id, pg.Err.Status, "")
			return
		}
		h.redirect(w, r, "/company/users/"+url.PathEscape(id)+"?done="+done)
	}
}

func (h *Handler) disableUser(r *http.Request, p account.Principal, id string) error {
	return h.svc.Accounts.SetDisabled(r.Context(), p, id, true)
}

func (h *Handler) enableUser(r *http.Request, p account.Principal, id string) error {
	return h.svc.Accounts.SetDisabled(r.Context(), p, id, false)
}

func (h *Handler) unlockUser(r *http.Request, p account.Principal, id string) error {
	return h.svc.Accounts.Unlock(r.Context(), p, id)
}

func (h *Handler) endSessions(r *http.Request, p account.Principal, id string) error {
	_, err := h.svc.Accounts.EndSessions(r.Context(), p, id)
	return err
}

func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request, pg *page) {
	id := r.PathValue("id")
	pw, err := h.svc.Accounts.ResetPassword(r.Context(), pg.P, id)
	if err != nil {
		pg.Err = explain(err)
		h.showUser(w, r, pg, id, pg.Err.Status, "")
		return
	}
	pg.Flash = "users.done.reset"
	h.showUser(w, r, pg, id, http.StatusOK, pw)
}

// MaxAllowListText bounds the allow-list edit box: MaxAllowListEntries
// lines of at most an IPv6 prefix each, with room for blank lines.
const MaxAllowListText = 4 << 10

// parseAllowListText splits the allow-list edit box into entries: one a
// line (commas and spaces also separate), blank lines left out. The
// entries themselves are account.ParseAllowList's to check; a box
// longer than MaxAllowListText is kerr.Invalid.
func parseAllowListText(s string) ([]string, error) {
	if len(s) > MaxAllowListText {
		return nil, kerr.E(kerr.Invalid, "portal.parseAllowListText", "the list is longer than %d bytes: give at most %d addresses or networks, one a line", MaxAllowListText, account.MaxAllowListEntries)
	}
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ' ' || r == '\t' }), nil
}

func (h *Handler) setAllowList(w http.ResponseWriter, r *http.Request, pg *page) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	id := r.PathValue("id")
	text := r.PostFormValue("allow")
	entries, err := parseAllowListText(text)
	if err == nil {
		p := pg.P
		p.RemoteAddr = remoteAddr(r)
		_, err = h.svc.Accounts.SetAllowList(r.Context(), p, id, entries)
	}
	if err != nil {
		pg.Err = explain(err)
		pg.Data = text
		h.showUser(w, r, pg, id, pg.Err.Status, "")
		return
	}
	h.redirect(w, r, "/company/users/"+url.PathEscape(id)+"?done=allow-list")
}

// addressRefused is the page shown when the IP restriction refuses the
// address a login or a request came from (account.ErrAddressNotAllowed):
// what happened, the address seen, and what to do, in the page's
// language. It never says whether the password was right beyond what
// the account package tells (it refuses only after the right password).
func (h *Handler) addressRefused(w http.ResponseWriter, r *http.Request) {
	pg := h.newPage(r, "address.title")
	pg.Data = map[string]string{"Addr": remoteAddr(r)}
	h.render(w, r, http.StatusForbidden, "address", pg)
}
