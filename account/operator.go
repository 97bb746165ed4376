package account

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// The service operator (issue 12, Administration): the business running
// the service. Its people are users of one dedicated organisation, a
// company row with storage.Company.Operator set and the fixed ID
// OperatorCompanyID, each user marked storage.User.Operator.
//
// Why a company row and a user flag rather than one or the other: every
// user needs a company (sessions, audit entries and the store's foreign
// keys name one), and a company of its own keeps operators out of every
// customer company, so no company administrator can manage, reset or
// disable them. The flag on the user is what Authenticate copies into
// Principal.Operator, so that no request pays an extra read to learn it;
// only CreateOperator sets it, and only in the operator organisation. The
// organisation is left out of the directory (FindCompanies) and casework
// refuses it as a counterparty, so an operator is never a party to a case:
// casework treats an operator principal as seeing no case at all.

// OperatorCompanyID is the ID of the operator organisation.
const OperatorCompanyID = "operator"

// OperatorCompanyName is the name the operator organisation is created with.
const OperatorCompanyName = "service operator"

// Limits of name requests, in characters.
const (
	MaxCompanyNameLen = MaxProfileLen // a company name
	MaxNameNoteLen    = 500           // the reason of a request, an operator's note
)

// CreateOperator creates a service operator: a user of the operator
// organisation (created too on first use), with an initial password that
// must be changed at first login. It is the embedder's bootstrap path (a
// server's first start): it takes no Principal and trusts its caller.
// A taken login ID is kerr.Conflict; a bad login ID or profile
// kerr.Invalid. Audited as "operator.create".
func (s *Service) CreateOperator(ctx context.Context, nu NewUser, remoteAddr string) (*storage.User, string, error) {
	const op = "account.CreateOperator"
	sys := Principal{UserID: "operator", CompanyID: OperatorCompanyID, RemoteAddr: remoteAddr}
	if _, err := s.store.GetCompany(ctx, OperatorCompanyID); errors.Is(err, kerr.NotFound) {
		now := s.now()
		co := &storage.Company{ID: OperatorCompanyID, Name: OperatorCompanyName, Operator: true, CreatedAt: now, UpdatedAt: now}
		// A concurrent first start may have created it: Conflict is fine.
		if err := s.store.PutCompany(ctx, co, s.audit(sys, "operator.organisation", OperatorCompanyName)); err != nil && !errors.Is(err, kerr.Conflict) {
			return nil, "", kerr.Wrap(op, err)
		}
	} else if err != nil {
		return nil, "", kerr.Wrap(op, err)
	}
	nu.Admin = false
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
	u := &storage.User{ID: s.newID(), CompanyID: OperatorCompanyID, LoginID: nu.LoginID, Operator: true, PasswordHash: hash,
		MustChangePassword: true, Profile: nu.Profile, CreatedAt: now, UpdatedAt: now}
	if err := s.store.PutUser(ctx, u, s.audit(sys, "operator.create", "login "+nu.LoginID)); err != nil {
		return nil, "", kerr.Wrap(op, err)
	}
	return u, pw, nil
}

// ActiveOperator checks p against the store: a service operator that
// exists and is not disabled. Not an operator is kerr.PermissionDenied; a
// vanished or disabled one (or a Principal that does not match the
// stored user) kerr.Unauthenticated.
func (s *Service) ActiveOperator(ctx context.Context, p Principal) error {
	return s.activeOperator(ctx, "account.ActiveOperator", p)
}

// deny audits err as "account.refused" (actor, operation, why) when it
// refuses a logged-in principal (kerr.PermissionDenied or
// kerr.Unauthenticated), and returns it. Bookkeeping: a failed write does
// not change the answer.
func (s *Service) deny(ctx context.Context, op string, p Principal, err error) error {
	if p.Valid() && (kerr.Of(err) == kerr.PermissionDenied || kerr.Of(err) == kerr.Unauthenticated) {
		_ = s.store.AppendAudit(ctx, s.audit(p, "account.refused", op+": "+err.Error()))
	}
	return err
}

func (s *Service) activeOperator(ctx context.Context, op string, p Principal) error {
	if !p.Valid() {
		return kerr.E(kerr.Unauthenticated, op, "log in first")
	}
	if !p.Operator {
		return kerr.E(kerr.PermissionDenied, op, "only the service operator may do this")
	}
	u, err := s.store.GetUser(ctx, p.UserID)
	if errors.Is(err, kerr.NotFound) || err == nil && (u.Disabled || u.CompanyID != p.CompanyID) {
		return kerr.E(kerr.Unauthenticated, op, "%w", ErrSessionExpired)
	}
	if err != nil {
		return kerr.Wrap(op, err)
	}
	if !u.Operator || u.CompanyID != OperatorCompanyID {
		return kerr.E(kerr.PermissionDenied, op, "only the service operator may do this")
	}
	return nil
}

