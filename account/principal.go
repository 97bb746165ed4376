package account

// Principal is who a casework call acts as: a logged-in user of a company.
// Obtain it from Service.Authenticate; casework trusts it as given.
//
// A Principal is a snapshot taken when Authenticate returned it: it is not
// revoked when the session ends, the password changes, the user is
// disabled or loses its administrator role. An embedder must therefore
// hold one for a single request (or a single unit of work of at most a
// few seconds) and call Authenticate again for the next; never cache it
// for longer. Logout, ChangePassword, EndSessions and SetDisabled take
// effect at the next Authenticate.
type Principal struct {
	UserID    string
	CompanyID string
	// Admin is true for an administrator of CompanyID, who may see and act
	// on every case of the company.
	Admin bool
	// RemoteAddr is the network address the request came from (for the
	// audit log); may be empty for in-process calls.
	RemoteAddr string
	// Operator is true for a service operator (operator.go): a user of
	// the operator organisation, which administers companies and sees no
	// contract content.
	Operator bool
	// DisclosureID is non-empty for a disclosure account (第三者開示,
	// disclosure.go): UserID is then the account's own ID and CompanyID
	// its owner's company.
	DisclosureID string
}

// IsDisclosure reports whether p is a disclosure account.
func (p Principal) IsDisclosure() bool { return p.DisclosureID != "" }

// Valid reports whether p names a user and a company.
func (p Principal) Valid() bool { return p.UserID != "" && p.CompanyID != "" }
