package httpapi

import (
	"cloud.google.com/go/civil"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/kerr/kmsg"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/storage"
)

// server implements the generated StrictServerInterface. An error
// returned by a method becomes a problem document (writeProblem).
type server struct{ h *API }

var _ StrictServerInterface = (*server)(nil)

func (s *server) svc() *keiyaku.Service { return s.h.svc }

func etag(c *casework.Case) string { return fmt.Sprintf(`"v%d"`, c.Version) }

// ifMatch refuses an action on a case whose version is not the one the
// caller names: 428 without a version (API.ServeHTTP answers a missing
// header before the request is validated; "*" names none), 412 for a
// stale one. The case is read here and the action reads it again; a
// change between the two is caught by the action's own version check
// (kerr.Conflict, 409).
func (s *server) ifMatch(ctx context.Context, id string, want string) error {
	if want == "" || want == "*" {
		return problemf(pPrecondRequired, "If-Match "+want)
	}
	c, err := s.svc().Cases.Get(ctx, info(ctx).p, id)
	if err != nil {
		return err
	}
	if strings.TrimPrefix(want, "W/") != etag(c) {
		return problemf(pStale, "If-Match "+want+" but the case is "+etag(c))
	}
	return nil
}

func caseResponse(ctx context.Context, c *casework.Case) CaseJSONResponse {
	e := etag(c)
	return CaseJSONResponse{Body: toCase(ctx, c), Headers: CaseResponseHeaders{ETag: &e}}
}

