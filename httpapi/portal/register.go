package portal

import (
	"cloud.google.com/go/civil"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/storage"
)

// registerForm is the register page's fields as typed, kept to show the
// form again after a refusal or a directory search.
type registerForm struct {
	Form        string
	Name        string
	OrderNumber string
	Amount      string
	Date        string
	// Parties are the counterparties chosen, MaxMultiParties slots: each
	// "companyID/userID" (partyValue) or empty.
	Parties []string
	// Query is the directory search typed on the page (a company name, a
	// 法人番号 or a company ID).
	Query string
}

// partyChoice is a counterparty chosen on the register page: a company of
// the directory and a person in it (account.Members).
type partyChoice struct{ CompanyID, UserID string }

// partyValue is a choice as the register form carries it.
func partyValue(companyID, userID string) string { return companyID + "/" + userID }

// parsePartyValue reads "companyID/userID"; both parts must be present.
func parsePartyValue(s string) (partyChoice, bool) {
	c, u, ok := strings.Cut(s, "/")
	if !ok || c == "" || u == "" || strings.Contains(u, "/") {
		return partyChoice{}, false
	}
	return partyChoice{CompanyID: c, UserID: u}, true
}

// portalForms are the forms a person registers in the portal; send-only
// is the API's alone (issue #14).
var portalForms = []casework.Form{casework.FormBilateral, casework.FormMultiParty, casework.FormOrderAcceptanceCombined, casework.FormOrderAcceptance}

// parseRegisterForm reads the register form's fields into a NewCase (no
// parties resolved, no documents) and the counterparties chosen, in
// signing order. Every error is kerr.Invalid and names the field. Limits:
// casework's (MaxNameLen, MaxAmount, MaxMultiParties); the amount is yen,
// digits with optional thousands separators (commas or full-width),
// the date YYYY-MM-DD.
func parseRegisterForm(v url.Values) (*casework.NewCase, *registerForm, []partyChoice, error) {
	const op = "portal.parseRegisterForm"
	rf := &registerForm{Form: v.Get("form"), Name: strings.TrimSpace(v.Get("name")), OrderNumber: strings.TrimSpace(v.Get("order")),
		Amount: strings.TrimSpace(v.Get("amount")), Date: strings.TrimSpace(v.Get("date")), Parties: make([]string, casework.MaxMultiParties),
		Query: strings.TrimSpace(v.Get("q"))}
	for i := range rf.Parties {
		rf.Parties[i] = strings.TrimSpace(v.Get(fmt.Sprintf("party%d", i+1)))
	}
	form, err := casework.ParseForm(rf.Form)
	if err != nil || form == casework.FormSendOnly {
		return nil, rf, nil, kerr.E(kerr.Invalid, op, "choose a contract form")
	}
	nc := &casework.NewCase{Form: form, Name: rf.Name, OrderNumber: rf.OrderNumber, Amount: casework.Money{Currency: "JPY"}}
	if rf.Amount != "" {
		digits := strings.NewReplacer(",", "", "，", "", "¥", "", "￥", "", " ", "").Replace(rf.Amount)
		digits = strings.Map(func(r rune) rune {
			if r >= '０' && r <= '９' {
				return '0' + (r - '０')
			}
			return r
		}, digits)
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || n < 0 || n > casework.MaxAmount {
			return nil, rf, nil, kerr.E(kerr.Invalid, op, "the amount %q must be a whole number of yen, e.g. 1,100,000", rf.Amount)
		}
		nc.Amount.Amount = n
	}
	d, err := civil.ParseDate(rf.Date)
	if err != nil {
		return nil, rf, nil, kerr.E(kerr.Invalid, op, "the transaction date %q must be a date like 2026-12-04", rf.Date)
	}
	nc.TransactionDate = d
	var chosen []partyChoice
	for i, l := range rf.Parties {
		if l == "" {
			continue
		}
		pc, ok := parsePartyValue(l)
		if !ok {
			return nil, rf, nil, kerr.E(kerr.Invalid, op, "counterparty %d: choose the company and the person from the list", i+1)
		}
		chosen = append(chosen, pc)
	}
	if len(chosen) == 0 {
		return nil, rf, nil, kerr.E(kerr.Invalid, op, "choose at least one counterparty: search the directory for the company, then choose the person")
	}
	return nc, rf, chosen, nil
}

