package account

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Sentinel causes, reachable with errors.Is; each error also carries a kerr
// kind (noted).
var (
	// ErrBadCredentials: unknown login ID or wrong password
	// (kerr.Unauthenticated). The two are not told apart.
	ErrBadCredentials = errors.New("login ID or password is wrong")
	// ErrLocked is no longer returned.
	//
	// Deprecated: since issue 11 a throttled login answers exactly like
	// a wrong password (ErrBadCredentials), so that the answer tells an
	// attacker neither that the account exists nor that it is blocked.
	ErrLocked = errors.New("account is locked after repeated failed logins")
	// ErrPasswordChangeRequired: the user still has its initial password
	// and must change it before doing anything else
	// (kerr.FailedPrecondition).
	ErrPasswordChangeRequired = errors.New("the initial password must be changed first")
	// ErrSessionExpired: the session is unknown, logged out or expired
	// (kerr.Unauthenticated).
	ErrSessionExpired = errors.New("session expired or logged out; log in again")
)

// Password rules, in bytes of UTF-8.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 128
	MaxProfileLen  = 200 // characters, per profile field
)

// Store is what account needs of a storage backend.
type Store interface {
	storage.AccountStore
	storage.DirectoryStore
	storage.AuditStore
	storage.GuardStore
}

// Config configures New.
type Config struct {
	// Store persists companies, users, sessions and audit entries. Required.
	Store Store
	// Clock returns the current time. nil means time.Now.
	Clock func() time.Time
	// Params are the argon2id parameters for new hashes. The zero value
	// means DefaultParams. Stored hashes keep the parameters they were
	// made with.
	Params Params
	// MaxFailures is how many password checks of one login ID from one
	// address run before further attempts are blocked (see guard.go).
	// Zero means 5.
	MaxFailures int
	// Lockout is the first block; each further block in a row doubles,
	// up to MaxLockout. Zero means 15 minutes.
	Lockout time.Duration
	// MaxLockout caps a block. Zero means 24 hours (at least Lockout).
	MaxLockout time.Duration
	// MaxFailuresPerAccount bounds checks of one login ID from all
	// addresses together, MaxFailuresPerAddress checks from one address
	// for all login IDs together. Zero means 10 × MaxFailures each.
	MaxFailuresPerAccount int
	MaxFailuresPerAddress int
	// SummaryEvery is how often refused logins (unknown login ID or
	// blocked) are summarised in one audit entry. Zero means 1 hour.
	SummaryEvery time.Duration
	// Key keys the hashes of login IDs and addresses the throttles are
	// stored under (HMAC-SHA-256; at least 16 bytes). nil means a random
	// key for this Service: throttles then start afresh on restart. Give
	// the same key to every process sharing a store.
	Key []byte
	// SessionTTL is how long a session lasts after login. Zero means 8
	// hours.
	SessionTTL time.Duration
	// NewID returns new company and user IDs. nil means 128 random bits
	// in hex.
	NewID func() string
	// Disclosures decides which cases a user may disclose (disclosure.go).
	// nil means disclosure accounts can be made without cases only.
	Disclosures CaseGate
}

// Service manages accounts. It is safe for concurrent use.
type Service struct {
	store       Store
	clock       func() time.Time
	params      Params
	maxFailures int
	lockout     time.Duration
	maxLockout  time.Duration
	window      time.Duration
	perAccount  int
	perAddress  int
	key         []byte
	// summaryEvery is the period of refused-login summaries.
	summaryEvery time.Duration
	ttl          time.Duration
	newID        func() string
	dummy        *Hash // verified against for unknown logins, so timing does not tell
	gate         CaseGate
}

