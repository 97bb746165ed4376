package httpapi

import (
	"context"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// The company administrator's user management and IP allow-lists, and
// each user's hide and private comment on completed cases (issue 12),
// over REST. As everywhere in this package, the rules are the account
// and casework packages': these handlers only translate. The
// administrator-only operations are marked x-keiyaku-admin in the
// document, so a token needs the admin scope (neededScope) before the
// account package checks the role.

func toProfile(p storage.Profile) Profile {
	out := Profile{Name: strp(p.Name), Furigana: strp(p.Furigana), Department: strp(p.Department), Title: strp(p.Title),
		Phone: strp(p.Phone), Fax: strp(p.Fax), Email: strp(p.Email), Address: strp(p.Address)}
	if p.Language != "" {
		l := ProfileLanguage(p.Language)
		out.Language = &l
	}
	return out
}

func fromProfile(p *Profile) storage.Profile {
	if p == nil {
		return storage.Profile{}
	}
	out := storage.Profile{Name: deref(p.Name), Furigana: deref(p.Furigana), Department: deref(p.Department), Title: deref(p.Title),
		Phone: deref(p.Phone), Fax: deref(p.Fax), Email: deref(p.Email), Address: deref(p.Address)}
	if p.Language != nil {
		out.Language = string(*p.Language)
	}
	return out
}

func toUser(u *account.UserInfo) User {
	out := User{Id: u.ID, LoginId: u.LoginID, Admin: u.Admin, Disabled: u.Disabled, MustChangePassword: u.MustChangePassword,
		Profile: toProfile(u.Profile), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		LastLoginAt: timep(u.LastLoginAt), BlockedUntil: timep(u.BlockedUntil), AllowList: []string{}}
	for _, p := range u.AllowList {
		out.AllowList = append(out.AllowList, p.String())
	}
	return out
}

func (s *server) ListUsers(ctx context.Context, _ ListUsersRequestObject) (ListUsersResponseObject, error) {
	us, err := s.svc().Accounts.ListUsers(ctx, info(ctx).p)
	if err != nil {
		return nil, err
	}
	out := ListUsers200JSONResponse{Users: make([]User, 0, len(us))}
	for _, u := range us {
		out.Users = append(out.Users, toUser(u))
	}
	return out, nil
}

func (s *server) CreateUser(ctx context.Context, req CreateUserRequestObject) (CreateUserResponseObject, error) {
	p := info(ctx).p
	nu := account.NewUser{LoginID: req.Body.LoginId, Admin: deref(req.Body.Admin), Profile: fromProfile(req.Body.Profile)}
	u, pw, err := s.svc().Accounts.CreateUser(ctx, p, nu)
	if err != nil {
		return nil, err
	}
	ui, err := s.svc().Accounts.ViewUser(ctx, p, u.ID)
	if err != nil {
		return nil, err
	}
	return CreateUser201JSONResponse{User: toUser(ui), InitialPassword: pw}, nil
}

func (s *server) ViewUser(ctx context.Context, req ViewUserRequestObject) (ViewUserResponseObject, error) {
	u, err := s.svc().Accounts.ViewUser(ctx, info(ctx).p, req.UserId)
	if err != nil {
		return nil, err
	}
	return ViewUser200JSONResponse(toUser(u)), nil
}

func (s *server) ResetPassword(ctx context.Context, req ResetPasswordRequestObject) (ResetPasswordResponseObject, error) {
	pw, err := s.svc().Accounts.ResetPassword(ctx, info(ctx).p, req.UserId)
	if err != nil {
		return nil, err
	}
	return ResetPassword200JSONResponse{InitialPassword: pw}, nil
}

func (s *server) GetAllowList(ctx context.Context, req GetAllowListRequestObject) (GetAllowListResponseObject, error) {
	u, err := s.svc().Accounts.ViewUser(ctx, info(ctx).p, req.UserId)
	if err != nil {
		return nil, err
	}
	return GetAllowList200JSONResponse{Entries: toUser(u).AllowList}, nil
}

func (s *server) SetAllowList(ctx context.Context, req SetAllowListRequestObject) (SetAllowListResponseObject, error) {
	// The principal carries the address the request came from: the
	// account package keeps an administrator from locking itself out.
	list, err := s.svc().Accounts.SetAllowList(ctx, info(ctx).p, req.UserId, req.Body.Entries)
	if err != nil {
		return nil, err
	}
	out := SetAllowList200JSONResponse{Entries: make([]string, 0, len(list))}
	for _, e := range list {
		out.Entries = append(out.Entries, e.String())
	}
	return out, nil
}

func (s *server) HideCase(ctx context.Context, req HideCaseRequestObject) (HideCaseResponseObject, error) {
	if err := s.svc().Cases.Hide(ctx, info(ctx).p, req.Id); err != nil {
		return nil, err
	}
	return HideCase204Response{}, nil
}

func (s *server) UnhideCase(ctx context.Context, req UnhideCaseRequestObject) (UnhideCaseResponseObject, error) {
	if err := s.svc().Cases.Unhide(ctx, info(ctx).p, req.Id); err != nil {
		return nil, err
	}
	return UnhideCase204Response{}, nil
}

func (s *server) GetComment(ctx context.Context, req GetCommentRequestObject) (GetCommentResponseObject, error) {
	c, err := s.svc().Cases.Comment(ctx, info(ctx).p, req.Id)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, kerr.E(kerr.NotFound, "httpapi.getComment", "you have no comment on this case")
	}
	return GetComment200JSONResponse{CaseId: c.CaseID, Text: c.Text, UpdatedAt: c.UpdatedAt}, nil
}

func (s *server) SetComment(ctx context.Context, req SetCommentRequestObject) (SetCommentResponseObject, error) {
	c, err := s.svc().Cases.SetComment(ctx, info(ctx).p, req.Id, req.Body.Text)
	if err != nil {
		return nil, err
	}
	return SetComment200JSONResponse{CaseId: c.CaseID, Text: c.Text, UpdatedAt: c.UpdatedAt}, nil
}

func (s *server) DeleteComment(ctx context.Context, req DeleteCommentRequestObject) (DeleteCommentResponseObject, error) {
	if err := s.svc().Cases.DeleteComment(ctx, info(ctx).p, req.Id); err != nil {
		return nil, err
	}
	return DeleteComment204Response{}, nil
}

// hiddenMode is the search's hidden parameter as a casework mode.
func hiddenMode(h *SearchCasesParamsHidden) casework.HiddenMode {
	if h == nil {
		return casework.HiddenExclude
	}
	switch *h {
	case SearchCasesParamsHiddenOnly:
		return casework.HiddenOnly
	case SearchCasesParamsHiddenInclude:
		return casework.HiddenInclude
	}
	return casework.HiddenExclude
}
