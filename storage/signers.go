package storage

import "time"

// SignerCert registers signing certificates to a company: exactly the
// certificate with CertSHA256, or every certificate issued by the CA with
// IssuerSHA256 whose subject carries Organization and/or CorporateNumber.
// The store keeps it as part of the Company; casework decides what
// matches.
type SignerCert struct {
	ID string
	// CertSHA256 is the lower-case hex SHA-256 of a signer certificate's
	// DER; empty for an issuer rule.
	CertSHA256 string
	// IssuerSHA256 is the lower-case hex SHA-256 of the issuing CA
	// certificate's DER (issuer rule only).
	IssuerSHA256 string
	// Organization (subject O) and CorporateNumber (subject serialNumber
	// or organizationIdentifier) are what an issuer rule requires of the
	// subject; at least one is set.
	Organization    string
	CorporateNumber string
	// Subject and NotAfter describe the registered certificate (or the
	// CA) for people; not used for matching.
	Subject   string
	NotAfter  time.Time
	CreatedAt time.Time
	CreatedBy string // user ID
}

// Signer is one signature a case upload added and who made it.
type Signer struct {
	CompanyID string // the company whose upload carried it
	Field     string
	Subject   string
	Issuer    string
	Serial    string
	SHA256    string // of the signer certificate's DER
	At        time.Time
}