// New returns a Service, or kerr.Invalid for a bad Config.
func New(cfg Config) (*Service, error) {
	const op = "account.New"
	if cfg.Store == nil {
		return nil, kerr.E(kerr.Invalid, op, "Config.Store is required")
	}
	s := &Service{store: cfg.Store, clock: cfg.Clock, params: cfg.Params, maxFailures: cfg.MaxFailures,
		lockout: cfg.Lockout, ttl: cfg.SessionTTL, newID: cfg.NewID, gate: cfg.Disclosures}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.params == (Params{}) {
		s.params = DefaultParams
	}
	if err := s.params.check(op); err != nil {
		return nil, err
	}
	if s.maxFailures == 0 {
		s.maxFailures = 5
	}
	if s.lockout == 0 {
		s.lockout = 15 * time.Minute
	}
	if s.ttl == 0 {
		s.ttl = 8 * time.Hour
	}
	if s.maxFailures < 0 || s.lockout < 0 || s.ttl < 0 || cfg.MaxLockout < 0 || cfg.MaxFailuresPerAccount < 0 ||
		cfg.MaxFailuresPerAddress < 0 || cfg.SummaryEvery < 0 {
		return nil, kerr.E(kerr.Invalid, op, "MaxFailures, Lockout, MaxLockout, MaxFailuresPerAccount, MaxFailuresPerAddress, SummaryEvery and SessionTTL may not be negative")
	}
	s.maxLockout = cmp.Or(cfg.MaxLockout, 24*time.Hour)
	s.maxLockout = max(s.maxLockout, s.lockout)
	// An attempt is remembered for as long as the longest block lasts,
	// so that counts survive any block.
	s.window = s.maxLockout
	s.perAccount = cmp.Or(cfg.MaxFailuresPerAccount, 10*s.maxFailures)
	s.perAddress = cmp.Or(cfg.MaxFailuresPerAddress, 10*s.maxFailures)
	s.summaryEvery = cmp.Or(cfg.SummaryEvery, time.Hour)
	s.key = cfg.Key
	if s.key == nil {
		s.key = randomBytes(32)
	}
	if len(s.key) < 16 {
		return nil, kerr.E(kerr.Invalid, op, "Config.Key must be at least 16 bytes (or nil for a random one)")
	}
	if s.newID == nil {
		s.newID = func() string { return hex.EncodeToString(randomBytes(16)) }
	}
	enc, err := HashPassword("dummy password for timing", s.params)
	if err != nil {
		return nil, err
	}
	if s.dummy, err = ParseHash(enc); err != nil {
		return nil, err
	}
	return s, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return b
}

func (s *Service) now() time.Time { return s.clock().UTC() }

func (s *Service) audit(p Principal, action, detail string) []storage.AuditEntry {
	return []storage.AuditEntry{{Time: s.now(), ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr, Action: action, Detail: detail}}
}

// initialPasswordAlphabet leaves out look-alikes (0/O, 1/l/I).
const initialPasswordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func initialPassword() string {
	b := randomBytes(16)
	out := make([]byte, len(b))
	for i, c := range b {
		// 256 is not a multiple of the alphabet size; the bias is below
		// 2 bits over 16 characters of ~5.8 bits each, acceptable for a
		// one-time password that must be changed.
		out[i] = initialPasswordAlphabet[int(c)%len(initialPasswordAlphabet)]
	}
	return string(out)
}

// NewUser describes a user to create.
type NewUser struct {
	LoginID string // 3 to 64 characters from a-z A-Z 0-9 . _ @ -; unique
	Admin   bool
	Profile storage.Profile
}

func checkLoginID(op, id string) error {
	if len(id) < 3 || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r))
	}) {
		return kerr.E(kerr.Invalid, op, "login ID %q must be 3 to 64 characters from a-z A-Z 0-9 . _ @ -", id)
	}
	return nil
}

func checkProfile(op string, p storage.Profile) error {
	fields := map[string]string{"name": p.Name, "furigana": p.Furigana, "department": p.Department, "title": p.Title,
		"phone": p.Phone, "fax": p.Fax, "e-mail": p.Email, "address": p.Address}
	for name, v := range fields {
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > MaxProfileLen {
			return kerr.E(kerr.Invalid, op, "%s must be valid text of at most %d characters", name, MaxProfileLen)
		}
		if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return kerr.E(kerr.Invalid, op, "%s may not contain control characters", name)
		}
	}
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email {
			return kerr.E(kerr.Invalid, op, "e-mail %q is not a bare address like name@example.com", p.Email)
		}
	}
	switch p.Language {
	case "", "ja", "en":
	default:
		return kerr.E(kerr.Invalid, op, "language %q is not supported; use ja or en", p.Language)
	}
	return nil
}

// CreateCompany creates a company with its first administrator, for the
// operator of the service (no principal: the caller is trusted). It
// returns the company, the administrator and the administrator's initial
// password, which must be changed at first login.
func (s *Service) CreateCompany(ctx context.Context, name string, admin NewUser, remoteAddr string) (*storage.Company, *storage.User, string, error) {
	const op = "account.CreateCompany"
	if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > MaxProfileLen || !utf8.ValidString(name) {
		return nil, nil, "", kerr.E(kerr.Invalid, op, "company name must be 1 to %d characters", MaxProfileLen)
	}
	now := s.now()
	co := &storage.Company{ID: s.newID(), Name: name, CreatedAt: now, UpdatedAt: now}
	sys := Principal{UserID: "operator", RemoteAddr: remoteAddr}
	if err := s.store.PutCompany(ctx, co, s.audit(sys, "company.create", name)); err != nil {
		return nil, nil, "", kerr.Wrap(op, err)
	}
	admin.Admin = true
	u, pw, err := s.createUser(ctx, op, sys, co.ID, admin)
	if err != nil {
		return nil, nil, "", err
	}
	return co, u, pw, nil
}

