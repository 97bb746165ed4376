package account

// Principal is who a casework call acts as: a logged-in user of a company.
// Obtain it from Service.Authenticate; casework trusts it as given.
type Principal struct {
	UserID    string
	CompanyID string
	// Admin is true for an administrator of CompanyID, who may see and act
	// on every case of the company.
	Admin bool
	// RemoteAddr is the network address the request came from (for the
	// audit log); may be empty for in-process calls.
	RemoteAddr string
}

// Valid reports whether p names a user and a company.
func (p Principal) Valid() bool { return p.UserID != "" && p.CompanyID != "" }
