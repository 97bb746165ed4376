package httpapi

import (
	"context"
	"encoding/hex"

	"github.com/keiyaku/keiyaku/account"
)

// Disclosure accounts over REST (issue 12, 第三者開示): the owner's calls
// are the account package's with the caller's principal (only the owner
// sees its accounts: anyone else's is 404). The disclosure account itself
// logs in with POST /v1/sessions and then uses the case read calls; the
// domain packages refuse it everything else.

// defaultAccessPage is disclosureAccess's page size without limit.
const defaultAccessPage = 100

func (s *server) CreateDisclosure(ctx context.Context, req CreateDisclosureRequestObject) (CreateDisclosureResponseObject, error) {
	b := req.Body
	nd := account.NewDisclosure{LoginID: b.LoginId, Label: b.Label, Until: b.Until, Cases: b.Cases}
	if b.From != nil {
		nd.From = *b.From
	}
	d, pw, err := s.svc().Accounts.CreateDisclosure(ctx, info(ctx).p, nd)
	if err != nil {
		return nil, err
	}
	return CreateDisclosure201JSONResponse{Disclosure: toDisclosure(d), InitialPassword: pw}, nil
}

func (s *server) ListDisclosures(ctx context.Context, _ ListDisclosuresRequestObject) (ListDisclosuresResponseObject, error) {
	ds, err := s.svc().Accounts.ListDisclosures(ctx, info(ctx).p)
	if err != nil {
		return nil, err
	}
	out := ListDisclosures200JSONResponse{Disclosures: make([]Disclosure, 0, len(ds))}
	for _, d := range ds {
		out.Disclosures = append(out.Disclosures, toDisclosure(d))
	}
	return out, nil
}

func (s *server) GetDisclosure(ctx context.Context, req GetDisclosureRequestObject) (GetDisclosureResponseObject, error) {
	d, err := s.svc().Accounts.Disclosure(ctx, info(ctx).p, req.DisclosureId)
	if err != nil {
		return nil, err
	}
	return GetDisclosure200JSONResponse(toDisclosure(d)), nil
}

func (s *server) UpdateDisclosure(ctx context.Context, req UpdateDisclosureRequestObject) (UpdateDisclosureResponseObject, error) {
	b := req.Body
	d, err := s.svc().Accounts.UpdateDisclosure(ctx, info(ctx).p, req.DisclosureId,
		account.DisclosureUpdate{Label: b.Label, From: b.From, Until: b.Until, Cases: b.Cases})
	if err != nil {
		return nil, err
	}
	return UpdateDisclosure200JSONResponse(toDisclosure(d)), nil
}

func (s *server) RevokeDisclosure(ctx context.Context, req RevokeDisclosureRequestObject) (RevokeDisclosureResponseObject, error) {
	if err := s.svc().Accounts.RevokeDisclosure(ctx, info(ctx).p, req.DisclosureId); err != nil {
		return nil, err
	}
	return RevokeDisclosure204Response{}, nil
}

func (s *server) SetDisclosureAllowList(ctx context.Context, req SetDisclosureAllowListRequestObject) (SetDisclosureAllowListResponseObject, error) {
	list, err := s.svc().Accounts.SetDisclosureAllowList(ctx, info(ctx).p, req.DisclosureId, req.Body.Entries)
	if err != nil {
		return nil, err
	}
	out := SetDisclosureAllowList200JSONResponse{Entries: make([]string, 0, len(list))}
	for _, e := range list {
		out.Entries = append(out.Entries, e.String())
	}
	return out, nil
}

func (s *server) DisclosureAccess(ctx context.Context, req DisclosureAccessRequestObject) (DisclosureAccessResponseObject, error) {
	var after int64
	if req.Params.After != nil {
		after = *req.Params.After
	}
	limit := defaultAccessPage
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	entries, err := s.svc().Accounts.AccessLog(ctx, info(ctx).p, req.DisclosureId, after, limit)
	if err != nil {
		return nil, err
	}
	out := DisclosureAccess200JSONResponse{Entries: []AuditEntry{}}
	for _, e := range entries {
		out.Entries = append(out.Entries, AuditEntry{
			Seq: e.Seq, Time: e.Time, Action: e.Action, ActorUserId: strp(e.ActorUserID), ActorCompanyId: strp(e.ActorCompanyID),
			RemoteAddr: strp(e.RemoteAddr), Detail: strp(e.Detail), Hash: strp(hex.EncodeToString(e.Hash)),
		})
	}
	return out, nil
}

func toDisclosure(d *account.DisclosureInfo) Disclosure {
	out := Disclosure{Id: d.ID, LoginId: d.LoginID, OwnerUserId: d.OwnerUserID, CompanyId: d.CompanyID, Label: d.Label,
		From: d.From.UTC(), Until: d.Until.UTC(), MustChangePassword: d.MustChangePassword,
		AllowList: make([]string, 0, len(d.AllowList)), Cases: append([]string{}, d.Cases...),
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	for _, p := range d.AllowList {
		out.AllowList = append(out.AllowList, p.String())
	}
	if !d.RevokedAt.IsZero() {
		at := d.RevokedAt.UTC()
		out.RevokedAt = &at
	}
	return out
}

func (s *server) SetDisclosureLimit(ctx context.Context, req SetDisclosureLimitRequestObject) (SetDisclosureLimitResponseObject, error) {
	co, err := s.svc().Accounts.SetDisclosureLimit(ctx, info(ctx).p, req.Body.Limit)
	if err != nil {
		return nil, err
	}
	return SetDisclosureLimit200JSONResponse(toCompany(co)), nil
}
