package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
)

// Limits of requests, in bytes. A larger request is answered 413 with the
// limit in the problem document.
const (
	// MaxJSONBody bounds a JSON request body (and the "case" part of a
	// registration).
	MaxJSONBody = 64 << 10
	// MaxRegisterBody bounds a whole registration: the contract, five
	// supplementary files at their limits and the multipart framing.
	MaxRegisterBody = casework.MaxDocumentSize + casework.MaxSupplements*casework.MaxSupplementSize + 1<<20
	// MaxDocumentBody bounds a return, a resend and a stateless verify.
	MaxDocumentBody = casework.MaxDocumentSize + 1<<20
	// MaxHeaderBytes is the header limit a server should set
	// (http.Server.MaxHeaderBytes); examples/server does.
	MaxHeaderBytes = 64 << 10
)

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "keiyaku_session"

// Config configures New.
type Config struct {
	// Service is the contract service served; required.
	Service *keiyaku.Service
	// Logger receives one line per refused request (5xx at error level,
	// with the real error, which the client never sees); nil discards.
	Logger *slog.Logger
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For is believed: the client address is then the
	// right-most address in that header not itself a trusted proxy. nil
	// means none: the address is always the connection's peer.
	TrustedProxies []netip.Prefix
	// InsecureCookie leaves the Secure attribute off the session cookie,
	// for plain-http development on a host other than localhost; false
	// means Secure (RFC 6265bis §4.1.2.5).
	InsecureCookie bool
	// MaxBulkCases is how many completed cases one synchronous bulk
	// verification covers at most; zero means DefaultMaxBulkCases.
	MaxBulkCases int
}

// API serves the REST API. It is safe for concurrent use.
type API struct {
	svc     *keiyaku.Service
	log     *slog.Logger
	proxies []netip.Prefix
	secure  bool
	doc     *openapi3.T
	specJS  []byte
	router  routers.Router
	api     http.Handler
	cop     *http.CrossOriginProtection
	idem    *idempotency
	maxBulk int
}

// New returns the REST API over cfg.Service. Errors are
// kerr.Invalid for a Config without a Service, kerr.Internal when the
// embedded OpenAPI document does not load.
func New(cfg Config) (*API, error) {
	const op = "httpapi.New"
	if cfg.Service == nil {
		return nil, kerr.E(kerr.Invalid, op, "Config.Service is required")
	}
	h := &API{svc: cfg.Service, log: cfg.Logger, proxies: cfg.TrustedProxies, secure: !cfg.InsecureCookie,
		cop: http.NewCrossOriginProtection(), idem: newIdempotency(4096), maxBulk: cfg.MaxBulkCases}
	if h.maxBulk <= 0 {
		h.maxBulk = DefaultMaxBulkCases
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	doc, err := GetSwagger()
	if err != nil {
		return nil, kerr.WrapKind(kerr.Internal, op, "loading the embedded OpenAPI document", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, kerr.WrapKind(kerr.Internal, op, "the embedded OpenAPI document is not valid", err)
	}
	h.doc = doc
	if h.specJS, err = json.Marshal(doc); err != nil {
		return nil, kerr.WrapKind(kerr.Internal, op, "encoding the OpenAPI document", err)
	}
	if h.router, err = legacy.NewRouter(doc); err != nil {
		return nil, kerr.WrapKind(kerr.Internal, op, "routing the OpenAPI document", err)
	}
	strict := NewStrictHandlerWithOptions(&server{h: h}, nil, StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeProblem(w, r, h.log, problemf(pInvalid, err.Error()))
		},
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeProblem(w, r, h.log, err)
		},
	})
	h.api = HandlerWithOptions(strict, StdHTTPServerOptions{
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeProblem(w, r, h.log, problemf(pInvalid, err.Error()))
		},
	})
	return h, nil
}

// reqInfo is what the middleware learnt about a request, for the
// handlers: the caller and its address.
type reqInfo struct {
	r     *http.Request
	id    string
	addr  string
	p     account.Principal
	token string // the session token presented
}

type ctxKey struct{}

func info(ctx context.Context) *reqInfo {
	ri, _ := ctx.Value(ctxKey{}).(*reqInfo)
	if ri == nil {
		return &reqInfo{}
	}
	return ri
}

// RequestID returns the ID ServeHTTP gave the request in ctx, "" outside
// one; it is also sent as the X-Request-Id response header.
func RequestID(ctx context.Context) string { return info(ctx).id }

// UserID returns the user the request in ctx was authenticated as, ""
// before authentication or for an anonymous request.
func UserID(ctx context.Context) string { return info(ctx).p.UserID }

// WithRequestInfo returns r with a slot where ServeHTTP records the
// request ID and the user, so that a logging middleware outside the
// Handler can read them with RequestID and UserID after ServeHTTP.
func WithRequestInfo(r *http.Request) *http.Request {
	if _, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, &reqInfo{}))
}

