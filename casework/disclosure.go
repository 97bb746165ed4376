package casework

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// What a disclosure principal (account.Principal.IsDisclosure) may do:
// read the cases its account was given. load and search apply this for
// every operation; see the package doc, "Third-party disclosure".

var _ account.CaseGate = (*Service)(nil)

// disclosureReads are the operations a disclosure principal may call on
// a case it was given, with the audit action each appends (empty: the
// operation appends its own, see accessAction). Every other operation
// on such a case is kerr.PermissionDenied.
var disclosureReads = map[string]string{
	"casework.Get":             "disclosure.view",
	opVerify:                   "disclosure.verify",
	"casework.Open":            "",
	"casework.CheckSignatures": "",
}

const opVerify = "casework.LoadForVerification"

// ownerParty reports whether user userID of company companyID is the
// registrant user or a party user of c: the owners whose disclosures
// cover c.
func ownerParty(c *Case, companyID, userID string) bool {
	if c.RegistrantCompanyID == companyID && c.RegistrantUserID == userID {
		return true
	}
	for _, party := range c.Parties {
		if party.CompanyID == companyID && party.UserID == userID {
			return true
		}
	}
	return false
}

// Disclosable implements account.CaseGate: owner may disclose case id
// when it is completed and owner is its registrant user or one of its
// party users (an administrator discloses only its own cases). A case
// owner may not see is kerr.NotFound; any other refusal is
// kerr.FailedPrecondition.
func (s *Service) Disclosable(ctx context.Context, owner account.Principal, id string) error {
	const op = "casework.Disclosable"
	if owner.IsDisclosure() {
		return kerr.E(kerr.PermissionDenied, op, "a disclosure account may not disclose cases")
	}
	c, _, err := s.load(ctx, op, owner, id)
	if err != nil {
		return err
	}
	if c.State != StateCompleted {
		return kerr.E(kerr.FailedPrecondition, op, "case %q is %s: only a completed case can be disclosed", id, c.State)
	}
	if !ownerParty(c, owner.CompanyID, owner.UserID) {
		return kerr.E(kerr.FailedPrecondition, op, "case %q is not yours: only its registrant or the party user it was sent to may disclose it", id)
	}
	return nil
}

// loadDisclosed is load for a disclosure principal. The case must be one
// its account was given, still completed, and its owner must still be
// the case's registrant user or a party user (checked now, so that a case
// moved to another owner leaves the disclosure); otherwise, and outside
// the period or once revoked, it is kerr.NotFound (kerr.Unauthenticated
// when the account no longer works). A case it may see but an operation
// it may not do is kerr.PermissionDenied. Reads are audited.
func (s *Service) loadDisclosed(ctx context.Context, op string, p account.Principal, id string) (*Case, Role, error) {
	d, err := account.ActiveDisclosure(ctx, s.store, p, s.now())
	if err != nil {
		return nil, RoleNone, kerr.Wrap(op, err)
	}
	notFound := kerr.E(kerr.NotFound, op, "case %q does not exist", id)
	ok, err := s.store.Discloses(ctx, d.ID, id)
	if err != nil {
		return nil, RoleNone, kerr.Wrap(op, err)
	}
	if !ok {
		return nil, RoleNone, notFound
	}
	rec, err := s.store.GetCase(ctx, id)
	if errors.Is(err, kerr.NotFound) {
		return nil, RoleNone, notFound
	}
	if err != nil {
		return nil, RoleNone, kerr.Wrap(op, err)
	}
	c, err := fromRecord(rec)
	if err != nil {
		return nil, RoleNone, kerr.Wrap(op, err)
	}
	if c.State != StateCompleted || !ownerParty(c, d.CompanyID, d.OwnerUserID) {
		return nil, RoleNone, notFound
	}
	action, read := disclosureReads[op]
	if !read {
		return nil, RoleNone, kerr.E(kerr.PermissionDenied, op, "a disclosure account may only read the cases it was given")
	}
	if action != "" {
		if err := s.store.AppendAudit(ctx, []storage.AuditEntry{accessEntry(p, s.now(), action, c.ID, "")}); err != nil {
			return nil, RoleNone, kerr.Wrap(op, err)
		}
	}
	return c, RoleNone, nil
}

func accessEntry(p account.Principal, at time.Time, action, caseID, detail string) storage.AuditEntry {
	return storage.AuditEntry{Time: at, ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr, Action: action, CaseID: caseID, Detail: detail}
}

// accessAction is the audit action of a read: the user's action
// ("case.download"), or for a disclosure principal the same under
// storage.DisclosureActionPrefix ("disclosure.download"), so that the
// owner's access log (account.Service.AccessLog) finds it.
func accessAction(p account.Principal, action string) string {
	if p.IsDisclosure() {
		return storage.DisclosureActionPrefix + strings.TrimPrefix(action, "case.")
	}
	return action
}

// refuseDisclosure is the answer to an operation that names no case (a
// registration, an export) for a disclosure principal.
func refuseDisclosure(op string, p account.Principal) error {
	if p.IsDisclosure() {
		return kerr.E(kerr.PermissionDenied, op, "a disclosure account may only read the cases it was given")
	}
	return nil
}

// LoadForVerification returns completed case id for original
// verification (the facade's VerifyOriginal): Get's rules, and for a
// disclosure principal an audit entry "disclosure.verify".
func (s *Service) LoadForVerification(ctx context.Context, p account.Principal, id string) (*Case, error) {
	c, _, err := s.load(ctx, opVerify, p, id)
	return c, err
}

// disclosureQuery narrows sq, made for disclosure principal p, to its
// account's cases: those given to it that are completed and of which its
// owner is still a party user (the owner's personal scope), with no
// hidden marks applied. It reports false when sq cannot match any (it
// asked for no completed case).
func (s *Service) disclosureQuery(ctx context.Context, op string, p account.Principal, sq *storage.CaseQuery) (bool, error) {
	d, err := account.ActiveDisclosure(ctx, s.store, p, s.now())
	if err != nil {
		return false, kerr.Wrap(op, err)
	}
	sq.Scope = storage.Scope{CompanyID: d.CompanyID, UserID: d.OwnerUserID}
	sq.DisclosureID = d.ID
	sq.HiddenFor, sq.Hidden = "", storage.HiddenExclude
	completed := StateCompleted.String()
	if !slices.Contains(sq.States, completed) {
		return false, nil
	}
	sq.States = []string{completed}
	return true, nil
}

// auditSearch records a disclosure principal's search.
func (s *Service) auditSearch(ctx context.Context, op string, p account.Principal, n int) error {
	e := accessEntry(p, s.now(), "disclosure.search", "", fmt.Sprintf("%d cases", n))
	return kerr.Wrap(op, s.store.AppendAudit(ctx, []storage.AuditEntry{e}))
}
