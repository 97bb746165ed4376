package portal

import (
	"context"
	"strings"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
)

// reportView is one document's signature report on the case page:
// casework.CheckSignatures' answer (the service validates; the portal
// does not re-validate downloaded bytes), each signer with its verdict
// as a message key and the company whose upload carried it.
type reportView struct {
	*casework.SignatureReport
	Signers []signerView
}

type signerView struct {
	casework.Signer
	Verdict string // sig.passed, sig.failed or sig.indeterminate
	Class   string // the indication without sub-indication, for CSS
	Company string // the company whose upload carried the signature; "" if not recorded
}

// signatureReports asks the service for the case's signature reports
// (the service audits each check).
func (h *Handler) signatureReports(ctx context.Context, p account.Principal, c *casework.Case, names map[string]string) ([]reportView, error) {
	reps, err := h.svc.Cases.CheckSignatures(ctx, p, c.ID)
	if err != nil {
		return nil, err
	}
	out := make([]reportView, 0, len(reps))
	for _, rep := range reps {
		rv := reportView{SignatureReport: rep}
		for _, sg := range rep.Signers {
			sv := signerView{Signer: sg, Verdict: "sig.indeterminate"}
			sv.Class, _, _ = strings.Cut(sg.Indication, "/")
			switch {
			case sg.Passed:
				sv.Verdict = "sig.passed"
			case sv.Class == "TOTAL_FAILED":
				sv.Verdict = "sig.failed"
			}
			for _, rec := range c.Signers {
				if rec.SHA256 != "" && strings.EqualFold(rec.SHA256, sg.Certificate.SHA256) && rec.Field == sg.Field {
					sv.Company = h.companyName(ctx, rec.CompanyID, names)
					break
				}
			}
			rv.Signers = append(rv.Signers, sv)
		}
		out = append(out, rv)
	}
	return out, nil
}
