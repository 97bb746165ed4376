package portal

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
)

// caseView is a case as the pages show it.
type caseView struct {
	*casework.Case
	Registrant string // the registrant's company name
	// Waiting names whose turn it is: the company, or "" when nobody's
	// (completed, deleted).
	Waiting string
	// Actions are the events the viewer may cause now (casework.Next).
	Actions map[string]bool
	// Mine is true when the viewer is the registrant's side.
	Mine bool
}

// HasActions reports whether the viewer may do anything now.
func (v *caseView) HasActions() bool {
	for _, ok := range v.Actions {
		if ok {
			return true
		}
	}
	return false
}

// actions the portal offers; acknowledge (send-only) is the API's alone.
var portalEvents = []casework.Event{casework.EventReceive, casework.EventReturn, casework.EventSendBack,
	casework.EventResend, casework.EventComplete, casework.EventDelete}

func (h *Handler) view(ctx context.Context, p account.Principal, c *casework.Case, names map[string]string) *caseView {
	v := &caseView{Case: c, Actions: map[string]bool{}, Mine: c.RegistrantCompanyID == p.CompanyID}
	v.Registrant = h.companyName(ctx, c.RegistrantCompanyID, names)
	switch c.State {
	case casework.StateSent, casework.StateReceived, casework.StateSentBackToParty:
		if c.Turn < len(c.Parties) {
			v.Waiting = c.Parties[c.Turn].CompanyName
		}
	case casework.StateReturned, casework.StateSentBack:
		v.Waiting = v.Registrant
	}
	role := casework.RoleOf(p, c)
	turn := casework.TurnLast
	if c.Form == casework.FormMultiParty && c.Turn < len(c.Parties)-1 {
		turn = casework.TurnMore
	}
	for _, e := range portalEvents {
		if _, err := casework.Next(c.Form, c.State, e, role, turn); err == nil {
			v.Actions[e.String()] = true
		}
	}
	return v
}

// companyName reads a company's name once per request; an unreadable one
// shows as its ID.
func (h *Handler) companyName(ctx context.Context, id string, names map[string]string) string {
	if n, ok := names[id]; ok {
		return n
	}
	n := id
	if co, err := h.svc.Store.GetCompany(ctx, id); err == nil {
		n = co.Name
	}
	names[id] = n
	return n
}

func (h *Handler) incomplete(w http.ResponseWriter, r *http.Request, pg *page) {
	pg.Title = "cases.title"
	if r.URL.Query().Get("done") == "delete" {
		pg.Flash = "done.delete"
	}
	q := &casework.Query{States: casework.IncompleteStates(), NameContains: r.URL.Query().Get("q"), Limit: 100, Cursor: r.URL.Query().Get("cursor")}
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
	pg.Data = map[string]any{"Cases": views, "Next": res.Next, "Q": q.NameContains}
	h.render(w, r, http.StatusOK, "cases", pg)
}

// sigView is one signature as the detail page shows it.
type sigView struct {
	*signature.SignatureReport
	Verdict string // a message key
	// Unregistered is set by "check only" for a signature whose
	// certificate is not registered to the viewer's company: the upload
	// would be refused.
	Unregistered bool
}

// report validates the case's current document for its signature list.
// The detail page shows it; it is not a download.
func (h *Handler) report(ctx context.Context, f casework.File) (*archive.PDFVerification, []sigView, error) {
	ra, err := h.svc.Blobs.ReaderAt(ctx, f.Key, f.Size)
	if err != nil {
		return nil, nil, err
	}
	v, err := h.svc.Archive.VerifyPDF(ctx, ra, f.Size, nil)
	if err != nil {
		return nil, nil, err
	}
	return v, sigViews(v.Report), nil
}

func sigViews(rep *signature.Report) []sigView {
	var out []sigView
	for _, s := range rep.Signatures {
		sv := sigView{SignatureReport: s, Verdict: "sig.indeterminate"}
		switch s.Indication {
		case signature.TotalPassed:
			sv.Verdict = "sig.passed"
		case signature.TotalFailed:
			sv.Verdict = "sig.failed"
		}
		out = append(out, sv)
	}
	return out
}

