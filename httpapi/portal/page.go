package portal

import (
	"bytes"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/kerr/kmsg"
	"github.com/keiyaku/keiyaku/storage"
)

// page is what every template gets: the language, the brand, who is
// logged in, and the page's own data.
type page struct {
	printer
	Brand   Brand
	Base    string
	Path    string // the request path, for the language switch
	Title   string // a message key
	P       account.Principal
	User    *storage.User
	Company *storage.Company
	Flash   string // a message key of a notice shown once
	Data    any
	// Err, when set, is shown in plain words above the content.
	Err *errorView
}

func (h *Handler) newPage(r *http.Request, title string) *page {
	return &page{printer: newPrinter(lang(r)), Brand: h.brand, Base: h.base, Path: h.base + returnPath(r), Title: title}
}

// returnPath is the page the language switch comes back to: the page
// itself, or for a page shown in answer to a form post, the page the
// form was on (a GET of an action's URL would find no page).
func returnPath(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r.URL.RequestURI()
	}
	switch p := r.URL.Path; {
	case p == "/login" || p == "/password" || p == "/cases/new":
		return p
	case p == "/cases/find" || p == "/cases/check":
		return "/cases/new"
	case strings.HasPrefix(p, "/company/users/") && r.PathValue("id") != "":
		return "/company/users/" + r.PathValue("id")
	case p == "/company/users" || p == "/company/name" || p == "/disclosures":
		return p
	case strings.HasPrefix(p, "/operator/"):
		return "/operator"
	case strings.HasPrefix(p, "/disclosures/") && r.PathValue("id") != "":
		return "/disclosures/" + r.PathValue("id")
	case strings.HasPrefix(p, "/company/"):
		return "/company"
	case strings.HasPrefix(p, "/cases/") && r.PathValue("id") != "":
		return "/cases/" + r.PathValue("id")
	}
	return "/"
}

// U returns the path of a portal page under BasePath.
func (pg *page) U(p string) string { return pg.Base + p }

// HasLogo reports whether the brand has a logo image.
func (pg *page) LogoSrc() string {
	if len(pg.Brand.Logo) > 0 {
		return pg.Base + "/static/logo"
	}
	return pg.Brand.LogoURL
}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"pair": func(a, b any) []any { return []any{a, b} },
		"inc":  func(i int) int { return i + 1 },
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		if strings.HasSuffix(n, "/layout.html") || strings.HasPrefix(path.Base(n), "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return out, nil
}

// render writes the page with status. A template error is a bug: the
// user gets the plain error page, never half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, pg *page) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", pg); err != nil {
		h.log.ErrorContext(r.Context(), "portal template", "page", name, "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>500</title><p>Internal error / 内部エラー</p>")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorView is an error in plain words: Message is a message key by
// kind (and by cause where the cause matters to a person), Detail the
// technical text, shown behind a disclosure; empty for internal errors.
type errorView struct {
	Status  int
	Message string
	Next    string // a message key: what to do next
	Detail  string
	// err is the error explained; a refusal with a message code
	// (kerr.Coded) is shown in its own words (page.ErrText) instead of
	// Next, and without Detail, which would repeat it in English.
	err error
}

// explain turns err into words a clerk understands, by its kerr kind.
func explain(err error) *errorView {
	v := &errorView{Detail: err.Error(), err: err}
	switch kerr.Of(err) {
	case kerr.NotFound:
		v.Status, v.Message, v.Next = http.StatusNotFound, "err.notfound", "err.notfound.next"
	case kerr.Invalid:
		v.Status, v.Message, v.Next = http.StatusUnprocessableEntity, "err.invalid", "err.invalid.next"
	case kerr.Conflict:
		v.Status, v.Message, v.Next = http.StatusConflict, "err.conflict", "err.conflict.next"
	case kerr.PermissionDenied:
		v.Status, v.Message, v.Next = http.StatusForbidden, "err.denied", "err.denied.next"
		if errors.Is(err, account.ErrAddressNotAllowed) {
			v.Message, v.Next = "err.address", "err.address.next"
		}
	case kerr.Unauthenticated:
		v.Status, v.Message, v.Next = http.StatusUnauthorized, "err.unauthenticated", "err.unauthenticated.next"
		switch {
		case errors.Is(err, account.ErrLocked):
			v.Message, v.Next = "err.locked", "err.locked.next"
		case errors.Is(err, account.ErrBadCredentials):
			v.Message, v.Next = "err.badcredentials", "err.badcredentials.next"
		}
	case kerr.FailedPrecondition:
		v.Status, v.Message, v.Next = http.StatusConflict, "err.precondition", "err.precondition.next"
	case kerr.Unavailable:
		v.Status, v.Message, v.Next = http.StatusServiceUnavailable, "err.unavailable", "err.unavailable.next"
	default:
		v.Status, v.Message, v.Next, v.Detail = http.StatusInternalServerError, "err.internal", "err.internal.next", ""
	}
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		v.Status, v.Message, v.Next = http.StatusRequestEntityTooLarge, "err.toolarge", "err.toolarge.next"
		v.err = nil // the limit's own words, not those of the read it cut off
	}
	return v
}

// ErrText is the refusal of Err in the page's language when it carries a
// message code (package kerr/kmsg), else "".
func (pg *page) ErrText() string {
	if pg.Err == nil || pg.Err.err == nil || pg.Err.Status >= 500 {
		return ""
	}
	s, _ := kmsg.Localize(pg.Err.err, pg.Lang())
	return s
}

// Note is a verdict's reason (archive.PDFVerification.Notes) in the
// page's language.
func (pg *page) Note(n kerr.Note) string { return kmsg.Note(n, pg.Lang()) }

// fail shows the error page for err.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, pg *page, err error) {
	v := explain(err)
	if v.Status >= 500 {
		h.log.ErrorContext(r.Context(), "portal request failed", "path", r.URL.Path, "err", err)
	}
	pg.Err, pg.Title = v, "err.title"
	h.render(w, r, v.Status, "error", pg)
}