func toFile(f casework.File) File {
	ct := f.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	return File{Name: f.Name, ContentType: ct, Key: f.Key, Size: f.Size}
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func timep(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toCase(ctx context.Context, c *casework.Case) Case {
	out := Case{
		Id: c.ID, Version: c.Version, Form: Form(c.Form.String()), State: State(c.State.String()),
		Category: Category(c.Category.String()), OriginalId: strp(c.OriginalID), Name: c.Name,
		OrderNumber:         strp(c.OrderNumber),
		Amount:              Money{Amount: strconv.FormatInt(c.Amount.Amount, 10), Currency: c.Amount.Currency},
		TransactionDate:     openapi_types.Date{Time: c.TransactionDate.In(time.UTC)},
		RegistrantCompanyId: c.RegistrantCompanyID, RegistrantUserId: c.RegistrantUserID,
		Turn: c.Turn, Document: toFile(c.Document), Reason: strp(c.Reason),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, CompletedAt: timep(c.CompletedAt),
		Parties: []Party{}, Supplements: []File{}, Sealed: []File{}, Actions: []Action{},
	}
	if out.Category == "" {
		out.Category = CategoryNew
	}
	if !c.ReplyBy.IsZero() {
		out.ReplyBy = &openapi_types.Date{Time: c.ReplyBy.In(time.UTC)}
	}
	if !c.Acceptance.IsZero() {
		a := toFile(c.Acceptance)
		out.Acceptance = &a
	}
	for _, p := range c.Parties {
		out.Parties = append(out.Parties, Party{CompanyId: p.CompanyID, CompanyName: p.CompanyName, UserId: p.UserID, DoneAt: timep(p.DoneAt)})
	}
	for _, f := range c.Supplements {
		out.Supplements = append(out.Supplements, toFile(f))
	}
	for _, f := range c.Sealed {
		out.Sealed = append(out.Sealed, toFile(f))
	}
	for _, e := range casework.Allowed(info(ctx).p, c) {
		out.Actions = append(out.Actions, Action(e.String()))
	}
	return out
}

// ---- sessions ----

func (s *server) Login(ctx context.Context, req LoginRequestObject) (LoginResponseObject, error) {
	ri := info(ctx)
	sess, err := s.svc().Accounts.Login(ctx, req.Body.LoginId, req.Body.Password, ri.addr)
	if err != nil {
		return nil, err
	}
	out := Login201JSONResponse{Body: Session{
		Token: sess.Token, ExpiresAt: sess.ExpiresAt, UserId: sess.Principal.UserID, CompanyId: sess.Principal.CompanyID,
		Admin: sess.Principal.Admin, MustChangePassword: sess.MustChangePassword,
	}}
	if req.Body.Cookie != nil && *req.Body.Cookie {
		c := &http.Cookie{Name: SessionCookie, Value: sess.Token, Path: "/", Expires: sess.ExpiresAt,
			HttpOnly: true, Secure: s.h.secure, SameSite: http.SameSiteStrictMode}
		v := c.String()
		out.Headers.SetCookie = &v
	}
	return out, nil
}

func (s *server) Logout(ctx context.Context, _ LogoutRequestObject) (LogoutResponseObject, error) {
	ri := info(ctx)
	if err := s.svc().Accounts.Logout(ctx, ri.token, ri.addr); err != nil {
		return nil, err
	}
	return logoutResponse{secure: s.h.secure}, nil
}

// logoutResponse also clears the session cookie.
type logoutResponse struct{ secure bool }

func (l logoutResponse) VisitLogoutResponse(w http.ResponseWriter) error {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: l.secure, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) ChangePassword(ctx context.Context, req ChangePasswordRequestObject) (ChangePasswordResponseObject, error) {
	ri := info(ctx)
	if err := s.svc().Accounts.ChangePassword(ctx, ri.token, req.Body.OldPassword, req.Body.NewPassword, ri.addr); err != nil {
		for _, policy := range []error{account.ErrPasswordLength, account.ErrPasswordCommon, account.ErrPasswordPersonal, account.ErrPasswordPattern, account.ErrPasswordGuessable} {
			if errors.Is(err, policy) {
				// The password policy (account.CheckPassword) refused
				// the new password: point at it.
				pe := problemf(pInvalid, err.Error(), fieldError{pointer: "/new_password", detail: domainMessage(err)}).(*problemError)
				pe.cause = err
				return nil, pe
			}
		}
		return nil, err
	}
	return ChangePassword204Response{}, nil
}

// ---- search ----

func parseAmount(ptr, v string) (*int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, problemf(pInvalid, "amount", fieldError{pointer: ptr, detail: "not a decimal integer"})
	}
	return &n, nil
}

func (s *server) query(p SearchCasesParams) (*casework.Query, error) {
	q := &casework.Query{}
	if p.State != nil {
		for _, v := range *p.State {
			st, err := casework.ParseState(string(v))
			if err != nil {
				return nil, err
			}
			q.States = append(q.States, st)
		}
	}
	if p.Form != nil {
		for _, v := range *p.Form {
			f, err := casework.ParseForm(string(v))
			if err != nil {
				return nil, err
			}
			q.Forms = append(q.Forms, f)
		}
	}
	if p.Category != nil {
		for _, v := range *p.Category {
			c, err := casework.ParseCategory(string(v))
			if err != nil {
				return nil, err
			}
			q.Categories = append(q.Categories, c)
		}
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	q.NameContains, q.OrderNumber, q.Counterparty = deref(p.Name), deref(p.OrderNumber), deref(p.Counterparty)
	var err error
	if p.AmountMin != nil {
		if q.AmountMin, err = parseAmount("#/query/amount_min", *p.AmountMin); err != nil {
			return nil, err
		}
	}
	if p.AmountMax != nil {
		if q.AmountMax, err = parseAmount("#/query/amount_max", *p.AmountMax); err != nil {
			return nil, err
		}
	}
	// openapi_types.Date holds a calendar date as midnight UTC.
	date := func(d *openapi_types.Date) civil.Date {
		if d == nil {
			return civil.Date{}
		}
		return civil.DateOf(d.Time.UTC())
	}
	q.TransactionFrom, q.TransactionTo = date(p.TransactionFrom), date(p.TransactionTo)
	q.CompletedFrom, q.CompletedTo = date(p.CompletedFrom), date(p.CompletedTo)
	if p.Sort != nil {
		q.Sort = storage.SortKey(*p.Sort)
	}
	q.Desc = p.Order != nil && *p.Order == SearchCasesParamsOrderDesc
	if p.Limit != nil {
		q.Limit = *p.Limit
	}
	q.Cursor = deref(p.Cursor)
	q.Hidden = hiddenMode(p.Hidden)
	return q, nil
}

func wantsCSV(r *http.Request) bool { return wants(r, "text/csv") }

func (s *server) SearchCases(ctx context.Context, req SearchCasesRequestObject) (SearchCasesResponseObject, error) {
	ri := info(ctx)
	q, err := s.query(req.Params)
	if err != nil {
		return nil, err
	}
	if wantsCSV(ri.r) {
		return csvResponse{s: s, ctx: ctx, q: q}, nil
	}
	page, err := s.svc().Cases.Search(ctx, ri.p, q)
	if err != nil {
		return nil, err
	}
	out := SearchCases200JSONResponse{Body: CasePage{Cases: []Case{}}}
	for _, c := range page.Cases {
		out.Body.Cases = append(out.Body.Cases, toCase(ctx, c))
	}
	if page.Next != "" {
		out.Body.NextCursor = &page.Next
		u := *ri.r.URL
		v := u.Query()
		v.Set("cursor", page.Next)
		u.RawQuery = v.Encode()
		link := "<" + u.RequestURI() + `>; rel="next"`
		out.Headers.Link = &link
	}
	return out, nil
}

// csvResponse streams the export; the status line waits for the first
// row so that a query refused before any output is still a problem
// document.
type csvResponse struct {
	s   *server
	ctx context.Context
	q   *casework.Query
}

func (c csvResponse) VisitSearchCasesResponse(w http.ResponseWriter) error {
	lw := &lazyWriter{w: w, start: func() {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="cases.csv"`)
		w.WriteHeader(http.StatusOK)
	}}
	_, err := c.s.svc().Cases.ExportCSV(c.ctx, info(c.ctx).p, c.q, lw)
	if err != nil && !lw.started {
		return err
	}
	if err != nil {
		c.s.h.log.Error("CSV export stopped", "err", err.Error(), "request_id", info(c.ctx).id)
	}
	return nil
}

type lazyWriter struct {
	w       io.Writer
	start   func()
	started bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.start()
	}
	return l.w.Write(p)
}

// ---- registration ----

// partReader is a part of a multipart body read as an upload. When last
// is set, reaching the part's end also checks that no part follows: a
// surplus part fails the upload (kerr.Invalid) before anything is
// committed.
type partReader struct {
	mr   *multipart.Reader
	part *multipart.Part
	last bool
	// next opens the part on first read (supplementary files, whose
	// parts follow the ones casework reads first).
	next func() (*multipart.Part, error)
	// limit is the largest part accepted (413 beyond); n counts.
	limit, n int64
}

func (p *partReader) Read(b []byte) (int, error) {
	if p.part == nil {
		part, err := p.next()
		if err != nil {
			return 0, err
		}
		p.part = part
	}
	n, err := p.part.Read(b)
	p.n += int64(n)
	if p.limit > 0 && p.n > p.limit {
		return n, &problemError{kind: pTooLarge, msg: "file part over the limit", limit: p.limit}
	}
	if err == io.EOF && p.last {
		if extra, perr := p.mr.NextPart(); perr != io.EOF {
			if perr == nil {
				extra.Close()
				return n, kerr.E(kerr.Invalid, "httpapi.register", "unexpected part %q after the declared files", extra.FormName())
			}
			return n, kerr.WrapKind(kerr.Invalid, "httpapi.register", "reading the multipart body", perr)
		}
	}
	return n, err
}

// nextPart returns the next part, which must be a file part named name.
func nextPart(mr *multipart.Reader, name string) (*multipart.Part, error) {
	part, err := mr.NextPart()
	if err == io.EOF {
		return nil, problemf(pInvalid, "missing part", fieldError{pointer: "/" + name, detail: "the part " + name + " is missing"})
	}
	if err != nil {
		var pe *problemError
		if errors.As(err, &pe) {
			return nil, pe
		}
		return nil, kerr.WrapKind(kerr.Invalid, "httpapi", "reading the multipart body", err)
	}
	if part.FormName() != name {
		return nil, problemf(pInvalid, "wrong part", fieldError{pointer: "/" + name, detail: "expected the part " + name + ", got " + part.FormName()})
	}
	return part, nil
}

// fileName is the base name of a part's file name: a path in it (from
// some clients, or meant as a trick) is cut to its last element. The
// name is only ever a label; storage keys are hashes.
func fileName(part *multipart.Part) string {
	n := part.FileName()
	if i := strings.LastIndexAny(n, `/\`); i >= 0 {
		n = n[i+1:]
	}
	return n
}

func (s *server) RegisterCase(ctx context.Context, req RegisterCaseRequestObject) (RegisterCaseResponseObject, error) {
	ri := info(ctx)
	mr := req.Body
	part, err := nextPart(mr, "case")
	if err != nil {
		return nil, err
	}
	var nc NewCase
	dec := json.NewDecoder(io.LimitReader(part, MaxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&nc); err != nil {
		return nil, problemf(pInvalid, "case part", fieldError{pointer: "/case", detail: "not a valid NewCase JSON object: " + err.Error()})
	}
	if err := s.h.validateSchema(ctx, "NewCase", &nc); err != nil {
		return nil, err
	}
	cnc, err := toNewCase(&nc)
	if err != nil {
		return nil, err
	}
	doc, err := nextPart(mr, "contract")
	if err != nil {
		return nil, err
	}
	cnc.Document = casework.Upload{Name: fileName(doc), ContentType: doc.Header.Get("Content-Type"), Body: &partReader{mr: mr, part: doc, last: nc.Supplements == nil || len(*nc.Supplements) == 0, limit: casework.MaxDocumentSize}}
	if nc.Supplements != nil {
		for i, sd := range *nc.Supplements {
			name := sd.Name
			ct := ""
			if sd.ContentType != nil {
				ct = *sd.ContentType
			}
			cnc.Supplements = append(cnc.Supplements, casework.Upload{Name: name, ContentType: ct, Body: &partReader{
				mr: mr, last: i == len(*nc.Supplements)-1, limit: casework.MaxSupplementSize,
				next: func() (*multipart.Part, error) {
					p, err := nextPart(mr, "supplement")
					if err != nil {
						return nil, err
					}
					if fileName(p) != name {
						return nil, problemf(pInvalid, "supplement name", fieldError{pointer: fmt.Sprintf("/case/supplements/%d/name", i), detail: "the supplement part's file name " + strconv.Quote(fileName(p)) + " is not the declared " + strconv.Quote(name)})
					}
					return p, nil
				},
			}})
		}
	}
	c, err := s.svc().Cases.Register(ctx, ri.p, cnc)
	if err != nil {
		return nil, err
	}
	e, loc := etag(c), "/v1/cases/"+c.ID
	return RegisterCase201JSONResponse{Body: toCase(ctx, c), Headers: RegisterCase201ResponseHeaders{ETag: &e, Location: &loc}}, nil
}

func toNewCase(nc *NewCase) (*casework.NewCase, error) {
	f, err := casework.ParseForm(string(nc.Form))
	if err != nil {
		return nil, err
	}
	out := &casework.NewCase{Form: f, Name: nc.Name, TransactionDate: civil.DateOf(nc.TransactionDate.Time.UTC())}
	if nc.Category != nil {
		if out.Category, err = casework.ParseCategory(string(*nc.Category)); err != nil {
			return nil, err
		}
	}
	if nc.OriginalId != nil {
		out.OriginalID = *nc.OriginalId
	}
	if nc.ReplyBy != nil {
		out.ReplyBy = civil.DateOf(nc.ReplyBy.Time.UTC())
	}
	if nc.OrderNumber != nil {
		out.OrderNumber = *nc.OrderNumber
	}
	n, err := strconv.ParseInt(nc.Amount.Amount, 10, 64)
	if err != nil {
		return nil, problemf(pInvalid, "amount", fieldError{pointer: "/case/amount/amount", detail: "not a decimal integer"})
	}
	out.Amount = casework.Money{Amount: n, Currency: nc.Amount.Currency}
	for _, p := range nc.Parties {
		out.Parties = append(out.Parties, casework.Party{CompanyID: p.CompanyId, CompanyName: deref(p.CompanyName), UserID: p.UserId})
	}
	return out, nil
}

// validateSchema checks v (decoded from a multipart JSON part) against
// the named schema of the document, since openapi3filter does not read
// streamed multipart bodies.
func (h *API) validateSchema(ctx context.Context, name string, v any) error {
	ref := h.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return kerr.E(kerr.Internal, "httpapi.validateSchema", "no schema %s", name)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return kerr.WrapKind(kerr.Internal, "httpapi.validateSchema", name, err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return kerr.WrapKind(kerr.Internal, "httpapi.validateSchema", name, err)
	}
	if err := ref.Value.VisitJSON(generic, openapi3MultiErrors()...); err != nil {
		var fields []fieldError
		collectFieldErrors(err, &fields)
		for i := range fields {
			fields[i].pointer = "/case" + fields[i].pointer
		}
		return &problemError{kind: pInvalid, msg: err.Error(), fields: fields}
	}
	return nil
}

// ---- case actions ----

func (s *server) GetCase(ctx context.Context, req GetCaseRequestObject) (GetCaseResponseObject, error) {
	c, err := s.svc().Cases.Get(ctx, info(ctx).p, req.Id)
	if err != nil {
		return nil, err
	}
	e := etag(c)
	return GetCase200JSONResponse{Body: toCase(ctx, c), Headers: GetCase200ResponseHeaders{ETag: &e}}, nil
}

func (s *server) DeleteCase(ctx context.Context, req DeleteCaseRequestObject) (DeleteCaseResponseObject, error) {
	if err := s.ifMatch(ctx, req.Id, string(req.Params.IfMatch)); err != nil {
		return nil, err
	}
	c, err := s.svc().Cases.Delete(ctx, info(ctx).p, req.Id)
	if err != nil {
		return nil, err
	}
	return DeleteCase200JSONResponse{caseResponse(ctx, c)}, nil
}

func (s *server) ReceiveCase(ctx context.Context, req ReceiveCaseRequestObject) (ReceiveCaseResponseObject, error) {
	if err := s.ifMatch(ctx, req.Id, string(req.Params.IfMatch)); err != nil {
		return nil, err
	}
	rc, c, err := s.svc().Cases.Receive(ctx, info(ctx).p, req.Id)
	if err != nil {
		return nil, err
	}
	rc.Close() // the document is fetched with downloadDocument
	return ReceiveCase200JSONResponse{caseResponse(ctx, c)}, nil
}

func (s *server) ReturnCase(ctx context.Context, req ReturnCaseRequestObject) (ReturnCaseResponseObject, error) {
	if err := s.ifMatch(ctx, req.Id, string(req.Params.IfMatch)); err != nil {
		return nil, err
	}
	part, err := nextPart(req.Body, "contract")
	if err != nil {
		return nil, err
	}
	c, err := s.svc().Cases.Return(ctx, info(ctx).p, req.Id, casework.Upload{
		Name: fileName(part), ContentType: part.Header.Get("Content-Type"), Body: &partReader{mr: req.Body, part: part, last: true, limit: casework.MaxDocumentSize}})
	if err != nil {
		return nil, err
	}
	return ReturnCase200JSONResponse{caseResponse(ctx, c)}, nil
}

func (s *server) SendBackCase(ctx context.Context, req SendBackCaseRequestObject) (SendBackCaseResponseObject, error) {
	if err := s.ifMatch(ctx, req.Id, string(req.Params.IfMatch)); err != nil {
		return nil, err
	}
	c, err := s.svc().Cases.SendBack(ctx, info(ctx).p, req.Id, req.Body.Reason)
	if err != nil {
		return nil, err
	}
	return SendBackCase200JSONResponse{caseResponse(ctx, c)}, nil
}

func (s *server) ResendCase(ctx context.Context, req ResendCaseRequestObject) (ResendCaseResponseObject, error) {
	if err := s.ifMatch(ctx, req.Id, string(req.Params.IfMatch)); err != nil {
		return nil, err
	}
	var doc *casework.Upload
	part, err := req.Body.NextPart()
	switch {
	case err == io.EOF:
	case err != nil:
		return nil, kerr.WrapKind(kerr.Invalid, "httpapi.resend", "reading the multipart body", err)
	case part.FormName() != "contract":
		return nil, problemf(pInvalid, "wrong part", fieldError{pointer: "/contract", detail: "expected the part contract, got " + part.FormName()})
	default:
		doc = &casework.Upload{Name: fileName(part), ContentType: part.Header.Get("Content-Type"), Body: &partReader{mr: req.Body, part: part, last: true, limit: casework.MaxDocumentSize}}
	}
	c, err := s.svc().Cases.Resend(ctx, info(ctx).p, req.Id, doc)
	if err != nil {
		return nil, err
	}
	return ResendCase200JSONResponse{caseResponse(ctx, c)}, nil
}

func (s *server) CompleteCase(ctx context.Context, req CompleteCaseRequestObject) (CompleteCaseResponseObject, error) {
	if err := s.ifMatch(ctx, req.Id, string(req.Params.IfMatch)); err != nil {
		return nil, err
	}
	c, err := s.svc().Cases.Complete(ctx, info(ctx).p, req.Id)
	if err != nil {
		return nil, err
	}
	return CompleteCase200JSONResponse{caseResponse(ctx, c)}, nil
}

func (s *server) AcknowledgeCase(ctx context.Context, req AcknowledgeCaseRequestObject) (AcknowledgeCaseResponseObject, error) {
	if err := s.ifMatch(ctx, req.Id, string(req.Params.IfMatch)); err != nil {
		return nil, err
	}
	c, err := s.svc().Cases.Acknowledge(ctx, info(ctx).p, req.Id)
	if err != nil {
		return nil, err
	}
	return AcknowledgeCase200JSONResponse{caseResponse(ctx, c)}, nil
}

func (s *server) RelatedCases(ctx context.Context, req RelatedCasesRequestObject) (RelatedCasesResponseObject, error) {
	cs, err := s.svc().Cases.Related(ctx, info(ctx).p, req.Id)
	if err != nil {
		return nil, err
	}
	out := RelatedCases200JSONResponse{Cases: []Case{}}
	for _, c := range cs {
		out.Cases = append(out.Cases, toCase(ctx, c))
	}
	return out, nil
}

func (s *server) CaseAudit(ctx context.Context, req CaseAuditRequestObject) (CaseAuditResponseObject, error) {
	entries, err := s.svc().Cases.AuditTrail(ctx, info(ctx).p, req.Id)
	if err != nil {
		return nil, err
	}
	out := CaseAudit200JSONResponse{Entries: []AuditEntry{}}
	for _, e := range entries {
		out.Entries = append(out.Entries, AuditEntry{
			Seq: e.Seq, Time: e.Time, Action: e.Action, ActorUserId: strp(e.ActorUserID), ActorCompanyId: strp(e.ActorCompanyID),
			RemoteAddr: strp(e.RemoteAddr), Detail: strp(e.Detail), Hash: strp(hex.EncodeToString(e.Hash)),
		})
	}
	return out, nil
}

// ---- documents ----

func (s *server) DownloadDocument(ctx context.Context, req DownloadDocumentRequestObject) (DownloadDocumentResponseObject, error) {
	ri := info(ctx)
	rc, f, err := s.svc().Cases.Open(ctx, ri.p, req.Id, req.Key) // checks visibility and audits
	if err != nil {
		return nil, err
	}
	rc.Close()
	ra, err := s.svc().Blobs.ReaderAt(ctx, f.Key, f.Size)
	if err != nil {
		return nil, err
	}
	return download{r: ri.r, f: f, ra: ra}, nil
}

// download serves a stored file with http.ServeContent, which answers
// Range (RFC 9110 §14) and the conditional headers against the strong
// ETag, the file's SHA-256.
type download struct {
	r  *http.Request
	f  casework.File
	ra io.ReaderAt
}

func (d download) VisitDownloadDocumentResponse(w http.ResponseWriter) error {
	if c, ok := d.ra.(io.Closer); ok {
		defer c.Close()
	}
	sum, err := hex.DecodeString(d.f.Key)
	if err != nil || len(sum) != sha256.Size {
		return kerr.E(kerr.Internal, "httpapi.download", "stored key %q is not a SHA-256", d.f.Key)
	}
	ct := d.f.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	hd := w.Header()
	hd.Set("Content-Type", ct)
	hd.Set("ETag", `"`+d.f.Key+`"`)
	digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum) + ":"
	// RFC 9530: Repr-Digest is the whole file's; Content-Digest that of
	// the content sent, which for a range is not the file.
	hd.Set("Repr-Digest", digest)
	if d.r.Header.Get("Range") == "" {
		hd.Set("Content-Digest", digest)
	}
	hd.Set("Content-Disposition", ContentDisposition(d.f.Name))
	hd.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, d.r, "", time.Time{}, io.NewSectionReader(d.ra, 0, d.f.Size))
	return nil
}

// ContentDisposition returns an attachment disposition for name (RFC
// 6266 §4.1): an ASCII fallback filename (other characters as '_') and
// filename* in UTF-8 percent-encoding (RFC 8187 §3.2) for every client
// that reads it, which keeps Japanese names intact.
func ContentDisposition(name string) string {
	var ascii, ext strings.Builder
	for _, r := range name {
		switch {
		case r == '"' || r == '\\' || r < 0x20 || r == 0x7f || r > 0x7e:
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(r)
		}
	}
	const attrChar = "!#$&+-.^_`|~"
	for _, b := range []byte(name) {
		if b < 0x80 && (b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || strings.IndexByte(attrChar, b) >= 0) {
			ext.WriteByte(b)
		} else {
			fmt.Fprintf(&ext, "%%%02X", b)
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// ---- verification ----

func (s *server) VerifyCase(ctx context.Context, req VerifyCaseRequestObject) (VerifyCaseResponseObject, error) {
	oc, err := s.svc().VerifyOriginal(ctx, info(ctx).p, req.Id)
	if err != nil {
		return nil, err
	}
	out := VerifyCase200JSONResponse{Original: oc.Original, Files: []FileCheck{}}
	out.Pdfs = make([]struct {
		File   File      `json:"file"`
		Report PDFReport `json:"report"`
	}, 0, len(oc.PDFs))
	for _, p := range oc.PDFs {
		out.Pdfs = append(out.Pdfs, struct {
			File   File      `json:"file"`
			Report PDFReport `json:"report"`
		}{toFile(p.File), toReportIn(ctx, p.Verdict)})
	}
	for _, f := range oc.Files {
		out.Files = append(out.Files, FileCheck{File: toFile(f.File), Original: f.Verdict.Original, Reasons: reasonsIn(ctx, f.Verdict.Notes, f.Verdict.Reasons)})
	}
	return out, nil
}

func (s *server) VerifyPDF(ctx context.Context, req VerifyPDFRequestObject) (VerifyPDFResponseObject, error) {
	// The check needs random access; the upload is spooled to a
	// temporary file (never held in memory) and removed at once.
	f, err := os.CreateTemp("", "keiyaku-verify-*.pdf")
	if err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, "httpapi.verify", "temporary file", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	n, err := io.Copy(f, io.LimitReader(req.Body, casework.MaxDocumentSize+1))
	if err != nil {
		var pe *problemError
		if errors.As(err, &pe) {
			return nil, pe
		}
		return nil, kerr.WrapKind(kerr.Invalid, "httpapi.verify", "reading the PDF", err)
	}
	if n > casework.MaxDocumentSize {
		return nil, &problemError{kind: pTooLarge, msg: "PDF over the limit", limit: casework.MaxDocumentSize}
	}
	v, err := s.svc().Archive.VerifyPDF(ctx, f, n, nil)
	if err != nil {
		return nil, err
	}
	return VerifyPDF200JSONResponse(toReportIn(ctx, v)), nil
}

// toReportIn is toReport with the verdict's reasons in the request's
// language.
func toReportIn(ctx context.Context, v *archive.PDFVerification) PDFReport {
	out := toReport(v)
	out.Reasons = reasonsIn(ctx, v.Notes, v.Reasons)
	return out
}

// reasonsIn returns a verdict's reasons in the request's language
// (Accept-Language): the English reasons as they are, or the notes
// through the message catalog (package kerr/kmsg) for Japanese.
func reasonsIn(ctx context.Context, notes []kerr.Note, reasons []string) []string {
	ri := info(ctx)
	if ri == nil || ri.r == nil || !japanese(ri.r) || len(notes) != len(reasons) {
		return nonNil(reasons)
	}
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = kmsg.Note(n, "ja")
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func toCert(c *signature.Certificate) *Certificate {
	if c == nil {
		return nil
	}
	opt := func(s []string) *[]string {
		if len(s) == 0 {
			return nil
		}
		return &s
	}
	return &Certificate{Subject: c.Subject, CommonName: strp(c.CommonName), Organization: opt(c.Organization), Issuer: c.Issuer,
		Serial: c.Serial, NotBefore: c.NotBefore, NotAfter: c.NotAfter, KeyUsage: opt(c.KeyUsage), ExtKeyUsage: opt(c.ExtKeyUsage),
		Policies: opt(c.Policies), EmailAddresses: opt(c.EmailAddresses)}
}

func toReport(v *archive.PDFVerification) PDFReport {
	out := PDFReport{Original: v.Original, Size: v.Size, Sha256: v.SHA256, Sealed: timep(v.Sealed), Tsa: strp(v.TSA),
		Reasons: nonNil(v.Reasons), Signatures: []SignatureEntry{}}
	if rep := v.Report; rep != nil {
		out.Passed, out.Error, out.Level = rep.Passed, strp(rep.Error), string(rep.Level)
		for _, sr := range rep.Signatures {
			e := SignatureEntry{Field: sr.Field, Kind: string(sr.Kind), Indication: string(sr.Indication), Level: string(sr.Level),
				Signer: toCert(sr.Signer), ClaimedSigningTime: timep(sr.ClaimedSigningTime)}
			if sr.Revision != 0 {
				rev := sr.Revision
				e.Revision = &rev
			}
			e.SubIndication = strp(string(sr.SubIndication))
			if len(sr.Chain) > 0 {
				chain := []Certificate{}
				for _, c := range sr.Chain {
					chain = append(chain, *toCert(c))
				}
				e.Chain = &chain
			}
			if sr.Timestamp != nil {
				e.TimestampTime, e.TimestampTsa = timep(sr.Timestamp.Time), strp(sr.Timestamp.TSA)
			}
			if len(sr.Problems) > 0 {
				p := sr.Problems
				e.Problems = &p
			}
			if len(sr.Reasons) > 0 {
				r := sr.Reasons
				e.Reasons = &r
			}
			out.Signatures = append(out.Signatures, e)
		}
	}
	return out
}