func (h *Handler) detail(w http.ResponseWriter, r *http.Request, pg *page) {
	c, err := h.svc.Cases.Get(r.Context(), pg.P, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	h.showCase(w, r, pg, c, http.StatusOK)
}

func (h *Handler) showCase(w http.ResponseWriter, r *http.Request, pg *page, c *casework.Case, status int) {
	pg.Title = "case.title"
	if f := r.URL.Query().Get("done"); f != "" && pg.Err == nil {
		pg.Flash = "done." + f
	}
	v := h.view(r.Context(), pg.P, c, map[string]string{})
	data := map[string]any{"Case": v, "MaxReason": casework.MaxReasonLen}
	if !c.Document.IsZero() {
		reps, err := h.signatureReports(r.Context(), pg.P, c, map[string]string{})
		if err != nil {
			h.fail(w, r, pg, err)
			return
		}
		data["Reports"] = reps
	}
	if c.State == casework.StateCompleted {
		if err := h.personal(r.Context(), pg.P, c.ID, data); err != nil {
			h.fail(w, r, pg, err)
			return
		}
		if err := h.retention(r.Context(), pg.P, c.ID, data); err != nil {
			h.fail(w, r, pg, err)
			return
		}
		data["RetentionActions"] = retentionActions
	}
	switch d := pg.Data.(type) {
	case nil:
	case commentDraft:
		data["Comment"] = string(d)
	default:
		data["Refused"] = pg.Data
	}
	pg.Data = data
	h.render(w, r, status, "case", pg)
}

// attachment sets Content-Disposition for a download with a Japanese
// file name (RFC 6266 with the RFC 8187 filename* form).
func attachment(w http.ResponseWriter, f casework.File) {
	ct := f.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	w.Header().Set("Cache-Control", "no-store")
}

// receive records the receipt and sends the contract PDF as a download.
func (h *Handler) receive(w http.ResponseWriter, r *http.Request, pg *page) {
	rc, c, err := h.svc.Cases.Receive(r.Context(), pg.P, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	defer rc.Close()
	attachment(w, c.Document)
	if _, err := io.Copy(w, rc); err != nil {
		h.log.ErrorContext(r.Context(), "portal receive: download cut short", "case", c.ID, "err", err)
	}
}

func (h *Handler) download(w http.ResponseWriter, r *http.Request, pg *page) {
	rc, f, err := h.svc.Cases.Open(r.Context(), pg.P, r.PathValue("id"), r.PathValue("key"))
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	defer rc.Close()
	attachment(w, f)
	if _, err := io.Copy(w, rc); err != nil {
		h.log.ErrorContext(r.Context(), "portal download cut short", "case", r.PathValue("id"), "err", err)
	}
}

// upload returns the file of a multipart field, or nil when none was
// chosen.
func upload(r *http.Request, field string) (multipart.File, *multipart.FileHeader, error) {
	f, fh, err := r.FormFile(field)
	if errors.Is(err, http.ErrMissingFile) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, kerr.WrapKind(kerr.Invalid, "portal.upload", "the upload "+field+" could not be read", err)
	}
	return f, fh, nil
}

// parseUpload parses a multipart request within MaxUploadBytes.
func parseUpload(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBytes)
	if err := r.ParseMultipartForm(memoryPerUpload); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return kerr.WrapKind(kerr.Invalid, "portal.parseUpload", "the upload is larger than the limit", err)
		}
		return kerr.WrapKind(kerr.Invalid, "portal.parseUpload", "the form could not be read; choose the files again and send", err)
	}
	return nil
}

// refused is what the case page shows about a refused upload: the
// reason in plain words and, one click away, the signature report of
// the file that was refused.
type refused struct {
	Name       string
	Signatures []sigView
	Reasons    []string
}

