package httpapi

import (
	"context"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/storage"
)

// The service operator over REST (issue 12): creating a customer company
// with its first administrator, and the company-name change requests an
// administrator files and an operator decides. Who may is the account
// package's (an active operator, an active administrator); a token needs
// the admin scope (x-keiyaku-admin).

func (s *server) CreateCompany(ctx context.Context, req CreateCompanyRequestObject) (CreateCompanyResponseObject, error) {
	b := req.Body
	lang := "ja"
	if b.Admin.Language != nil {
		lang = string(*b.Admin.Language)
	}
	co, u, pw, err := s.svc().Accounts.CreateCompanyAs(ctx, info(ctx).p, b.Name, account.NewUser{LoginID: b.Admin.LoginId,
		Profile: storage.Profile{Name: b.Admin.Name, Email: b.Admin.Email, Language: lang}})
	if err != nil {
		return nil, err
	}
	return CreateCompany201JSONResponse{Company: toCompany(co), AdminUserId: u.ID, InitialPassword: pw}, nil
}

func (s *server) RequestNameChange(ctx context.Context, req RequestNameChangeRequestObject) (RequestNameChangeResponseObject, error) {
	reason := ""
	if req.Body.Reason != nil {
		reason = *req.Body.Reason
	}
	r, err := s.svc().Accounts.RequestNameChange(ctx, info(ctx).p, req.Body.Name, reason)
	if err != nil {
		return nil, err
	}
	return RequestNameChange201JSONResponse(toNameRequest(r)), nil
}

func (s *server) ListNameRequests(ctx context.Context, req ListNameRequestsRequestObject) (ListNameRequestsResponseObject, error) {
	prm := req.Params
	var f account.NameRequestFilter
	if prm.CompanyId != nil {
		f.CompanyID = *prm.CompanyId
	}
	if prm.Status != nil {
		f.Status = storage.NameRequestStatus(*prm.Status)
	}
	if prm.After != nil {
		f.After = *prm.After
	}
	if prm.Limit != nil {
		f.Limit = *prm.Limit
	}
	rs, err := s.svc().Accounts.NameRequests(ctx, info(ctx).p, f)
	if err != nil {
		return nil, err
	}
	out := ListNameRequests200JSONResponse{Requests: make([]NameRequest, 0, len(rs))}
	for _, r := range rs {
		out.Requests = append(out.Requests, toNameRequest(r))
	}
	return out, nil
}

func (s *server) ApproveNameChange(ctx context.Context, req ApproveNameChangeRequestObject) (ApproveNameChangeResponseObject, error) {
	r, _, err := s.svc().Accounts.ApproveNameChange(ctx, info(ctx).p, req.RequestId, note(req.Body))
	if err != nil {
		return nil, err
	}
	return ApproveNameChange200JSONResponse(toNameRequest(r)), nil
}

func (s *server) RejectNameChange(ctx context.Context, req RejectNameChangeRequestObject) (RejectNameChangeResponseObject, error) {
	r, err := s.svc().Accounts.RejectNameChange(ctx, info(ctx).p, req.RequestId, note(req.Body))
	if err != nil {
		return nil, err
	}
	return RejectNameChange200JSONResponse(toNameRequest(r)), nil
}

func note(d *NameDecision) string {
	if d == nil || d.Note == nil {
		return ""
	}
	return *d.Note
}

func toNameRequest(r *storage.NameRequest) NameRequest {
	out := NameRequest{Id: r.ID, CompanyId: r.CompanyID, OldName: r.OldName, Name: r.Name, Reason: strp(r.Reason),
		Status: NameRequestStatus(r.Status), RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt.UTC(),
		DecidedBy: strp(r.DecidedBy), Note: strp(r.Note)}
	if !r.DecidedAt.IsZero() {
		at := r.DecidedAt.UTC()
		out.DecidedAt = &at
	}
	return out
}

// SetMyProfile replaces the caller's own profile (issue 12's profile
// duty): account.UpdateProfile on the caller's user ID.
func (s *server) SetMyProfile(ctx context.Context, req SetMyProfileRequestObject) (SetMyProfileResponseObject, error) {
	p := info(ctx).p
	u, err := s.svc().Accounts.UpdateProfile(ctx, p, p.UserID, fromProfile(req.Body))
	if err != nil {
		return nil, err
	}
	return SetMyProfile200JSONResponse(toProfile(u.Profile)), nil
}