// CreateCompanyAs is CreateCompany for a service operator p, the Go API
// path of operators (CreateCompany stays the embedder's trusted path): it
// creates a company with its first administrator and returns the
// administrator's initial password. Anyone but an active operator is
// kerr.PermissionDenied (see ActiveOperator). Audited with p as actor.
func (s *Service) CreateCompanyAs(ctx context.Context, p Principal, name string, admin NewUser) (*storage.Company, *storage.User, string, error) {
	const op = "account.CreateCompanyAs"
	if err := s.activeOperator(ctx, op, p); err != nil {
		return nil, nil, "", s.deny(ctx, op, p, err)
	}
	if err := checkCompanyName(op, name); err != nil {
		return nil, nil, "", err
	}
	if err := checkLoginID(op, admin.LoginID); err != nil {
		return nil, nil, "", err
	}
	if err := checkProfile(op, admin.Profile); err != nil {
		return nil, nil, "", err
	}
	now := s.now()
	co := &storage.Company{ID: s.newID(), Name: name, CreatedAt: now, UpdatedAt: now}
	if err := s.store.PutCompany(ctx, co, s.audit(p, "company.create", name)); err != nil {
		return nil, nil, "", kerr.Wrap(op, err)
	}
	admin.Admin = true
	u, pw, err := s.createUser(ctx, op, p, co.ID, admin)
	if err != nil {
		return nil, nil, "", err
	}
	return co, u, pw, nil
}

// checkCompanyName refuses a company name that is blank, too long, not
// valid UTF-8 or holding control characters.
func checkCompanyName(op, name string) error {
	if strings.TrimSpace(name) == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxCompanyNameLen {
		return kerr.E(kerr.Invalid, op, "company name must be 1 to %d characters", MaxCompanyNameLen)
	}
	if strings.ContainsFunc(name, isControl) {
		return kerr.E(kerr.Invalid, op, "company name may not contain control characters")
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 }

// checkNote refuses a reason or note over MaxNameNoteLen characters, not
// valid UTF-8, or holding control characters other than line breaks.
func checkNote(op, what, v string) error {
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > MaxNameNoteLen {
		return kerr.E(kerr.Invalid, op, "%s must be valid text of at most %d characters", what, MaxNameNoteLen)
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r != '\n' && r != '\r' && isControl(r) }) {
		return kerr.E(kerr.Invalid, op, "%s may not contain control characters other than line breaks", what)
	}
	return nil
}

func (s *Service) nameRequests(op string) (storage.NameRequestStore, error) {
	ns, ok := s.store.(storage.NameRequestStore)
	if !ok {
		return nil, kerr.E(kerr.FailedPrecondition, op, "the store %T keeps no name requests", s.store)
	}
	return ns, nil
}