// ServeHTTP serves /openapi.json and the operations under /v1. In order:
// the client address and a request ID; cross-origin protection for every
// request not carrying a bearer token; the route, content type, size and
// the request against the OpenAPI document; authentication; the
// Idempotency-Key; then the operation.
func (h *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = WithRequestInfo(r)
	ri := info(r.Context())
	ri.r = r
	ri.id = newRequestID()
	ri.addr = h.clientAddr(r)
	w.Header().Set("X-Request-Id", ri.id)

	if r.URL.Path == "/openapi.json" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeProblem(w, r, h.log, problemf(pMethod, r.Method+" /openapi.json"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(h.specJS)
		return
	}
	bearer := bearerToken(r)
	if bearer == "" {
		// Cookies travel with cross-site requests; a bearer token
		// never does, so only cookie (or anonymous) requests need the
		// check (Go's Sec-Fetch-Site / Origin based protection).
		if err := h.cop.Check(r); err != nil {
			writeProblem(w, r, h.log, problemf(pCrossOrigin, err.Error()))
			return
		}
	}
	route, params, err := h.router.FindRoute(r)
	if err != nil {
		k := pNoRoute
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			other := r.Clone(r.Context())
			other.Method = m
			if _, _, err := h.router.FindRoute(other); err == nil {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 || errors.Is(err, routers.ErrMethodNotAllowed) {
			k = pMethod
			w.Header().Set("Allow", strings.Join(allow, ", "))
		}
		writeProblem(w, r, h.log, problemf(k, r.Method+" "+r.URL.Path))
		return
	}
	if err := h.checkBody(r, route); err != nil {
		writeProblem(w, r, h.log, err)
		return
	}
	if err := requireIfMatch(r, route); err != nil {
		writeProblem(w, r, h.log, err)
		return
	}
	if err := h.validate(r, route, params); err != nil {
		writeProblem(w, r, h.log, err)
		return
	}
	if err := h.authenticate(r, route, ri, bearer); err != nil {
		writeProblem(w, r, h.log, err)
		return
	}
	if r.Method == http.MethodPost && r.Header.Get("Idempotency-Key") != "" {
		h.serveIdempotent(w, r, ri)
		return
	}
	h.api.ServeHTTP(w, r)
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// clientAddr is the connection's peer, or, when the peer is a trusted
// proxy, the right-most X-Forwarded-For address that is not one.
func (h *API) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !h.trusted(peer) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer.String()
		}
		if !h.trusted(a) {
			return a.Unmap().String()
		}
	}
	return peer.String()
}