func (h *Handler) refusal(ctx context.Context, f multipart.File, fh *multipart.FileHeader) *refused {
	rf := &refused{Name: fh.Filename}
	if v, err := h.svc.Archive.VerifyPDF(ctx, f, fh.Size, nil); err == nil {
		rf.Signatures = sigViews(v.Report)
		if v.Report.Error != "" {
			rf.Reasons = append(rf.Reasons, v.Report.Error)
		}
	}
	return rf
}

func (h *Handler) returnCase(w http.ResponseWriter, r *http.Request, pg *page) {
	id := r.PathValue("id")
	if err := parseUpload(w, r); err != nil {
		h.fail(w, r, pg, err)
		return
	}
	defer r.MultipartForm.RemoveAll()
	f, fh, err := upload(r, "document")
	if err == nil && f == nil {
		err = kerr.E(kerr.Invalid, "portal.returnCase", "choose the signed PDF to return")
	}
	if err == nil {
		_, err = h.svc.Cases.Return(r.Context(), pg.P, id, casework.Upload{Name: fh.Filename, ContentType: "application/pdf", Body: f})
	}
	if err != nil {
		h.actionFailed(w, r, pg, id, err, f, fh, "refused.return")
		return
	}
	h.redirect(w, r, "/cases/"+id+"?done=return")
}

// actionFailed shows the case again with the error in plain words above
// it; for a refused upload, with the report of the refused file.
func (h *Handler) actionFailed(w http.ResponseWriter, r *http.Request, pg *page, id string, err error, f multipart.File, fh *multipart.FileHeader, key string) {
	c, gerr := h.svc.Cases.Get(r.Context(), pg.P, id)
	if gerr != nil {
		h.fail(w, r, pg, err)
		return
	}
	pg.Err = explain(err)
	if kerr.Of(err) == kerr.Invalid && f != nil {
		pg.Err.Message, pg.Err.Next = key, key+".next"
		pg.Data = h.refusal(r.Context(), f, fh)
	}
	h.showCase(w, r, pg, c, pg.Err.Status)
}

func (h *Handler) sendBack(w http.ResponseWriter, r *http.Request, pg *page) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	id := r.PathValue("id")
	if _, err := h.svc.Cases.SendBack(r.Context(), pg.P, id, r.PostFormValue("reason")); err != nil {
		h.actionFailed(w, r, pg, id, err, nil, nil, "")
		return
	}
	h.redirect(w, r, "/cases/"+id+"?done=send-back")
}

func (h *Handler) resend(w http.ResponseWriter, r *http.Request, pg *page) {
	id := r.PathValue("id")
	if err := parseUpload(w, r); err != nil {
		h.fail(w, r, pg, err)
		return
	}
	defer r.MultipartForm.RemoveAll()
	f, fh, err := upload(r, "document")
	if err == nil {
		var doc *casework.Upload
		if f != nil {
			doc = &casework.Upload{Name: fh.Filename, ContentType: "application/pdf", Body: f}
		}
		_, err = h.svc.Cases.Resend(r.Context(), pg.P, id, doc)
	}
	if err != nil {
		h.actionFailed(w, r, pg, id, err, f, fh, "refused.register")
		return
	}
	h.redirect(w, r, "/cases/"+id+"?done=resend")
}

func (h *Handler) complete(w http.ResponseWriter, r *http.Request, pg *page) {
	id := r.PathValue("id")
	if _, err := h.svc.Cases.Complete(r.Context(), pg.P, id); err != nil {
		h.actionFailed(w, r, pg, id, err, nil, nil, "")
		return
	}
	h.redirect(w, r, "/cases/"+id+"?done=complete")
}

func (h *Handler) deleteCase(w http.ResponseWriter, r *http.Request, pg *page) {
	id := r.PathValue("id")
	if _, err := h.svc.Cases.Delete(r.Context(), pg.P, id); err != nil {
		h.actionFailed(w, r, pg, id, err, nil, nil, "")
		return
	}
	h.redirect(w, r, "/cases?done=delete")
}
