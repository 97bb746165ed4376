package httpapi

import (
	"context"

	"cloud.google.com/go/civil"
)

// Reminders over REST (issue 12): the company's reminder interval and a
// case's reply-by date, each the domain package's own call with the
// caller's principal.

func (s *server) SetReminderDays(ctx context.Context, req SetReminderDaysRequestObject) (SetReminderDaysResponseObject, error) {
	co, err := s.svc().Accounts.SetReminderDays(ctx, info(ctx).p, req.Body.ReminderDays)
	if err != nil {
		return nil, err
	}
	return SetReminderDays200JSONResponse(toCompany(co)), nil
}

func (s *server) SetReplyBy(ctx context.Context, req SetReplyByRequestObject) (SetReplyByResponseObject, error) {
	c, err := s.svc().Cases.SetReplyBy(ctx, info(ctx).p, req.Id, civil.DateOf(req.Body.ReplyBy.Time.UTC()))
	if err != nil {
		return nil, err
	}
	return SetReplyBy200JSONResponse{caseResponse(ctx, c)}, nil
}

func (s *server) ClearReplyBy(ctx context.Context, req ClearReplyByRequestObject) (ClearReplyByResponseObject, error) {
	c, err := s.svc().Cases.SetReplyBy(ctx, info(ctx).p, req.Id, civil.Date{})
	if err != nil {
		return nil, err
	}
	return ClearReplyBy200JSONResponse{caseResponse(ctx, c)}, nil
}
