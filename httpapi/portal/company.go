package portal

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"strings"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
)

// MaxCertificateFileBytes bounds a certificate file uploaded on the
// company page (PEM or DER); a certificate is a few kilobytes.
const MaxCertificateFileBytes = 64 << 10

// parseCertificateFile reads one X.509 certificate from a file in PEM (the
// first "CERTIFICATE" block) or DER. Errors are kerr.Invalid and say
// what to upload instead; at most MaxCertificateFileBytes are read.
func parseCertificateFile(b []byte) (*x509.Certificate, error) {
	const op = "portal.parseCertificateFile"
	switch {
	case len(b) == 0:
		return nil, kerr.E(kerr.Invalid, op, "choose a certificate file (.pem, .cer, .crt or .der)")
	case len(b) > MaxCertificateFileBytes:
		return nil, kerr.E(kerr.Invalid, op, "the file is larger than %d KiB: a certificate is a few KiB; choose the certificate, not a bundle or a PDF", MaxCertificateFileBytes>>10)
	}
	if block, _ := pem.Decode(b); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, kerr.E(kerr.Invalid, op, "the file holds a PEM %q block: upload the certificate (BEGIN CERTIFICATE), never a private key", block.Type)
		}
		b = block.Bytes
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, "the file is not an X.509 certificate in PEM or DER; export the certificate from the signing tool or the CA's site", err)
	}
	return c, nil
}

// adminOnly runs f for a company administrator; anyone else is refused
// (kerr.PermissionDenied, 403).
func (h *Handler) adminOnly(f authedFunc) http.HandlerFunc {
	return h.authed(func(w http.ResponseWriter, r *http.Request, pg *page) {
		if !pg.P.Admin {
			if aerr := h.svc.Accounts.AuditDenial(r.Context(), pg.P, r.Method+" "+r.URL.Path, "only a company administrator may"); aerr != nil {
				h.log.ErrorContext(r.Context(), "audit of a refusal failed", "path", r.URL.Path, "err", aerr)
			}
			h.fail(w, r, pg, kerr.E(kerr.PermissionDenied, "portal.company", "only a company administrator manages signing certificates, trading partners and users"))
			return
		}
		f(w, r, pg)
	})
}

// companyPage is the administrator's page of the company's signing
// certificates (issue #9) and trading partners, with a directory search
// (?q=) to add partners from.
func (h *Handler) companyPage(w http.ResponseWriter, r *http.Request, pg *page) {
	if f := r.URL.Query().Get("done"); f != "" && pg.Err == nil {
		pg.Flash = "company.done." + f
	}
	h.showCompany(w, r, pg, http.StatusOK)
}

func (h *Handler) showCompany(w http.ResponseWriter, r *http.Request, pg *page, status int) {
	pg.Title = "company.title"
	ctx := r.Context()
	fail := func(err error) {
		if pg.Err == nil {
			pg.Err = explain(err)
			if status == http.StatusOK {
				status = pg.Err.Status
			}
		}
	}
	certs, err := h.svc.Accounts.SignerCertificates(ctx, pg.P)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	partners, err := h.svc.Accounts.Partners(ctx, pg.P)
	if err != nil {
		h.fail(w, r, pg, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var found []account.DirectoryEntry
	if q != "" {
		if found, err = h.searchDirectory(ctx, pg.P, q); err != nil {
			fail(err)
		}
		own := found[:0]
		for _, e := range found {
			if e.ID != pg.P.CompanyID {
				own = append(own, e)
			}
		}
		found = own
	}
	pg.Data = map[string]any{"Certs": certs, "Partners": partners, "Query": q, "Found": found,
		"MaxCerts": account.MaxSignerCerts, "MaxKiB": MaxCertificateFileBytes >> 10}
	h.render(w, r, status, "company", pg)
}

// companyFail shows the company page again with err in plain words.
func (h *Handler) companyFail(w http.ResponseWriter, r *http.Request, pg *page, err error) {
	pg.Err = explain(err)
	h.showCompany(w, r, pg, pg.Err.Status)
}

// certificateFile reads the uploaded certificate file field.
func certificateFile(w http.ResponseWriter, r *http.Request, field string) (*x509.Certificate, error) {
	if err := parseUpload(w, r); err != nil {
		return nil, err
	}
	f, _, err := upload(r, field)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return parseCertificateFile(nil)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxCertificateFileBytes+1))
	if err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, "portal.certificateFile", "reading the certificate file; choose it again", err)
	}
	return parseCertificateFile(b)
}

func (h *Handler) addCertificate(w http.ResponseWriter, r *http.Request, pg *page) {
	c, err := certificateFile(w, r, "certificate")
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	if err == nil {
		_, err = h.svc.Accounts.RegisterSignerCertificate(r.Context(), pg.P, c)
	}
	if err != nil {
		h.companyFail(w, r, pg, err)
		return
	}
	h.redirect(w, r, "/company?done=cert-add")
}

func (h *Handler) addIssuer(w http.ResponseWriter, r *http.Request, pg *page) {
	c, err := certificateFile(w, r, "ca")
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	if err == nil {
		_, err = h.svc.Accounts.RegisterSignerIssuer(r.Context(), pg.P, c,
			strings.TrimSpace(r.FormValue("organization")), strings.TrimSpace(r.FormValue("number")))
	}
	if err != nil {
		h.companyFail(w, r, pg, err)
		return
	}
	h.redirect(w, r, "/company?done=issuer-add")
}

func (h *Handler) removeCertificate(w http.ResponseWriter, r *http.Request, pg *page) {
	if err := h.svc.Accounts.RemoveSignerCertificate(r.Context(), pg.P, r.PathValue("id")); err != nil {
		h.companyFail(w, r, pg, err)
		return
	}
	h.redirect(w, r, "/company?done=cert-remove")
}

func (h *Handler) addPartner(w http.ResponseWriter, r *http.Request, pg *page) {
	if err := h.svc.Accounts.AddPartner(r.Context(), pg.P, r.FormValue("company")); err != nil {
		h.companyFail(w, r, pg, err)
		return
	}
	h.redirect(w, r, "/company?done=partner-add")
}

func (h *Handler) removePartner(w http.ResponseWriter, r *http.Request, pg *page) {
	if err := h.svc.Accounts.RemovePartner(r.Context(), pg.P, r.PathValue("id")); err != nil {
		h.companyFail(w, r, pg, err)
		return
	}
	h.redirect(w, r, "/company?done=partner-remove")
}