// CreateUser creates a user in the administrator's company and returns it
// with its initial password. Only an active administrator may (else
// kerr.PermissionDenied; a disabled one is kerr.Unauthenticated: the
// administrator is read from the store); a taken login ID is kerr.Conflict.
func (s *Service) CreateUser(ctx context.Context, admin Principal, nu NewUser) (*storage.User, string, error) {
	const op = "account.CreateUser"
	if !admin.Valid() {
		return nil, "", kerr.E(kerr.Unauthenticated, op, "log in first")
	}
	if err := s.activeAdmin(ctx, op, admin); err != nil {
		return nil, "", err
	}
	return s.createUser(ctx, op, admin, admin.CompanyID, nu)
}

func (s *Service) createUser(ctx context.Context, op string, actor Principal, companyID string, nu NewUser) (*storage.User, string, error) {
	if err := checkLoginID(op, nu.LoginID); err != nil {
		return nil, "", err
	}
	if err := checkProfile(op, nu.Profile); err != nil {
		return nil, "", err
	}
	pw := initialPassword()
	hash, err := HashPassword(pw, s.params)
	if err != nil {
		return nil, "", kerr.Wrap(op, err)
	}
	now := s.now()
	u := &storage.User{ID: s.newID(), CompanyID: companyID, LoginID: nu.LoginID, Admin: nu.Admin, PasswordHash: hash,
		MustChangePassword: true, Profile: nu.Profile, CreatedAt: now, UpdatedAt: now}
	if err := s.store.PutUser(ctx, u, s.audit(actor, "user.create", "login "+nu.LoginID)); err != nil {
		return nil, "", kerr.Wrap(op, err)
	}
	return u, pw, nil
}

