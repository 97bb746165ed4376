package httpapi

import (
	"context"
	"time"

	"cloud.google.com/go/civil"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/keiyaku/keiyaku/casework"
)

// Retention and legal holds over REST (issue 12, 保管期間): each handler
// is the casework call of the same name with the caller's principal, so
// who may call is exactly what casework decides (reads for anyone who sees
// the case, SetRetention for the owner side, holds and settings for
// administrators); the token scope follows the HTTP method, and the
// x-keiyaku-admin operations need an administrator's token.

func (s *server) GetRetention(ctx context.Context, req GetRetentionRequestObject) (GetRetentionResponseObject, error) {
	r, err := s.svc().Cases.RetentionOf(ctx, info(ctx).p, req.Id)
	if err != nil {
		return nil, err
	}
	return GetRetention200JSONResponse(toRetention(r)), nil
}

func (s *server) SetRetention(ctx context.Context, req SetRetentionRequestObject) (SetRetentionResponseObject, error) {
	r, err := s.svc().Cases.SetRetention(ctx, info(ctx).p, req.Id, string(req.Body.Action))
	if err != nil {
		return nil, err
	}
	return SetRetention200JSONResponse(toRetention(r)), nil
}

func (s *server) ListHolds(ctx context.Context, req ListHoldsRequestObject) (ListHoldsResponseObject, error) {
	hs, err := s.svc().Cases.Holds(ctx, info(ctx).p, req.Id)
	if err != nil {
		return nil, err
	}
	out := HoldList{Holds: make([]Hold, 0, len(hs))}
	for _, h := range hs {
		out.Holds = append(out.Holds, Hold{CaseId: h.CaseID, CompanyId: h.CompanyID, UserId: h.UserID, Reason: h.Reason, At: h.At.UTC()})
	}
	return ListHolds200JSONResponse(out), nil
}

func (s *server) PlaceHold(ctx context.Context, req PlaceHoldRequestObject) (PlaceHoldResponseObject, error) {
	if err := s.svc().Cases.PlaceHold(ctx, info(ctx).p, req.Id, req.Body.Reason); err != nil {
		return nil, err
	}
	return PlaceHold204Response{}, nil
}

func (s *server) LiftHold(ctx context.Context, req LiftHoldRequestObject) (LiftHoldResponseObject, error) {
	reason := ""
	if req.Params.Reason != nil {
		reason = *req.Params.Reason
	}
	if err := s.svc().Cases.LiftHold(ctx, info(ctx).p, req.Id, reason); err != nil {
		return nil, err
	}
	return LiftHold204Response{}, nil
}

func (s *server) SetRetentionSettings(ctx context.Context, req SetRetentionSettingsRequestObject) (SetRetentionSettingsResponseObject, error) {
	b := req.Body
	var set casework.RetentionSettings
	if b.DefaultAction != nil {
		set.DefaultAction = string(*b.DefaultAction)
	}
	if b.FiscalYear != nil {
		set.FiscalYear = *b.FiscalYear
	}
	if b.FiscalYearEndMonth != nil {
		set.FiscalYearEndMonth = *b.FiscalYearEndMonth
	}
	if b.FilingExtensionMonths != nil {
		set.FilingExtensionMonths = *b.FilingExtensionMonths
	}
	if err := s.svc().Cases.SetRetentionSettings(ctx, info(ctx).p, set); err != nil {
		return nil, err
	}
	return SetRetentionSettings200JSONResponse(*b), nil
}

func toRetention(r *casework.Retention) Retention {
	out := Retention{CaseId: r.CaseID, CompanyId: r.CompanyID, CompletedAt: r.CompletedAt.UTC(),
		Start: civilDate(r.Start), Until: civilDate(r.Until), Action: RetentionAction(r.Action), Rule: r.Rule, Deleting: r.Deleting}
	if r.SetBy != "" {
		by, at := r.SetBy, r.SetAt.UTC()
		out.SetBy, out.SetAt = &by, &at
	}
	return out
}

func civilDate(d civil.Date) openapi_types.Date {
	return openapi_types.Date{Time: time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)}
}

// defaultRetentionPage is upcomingDeletions' page size without limit.
const defaultRetentionPage = 100

func (s *server) UpcomingDeletions(ctx context.Context, req UpcomingDeletionsRequestObject) (UpcomingDeletionsResponseObject, error) {
	prm := req.Params
	limit := defaultRetentionPage
	if prm.Limit != nil {
		limit = *prm.Limit
	}
	var cur casework.RetentionCursor
	if prm.AfterUntil != nil {
		cur.Until = civil.DateOf(prm.AfterUntil.Time)
	}
	if prm.AfterCaseId != nil {
		cur.CaseID = *prm.AfterCaseId
	}
	rs, err := s.svc().Cases.UpcomingDeletions(ctx, info(ctx).p, civil.DateOf(prm.Through.Time), cur, limit)
	if err != nil {
		return nil, err
	}
	out := RetentionPage{Retentions: make([]Retention, 0, len(rs))}
	for i := range rs {
		out.Retentions = append(out.Retentions, toRetention(&rs[i]))
	}
	if len(rs) == limit {
		last := rs[len(rs)-1]
		out.Next = &struct {
			AfterCaseId string             `json:"after_case_id"`
			AfterUntil  openapi_types.Date `json:"after_until"`
		}{last.CaseID, civilDate(last.Until)}
	}
	return UpcomingDeletions200JSONResponse(out), nil
}