// parties resolves the counterparties chosen to parties, the company
// names as the directory has them (casework refuses any other name).
// A company or person no longer in the directory is kerr.Invalid, naming
// the slot.
func (h *Handler) parties(ctx context.Context, p account.Principal, chosen []partyChoice) ([]casework.Party, error) {
	const op = "portal.parties"
	var out []casework.Party
	for i, pc := range chosen {
		found, err := h.svc.Accounts.FindCompanies(ctx, p, account.DirectoryQuery{ID: pc.CompanyID, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, kerr.E(kerr.Invalid, op, "counterparty %d: the company chosen is not in the directory any more; search for it again", i+1)
		}
		members, err := h.svc.Accounts.Members(ctx, p, pc.CompanyID)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(members, func(m account.Member) bool { return m.UserID == pc.UserID }) {
			return nil, kerr.E(kerr.Invalid, op, "counterparty %d: the person chosen is not a user of %s; choose another person", i+1, found[0].Name)
		}
		out = append(out, casework.Party{CompanyID: pc.CompanyID, CompanyName: found[0].Name, UserID: pc.UserID})
	}
	return out, nil
}

func (h *Handler) newCasePage(w http.ResponseWriter, r *http.Request, pg *page) {
	h.registerPage(w, r, pg, &registerForm{Form: casework.FormBilateral.String(), Parties: make([]string, casework.MaxMultiParties),
		Date: time.Now().In(jst).Format(time.DateOnly)}, nil, nil, http.StatusOK)
}

func (h *Handler) registerPage(w http.ResponseWriter, r *http.Request, pg *page, rf *registerForm, ref *refused, chk *checked, status int) {
	pg.Title = "register.title"
	var forms []string
	for _, f := range portalForms {
		forms = append(forms, f.String())
	}
	offers, err := h.offers(r.Context(), pg.P, rf)
	if err != nil && pg.Err == nil {
		pg.Err = explain(err)
		if status == http.StatusOK {
			status = pg.Err.Status
		}
	}
	pg.Data = map[string]any{"F": rf, "Forms": forms, "MaxSupplements": casework.MaxSupplements, "Offers": offers,
		"MaxDocMB": casework.MaxDocumentSize >> 20, "MaxSupMB": casework.MaxSupplementSize >> 20, "Refused": ref, "Checked": chk}
	h.render(w, r, status, "register", pg)
}

func (h *Handler) register(w http.ResponseWriter, r *http.Request, pg *page) {
	if err := parseUpload(w, r); err != nil {
		h.fail(w, r, pg, err)
		return
	}
	defer r.MultipartForm.RemoveAll()
	nc, rf, chosen, err := parseRegisterForm(r.MultipartForm.Value)
	var doc multipart.File
	var docH *multipart.FileHeader
	if err == nil {
		nc.Parties, err = h.parties(r.Context(), pg.P, chosen)
	}
	if err == nil {
		doc, docH, err = upload(r, "document")
		if err == nil && doc == nil {
			err = kerr.E(kerr.Invalid, "portal.register", "choose the signed contract PDF")
		}
	}
	if err == nil {
		nc.Document = casework.Upload{Name: docH.Filename, ContentType: "application/pdf", Body: doc}
		sups := r.MultipartForm.File["supplement"]
		if len(sups) > casework.MaxSupplements {
			err = kerr.M(kerr.Invalid, "portal.register", "case.toomanyfiles", "{count} supplementary files were given but at most {max} are allowed: leave some out or combine them into one file",
				kerr.P("count", len(sups)), kerr.P("max", casework.MaxSupplements))
		}
		for _, fh := range sups {
			if err != nil || fh.Filename == "" {
				continue
			}
			f, ferr := fh.Open()
			if ferr != nil {
				err = kerr.WrapKind(kerr.Invalid, "portal.register", "reading "+fh.Filename, ferr)
				break
			}
			defer f.Close()
			nc.Supplements = append(nc.Supplements, casework.Upload{Name: fh.Filename, ContentType: fh.Header.Get("Content-Type"), Body: f})
		}
	}
	var c *casework.Case
	if err == nil {
		c, err = h.svc.Cases.Register(r.Context(), pg.P, nc)
	}
	if err != nil {
		pg.Err = explain(err)
		var ref *refused
		if kerr.Of(err) == kerr.Invalid && doc != nil {
			ref = h.refusal(r.Context(), doc, docH)
			if len(ref.Signatures) == 0 || hasFailed(ref.Signatures) {
				pg.Err.Message, pg.Err.Next = "refused.register", "refused.register.next"
			}
		}
		if rf == nil {
			rf = &registerForm{Parties: make([]string, casework.MaxMultiParties)}
		}
		h.registerPage(w, r, pg, rf, ref, nil, pg.Err.Status)
		return
	}
	h.redirect(w, r, "/cases/"+c.ID+"?done=register")
}

// checked is the result of "check only" on the register page: the
// contract PDF validated as registration would, nothing stored or sent.
type checked struct {
	Name       string
	Passed     bool // every signature valid, at least one
	Signatures []sigView
}

// check validates the chosen contract PDF without registering: the
// registrant sees the result before the case is sent (issue #14). The
// form comes back with what was typed; files must be chosen again.
func (h *Handler) check(w http.ResponseWriter, r *http.Request, pg *page) {
	if err := parseUpload(w, r); err != nil {
		h.fail(w, r, pg, err)
		return
	}
	defer r.MultipartForm.RemoveAll()
	_, rf, _, _ := parseRegisterForm(r.MultipartForm.Value)
	if rf.Form == "" {
		rf.Form = casework.FormBilateral.String()
	}
	doc, docH, err := upload(r, "document")
	if err == nil && doc == nil {
		err = kerr.E(kerr.Invalid, "portal.check", "choose the signed contract PDF to check")
	}
	var res *checked
	if err == nil {
		var v *archive.PDFVerification
		if v, err = h.svc.Archive.VerifyPDF(r.Context(), doc, docH.Size, nil); err == nil {
			res = &checked{Name: docH.Filename, Signatures: sigViews(v.Report)}
			var mine int
			mine, err = h.markUnregistered(r.Context(), pg.P, res.Signatures)
			res.Passed = len(res.Signatures) > 0 && !hasFailed(res.Signatures) && mine > 0
		}
	}
	status := http.StatusOK
	if err != nil {
		pg.Err = explain(err)
		status = pg.Err.Status
	}
	pg.Title = "register.title"
	h.registerPage(w, r, pg, rf, nil, res, status)
}

// markUnregistered marks the signatures whose certificate is not
// registered to p's company (casework.SignerMatches against
// account.Service.SignerCertificates), as registration would refuse them
// (issue #9), and returns how many signatures are the company's.
func (h *Handler) markUnregistered(ctx context.Context, p account.Principal, sigs []sigView) (int, error) {
	regs, err := h.svc.Accounts.SignerCertificates(ctx, p)
	if err != nil {
		return 0, err
	}
	mine := 0
	for i := range sigs {
		s := &sigs[i]
		if s.Kind != signature.KindSignature || s.Signer == nil {
			continue
		}
		sg := casework.Signer{Field: s.Field, Certificate: casework.Certificate{Subject: s.Signer.Subject, Issuer: s.Signer.Issuer,
			Serial: s.Signer.Serial, SHA256: s.Signer.SHA256, Organization: s.Signer.Organization,
			SubjectSerialNumber: s.Signer.SubjectSerialNumber, OrganizationIdentifier: s.Signer.OrganizationIdentifier}}
		if len(s.Chain) > 1 && s.Chain[1] != nil {
			sg.IssuerSHA256 = s.Chain[1].SHA256
		}
		if slices.ContainsFunc(regs, func(rc storage.SignerCert) bool { return casework.SignerMatches(rc, sg) }) {
			mine++
		} else {
			s.Unregistered = true
		}
	}
	return mine, nil
}

func hasFailed(sigs []sigView) bool {
	for _, s := range sigs {
		if s.Verdict != "sig.passed" || s.Unregistered {
			return true
		}
	}
	return false
}
