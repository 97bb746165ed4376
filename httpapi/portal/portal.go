package portal

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Limits of the portal's requests.
const (
	// MaxFormBytes bounds a form without files (login, send back, search).
	MaxFormBytes = 64 << 10
	// MaxUploadBytes bounds a multipart request: the contract PDF, the
	// supplementary files and the form fields (casework's limits plus 1 MiB
	// of multipart framing and fields).
	MaxUploadBytes = 20<<20 + 5*(10<<20) + 1<<20
	// memoryPerUpload is how much of a multipart request is held in
	// memory; the rest is spooled to temporary files by mime/multipart.
	memoryPerUpload = 1 << 20
)

// Config configures New. Each field says what its zero value means.
type Config struct {
	// Service is the contract service the portal acts on. Required.
	Service *keiyaku.Service
	// Brand is the product the portal shows; the zero value means
	// DefaultBrand. New refuses a Brand whose colours do not reach the
	// contrast WCAG 2.2 asks of text (4.5:1).
	Brand Brand
	// InsecureCookies drops the Secure attribute of the session cookie,
	// for tests and development over plain http on localhost only. false
	// (the default) means cookies are sent over HTTPS only.
	InsecureCookies bool
	// BasePath is the path the portal is mounted under, e.g. "/portal";
	// links are built under it. Empty means "/". Mount the handler with
	// http.StripPrefix when it is not "/".
	BasePath string
	// TrustedOrigins are extra origins (scheme://host[:port]) whose
	// cross-origin form posts are accepted; nil means same-origin only
	// (http.CrossOriginProtection).
	TrustedOrigins []string
	// Logger receives a line per failed request; nil discards them.
	Logger *slog.Logger
}

// Handler is the portal: an http.Handler serving every page under
// Config.BasePath. It is safe for concurrent use.
type Handler struct {
	svc      *keiyaku.Service
	brand    Brand
	secure   bool
	base     string
	log      *slog.Logger
	pages    map[string]*template.Template
	static   fs.FS
	brandCSS []byte
	mux      *http.ServeMux
	handler  http.Handler
	csp      string
}

// New returns the portal for cfg, or an error of kind kerr.Invalid naming
// the Config field that is wrong.
func New(cfg Config) (*Handler, error) {
	const op = "portal.New"
	if cfg.Service == nil {
		return nil, kerr.E(kerr.Invalid, op, "Config.Service is required")
	}
	brand, err := cfg.Brand.withDefaults(op)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(cfg.BasePath, "/")
	if base != "" && (!strings.HasPrefix(base, "/") || strings.ContainsAny(base, "?#\"'<> ")) {
		return nil, kerr.E(kerr.Invalid, op, "Config.BasePath %q must be an absolute path like /portal", cfg.BasePath)
	}
	h := &Handler{svc: cfg.Service, brand: brand, secure: !cfg.InsecureCookies, base: base, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.pages, err = parsePages(); err != nil {
		return nil, kerr.WrapKind(kerr.Internal, op, "parsing the embedded templates", err)
	}
	if h.static, err = fs.Sub(staticFS, "static"); err != nil {
		return nil, kerr.WrapKind(kerr.Internal, op, "embedded static files", err)
	}
	h.brandCSS = brand.css()
	h.csp = brand.contentSecurityPolicy()
	h.routes()
	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, kerr.WrapKind(kerr.Invalid, op, "Config.TrustedOrigins", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, h.newPage(r, ""), kerr.E(kerr.PermissionDenied, "portal.CrossOriginProtection", "a form from another site was refused"))
	}))
	h.handler = cop.Handler(h.mux)
	return h, nil
}

// ServeHTTP serves a portal page, with the security headers on every
// answer: a Content-Security-Policy that allows scripts, styles, images
// and forms only from the portal itself (no inline script or style), no
// framing, no referrer outside, no MIME sniffing.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.handler.ServeHTTP(w, r)
}

