package storage

import (
	"context"

	"github.com/keiyaku/keiyaku/kerr"
)

// MaxCompanyPage bounds CompanyQuery.Limit.
const MaxCompanyPage = 100

// CompanyQuery selects companies of the directory: those matching every
// field that is set.
type CompanyQuery struct {
	ID              string // the company ID, exactly
	CorporateNumber string // the 法人番号, exactly
	NameContains    string // a substring of the name, compared byte-wise
	// SignerCertSHA256 keeps the companies that registered the signer
	// certificate with this fingerprint (SignerCert.CertSHA256). Not
	// indexed: it scans every company, for registrations, which are rare.
	SignerCertSHA256 string
	// Limit is 1 to MaxCompanyPage.
	Limit int
}

// Check returns the kerr.Invalid error, under op, every backend gives a
// query with no field set or a Limit out of range. Backends call it first.
func (q *CompanyQuery) Check(op string) error {
	if q == nil || q.ID == "" && q.CorporateNumber == "" && q.NameContains == "" && q.SignerCertSHA256 == "" {
		return kerr.E(kerr.Invalid, op, "give a company ID, a corporate number or part of a name to search the directory")
	}
	if q.Limit < 1 || q.Limit > MaxCompanyPage {
		return kerr.E(kerr.Invalid, op, "limit %d must be 1 to %d", q.Limit, MaxCompanyPage)
	}
	return nil
}

// DirectoryStore finds companies.
type DirectoryStore interface {
	// FindCompanies returns up to q.Limit companies matching q, ordered
	// by name (byte-wise), then ID; none is not an error. A query that
	// fails CompanyQuery.Check is kerr.Invalid.
	FindCompanies(ctx context.Context, q *CompanyQuery) ([]*Company, error)
}