// RequestNameChange files a request to change the name of the
// administrator's company to name (商号変更申請), with a reason (may be
// empty). The directory keeps the old name until an operator approves
// (ApproveNameChange). Only an active administrator may (see
// CreateUser for the errors); a company holds one pending request at a
// time (a second is kerr.Conflict); the current name, a bad name or
// reason is kerr.Invalid. Audited as "company.name-request".
func (s *Service) RequestNameChange(ctx context.Context, admin Principal, name, reason string) (*storage.NameRequest, error) {
	const op = "account.RequestNameChange"
	if err := s.activeAdmin(ctx, op, admin); err != nil {
		return nil, s.deny(ctx, op, admin, err)
	}
	if err := checkCompanyName(op, name); err != nil {
		return nil, err
	}
	if err := checkNote(op, "reason", reason); err != nil {
		return nil, err
	}
	ns, err := s.nameRequests(op)
	if err != nil {
		return nil, err
	}
	co, err := s.store.GetCompany(ctx, admin.CompanyID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if co.Name == name {
		return nil, kerr.E(kerr.Invalid, op, "the company is named %q already", name)
	}
	r := &storage.NameRequest{ID: s.newID(), CompanyID: co.ID, OldName: co.Name, Name: name, Reason: reason,
		Status: storage.NamePending, RequestedBy: admin.UserID, RequestedAt: s.now()}
	if err := ns.PutNameRequest(ctx, r, nil, s.audit(admin, "company.name-request", "request "+r.ID+": "+co.Name+" -> "+name)); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return r, nil
}

// NameRequestFilter selects name requests for NameRequests.
type NameRequestFilter struct {
	CompanyID string                    // operators only; empty: every company
	Status    storage.NameRequestStatus // empty: every status
	After     string                    // the ID of the last request of the previous page
	Limit     int                       // zero: storage.MaxNameRequestPage
}

// NameRequests lists name requests, oldest first: every company's for an
// operator (f.CompanyID narrows), the own company's for an administrator
// (f.CompanyID is ignored). Anyone else is kerr.PermissionDenied; a bad
// filter kerr.Invalid.
func (s *Service) NameRequests(ctx context.Context, p Principal, f NameRequestFilter) ([]*storage.NameRequest, error) {
	const op = "account.NameRequests"
	if p.Operator {
		if err := s.activeOperator(ctx, op, p); err != nil {
			return nil, s.deny(ctx, op, p, err)
		}
	} else {
		if err := s.activeAdmin(ctx, op, p); err != nil {
			return nil, s.deny(ctx, op, p, err)
		}
		f.CompanyID = p.CompanyID
	}
	ns, err := s.nameRequests(op)
	if err != nil {
		return nil, err
	}
	if f.Limit == 0 {
		f.Limit = storage.MaxNameRequestPage
	}
	out, err := ns.ListNameRequests(ctx, &storage.NameRequestQuery{CompanyID: f.CompanyID, Status: f.Status, After: f.After, Limit: f.Limit})
	return out, kerr.Wrap(op, err)
}

// ApproveNameChange approves pending request id: in one transaction the
// request is marked approved and the company takes the new name in the
// directory (FindCompanies, new cases). Cases registered before keep the
// name they were registered with (Party.CompanyName is what the parties
// saw and signed under; the Electronic Books Preservation Act's search by
// counterparty then finds a case by the name of its day, or by company
// ID). Only an active operator may (kerr.PermissionDenied otherwise); an
// unknown request is kerr.NotFound, a decided one kerr.FailedPrecondition,
// a note that checkNote refuses kerr.Invalid. Audited as
// "company.name-approve".
func (s *Service) ApproveNameChange(ctx context.Context, p Principal, id, note string) (*storage.NameRequest, *storage.Company, error) {
	const op = "account.ApproveNameChange"
	r, ns, err := s.pendingRequest(ctx, op, p, id, note)
	if err != nil {
		return nil, nil, err
	}
	co, err := s.store.GetCompany(ctx, r.CompanyID)
	if err != nil {
		return nil, nil, kerr.Wrap(op, err)
	}
	old := co.Name
	co.Name, co.UpdatedAt = r.Name, s.now()
	r.Status, r.DecidedBy, r.DecidedAt, r.Note = storage.NameApproved, p.UserID, co.UpdatedAt, note
	if err := ns.PutNameRequest(ctx, r, co, s.audit(p, "company.name-approve", "request "+r.ID+", company "+co.ID+": "+old+" -> "+r.Name)); err != nil {
		return nil, nil, kerr.Wrap(op, err)
	}
	return r, co, nil
}

// RejectNameChange rejects pending request id with a note (the reason
// the administrator is given); the company keeps its name. Errors as
// ApproveNameChange. Audited as "company.name-reject".
func (s *Service) RejectNameChange(ctx context.Context, p Principal, id, note string) (*storage.NameRequest, error) {
	const op = "account.RejectNameChange"
	r, ns, err := s.pendingRequest(ctx, op, p, id, note)
	if err != nil {
		return nil, err
	}
	r.Status, r.DecidedBy, r.DecidedAt, r.Note = storage.NameRejected, p.UserID, s.now(), note
	if err := ns.PutNameRequest(ctx, r, nil, s.audit(p, "company.name-reject", "request "+r.ID+", company "+r.CompanyID)); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return r, nil
}

func (s *Service) pendingRequest(ctx context.Context, op string, p Principal, id, note string) (*storage.NameRequest, storage.NameRequestStore, error) {
	if err := s.activeOperator(ctx, op, p); err != nil {
		return nil, nil, s.deny(ctx, op, p, err)
	}
	if err := checkNote(op, "note", note); err != nil {
		return nil, nil, err
	}
	ns, err := s.nameRequests(op)
	if err != nil {
		return nil, nil, err
	}
	r, err := ns.GetNameRequest(ctx, id)
	if err != nil {
		return nil, nil, kerr.Wrap(op, err)
	}
	if r.Status != storage.NamePending {
		return nil, nil, kerr.E(kerr.FailedPrecondition, op, "request %q was %s already", id, r.Status)
	}
	return r, ns, nil
}