func (h *Handler) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { h.redirect(w, r, "/cases") })
	m.HandleFunc("GET /static/", h.serveStatic)
	m.HandleFunc("GET /login", h.loginPage)
	m.HandleFunc("POST /login", h.login)
	m.HandleFunc("POST /logout", h.logout)
	m.HandleFunc("POST /lang", h.setLanguage)
	m.HandleFunc("GET /password", h.passwordPage)
	m.HandleFunc("POST /password", h.changePassword)
	m.HandleFunc("GET /profile", h.authed(h.profile))
	m.HandleFunc("GET /cases", h.authed(h.incomplete))
	m.HandleFunc("GET /cases/new", h.authed(h.newCasePage))
	m.HandleFunc("POST /cases/new", h.authed(h.register))
	m.HandleFunc("POST /cases/check", h.authed(h.check))
	m.HandleFunc("POST /cases/find", h.authed(h.findParties))
	m.HandleFunc("GET /cases/{id}", h.authed(h.detail))
	m.HandleFunc("POST /cases/{id}/receive", h.authed(h.receive))
	m.HandleFunc("GET /cases/{id}/files/{key}", h.viewer(h.download))
	m.HandleFunc("POST /cases/{id}/return", h.authed(h.returnCase))
	m.HandleFunc("POST /cases/{id}/send-back", h.authed(h.sendBack))
	m.HandleFunc("POST /cases/{id}/resend", h.authed(h.resend))
	m.HandleFunc("POST /cases/{id}/complete", h.authed(h.complete))
	m.HandleFunc("POST /cases/{id}/delete", h.authed(h.deleteCase))
	m.HandleFunc("GET /cases/{id}/verification", h.viewer(h.verification))
	m.HandleFunc("GET /cases/{id}/audit", h.authed(h.audit))
	m.HandleFunc("GET /company", h.adminOnly(h.companyPage))
	m.HandleFunc("POST /company/certificates", h.adminOnly(h.addCertificate))
	m.HandleFunc("POST /company/issuers", h.adminOnly(h.addIssuer))
	m.HandleFunc("POST /company/certificates/{id}/remove", h.adminOnly(h.removeCertificate))
	m.HandleFunc("POST /company/partners", h.adminOnly(h.addPartner))
	m.HandleFunc("POST /company/partners/{id}/remove", h.adminOnly(h.removePartner))
	m.HandleFunc("GET /company/users", h.adminOnly(h.usersPage))
	m.HandleFunc("POST /company/users", h.adminOnly(h.createUser))
	m.HandleFunc("GET /company/users/{id}", h.adminOnly(h.userPage))
	m.HandleFunc("POST /company/users/{id}/disable", h.adminOnly(h.userAction("disable", h.disableUser)))
	m.HandleFunc("POST /company/users/{id}/enable", h.adminOnly(h.userAction("enable", h.enableUser)))
	m.HandleFunc("POST /company/users/{id}/unlock", h.adminOnly(h.userAction("unlock", h.unlockUser)))
	m.HandleFunc("POST /company/users/{id}/end-sessions", h.adminOnly(h.userAction("sessions", h.endSessions)))
	m.HandleFunc("POST /company/users/{id}/reset-password", h.adminOnly(h.resetPassword))
	m.HandleFunc("POST /company/users/{id}/allow-list", h.adminOnly(h.setAllowList))
	m.HandleFunc("POST /cases/{id}/hide", h.authed(h.setHidden(true)))
	m.HandleFunc("POST /cases/{id}/unhide", h.authed(h.setHidden(false)))
	m.HandleFunc("POST /cases/{id}/comment", h.authed(h.saveComment))
	m.HandleFunc("GET /completed", h.authed(h.completed))
	m.HandleFunc("GET /completed.csv", h.authed(h.completedCSV))
	m.HandleFunc("GET /disclosures", h.authed(h.disclosures))
	m.HandleFunc("POST /disclosures", h.authed(h.createDisclosure))
	m.HandleFunc("GET /disclosures/{id}", h.authed(h.disclosurePage))
	m.HandleFunc("POST /disclosures/{id}/cases", h.authed(h.disclosureAction("cases", h.setDisclosureCases)))
	m.HandleFunc("POST /disclosures/{id}/period", h.authed(h.disclosureAction("period", h.setDisclosurePeriod)))
	m.HandleFunc("POST /disclosures/{id}/revoke", h.authed(h.disclosureAction("revoke", h.revokeDisclosure)))
	m.HandleFunc("POST /cases/{id}/retention", h.authed(h.caseAction("retention", h.setRetention)))
	m.HandleFunc("POST /cases/{id}/hold", h.authed(h.caseAction("hold", h.placeHold)))
	m.HandleFunc("POST /cases/{id}/hold/lift", h.authed(h.caseAction("unhold", h.liftHold)))
	m.HandleFunc("GET /company/deletions", h.adminOnly(h.deletions))
	m.HandleFunc("GET /operator", h.operatorOnly(h.operatorPage))
	m.HandleFunc("POST /operator/companies", h.operatorOnly(h.operatorCreateCompany))
	m.HandleFunc("POST /operator/name-requests/{id}/approve", h.operatorOnly(h.operatorDecide(true)))
	m.HandleFunc("POST /operator/name-requests/{id}/reject", h.operatorOnly(h.operatorDecide(false)))
	m.HandleFunc("GET /company/name", h.adminOnly(h.nameChangePage))
	m.HandleFunc("POST /company/name", h.adminOnly(h.requestNameChange))
	m.HandleFunc("GET /shared", h.viewer(h.shared))
	m.HandleFunc("GET /shared/{id}", h.viewer(h.sharedCase))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, h.newPage(r, ""), kerr.E(kerr.NotFound, "portal", "no page at %s", r.URL.Path))
	})
	h.mux = m
}

