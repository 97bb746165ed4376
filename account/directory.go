package account

import (
	"context"
	"slices"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Directory limits.
const (
	// DefaultDirectoryLimit is how many companies FindCompanies returns
	// when DirectoryQuery.Limit is zero; storage.MaxCompanyPage at most.
	DefaultDirectoryLimit = 20
	// MaxPartners bounds a company's list of trading partners.
	MaxPartners = 1000
)

// DirectoryEntry is a company as the directory shows it to other
// companies: no signing certificates, no partner list.
type DirectoryEntry struct {
	ID              string
	Name            string
	CorporateNumber string // 法人番号; empty when the company has not given it
	// Partner is true when the company is a trading partner of the
	// asking principal's company.
	Partner bool
}

// DirectoryQuery finds companies: those matching every field set (at
// least one must be).
type DirectoryQuery struct {
	ID              string // exactly
	CorporateNumber string // exactly, 13 digits
	Name            string // part of the name
	// Limit is 1 to storage.MaxCompanyPage; zero means
	// DefaultDirectoryLimit.
	Limit int
}

// Member is a user of a company as a registrant picks the person who will
// act on a case: no login ID, no contact details.
type Member struct {
	UserID     string
	Name       string
	Department string
	Title      string
}

// FindCompanies searches the companies the service knows, for any
// logged-in principal, so that a registrant picks its counterparty from
// the directory instead of typing an ID and a name.
//
// Errors: kerr.Unauthenticated without a principal; kerr.Invalid for a
// query with no field or a limit out of range.
func (s *Service) FindCompanies(ctx context.Context, p Principal, q DirectoryQuery) ([]DirectoryEntry, error) {
	const op = "account.FindCompanies"
	if err := userOnly(op, p); err != nil { // disclosure.go
		return nil, err
	}
	if q.Limit == 0 {
		q.Limit = DefaultDirectoryLimit
	}
	found, err := s.store.FindCompanies(ctx, &storage.CompanyQuery{ID: q.ID, CorporateNumber: q.CorporateNumber, NameContains: q.Name, Limit: q.Limit})
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	own, err := s.store.GetCompany(ctx, p.CompanyID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	out := make([]DirectoryEntry, 0, len(found))
	for _, c := range found {
		if c.Operator { // operator.go: no customer, never a party
			continue
		}
		out = append(out, entryOf(c, own))
	}
	return out, nil
}

func entryOf(c, own *storage.Company) DirectoryEntry {
	return DirectoryEntry{ID: c.ID, Name: c.Name, CorporateNumber: c.CorporateNumber, Partner: slices.Contains(own.Partners, c.ID)}
}

// Members lists the users of company companyID, ordered by ID, for any
// logged-in principal picking the person a case goes to. An unknown
// company is kerr.NotFound.
func (s *Service) Members(ctx context.Context, p Principal, companyID string) ([]Member, error) {
	const op = "account.Members"
	if err := userOnly(op, p); err != nil { // disclosure.go
		return nil, err
	}
	if co, err := s.store.GetCompany(ctx, companyID); err != nil {
		return nil, kerr.Wrap(op, err)
	} else if co.Operator { // operator.go: not in the directory
		return nil, kerr.E(kerr.NotFound, op, "company %q does not exist", companyID)
	}
	users, err := s.store.ListUsers(ctx, companyID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	out := make([]Member, 0, len(users))
	for _, u := range users {
		out = append(out, Member{UserID: u.ID, Name: u.Profile.Name, Department: u.Profile.Department, Title: u.Profile.Title})
	}
	return out, nil
}

// SetCorporateNumber records the 法人番号 of p's company, by which other
// companies find it. Administrator only, audited ("company.corporate-number").
//
// Errors: kerr.Invalid for a number that is not 13 digits with a valid
// check digit (CheckCorporateNumber); kerr.Conflict when another company
// of the directory holds it already.
func (s *Service) SetCorporateNumber(ctx context.Context, p Principal, number string) (*storage.Company, error) {
	const op = "account.SetCorporateNumber"
	if err := requireAdmin(op, p, "set the corporate number"); err != nil {
		return nil, err
	}
	if err := CheckCorporateNumber(op, number); err != nil {
		return nil, err
	}
	holders, err := s.store.FindCompanies(ctx, &storage.CompanyQuery{CorporateNumber: number, Limit: 2})
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	for _, h := range holders {
		if h.ID != p.CompanyID {
			return nil, kerr.E(kerr.Conflict, op, "corporate number %s belongs to another company of the directory (%s): check the number, or ask the operator", number, h.Name)
		}
	}
	var out *storage.Company
	err = s.updateCompany(ctx, op, p, "company.corporate-number", number, func(co *storage.Company) error {
		co.CorporateNumber = number
		out = co
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddPartner adds company companyID to the trading partners (取引先) of
// p's company. Administrator only, audited ("company.partner-add").
// Adding a partner twice changes nothing.
//
// Errors: kerr.NotFound for an unknown company; kerr.Invalid for the
// company itself; kerr.FailedPrecondition past MaxPartners.
func (s *Service) AddPartner(ctx context.Context, p Principal, companyID string) error {
	const op = "account.AddPartner"
	if err := requireAdmin(op, p, "change the trading partners"); err != nil {
		return err
	}
	if companyID == p.CompanyID {
		return kerr.E(kerr.Invalid, op, "a company is not its own trading partner")
	}
	if _, err := s.store.GetCompany(ctx, companyID); err != nil {
		return kerr.Wrap(op, err)
	}
	return s.updateCompany(ctx, op, p, "company.partner-add", companyID, func(co *storage.Company) error {
		if slices.Contains(co.Partners, companyID) {
			return nil
		}
		if len(co.Partners) >= MaxPartners {
			return kerr.E(kerr.FailedPrecondition, op, "the company has %d trading partners, the most allowed: remove one first", MaxPartners)
		}
		co.Partners = append(co.Partners, companyID)
		return nil
	})
}

// RemovePartner removes company companyID from the trading partners of
// p's company. Administrator only, audited ("company.partner-remove"); a
// company that is not a partner is kerr.NotFound.
func (s *Service) RemovePartner(ctx context.Context, p Principal, companyID string) error {
	const op = "account.RemovePartner"
	if err := requireAdmin(op, p, "change the trading partners"); err != nil {
		return err
	}
	return s.updateCompany(ctx, op, p, "company.partner-remove", companyID, func(co *storage.Company) error {
		i := slices.Index(co.Partners, companyID)
		if i < 0 {
			return kerr.E(kerr.NotFound, op, "company %q is not a trading partner", companyID)
		}
		co.Partners = slices.Delete(co.Partners, i, i+1)
		return nil
	})
}

// Partners lists the trading partners of p's company from the directory,
// in the order they were added, for any user of the company. A partner
// company that no longer exists is left out.
func (s *Service) Partners(ctx context.Context, p Principal) ([]DirectoryEntry, error) {
	const op = "account.Partners"
	if err := userOnly(op, p); err != nil { // disclosure.go
		return nil, err
	}
	own, err := s.store.GetCompany(ctx, p.CompanyID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	var out []DirectoryEntry
	for _, id := range own.Partners {
		c, err := s.store.GetCompany(ctx, id)
		if kerr.Of(err) == kerr.NotFound {
			continue
		}
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		out = append(out, entryOf(c, own))
	}
	return out, nil
}
