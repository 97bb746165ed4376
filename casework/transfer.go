package casework

import (
	"context"
	"fmt"
	"slices"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Moving completed cases (完了案件の移動, issue 12), and the service
// operator's place in casework.
//
// A completed case moves from one user to another: the side of the case
// that belonged to the source user — the registrant (user and company) or
// a party (user, company and the company's directory name) — is rewritten
// to the target user and its company, and the store re-indexes who may
// find the case in the same commit, so access follows the new owner at
// once: the old owner (and, after a move between companies, its
// administrators) gets kerr.NotFound from then on. A company
// administrator moves cases between users of its own company; the service
// operator between any two customer companies (mergers and splits).
//
// Each case commits on its own, atomically and with its version check,
// with two audit entries naming both sides (ActionMoveOut for the side it
// leaves, ActionMoveIn for the side it joins; "registrant" or "party N",
// from company/user, to company/user) in the case's audit trail and the
// hash-chained log. The case's UpdatedAt becomes the time of the move.
//
// What stays: the documents, signatures and seals; the names of the other
// sides as registered; the hidden marks and private comments of the old
// owner, which remain its author's alone (and no longer show, as the case
// leaves its lists); the new owner starts with none. No notice is sent.
//
// The service operator (account.Principal.Operator) sees no contract
// content: every read or action on a case by ID is kerr.NotFound for it
// (it is never a party — the operator organisation is not in the
// directory and is refused as a counterparty), Search and ExportCSV are
// kerr.PermissionDenied, and it registers nothing (kerr.PermissionDenied).
// It may only move cases, without seeing them. Each such attempt, and
// each refused move, is audited (ActionRefused).

// Audit actions of a move, and of a refusal: ActionRefused records
// every refused move and every attempt of the service operator on case
// content (actor, operation, case if any, why).
const (
	ActionMoveOut = "case.move-out"
	ActionMoveIn  = "case.move-in"
	ActionRefused = "case.refused"
)

// refused audits a refusal (ActionRefused). Bookkeeping: a failed write
// does not change the answer, which is the refusal already.
func (s *Service) refused(ctx context.Context, op string, p account.Principal, caseID, why string) {
	_ = s.store.AppendAudit(ctx, []storage.AuditEntry{{Time: s.now(), ActorUserID: p.UserID, ActorCompanyID: p.CompanyID,
		RemoteAddr: p.RemoteAddr, Action: ActionRefused, CaseID: caseID, Detail: op + ": " + why}})
}

// auditRefusal audits err when it refuses a logged-in principal
// (kerr.PermissionDenied or kerr.NotFound) and returns it.
func (s *Service) auditRefusal(ctx context.Context, op string, p account.Principal, caseID string, err error) error {
	if p.Valid() && (kerr.Of(err) == kerr.PermissionDenied || kerr.Of(err) == kerr.NotFound) {
		s.refused(ctx, op, p, caseID, err.Error())
	}
	return err
}

// MoveReport is the outcome of MoveUserCases.
type MoveReport struct {
	// Moved counts the cases this call moved. A retry after a failure
	// moves the rest: the ones moved already no longer belong to the
	// source user and are not seen again.
	Moved int
}

// move is a checked move: from one user to another.
type move struct {
	p        account.Principal
	from, to *storage.User
	toName   string // the directory name of to's company
}

// checkMove applies who may move what. Errors: kerr.Unauthenticated
// without a principal; kerr.PermissionDenied for anyone but a company
// administrator or the operator, and for an administrator moving to a
// user of another company (the operator's); kerr.NotFound for a user
// that does not exist, or a source user of another company than the
// administrator's; kerr.Invalid for the same user twice or a target that
// is a service operator; kerr.FailedPrecondition for a disabled target.
func (s *Service) checkMove(ctx context.Context, op string, p account.Principal, fromID, toID string) (*move, error) {
	if !p.Valid() {
		return nil, kerr.E(kerr.Unauthenticated, op, "no principal: log in first")
	}
	if !p.Operator && !p.Admin {
		return nil, kerr.E(kerr.PermissionDenied, op, "only a company administrator (within its company) or the service operator (between companies) moves cases")
	}
	if fromID == toID {
		return nil, kerr.E(kerr.Invalid, op, "source and target user are the same (%q)", fromID)
	}
	user := func(id string) (*storage.User, error) {
		u, err := s.store.GetUser(ctx, id)
		if kerr.Of(err) == kerr.NotFound {
			return nil, kerr.E(kerr.NotFound, op, "user %q does not exist", id)
		}
		return u, kerr.Wrap(op, err)
	}
	from, err := user(fromID)
	if err != nil {
		return nil, err
	}
	if !p.Operator && from.CompanyID != p.CompanyID {
		return nil, kerr.E(kerr.NotFound, op, "user %q does not exist", fromID)
	}
	to, err := user(toID)
	if err != nil {
		return nil, err
	}
	if !p.Operator && to.CompanyID != p.CompanyID {
		return nil, kerr.E(kerr.PermissionDenied, op, "an administrator moves cases within its company; moving them to another company is the service operator's")
	}
	if to.Operator {
		return nil, kerr.E(kerr.Invalid, op, "cases cannot move to a service operator")
	}
	if to.Disabled {
		return nil, kerr.E(kerr.FailedPrecondition, op, "user %q is disabled: enable it first, or pick another user", toID)
	}
	co, err := s.store.GetCompany(ctx, to.CompanyID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if co.Operator {
		return nil, kerr.E(kerr.Invalid, op, "cases cannot move to the operator organisation")
	}
	return &move{p: p, from: from, to: to, toName: co.Name}, nil
}

// MoveCase moves completed case id from user fromUserID to user
// toUserID (see the rules above and checkMove for who may). A case
// without a side of fromUserID is kerr.NotFound (so is one the caller
// could not see: an administrator's source user is of its company); a
// case not completed kerr.FailedPrecondition, and so is a move that would
// put the target's company or user on two sides of the case; a concurrent
// change kerr.Conflict (reload and retry). It returns the moved case.
func (s *Service) MoveCase(ctx context.Context, p account.Principal, id, fromUserID, toUserID string) (*Case, error) {
	const op = "casework.MoveCase"
	m, err := s.checkMove(ctx, op, p, fromUserID, toUserID)
	if err != nil {
		return nil, s.auditRefusal(ctx, op, p, id, err)
	}
	rec, err := s.store.GetCase(ctx, id)
	if kerr.Of(err) == kerr.NotFound {
		return nil, s.auditRefusal(ctx, op, p, id, kerr.E(kerr.NotFound, op, "case %q does not exist", id))
	}
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if err := s.moveOne(ctx, op, m, rec); err != nil {
		return nil, s.auditRefusal(ctx, op, p, id, err)
	}
	c, err := fromRecord(rec)
	return c, kerr.Wrap(op, err)
}

// MoveUserCases moves every completed case of user fromUserID (as
// registrant or as a party) to user toUserID, under MoveCase's rules,
// paging through the user's cases (storage.MaxPageSize at a time), each
// case in its own commit. A case changed meanwhile is reloaded and tried
// again (up to 3 times); one a concurrent move took away is skipped. It
// stops at the first other error, returning the report so far with it;
// calling again moves the rest (idempotent on retry). Cases of the user
// that are not completed stay.
func (s *Service) MoveUserCases(ctx context.Context, p account.Principal, fromUserID, toUserID string) (*MoveReport, error) {
	const op = "casework.MoveUserCases"
	m, err := s.checkMove(ctx, op, p, fromUserID, toUserID)
	if err != nil {
		return nil, s.auditRefusal(ctx, op, p, "", err)
	}
	rep := &MoveReport{}
	q := storage.CaseQuery{Scope: storage.Scope{CompanyID: m.from.CompanyID, UserID: m.from.ID}, States: []string{StateCompleted.String()},
		Sort: storage.SortCreated, Limit: storage.MaxPageSize}
	for {
		page, err := s.store.SearchCases(ctx, &q)
		if err != nil {
			return rep, kerr.Wrap(op, err)
		}
		for _, rec := range page.Cases {
			if err := s.moveRetrying(ctx, op, m, rec); err != nil {
				if kerr.Of(err) == kerr.NotFound { // moved away meanwhile
					continue
				}
				return rep, err
			}
			rep.Moved++
		}
		if page.Next == "" {
			return rep, nil
		}
		// Moved cases left the scope; the cursor (creation time, ID)
		// continues after the last one all the same.
		q.Cursor = page.Next
	}
}

func (s *Service) moveRetrying(ctx context.Context, op string, m *move, rec *storage.Case) error {
	for attempt := 0; ; attempt++ {
		err := s.moveOne(ctx, op, m, rec)
		if kerr.Of(err) != kerr.Conflict || attempt == 2 {
			return err
		}
		if rec, err = s.store.GetCase(ctx, rec.ID); err != nil {
			return kerr.Wrap(op, err)
		}
	}
}

// moveOne rewrites the sides of rec that belong to m.from and commits
// rec at its version; on success rec is the stored case.
func (s *Service) moveOne(ctx context.Context, op string, m *move, rec *storage.Case) error {
	from, to := m.from, m.to
	var sides []string
	regMoves := rec.RegistrantUserID == from.ID && rec.RegistrantCompanyID == from.CompanyID
	if regMoves {
		sides = append(sides, "registrant")
	}
	var partyMoves []int
	for i, pt := range rec.Parties {
		if pt.UserID == from.ID && pt.CompanyID == from.CompanyID {
			partyMoves = append(partyMoves, i)
			sides = append(sides, fmt.Sprintf("party %d", i+1))
		}
	}
	if len(sides) == 0 {
		return kerr.E(kerr.NotFound, op, "case %q has no side of user %q", rec.ID, from.ID)
	}
	if rec.State != StateCompleted.String() {
		return kerr.E(kerr.FailedPrecondition, op, "case %q is %s: only a completed case can be moved", rec.ID, rec.State)
	}
	// The sides that stay must not be the target's user or company.
	if !regMoves && (rec.RegistrantUserID == to.ID || rec.RegistrantCompanyID == to.CompanyID) {
		return kerr.E(kerr.FailedPrecondition, op, "case %q: the registrant is %s already; a case cannot have one company on two sides", rec.ID, to.CompanyID)
	}
	for i, pt := range rec.Parties {
		if !slices.Contains(partyMoves, i) && (pt.UserID == to.ID || pt.CompanyID == to.CompanyID) {
			return kerr.E(kerr.FailedPrecondition, op, "case %q: party %d is %s already; a case cannot have one company on two sides", rec.ID, i+1, to.CompanyID)
		}
	}
	next := *rec
	next.Parties = slices.Clone(rec.Parties)
	if regMoves {
		next.RegistrantUserID, next.RegistrantCompanyID = to.ID, to.CompanyID
	}
	for _, i := range partyMoves {
		next.Parties[i].UserID, next.Parties[i].CompanyID = to.ID, to.CompanyID
		if to.CompanyID != from.CompanyID {
			next.Parties[i].CompanyName = m.toName
		}
	}
	now := s.now()
	next.UpdatedAt = now
	detail := fmt.Sprintf("%v: company %s user %s -> company %s user %s", sides, from.CompanyID, from.ID, to.CompanyID, to.ID)
	entry := func(action string) storage.AuditEntry {
		return storage.AuditEntry{Time: now, ActorUserID: m.p.UserID, ActorCompanyID: m.p.CompanyID, RemoteAddr: m.p.RemoteAddr,
			Action: action, CaseID: rec.ID, Detail: detail}
	}
	cc := &storage.CaseCommit{Case: &next, Audit: []storage.AuditEntry{entry(ActionMoveOut), entry(ActionMoveIn)}}
	if err := s.store.CommitCase(ctx, cc); err != nil {
		return kerr.Wrap(op, err)
	}
	*rec = next
	s.log.InfoContext(ctx, "case moved", "case", rec.ID, "by", m.p.UserID, "from", from.ID, "to", to.ID)
	return nil
}
