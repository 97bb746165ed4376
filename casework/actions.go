package casework

import "github.com/keiyaku/keiyaku/account"

// Allowed returns the events p may apply to c now, by the lifecycle table
// (Next) with the role p plays and whose turn it is: what a user
// interface or the REST API offers. EventRegister is never among them.
func Allowed(p account.Principal, c *Case) []Event {
	role := RoleOf(p, c)
	var out []Event
	for _, e := range Events() {
		if e == EventRegister {
			continue
		}
		if _, err := Next(c.Form, c.State, e, role, turnOf(c)); err == nil {
			out = append(out, e)
		}
	}
	return out
}
