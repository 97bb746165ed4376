package account

import (
	"context"
	"encoding/base64"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Limits of disclosure accounts (第三者開示, issue 12).
const (
	// DefaultMaxDisclosures is how many unrevoked disclosure accounts a
	// user may have when the company set no limit (SetDisclosureLimit).
	DefaultMaxDisclosures = 5
	// MaxDisclosureLimit is the highest limit a company may set.
	MaxDisclosureLimit = 100
	// MaxDisclosureLabel bounds a disclosure account's label, in
	// characters.
	MaxDisclosureLabel = 100
	// MaxDisclosureCases bounds the cases one disclosure account shows.
	MaxDisclosureCases = storage.MaxDisclosureCases
)

// CaseGate decides whether a case may be disclosed. account declares it;
// casework implements it (a completed case of which the owner is the
// registrant user or a party user), and the facade wires it in.
type CaseGate interface {
	// Disclosable returns nil if owner may put case id into a
	// disclosure account; else an error with a kerr kind (kerr.NotFound
	// for a case owner cannot see, kerr.FailedPrecondition for one it may
	// not disclose) saying why.
	Disclosable(ctx context.Context, owner Principal, id string) error
}

// NewDisclosure describes a disclosure account to create.
type NewDisclosure struct {
	// LoginID follows the rules of NewUser.LoginID; it is unique across
	// users and disclosure accounts.
	LoginID string
	// Label names who it is for, e.g. the auditor: 1 to
	// MaxDisclosureLabel characters.
	Label string
	// From and Until bound the period in which it works (From inclusive,
	// Until exclusive). Zero From means now; Until is required, after
	// From and after now.
	From, Until time.Time
	// Cases are the IDs of the owner's completed cases it shows (at most
	// MaxDisclosureCases; see CaseGate).
	Cases []string
}

// DisclosureUpdate changes a disclosure account; nil fields stay.
type DisclosureUpdate struct {
	Label       *string
	From, Until *time.Time
	// Cases, when not nil, replaces the set of cases shown.
	Cases *[]string
}

// DisclosureInfo is what an owner sees of a disclosure account.
type DisclosureInfo struct {
	ID          string
	LoginID     string
	OwnerUserID string
	CompanyID   string
	Label       string
	From, Until time.Time
	// RevokedAt is when the owner revoked it; zero while not.
	RevokedAt time.Time
	// MustChangePassword: the initial password is not changed yet.
	MustChangePassword bool
	AllowList          []netip.Prefix
	// Cases are the IDs of the cases it was given, in byte order. A case
	// that has since moved to an owner who is not this one is still
	// listed but no longer shown (see the package doc).
	Cases     []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ActiveAt reports whether the account works at t: not revoked and
// inside its period.
func (d *DisclosureInfo) ActiveAt(t time.Time) bool {
	return d.RevokedAt.IsZero() && !t.Before(d.From) && t.Before(d.Until)
}

func disclosureActive(d *storage.Disclosure, t time.Time) bool {
	return d.RevokedAt.IsZero() && !t.Before(d.From) && t.Before(d.Until)
}

// DisclosureReader is what ActiveDisclosure reads.
type DisclosureReader interface {
	storage.DisclosureStore
	GetUser(ctx context.Context, id string) (*storage.User, error)
}

// ActiveDisclosure returns the disclosure account of p, a disclosure
// principal, if it works at now: not revoked, inside its period, and its
// owner an enabled user of p's company. Otherwise, and for a principal
// that is not a disclosure principal, it is kerr.Unauthenticated wrapping
// ErrSessionExpired. casework calls it on every access, so that a
// Principal held across the end of the period or a revocation stops
// working at once.
func ActiveDisclosure(ctx context.Context, store DisclosureReader, p Principal, now time.Time) (*storage.Disclosure, error) {
	const op = "account.ActiveDisclosure"
	if !p.IsDisclosure() {
		return nil, kerr.E(kerr.Unauthenticated, op, "not a disclosure principal: %w", ErrSessionExpired)
	}
	d, err := store.GetDisclosure(ctx, p.DisclosureID)
	if errors.Is(err, kerr.NotFound) {
		return nil, kerr.E(kerr.Unauthenticated, op, "%w", ErrSessionExpired)
	}
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if d.CompanyID != p.CompanyID || !disclosureActive(d, now) {
		return nil, kerr.E(kerr.Unauthenticated, op, "the disclosure account is outside its period or revoked: %w", ErrSessionExpired)
	}
	owner, err := store.GetUser(ctx, d.OwnerUserID)
	if err != nil && !errors.Is(err, kerr.NotFound) {
		return nil, kerr.Wrap(op, err)
	}
	if err != nil || owner.Disabled || owner.CompanyID != d.CompanyID {
		return nil, kerr.E(kerr.Unauthenticated, op, "the owner of the disclosure account is no longer an active user: %w", ErrSessionExpired)
	}
	return d, nil
}

func (s *Service) disclosures(op string) (storage.DisclosureStore, error) {
	ds, ok := s.store.(storage.DisclosureStore)
	if !ok {
		return nil, kerr.E(kerr.FailedPrecondition, op, "the store %T keeps no disclosure accounts", s.store)
	}
	return ds, nil
}

// userOnly refuses a caller that is not a logged-in user: a disclosure
// principal is kerr.PermissionDenied (it may only read its cases).
func userOnly(op string, p Principal) error {
	if !p.Valid() {
		return kerr.E(kerr.Unauthenticated, op, "log in first")
	}
	if p.IsDisclosure() {
		return kerr.E(kerr.PermissionDenied, op, "a disclosure account may only read the cases it was given")
	}
	return nil
}

func checkLabel(op, label string) error {
	if !utf8.ValidString(label) || strings.TrimSpace(label) == "" || utf8.RuneCountInString(label) > MaxDisclosureLabel ||
		strings.ContainsFunc(label, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return kerr.E(kerr.Invalid, op, "label must be 1 to %d characters without control characters", MaxDisclosureLabel)
	}
	return nil
}

func checkPeriod(op string, from, until time.Time) error {
	if until.IsZero() {
		return kerr.E(kerr.Invalid, op, "the period needs an end (Until)")
	}
	if !until.After(from) {
		return kerr.E(kerr.Invalid, op, "the period ends (%s) before or when it begins (%s)", until.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	if err := storage.CheckTime(op, "Until", until); err != nil {
		return err
	}
	return storage.CheckTime(op, "From", from)
}

// checkCases returns the case IDs sorted, without duplicates, after
// asking the gate about each.
func (s *Service) checkCases(ctx context.Context, op string, p Principal, ids []string) ([]string, error) {
	if len(ids) > MaxDisclosureCases {
		return nil, kerr.E(kerr.Invalid, op, "a disclosure account shows at most %d cases, not %d", MaxDisclosureCases, len(ids))
	}
	if slices.Contains(ids, "") {
		return nil, kerr.E(kerr.Invalid, op, "a case ID may not be empty")
	}
	if len(ids) > 0 && s.gate == nil {
		return nil, kerr.E(kerr.FailedPrecondition, op, "no CaseGate is configured (Config.Disclosures): cases cannot be disclosed")
	}
	cases := slices.Compact(slices.Sorted(slices.Values(ids)))
	for _, id := range cases {
		if err := s.gate.Disclosable(ctx, p, id); err != nil {
			return nil, kerr.Wrap(op, err)
		}
	}
	return cases, nil
}

// disclosureLimit returns the company's limit of unrevoked disclosure
// accounts per user.
func (s *Service) disclosureLimit(ctx context.Context, companyID string) (int, error) {
	co, err := s.store.GetCompany(ctx, companyID)
	if err != nil {
		return 0, err
	}
	if co.MaxDisclosures > 0 {
		return co.MaxDisclosures, nil
	}
	return DefaultMaxDisclosures, nil
}

// CreateDisclosure creates a disclosure account (開示用ID) owned by p and
// returns it with its initial password, which must be changed at its
// first login, exactly like a user's. Only a user may (a disclosure
// principal is kerr.PermissionDenied). A user may have at most the
// company's limit of unrevoked accounts (DefaultMaxDisclosures unless
// SetDisclosureLimit changed it): one more is kerr.FailedPrecondition. A
// taken login ID is kerr.Conflict; a bad login ID, label or period
// kerr.Invalid; a case the CaseGate refuses carries its kind. Audited as
// "disclosure.create" (by the owner).
func (s *Service) CreateDisclosure(ctx context.Context, p Principal, nd NewDisclosure) (*DisclosureInfo, string, error) {
	const op = "account.CreateDisclosure"
	if err := userOnly(op, p); err != nil {
		return nil, "", err
	}
	ds, err := s.disclosures(op)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	if nd.From.IsZero() {
		nd.From = now
	}
	if err := checkLoginID(op, nd.LoginID); err != nil {
		return nil, "", err
	}
	if err := checkLabel(op, nd.Label); err != nil {
		return nil, "", err
	}
	if err := checkPeriod(op, nd.From, nd.Until); err != nil {
		return nil, "", err
	}
	if !nd.Until.After(now) {
		return nil, "", kerr.E(kerr.Invalid, op, "the period has ended already (Until %s)", nd.Until.Format(time.RFC3339))
	}
	cases, err := s.checkCases(ctx, op, p, nd.Cases)
	if err != nil {
		return nil, "", err
	}
	limit, err := s.disclosureLimit(ctx, p.CompanyID)
	if err != nil {
		return nil, "", kerr.Wrap(op, err)
	}
	pw := initialPassword()
	hash, err := HashPassword(pw, s.params)
	if err != nil {
		return nil, "", kerr.Wrap(op, err)
	}
	d := &storage.Disclosure{ID: s.newID(), OwnerUserID: p.UserID, CompanyID: p.CompanyID, LoginID: nd.LoginID, PasswordHash: hash,
		MustChangePassword: true, Label: nd.Label, From: nd.From.UTC(), Until: nd.Until.UTC(), CreatedAt: now, UpdatedAt: now}
	if cases == nil {
		cases = []string{}
	}
	w := &storage.DisclosureWrite{Disclosure: d, Cases: cases, MaxPerOwner: limit,
		Audit: s.audit(p, "disclosure.create", "disclosure "+d.ID+" login "+d.LoginID+": "+itoa(int64(len(cases)))+" cases until "+d.Until.Format(time.RFC3339))}
	if err := ds.PutDisclosure(ctx, w); err != nil {
		return nil, "", kerr.Wrap(op, err)
	}
	info, err := disclosureInfo(d, cases)
	return info, pw, err
}

func disclosureInfo(d *storage.Disclosure, cases []string) (*DisclosureInfo, error) {
	out := &DisclosureInfo{ID: d.ID, LoginID: d.LoginID, OwnerUserID: d.OwnerUserID, CompanyID: d.CompanyID, Label: d.Label,
		From: d.From, Until: d.Until, RevokedAt: d.RevokedAt, MustChangePassword: d.MustChangePassword, Cases: cases,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if len(d.AllowList) > 0 {
		list, err := ParseAllowList(d.AllowList)
		if err != nil {
			return nil, kerr.WrapKind(kerr.Internal, "account.disclosureInfo", "stored allow-list of disclosure account "+d.ID, err)
		}
		out.AllowList = list
	}
	return out, nil
}

// owned returns disclosure account id if p owns it; any other is
// kerr.NotFound, as if it did not exist.
func (s *Service) owned(ctx context.Context, op string, p Principal, id string) (storage.DisclosureStore, *storage.Disclosure, error) {
	if err := userOnly(op, p); err != nil {
		return nil, nil, err
	}
	ds, err := s.disclosures(op)
	if err != nil {
		return nil, nil, err
	}
	d, err := ds.GetDisclosure(ctx, id)
	if err != nil && !errors.Is(err, kerr.NotFound) {
		return nil, nil, kerr.Wrap(op, err)
	}
	if err != nil || d.OwnerUserID != p.UserID || d.CompanyID != p.CompanyID {
		return nil, nil, kerr.E(kerr.NotFound, op, "disclosure account %q does not exist", id)
	}
	return ds, d, nil
}

// Disclosure returns disclosure account id of its owner p (any other
// caller gets kerr.NotFound).
func (s *Service) Disclosure(ctx context.Context, p Principal, id string) (*DisclosureInfo, error) {
	const op = "account.Disclosure"
	ds, d, err := s.owned(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	cases, err := ds.DisclosureCases(ctx, d.ID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return disclosureInfo(d, cases)
}

// ListDisclosures returns p's disclosure accounts, revoked ones included,
// oldest first.
func (s *Service) ListDisclosures(ctx context.Context, p Principal) ([]*DisclosureInfo, error) {
	const op = "account.ListDisclosures"
	if err := userOnly(op, p); err != nil {
		return nil, err
	}
	ds, err := s.disclosures(op)
	if err != nil {
		return nil, err
	}
	list, err := ds.ListDisclosures(ctx, p.UserID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	out := make([]*DisclosureInfo, 0, len(list))
	for _, d := range list {
		if d.CompanyID != p.CompanyID {
			continue
		}
		cases, err := ds.DisclosureCases(ctx, d.ID)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		info, err := disclosureInfo(d, cases)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// UpdateDisclosure changes the label, period or cases of disclosure
// account id; only its owner may (anyone else gets kerr.NotFound). The
// rules of CreateDisclosure apply to what changes (a period may end in
// the past: that ends the account like a revocation would, but can be
// undone). A revoked account cannot change (kerr.FailedPrecondition).
// Audited as "disclosure.update".
func (s *Service) UpdateDisclosure(ctx context.Context, p Principal, id string, up DisclosureUpdate) (*DisclosureInfo, error) {
	const op = "account.UpdateDisclosure"
	ds, d, err := s.owned(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	if !d.RevokedAt.IsZero() {
		return nil, kerr.E(kerr.FailedPrecondition, op, "disclosure account %q is revoked; create a new one", id)
	}
	var what []string
	if up.Label != nil {
		if err := checkLabel(op, *up.Label); err != nil {
			return nil, err
		}
		d.Label = *up.Label
		what = append(what, "label")
	}
	if up.From != nil {
		d.From = up.From.UTC()
		what = append(what, "from "+d.From.Format(time.RFC3339))
	}
	if up.Until != nil {
		d.Until = up.Until.UTC()
		what = append(what, "until "+d.Until.Format(time.RFC3339))
	}
	if err := checkPeriod(op, d.From, d.Until); err != nil {
		return nil, err
	}
	var cases []string
	if up.Cases != nil {
		if cases, err = s.checkCases(ctx, op, p, *up.Cases); err != nil {
			return nil, err
		}
		if cases == nil {
			cases = []string{}
		}
		what = append(what, itoa(int64(len(cases)))+" cases")
	}
	d.UpdatedAt = s.now()
	w := &storage.DisclosureWrite{Disclosure: d, Cases: cases, Audit: s.audit(p, "disclosure.update", "disclosure "+d.ID+": "+strings.Join(what, ", "))}
	if err := ds.PutDisclosure(ctx, w); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if cases == nil {
		if cases, err = ds.DisclosureCases(ctx, d.ID); err != nil {
			return nil, kerr.Wrap(op, err)
		}
	}
	return disclosureInfo(d, cases)
}

// RevokeDisclosure revokes disclosure account id for good: its login is
// refused and its sessions end in the same transaction. Only its owner
// may (else kerr.NotFound); revoking twice is kerr.FailedPrecondition.
// A revoked account no longer counts against the owner's limit. Audited
// as "disclosure.revoke".
func (s *Service) RevokeDisclosure(ctx context.Context, p Principal, id string) error {
	const op = "account.RevokeDisclosure"
	ds, d, err := s.owned(ctx, op, p, id)
	if err != nil {
		return err
	}
	if !d.RevokedAt.IsZero() {
		return kerr.E(kerr.FailedPrecondition, op, "disclosure account %q is revoked already", id)
	}
	now := s.now()
	d.RevokedAt, d.UpdatedAt = now, now
	w := &storage.DisclosureWrite{Disclosure: d, EndSessions: true, Audit: s.audit(p, "disclosure.revoke", "disclosure "+d.ID+"; sessions ended")}
	return kerr.Wrap(op, ds.PutDisclosure(ctx, w))
}

// SetDisclosureAllowList replaces the IP allow-list of disclosure account
// id (see ParseAllowList; empty lifts the restriction) and returns it as
// stored. Only its owner may (else kerr.NotFound). Like a user's list it
// is checked at login, at every Authenticate and at a password change:
// a call from outside it is kerr.PermissionDenied wrapping
// ErrAddressNotAllowed, audited as "disclosure.address-refused".
// Audited as "disclosure.allowlist-set".
func (s *Service) SetDisclosureAllowList(ctx context.Context, p Principal, id string, entries []string) ([]netip.Prefix, error) {
	const op = "account.SetDisclosureAllowList"
	ds, d, err := s.owned(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	list, err := ParseAllowList(entries)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	d.AllowList = make([]string, len(list))
	for i, pf := range list {
		d.AllowList[i] = pf.String()
	}
	d.UpdatedAt = s.now()
	w := &storage.DisclosureWrite{Disclosure: d, Audit: s.audit(p, "disclosure.allowlist-set", "disclosure "+d.ID+": "+strings.Join(d.AllowList, " "))}
	if err := ds.PutDisclosure(ctx, w); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return list, nil
}

// MaxAccessPage bounds a page of AccessLog.
const MaxAccessPage = 1000

// AccessLog returns up to limit (1 to MaxAccessPage, else kerr.Invalid)
// entries of what was done through disclosure account id, after the
// entry with Seq afterSeq (0 for the first page), oldest first: its
// logins and refusals ("disclosure.login", "disclosure.login-refused",
// ...), and each view, search, download (Detail names the file and its
// key), signature report and original verification, with time, case and
// remote address. Only the owner may (else kerr.NotFound).
func (s *Service) AccessLog(ctx context.Context, p Principal, id string, afterSeq int64, limit int) ([]storage.AuditEntry, error) {
	const op = "account.AccessLog"
	if limit < 1 || limit > MaxAccessPage {
		return nil, kerr.E(kerr.Invalid, op, "page size %d out of range 1..%d", limit, MaxAccessPage)
	}
	ds, d, err := s.owned(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	out, err := ds.ListDisclosureAccess(ctx, d.ID, afterSeq, limit)
	return out, kerr.Wrap(op, err)
}

// SetDisclosureLimit sets how many unrevoked disclosure accounts each
// user of p's company may have (1 to MaxDisclosureLimit; 0 restores
// DefaultMaxDisclosures). Accounts beyond a lowered limit stay; no new
// one can be made until the count is below it. Only an active
// administrator may (else kerr.PermissionDenied). Audited as
// "company.disclosure-limit".
func (s *Service) SetDisclosureLimit(ctx context.Context, p Principal, n int) (*storage.Company, error) {
	const op = "account.SetDisclosureLimit"
	if err := userOnly(op, p); err != nil {
		return nil, err
	}
	if err := s.activeAdmin(ctx, op, p); err != nil {
		return nil, err
	}
	if n < 0 || n > MaxDisclosureLimit {
		return nil, kerr.E(kerr.Invalid, op, "the limit must be 0 (the default of %d) to %d, not %d", DefaultMaxDisclosures, MaxDisclosureLimit, n)
	}
	co, err := s.store.GetCompany(ctx, p.CompanyID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	co.MaxDisclosures, co.UpdatedAt = n, s.now()
	if err := s.store.PutCompany(ctx, co, s.audit(p, "company.disclosure-limit", itoa(int64(n)))); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return co, nil
}

// disclosureByLogin returns the disclosure account with the login ID, or
// nil (none, or a store without them, or an error: Login then answers as
// for an unknown login ID).
func (s *Service) disclosureByLogin(ctx context.Context, loginID string) *storage.Disclosure {
	ds, ok := s.store.(storage.DisclosureStore)
	if !ok {
		return nil
	}
	d, err := ds.GetDisclosureByLogin(ctx, loginID)
	if err != nil {
		return nil
	}
	return d
}

func disclosurePrincipal(d *storage.Disclosure, remoteAddr string) Principal {
	return Principal{UserID: d.ID, CompanyID: d.CompanyID, DisclosureID: d.ID, RemoteAddr: remoteAddr}
}

// disclosureRefusal says why d does not work at now, or "" when it does.
func (s *Service) disclosureRefusal(ctx context.Context, d *storage.Disclosure, now time.Time) string {
	switch {
	case !d.RevokedAt.IsZero():
		return "revoked"
	case now.Before(d.From):
		return "before its period"
	case !now.Before(d.Until):
		return "after its period"
	}
	owner, err := s.store.GetUser(ctx, d.OwnerUserID)
	if err != nil || owner.Disabled || owner.CompanyID != d.CompanyID {
		return "its owner is not an active user"
	}
	return ""
}

// checkDisclosureAddress is checkAddress for a disclosure account's own
// allow-list.
func (s *Service) checkDisclosureAddress(ctx context.Context, op string, d *storage.Disclosure, remoteAddr, how string) error {
	var list []netip.Prefix
	if len(d.AllowList) > 0 {
		var err error
		if list, err = ParseAllowList(d.AllowList); err != nil {
			return kerr.WrapKind(kerr.Internal, op, "stored allow-list of disclosure account "+d.ID, err)
		}
	}
	if allowed(list, remoteAddr) {
		return nil
	}
	actor := disclosurePrincipal(d, truncate(remoteAddr, 128))
	_ = s.store.AppendAudit(ctx, s.audit(actor, "disclosure.address-refused", how+" from an address outside the account's allow-list"))
	return kerr.E(kerr.PermissionDenied, op, "%w", ErrAddressNotAllowed)
}

// loginDisclosure is Login for a disclosure account, after the throttle
// reservation: the same answers and the same work as for a user. Outside
// its period, once revoked or when its owner is no longer active, a right
// password is refused like a wrong one (ErrBadCredentials) and audited as
// "disclosure.login-refused" with the reason.
func (s *Service) loginDisclosure(ctx context.Context, op string, d *storage.Disclosure, g guardKeys, v storage.ThrottleVerdict, password, remoteAddr string, now time.Time) (*Session, error) {
	fail := kerr.E(kerr.Unauthenticated, op, "%w", ErrBadCredentials)
	if !v.Allowed {
		s.dummy.Verify(password)
		s.refused(ctx, now)
		return nil, fail
	}
	actor := disclosurePrincipal(d, remoteAddr)
	h, err := ParseHash(d.PasswordHash)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Internal, op, "stored password hash of disclosure account "+d.ID, err)
	}
	if !h.Verify(password) {
		_ = s.store.AppendAudit(ctx, s.audit(actor, "disclosure.login-failed", "wrong password"))
		return nil, fail
	}
	s.release(ctx, g, v)
	if why := s.disclosureRefusal(ctx, d, now); why != "" {
		_ = s.store.AppendAudit(ctx, s.audit(actor, "disclosure.login-refused", why))
		return nil, fail
	}
	if err := s.checkDisclosureAddress(ctx, op, d, remoteAddr, "login"); err != nil {
		return nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	ss := &storage.Session{TokenHash: tokenHash(token), UserID: d.ID, RemoteAddr: remoteAddr, CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
	if err := s.store.PutSession(ctx, ss, s.audit(actor, "disclosure.login", "")); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return &Session{Token: token, Principal: actor, ExpiresAt: ss.ExpiresAt, MustChangePassword: d.MustChangePassword}, nil
}

// sessionOrDisclosure is session, but a live session of a disclosure
// account (which has no user row) returns that account instead of a user.
func (s *Service) sessionOrDisclosure(ctx context.Context, op, token string) (*storage.Session, *storage.User, *storage.Disclosure, error) {
	ss, u, err := s.session(ctx, op, token)
	if err == nil || !errors.Is(err, kerr.NotFound) {
		return ss, u, nil, err
	}
	// session failed looking up the user: the session exists and is
	// live (both checked before).
	ds, ok := s.store.(storage.DisclosureStore)
	if !ok {
		return nil, nil, nil, err
	}
	ss, gerr := s.store.GetSession(ctx, tokenHash(token))
	if gerr != nil {
		return nil, nil, nil, kerr.E(kerr.Unauthenticated, op, "%w", ErrSessionExpired)
	}
	d, derr := ds.GetDisclosure(ctx, ss.UserID)
	if derr != nil {
		return nil, nil, nil, err
	}
	return ss, nil, d, nil
}

// authenticateDisclosure is Authenticate for a disclosure account's
// session. Outside its period, once revoked or when its owner is no
// longer active, the session ends (deleted, audited as
// "disclosure.session-ended" with the reason) and the answer is
// ErrSessionExpired.
func (s *Service) authenticateDisclosure(ctx context.Context, op string, ss *storage.Session, d *storage.Disclosure, remoteAddr string) (Principal, error) {
	actor := disclosurePrincipal(d, remoteAddr)
	if why := s.disclosureRefusal(ctx, d, s.now()); why != "" {
		_ = s.store.DeleteSession(ctx, ss.TokenHash, s.audit(actor, "disclosure.session-ended", why))
		return Principal{}, kerr.E(kerr.Unauthenticated, op, "the disclosure account is %s: %w", why, ErrSessionExpired)
	}
	if err := s.checkDisclosureAddress(ctx, op, d, remoteAddr, "session"); err != nil {
		return Principal{}, err
	}
	if d.MustChangePassword {
		return Principal{}, kerr.E(kerr.FailedPrecondition, op, "%w", ErrPasswordChangeRequired)
	}
	return actor, nil
}

// changeDisclosurePassword is ChangePassword for a disclosure account:
// the same rules, throttle and answers; other sessions end. Audited as
// "disclosure.password-change".
func (s *Service) changeDisclosurePassword(ctx context.Context, op string, ss *storage.Session, d *storage.Disclosure, oldPassword, newPassword, remoteAddr string) error {
	now := s.now()
	if why := s.disclosureRefusal(ctx, d, now); why != "" {
		return kerr.E(kerr.Unauthenticated, op, "the disclosure account is %s: %w", why, ErrSessionExpired)
	}
	if err := s.checkDisclosureAddress(ctx, op, d, remoteAddr, "password change"); err != nil {
		return err
	}
	if newPassword == oldPassword {
		return kerr.E(kerr.Invalid, op, "the new password must differ from the old one")
	}
	co, err := s.store.GetCompany(ctx, d.CompanyID)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	if err := CheckPassword(newPassword, d.LoginID, co.Name); err != nil {
		return kerr.Wrap(op, err)
	}
	h, err := ParseHash(d.PasswordHash)
	if err != nil {
		return kerr.WrapKind(kerr.Internal, op, "stored password hash of disclosure account "+d.ID, err)
	}
	actor := disclosurePrincipal(d, remoteAddr)
	fail := kerr.E(kerr.Unauthenticated, op, "the current password is wrong: %w", ErrBadCredentials)
	if len(oldPassword) > MaxPasswordLen {
		s.dummy.Verify(truncate(oldPassword, MaxPasswordLen))
		return fail
	}
	g, v, err := s.reserve(ctx, d.LoginID, remoteAddr, now)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	if !v.Allowed {
		s.dummy.Verify(oldPassword)
		s.refused(ctx, now)
		return fail
	}
	if !h.Verify(oldPassword) {
		_ = s.store.AppendAudit(ctx, s.audit(actor, "disclosure.password-change-failed", "wrong current password"))
		return fail
	}
	s.release(ctx, g, v)
	if d.PasswordHash, err = HashPassword(newPassword, s.params); err != nil {
		return kerr.Wrap(op, err)
	}
	d.MustChangePassword, d.UpdatedAt = false, now
	ds, err := s.disclosures(op)
	if err != nil {
		return err
	}
	w := &storage.DisclosureWrite{Disclosure: d, EndSessions: true, KeepSession: ss.TokenHash,
		Audit: s.audit(actor, "disclosure.password-change", "other sessions ended")}
	return kerr.Wrap(op, ds.PutDisclosure(ctx, w))
}