// url returns the absolute path of a portal page.
func (h *Handler) url(p string) string { return h.base + p }

func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, p string) {
	http.Redirect(w, r, h.url(p), http.StatusSeeOther)
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	switch name {
	case "brand.css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(h.brandCSS)
		return
	case "logo":
		if len(h.brand.Logo) == 0 {
			break
		}
		w.Header().Set("Content-Type", h.brand.LogoType)
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(h.brand.Logo)
		return
	}
	if strings.Contains(name, "/") || name == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, h.static, name)
}

// ---- sessions ----

func (h *Handler) cookieName() string {
	if h.secure {
		// The __Host- prefix makes the browser refuse the cookie unless
		// it is Secure, host-only and for path / (RFC 6265bis §4.1.3.2).
		return "__Host-session"
	}
	return "session"
}

// setSession sets (or, for "", clears) the session cookie. It is a
// browser-session cookie without Expires: the service's clock decides
// when the session ends (account.Config.SessionTTL), and the browser's
// clock need not agree with it.
func (h *Handler) setSession(w http.ResponseWriter, token string) {
	c := &http.Cookie{Name: h.cookieName(), Value: token, Path: "/", HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode}
	if token == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

func (h *Handler) token(r *http.Request) string {
	c, err := r.Cookie(h.cookieName())
	if err != nil {
		return ""
	}
	return c.Value
}

// remoteAddr is the connection's address; X-Forwarded-For is not read (a
// deployment behind a proxy sets r.RemoteAddr in its own middleware).
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type authedFunc func(w http.ResponseWriter, r *http.Request, pg *page)

// authed runs f for a logged-in user whose password need not be changed;
// anyone else goes to the login or password page, and a disclosure login
// to its own list (/shared).
func (h *Handler) authed(f authedFunc) http.HandlerFunc { return h.auth(f, false) }

// viewer is authed that also lets a disclosure login in: only for the
// read-only pages it may see (its list, a case's files, the original
// verification), whose Go API calls enforce its scope.
func (h *Handler) viewer(f authedFunc) http.HandlerFunc { return h.auth(f, true) }

func (h *Handler) auth(f authedFunc, disclosureOK bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := h.token(r)
		if tok == "" {
			h.redirect(w, r, "/login")
			return
		}
		p, err := h.svc.Accounts.Authenticate(r.Context(), tok, remoteAddr(r))
		switch {
		case errors.Is(err, account.ErrPasswordChangeRequired):
			h.redirect(w, r, "/password")
			return
		case errors.Is(err, account.ErrAddressNotAllowed):
			// The session stays: from an allowed address it works again.
			h.addressRefused(w, r)
			return
		case errors.Is(err, kerr.Unauthenticated):
			h.setSession(w, "")
			h.redirect(w, r, "/login?expired=1")
			return
		case err != nil:
			h.fail(w, r, h.newPage(r, ""), err)
			return
		}
		pg := h.newPage(r, "")
		pg.P = p
		if p.IsDisclosure() {
			if !disclosureOK {
				h.redirect(w, r, "/shared")
				return
			}
			f(w, r, pg)
			return
		}
		if err := h.loadUser(r.Context(), pg); err != nil {
			h.fail(w, r, pg, err)
			return
		}
		f(w, r, pg)
	}
}

func (h *Handler) loadUser(ctx context.Context, pg *page) error {
	u, err := h.svc.Store.GetUser(ctx, pg.P.UserID)
	if err != nil {
		return err
	}
	co, err := h.svc.Store.GetCompany(ctx, pg.P.CompanyID)
	if err != nil {
		return err
	}
	pg.User, pg.Company = u, co
	return nil
}
