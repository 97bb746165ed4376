// Package account manages companies, users, credentials and sessions, and
// yields the Principal every casework call acts as.
//
// Passwords are hashed with argon2id (RFC 9106) with explicit parameters; an
// initial password must be changed at first login; a new password must pass
// CheckPassword (NIST SP 800-63B-4 §3.1.1.2: length, breached and common
// passwords, the user's own words, repetitions and sequences). Password
// guessing is throttled per login ID and address, atomically and with
// growing blocks (see Service.Login and guard.go); every failed login gets
// one and the same answer after the same work. Sessions expire, end on a
// password change (all but the one used), when a user is disabled and when
// an administrator ends them. Every change is written with an audit entry in
// the same transaction; refused logins are summarised, not logged one by one.
//
// # Company administration
//
// A company administrator lists and views its company's users (ListUsers,
// ViewUser: profile, role, disabled, login blocks, last login, IP
// allow-list), creates them (CreateUser), resets a password to a new
// initial one (ResetPassword), disables and enables (SetDisabled), lifts
// login blocks (Unlock), ends sessions (EndSessions) and sets each user's
// IP allow-list (SetAllowList). Each is audited. A user of another company
// is kerr.NotFound, as if it did not exist; an ordinary user gets
// kerr.PermissionDenied. These operations read the administrator from the
// store: a Principal of an administrator disabled since is
// kerr.Unauthenticated.
//
// # The service operator
//
// The business running the service acts through service operators
// (Principal.Operator; see operator.go for why they are users of a
// dedicated operator organisation). CreateOperator is the embedder's
// bootstrap; an operator creates companies with their first
// administrator (CreateCompanyAs) and decides the company-name requests
// administrators file (RequestNameChange, NameRequests,
// ApproveNameChange, RejectNameChange): a company's directory name
// changes only on approval, in the same transaction as the decision.
// An operator is no company administrator and sees no contract content
// (casework refuses it). Users edit their own profile (UpdateProfile);
// the company name is not part of it.
//
// # IP restriction (二要素認証)
//
// Each user may have an allow-list of up to MaxAllowListEntries IPv4 and
// IPv6 prefixes (ParseAllowList). While it is not empty, Login,
// Authenticate, ChangePassword and AuthenticateToken refuse a call from
// an address outside it — and from an empty or unreadable address — with
// kerr.PermissionDenied wrapping ErrAddressNotAllowed, audited as
// "account.address-refused" (user, address, time). Login checks the
// address only after the password is verified, so the distinct answer
// tells nothing to a caller without the password; a wrong password from
// anywhere is ErrBadCredentials as always. Logout is never refused.
//
// The address is the caller's to pass (remoteAddr: an IP address or
// host:port, as http.Request.RemoteAddr gives it). The allow-list is only
// as good as that address, so a server must derive it like this:
//
//   - Directly on the network: use the connection's peer address
//     (http.Request.RemoteAddr) and ignore X-Forwarded-For, Forwarded and
//     X-Real-IP entirely — any client can send them.
//   - Behind reverse proxies or load balancers: configure the exact set of
//     proxy addresses (or prefixes) you run. Only when the peer address is
//     one of them, read the proxy's header (Forwarded per RFC 7239, or
//     X-Forwarded-For) from the right: skip entries that are themselves
//     trusted proxies, and take the first untrusted one as the client. The
//     left-most entry is whatever the client wrote and must never be used.
//     When the peer is not a trusted proxy, use the peer address and
//     ignore the headers.
//   - Never pass an address taken from a header of a request that did not
//     come through a trusted proxy, and never fall back to a header when
//     the peer address is missing: pass "" (refused while a list exists).
//
// # Disclosure accounts (第三者開示)
//
// A user gives a third party (an auditor) read access to some of its
// completed cases with a disclosure account (開示用ID, disclosure.go):
// CreateDisclosure returns it with an initial password; the owner
// changes its label, period and cases (UpdateDisclosure), restricts its
// addresses (SetDisclosureAllowList, the rules of a user's allow-list),
// revokes it (RevokeDisclosure, ending its sessions), lists them
// (ListDisclosures) and reads what was done through each (AccessLog,
// paged). A user has at most DefaultMaxDisclosures unrevoked accounts;
// the company administrator may change the number (SetDisclosureLimit,
// up to MaxDisclosureLimit). Each shows at most MaxDisclosureCases cases,
// which the CaseGate (casework) accepts: completed cases of which the
// owner is the registrant user or a party user.
//
// A disclosure account logs in through Login like a user (login IDs are
// unique across users and disclosure accounts) and changes its initial
// password with ChangePassword before anything else. Its Principal has
// DisclosureID set (UserID is the account's own ID, CompanyID its owner's
// company, Admin false). Before its period (From), from its end (Until,
// exclusive), once revoked or when its owner is disabled, Login refuses
// even the right password with the answer of a wrong one
// (ErrBadCredentials; audited as "disclosure.login-refused" with the
// reason) and Authenticate ends its sessions (ErrSessionExpired; audited
// as "disclosure.session-ended"). casework checks the account again at
// every access (ActiveDisclosure). Account operations other than Login,
// Authenticate, ChangePassword and Logout refuse a disclosure principal
// (kerr.PermissionDenied, or kerr.NotFound where a user of another
// company would get it).
package account