// Session is a logged-in session: the bearer Token to present to
// Authenticate, and who it is for.
type Session struct {
	Token     string
	Principal Principal
	ExpiresAt time.Time
	// MustChangePassword: only ChangePassword works with this session
	// until the initial password is changed.
	MustChangePassword bool
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Login checks a login ID and password and opens a session.
//
// Every failure is the same error — kerr.Unauthenticated wrapping
// ErrBadCredentials, with the same message — whether the login ID is
// unknown, the password wrong, the user disabled or the attempt
// throttled (see guard.go), and costs the same work: one argon2id
// verification (against a dummy hash when the real one may not be
// checked), one throttle reservation and one write. At most MaxFailures
// passwords of a login ID from one address are ever checked before a
// block, even under concurrent logins. A wrong password of an existing
// user is audited as "account.login-failed"; unknown and throttled
// attempts are summarised (see SummaryEvery), and what was typed as the
// login ID is never stored.
//
// A user with an IP allow-list (SetAllowList) calling from an address
// outside it is refused with kerr.PermissionDenied wrapping
// ErrAddressNotAllowed, audited as "account.address-refused"; this is
// checked only after the password is verified, so it tells nothing to a
// caller without the password. A successful login records the user's
// last login time (UserInfo.LastLoginAt).
func (s *Service) Login(ctx context.Context, loginID, password, remoteAddr string) (*Session, error) {
	const op = "account.Login"
	fail := func() error { return kerr.E(kerr.Unauthenticated, op, "%w", ErrBadCredentials) }
	now := s.now()
	if len(password) > MaxPasswordLen || len(loginID) > maxLoginInput {
		s.dummy.Verify(truncate(password, MaxPasswordLen))
		s.refused(ctx, now)
		return nil, fail()
	}
	g, v, err := s.reserve(ctx, loginID, remoteAddr, now)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	u, err := s.store.GetUserByLogin(ctx, loginID)
	if err != nil && !errors.Is(err, kerr.NotFound) {
		return nil, kerr.Wrap(op, err)
	}
	if err != nil {
		if d := s.disclosureByLogin(ctx, loginID); d != nil { // disclosure.go
			return s.loginDisclosure(ctx, op, d, g, v, password, remoteAddr, now)
		}
	}
	if err != nil || !v.Allowed || u.Disabled {
		s.dummy.Verify(password)
		s.refused(ctx, now)
		return nil, fail()
	}
	actor := Principal{UserID: u.ID, CompanyID: u.CompanyID, Admin: u.Admin, RemoteAddr: remoteAddr, Operator: u.Operator}
	h, err := ParseHash(u.PasswordHash)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Internal, op, "stored password hash of user "+u.ID, err)
	}
	if !h.Verify(password) {
		// Bounded by the throttle: at most MaxFailures per block and
		// address, so an unauthenticated caller cannot grow the log
		// without bound through an existing login ID either.
		_ = s.store.AppendAudit(ctx, s.audit(actor, "account.login-failed", "wrong password"))
		return nil, fail()
	}
	s.release(ctx, g, v)
	// Only after the password is verified (allowlist.go): the refusal
	// tells nothing to a caller without the password.
	if err := s.checkAddress(ctx, op, u, remoteAddr, "login"); err != nil {
		return nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	ss := &storage.Session{TokenHash: tokenHash(token), UserID: u.ID, RemoteAddr: remoteAddr, CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
	if err := s.store.PutSession(ctx, ss, s.audit(actor, "account.login", "")); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	s.recordLogin(ctx, u.ID, now)
	return &Session{Token: token, Principal: actor, ExpiresAt: ss.ExpiresAt, MustChangePassword: u.MustChangePassword}, nil
}

// maxLoginInput bounds what Login reads of the login-ID field (login IDs
// are at most 64 bytes; longer input is refused like an unknown ID).
const maxLoginInput = 256

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// session returns the live session and user of token.
func (s *Service) session(ctx context.Context, op, token string) (*storage.Session, *storage.User, error) {
	if token == "" || len(token) > 128 {
		return nil, nil, kerr.E(kerr.Unauthenticated, op, "%w", ErrSessionExpired)
	}
	ss, err := s.store.GetSession(ctx, tokenHash(token))
	if errors.Is(err, kerr.NotFound) {
		return nil, nil, kerr.E(kerr.Unauthenticated, op, "%w", ErrSessionExpired)
	}
	if err != nil {
		return nil, nil, kerr.Wrap(op, err)
	}
	if !s.now().Before(ss.ExpiresAt) {
		return nil, nil, kerr.E(kerr.Unauthenticated, op, "%w", ErrSessionExpired)
	}
	u, err := s.store.GetUser(ctx, ss.UserID)
	if err != nil {
		return nil, nil, kerr.Wrap(op, err)
	}
	if u.Disabled { // its sessions were deleted; this one raced the deletion
		return nil, nil, kerr.E(kerr.Unauthenticated, op, "%w", ErrSessionExpired)
	}
	return ss, u, nil
}

// Authenticate returns the Principal of a live session. An unknown,
// logged-out or expired token is kerr.Unauthenticated (ErrSessionExpired);
// a user that must still change its initial password gets
// kerr.FailedPrecondition (ErrPasswordChangeRequired). A user with an IP
// allow-list calling from outside it gets kerr.PermissionDenied wrapping
// ErrAddressNotAllowed (audited); the session stays, for calls from an
// allowed address.
func (s *Service) Authenticate(ctx context.Context, token, remoteAddr string) (Principal, error) {
	const op = "account.Authenticate"
	ss, u, d, err := s.sessionOrDisclosure(ctx, op, token)
	if err != nil {
		return Principal{}, err
	}
	if d != nil { // disclosure.go
		return s.authenticateDisclosure(ctx, op, ss, d, remoteAddr)
	}
	if err := s.checkAddress(ctx, op, u, remoteAddr, "session"); err != nil {
		return Principal{}, err
	}
	if u.MustChangePassword {
		return Principal{}, kerr.E(kerr.FailedPrecondition, op, "%w", ErrPasswordChangeRequired)
	}
	return Principal{UserID: u.ID, CompanyID: u.CompanyID, Admin: u.Admin, RemoteAddr: remoteAddr, Operator: u.Operator}, nil
}

// Logout ends a session. An unknown session is kerr.Unauthenticated.
func (s *Service) Logout(ctx context.Context, token, remoteAddr string) error {
	const op = "account.Logout"
	ss, u, d, err := s.sessionOrDisclosure(ctx, op, token)
	if err != nil {
		return err
	}
	if d != nil { // disclosure.go
		return kerr.Wrap(op, s.store.DeleteSession(ctx, ss.TokenHash, s.audit(disclosurePrincipal(d, remoteAddr), "disclosure.logout", "")))
	}
	actor := Principal{UserID: u.ID, CompanyID: u.CompanyID, RemoteAddr: remoteAddr}
	return kerr.Wrap(op, s.store.DeleteSession(ctx, ss.TokenHash, s.audit(actor, "account.logout", "")))
}

// ChangePassword replaces the password of the session's user after
// checking the old one, and ends every other session of the user in the
// same transaction. The new password must pass CheckPassword for the
// user's login ID and company name and differ from the old (else
// kerr.Invalid, checked first). The old password is checked like a login
// (see Login and guard.go): the same throttle, so a stolen session cannot
// be used to guess the password, and every failure is kerr.Unauthenticated
// wrapping ErrBadCredentials. It works with a session whose user must
// change its initial password, and clears that requirement.
func (s *Service) ChangePassword(ctx context.Context, token, oldPassword, newPassword, remoteAddr string) error {
	const op = "account.ChangePassword"
	ss, u, d, err := s.sessionOrDisclosure(ctx, op, token)
	if err != nil {
		return err
	}
	if d != nil { // disclosure.go
		return s.changeDisclosurePassword(ctx, op, ss, d, oldPassword, newPassword, remoteAddr)
	}
	if err := s.checkAddress(ctx, op, u, remoteAddr, "password change"); err != nil {
		return err
	}
	if newPassword == oldPassword {
		return kerr.M(kerr.Invalid, op, "password.same", "the new password is the same as the current one: choose a different one")
	}
	co, err := s.store.GetCompany(ctx, u.CompanyID)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	if err := CheckPassword(newPassword, u.LoginID, co.Name); err != nil {
		return kerr.Wrap(op, err)
	}
	h, err := ParseHash(u.PasswordHash)
	if err != nil {
		return kerr.WrapKind(kerr.Internal, op, "stored password hash of user "+u.ID, err)
	}
	now := s.now()
	actor := Principal{UserID: u.ID, CompanyID: u.CompanyID, RemoteAddr: remoteAddr}
	fail := kerr.E(kerr.Unauthenticated, op, "the current password is wrong: %w", ErrBadCredentials)
	if len(oldPassword) > MaxPasswordLen {
		s.dummy.Verify(truncate(oldPassword, MaxPasswordLen))
		return fail
	}
	g, v, err := s.reserve(ctx, u.LoginID, remoteAddr, now)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	if !v.Allowed {
		s.dummy.Verify(oldPassword)
		s.refused(ctx, now)
		return fail
	}
	if !h.Verify(oldPassword) {
		_ = s.store.AppendAudit(ctx, s.audit(actor, "account.password-change-failed", "wrong current password"))
		return fail
	}
	s.release(ctx, g, v)
	if u.PasswordHash, err = HashPassword(newPassword, s.params); err != nil {
		return kerr.Wrap(op, err)
	}
	u.MustChangePassword = false
	u.UpdatedAt = now
	_, err = s.store.PutUserEndSessions(ctx, u, ss.TokenHash, s.audit(actor, "account.password-change", "other sessions ended"))
	return kerr.Wrap(op, err)
}

// UpdateProfile replaces the profile of user userID. A user may change its
// own profile, an administrator that of any user of its company; anyone
// else gets kerr.NotFound.
func (s *Service) UpdateProfile(ctx context.Context, p Principal, userID string, prof storage.Profile) (*storage.User, error) {
	const op = "account.UpdateProfile"
	if !p.Valid() {
		return nil, kerr.E(kerr.Unauthenticated, op, "log in first")
	}
	if err := checkProfile(op, prof); err != nil {
		return nil, err
	}
	u, err := s.store.GetUser(ctx, userID)
	if err != nil || u.CompanyID != p.CompanyID || (u.ID != p.UserID && !p.Admin) {
		if err != nil && !errors.Is(err, kerr.NotFound) {
			return nil, kerr.Wrap(op, err)
		}
		return nil, kerr.E(kerr.NotFound, op, "user %q does not exist", userID)
	}
	u.Profile, u.UpdatedAt = prof, s.now()
	if err := s.store.PutUser(ctx, u, s.audit(p, "user.profile", "user "+u.ID)); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return u, nil
}

// RenameCompany no longer changes the name: a company's name changes
// only when the service operator approves a request (RequestNameChange,
// ApproveNameChange). It answers kerr.PermissionDenied to anyone but an
// administrator (as before) and kerr.FailedPrecondition to an
// administrator, naming RequestNameChange.
//
// Deprecated: use RequestNameChange.
func (s *Service) RenameCompany(ctx context.Context, p Principal, name string) (*storage.Company, error) {
	const op = "account.RenameCompany"
	if !p.Valid() {
		return nil, kerr.E(kerr.Unauthenticated, op, "log in first")
	}
	if !p.Admin {
		return nil, kerr.E(kerr.PermissionDenied, op, "only a company administrator may change the company name")
	}
	return nil, kerr.E(kerr.FailedPrecondition, op, "a company name changes only on the service operator's approval: file a request with RequestNameChange")
}