func (h *API) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range h.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func bearerToken(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// checkBody refuses a body of a content type the operation does not take
// (415) and bounds its size (413 once read past the limit).
func (h *API) checkBody(r *http.Request, route *routers.Route) error {
	rb := route.Operation.RequestBody
	if rb == nil || rb.Value == nil {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || rb.Value.Content.Get(mt) == nil {
		return &problemError{kind: pMediaType, msg: "content type " + ct}
	}
	limit := int64(MaxJSONBody)
	switch mt {
	case "multipart/form-data":
		limit = MaxDocumentBody
		if strings.EqualFold(route.Operation.OperationID, "registerCase") {
			limit = MaxRegisterBody
		}
	case "application/pdf":
		limit = MaxDocumentBody
	}
	if r.ContentLength > limit {
		return &problemError{kind: pTooLarge, msg: "Content-Length over the limit", limit: limit}
	}
	r.Body = &limitedBody{rc: http.MaxBytesReader(nil, r.Body, limit), limit: limit}
	return nil
}

// limitedBody turns http.MaxBytesReader's error into a 413 problem.
type limitedBody struct {
	rc interface {
		Read([]byte) (int, error)
		Close() error
	}
	limit int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = &problemError{kind: pTooLarge, msg: "request body over the limit", limit: b.limit}
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// validate checks the request's parameters and, for JSON, its body
// against the OpenAPI document. Multipart and PDF bodies are not read
// here (they stream to storage and are checked part by part as they
// arrive); JSON bodies are, whole (at most MaxJSONBody). Security
// requirements are left to authenticate: openapi3filter's check of them
// reads the whole body into memory, which a streamed upload must not.
func (h *API) validate(r *http.Request, route *routers.Route, params map[string]string) error {
	ctx := r.Context()
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	var errs openapi3.MultiError
	seen := map[string]bool{}
	op := route.Operation
	for _, list := range []openapi3.Parameters{op.Parameters, route.PathItem.Parameters} {
		for _, ref := range list {
			p := ref.Value
			if p == nil || seen[p.In+" "+p.Name] {
				continue // an operation's parameter overrides its path's
			}
			seen[p.In+" "+p.Name] = true
			if err := openapi3filter.ValidateParameter(ctx, in, p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" && op.RequestBody != nil && op.RequestBody.Value != nil {
		if err := openapi3filter.ValidateRequestBody(ctx, in, op.RequestBody.Value); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	var pe *problemError
	if errors.As(errs, &pe) {
		return pe
	}
	var fields []fieldError
	collectFieldErrors(errs, &fields)
	return &problemError{kind: pInvalid, msg: errs.Error(), fields: fields}
}

func collectFieldErrors(err error, out *[]fieldError) {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		for _, e := range me {
			collectFieldErrors(e, out)
		}
		return
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		var se *openapi3.SchemaError
		ptr := ""
		detail := re.Reason
		if errors.As(re.Err, &se) {
			if p := se.JSONPointer(); len(p) > 0 {
				ptr = "/" + strings.Join(p, "/")
			}
			detail = se.Reason
		}
		if re.Parameter != nil {
			// Parameters have no place in the JSON body: the pointer
			// names where they were, #/query/<name> and the like.
			ptr = "#/" + re.Parameter.In + "/" + re.Parameter.Name
		}
		if detail == "" && re.Err != nil {
			detail = re.Err.Error()
		}
		*out = append(*out, fieldError{pointer: ptr, detail: detail})
		return
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		*out = append(*out, fieldError{pointer: "/" + strings.Join(se.JSONPointer(), "/"), detail: se.Reason})
	}
}

// authenticate finds the caller: none for operations the document marks
// public (security: []); else the session of the bearer token or the
// session cookie. Logout and password change accept a session that must
// still change its initial password; every other operation refuses it.
func (h *API) authenticate(r *http.Request, route *routers.Route, ri *reqInfo, bearer string) error {
	if sec := route.Operation.Security; sec != nil && len(*sec) == 0 {
		return nil
	}
	token := bearer
	if token == "" {
		if c, err := r.Cookie(SessionCookie); err == nil {
			token = c.Value
		}
	}
	if token == "" {
		return kerr.E(kerr.Unauthenticated, "httpapi.authenticate", "no bearer token or session cookie")
	}
	ri.token = token
	// The embedded document's operation IDs are capitalized by the
	// generator.
	op := route.Operation.OperationID
	if strings.HasPrefix(token, account.TokenPrefix) {
		p, scope, err := h.svc.Accounts.AuthenticateToken(r.Context(), token, ri.addr)
		if err == nil {
			if need := neededScope(r.Method, op, route.Operation.Extensions); !scope.Includes(need) {
				reason := "token scope " + string(scope) + " does not include " + string(need)
				if aerr := h.svc.Accounts.AuditDenial(r.Context(), p, r.Method+" "+op, reason); aerr != nil {
					h.log.ErrorContext(r.Context(), "audit of a refusal failed", "op", op, "err", aerr)
				}
				return problemf(pPermission, reason)
			}
			ri.p = p
			return nil
		}
		if !errors.Is(err, account.ErrTokenInvalid) || bearer == "" {
			return err
		}
		// A session token may begin with the prefix by chance: try it
		// as one.
	}
	if strings.EqualFold(op, "logout") || strings.EqualFold(op, "changePassword") {
		return nil
	}
	p, err := h.svc.Accounts.Authenticate(r.Context(), token, ri.addr)
	if err != nil {
		return err
	}
	ri.p = p
	return nil
}

// neededScope is the API token scope an operation needs: read for GET
// and the stateless verifications (verifyPDF, bulkVerify), admin for token management and the
// session-only operations (which no token scope includes), write for
// every other change. An operation the document marks
// `x-keiyaku-admin: true` (company administration) needs admin.
func neededScope(method, op string, ext map[string]any) account.Scope {
	switch {
	case strings.EqualFold(op, "logout"), strings.EqualFold(op, "changePassword"):
		return "session" // no scope includes it
	case strings.EqualFold(op, "listTokens"), strings.EqualFold(op, "createToken"), strings.EqualFold(op, "revokeToken"):
		return account.ScopeAdmin
	case ext["x-keiyaku-admin"] == true:
		return account.ScopeAdmin
	case method == http.MethodGet || method == http.MethodHead || strings.EqualFold(op, "verifyPDF"), strings.EqualFold(op, "bulkVerify"):
		return account.ScopeRead
	}
	return account.ScopeWrite
}

func openapi3MultiErrors() []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{openapi3.MultiErrors()}
}

// requireIfMatch answers 428 (RFC 6585 §3) for an operation whose
// If-Match header is required by the OpenAPI document (the case actions)
// when the request has none: a problem of its own rather than the 400
// that request validation would give, so that a client learns to send
// the case's ETag.
func requireIfMatch(r *http.Request, route *routers.Route) error {
	if r.Header.Get("If-Match") != "" || route.Operation == nil {
		return nil
	}
	for _, list := range []openapi3.Parameters{route.Operation.Parameters, route.PathItem.Parameters} {
		for _, ref := range list {
			if p := ref.Value; p != nil && p.In == openapi3.ParameterInHeader && p.Required && http.CanonicalHeaderKey(p.Name) == "If-Match" {
				return problemf(pPrecondRequired, r.Method+" "+r.URL.Path+" without If-Match")
			}
		}
	}
	return nil
}
