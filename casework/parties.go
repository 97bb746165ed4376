package casework

import (
	"context"

	"github.com/keiyaku/keiyaku/kerr"
)

// resolveParties checks each counterparty against the directory (the
// companies and users the service knows; see account.Service.FindCompanies
// and Members) and sets its CompanyName to the directory's name: the name
// stored, shown, searched and exported under the Electronic Books
// Preservation Act (電子帳簿保存法 施行規則 第4条 第1項, 取引先 as a search
// key) is the directory's, never free text.
//
// Errors: kerr.Invalid for a company the directory does not know, a user
// that does not exist or does not belong to the company named, or a
// CompanyName that is given and differs from the directory's (a forged
// name: leave it empty to take the directory's).
func (s *Service) resolveParties(ctx context.Context, op string, parties []Party) error {
	for i := range parties {
		pt := &parties[i]
		co, err := s.store.GetCompany(ctx, pt.CompanyID)
		if kerr.Of(err) == kerr.NotFound || err == nil && co.Operator {
			return kerr.M(kerr.Invalid, op, "party.unknowncompany", "counterparty {n}: company {company} is not in the directory: find it by name or corporate number",
				kerr.P("n", i+1), kerr.P("company", pt.CompanyID))
		}
		if err != nil {
			return kerr.Wrap(op, err)
		}
		u, err := s.store.GetUser(ctx, pt.UserID)
		if kerr.Of(err) == kerr.NotFound || err == nil && u.CompanyID != co.ID {
			return kerr.M(kerr.Invalid, op, "party.unknownuser", "counterparty {n}: {company} has no user {user}: pick the person from the company's members",
				kerr.P("n", i+1), kerr.P("company", co.Name), kerr.P("user", pt.UserID))
		}
		if err != nil {
			return kerr.Wrap(op, err)
		}
		if pt.CompanyName != "" && pt.CompanyName != co.Name {
			return kerr.E(kerr.Invalid, op, "counterparty %d: company %q is named %q in the directory, not %q; leave the name empty to take the directory's", i+1, co.ID, co.Name, pt.CompanyName)
		}
		pt.CompanyName = co.Name
	}
	return nil
}
