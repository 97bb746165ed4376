package account

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// UserInfo is what a company administrator sees of a user of its company
// (never its password hash).
type UserInfo struct {
	ID                 string
	CompanyID          string
	LoginID            string
	Admin              bool
	Disabled           bool // disabled by an administrator (SetDisabled)
	MustChangePassword bool // still has an initial password
	Profile            storage.Profile
	CreatedAt          time.Time
	UpdatedAt          time.Time
	// LastLoginAt is the latest successful Login; zero if none recorded.
	LastLoginAt time.Time
	// BlockedUntil is when the latest login block of the user's login ID
	// (from any address, see guard.go) ends; zero when none holds now.
	// Unlock lifts it.
	BlockedUntil time.Time
	// AllowList is the user's IP allow-list; empty means no restriction.
	AllowList []netip.Prefix
}

// Blocked reports whether logins of the user are throttled now.
func (u *UserInfo) Blocked() bool { return !u.BlockedUntil.IsZero() }

// manage returns user userID for an administrator's action. The
// administrator's Principal is checked against the store, not only taken
// as given: a disabled or vanished administrator is kerr.Unauthenticated,
// one that lost its role kerr.PermissionDenied; a user of another company
// (or none) is kerr.NotFound.
func (s *Service) manage(ctx context.Context, op string, admin Principal, userID string) (*storage.User, error) {
	if err := s.activeAdmin(ctx, op, admin); err != nil {
		return nil, err
	}
	return s.adminTarget(ctx, op, admin, userID)
}

func (s *Service) activeAdmin(ctx context.Context, op string, admin Principal) error {
	if err := userOnly(op, admin); err != nil { // disclosure.go
		return err
	}
	a, err := s.store.GetUser(ctx, admin.UserID)
	if errors.Is(err, kerr.NotFound) || err == nil && (a.Disabled || a.CompanyID != admin.CompanyID) {
		return kerr.E(kerr.Unauthenticated, op, "%w", ErrSessionExpired)
	}
	if err != nil {
		return kerr.Wrap(op, err)
	}
	if !admin.Admin || !a.Admin {
		return kerr.E(kerr.PermissionDenied, op, "only a company administrator may do this")
	}
	return nil
}

func (s *Service) info(u *storage.User, a storage.UserAccess, blocked time.Time) (*UserInfo, error) {
	out := &UserInfo{ID: u.ID, CompanyID: u.CompanyID, LoginID: u.LoginID, Admin: u.Admin, Disabled: u.Disabled,
		MustChangePassword: u.MustChangePassword, Profile: u.Profile, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		LastLoginAt: a.LastLoginAt, BlockedUntil: blocked}
	if len(a.AllowList) > 0 {
		list, err := ParseAllowList(a.AllowList)
		if err != nil {
			return nil, kerr.WrapKind(kerr.Internal, "account.info", "stored allow-list of user "+u.ID, err)
		}
		out.AllowList = list
	}
	return out, nil
}

// ListUsers returns the users of the administrator's company, ordered by
// ID, with their profile, role, state (disabled, blocked, initial
// password), last login and allow-list. Only an active administrator
// may (see SetAllowList for the errors).
func (s *Service) ListUsers(ctx context.Context, admin Principal) ([]*UserInfo, error) {
	const op = "account.ListUsers"
	if err := s.activeAdmin(ctx, op, admin); err != nil {
		return nil, err
	}
	us, err := s.userAccess(op)
	if err != nil {
		return nil, err
	}
	users, err := s.store.ListUsers(ctx, admin.CompanyID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	access, err := us.ListUserAccess(ctx, admin.CompanyID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	now := s.now()
	out := make([]*UserInfo, 0, len(users))
	for _, u := range users {
		blocked, err := us.BlockedUntil(ctx, s.subject(u.LoginID), now)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		ui, err := s.info(u, access[u.ID], blocked)
		if err != nil {
			return nil, err
		}
		out = append(out, ui)
	}
	return out, nil
}

// ViewUser returns one user of the administrator's company as ListUsers
// does. Only an active administrator of the user's company may
// (kerr.PermissionDenied; another company's user is kerr.NotFound).
func (s *Service) ViewUser(ctx context.Context, admin Principal, userID string) (*UserInfo, error) {
	const op = "account.ViewUser"
	u, err := s.manage(ctx, op, admin, userID)
	if err != nil {
		return nil, err
	}
	us, err := s.userAccess(op)
	if err != nil {
		return nil, err
	}
	a, err := us.GetUserAccess(ctx, u.ID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	blocked, err := us.BlockedUntil(ctx, s.subject(u.LoginID), s.now())
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return s.info(u, a, blocked)
}

// ResetPassword gives user userID a new initial password and returns it:
// the user must change it at its next login (MustChangePassword), and
// every session of the user ends in the same transaction. The old
// password stops working at once; login blocks stay (Unlock lifts them).
// Only an active administrator of the user's company may
// (kerr.PermissionDenied; another company's user is kerr.NotFound), and
// not for itself (kerr.FailedPrecondition: use ChangePassword, which asks
// for the old password). Audited as "account.password-reset".
func (s *Service) ResetPassword(ctx context.Context, admin Principal, userID string) (string, error) {
	const op = "account.ResetPassword"
	u, err := s.manage(ctx, op, admin, userID)
	if err != nil {
		return "", err
	}
	if u.ID == admin.UserID {
		return "", kerr.E(kerr.FailedPrecondition, op, "an administrator changes its own password with ChangePassword")
	}
	pw := initialPassword()
	if u.PasswordHash, err = HashPassword(pw, s.params); err != nil {
		return "", kerr.Wrap(op, err)
	}
	u.MustChangePassword, u.UpdatedAt = true, s.now()
	if _, err := s.store.PutUserEndSessions(ctx, u, "", s.audit(admin, "account.password-reset", "user "+u.ID+"; sessions ended")); err != nil {
		return "", kerr.Wrap(op, err)
	}
	return pw, nil
}

// recordLogin notes a successful login for UserInfo.LastLoginAt. It is
// bookkeeping: a failed write must not refuse a login that succeeded.
func (s *Service) recordLogin(ctx context.Context, userID string, at time.Time) {
	if us, ok := s.store.(storage.UserAccessStore); ok {
		_ = us.RecordLogin(ctx, userID, at)
	}
}
