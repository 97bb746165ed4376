package httpapi

import "context"

// Moving completed cases over REST (issue 12, 完了案件の移動): the
// casework calls with the caller's principal, so who may move what is
// casework's (a company administrator within its company, the service
// operator across companies). The answer is a count, never the case: the
// operator moves cases without seeing their content.

func (s *server) MoveCase(ctx context.Context, req MoveCaseRequestObject) (MoveCaseResponseObject, error) {
	if _, err := s.svc().Cases.MoveCase(ctx, info(ctx).p, req.Id, req.Body.FromUserId, req.Body.ToUserId); err != nil {
		return nil, err
	}
	return MoveCase200JSONResponse(MoveReport{Moved: 1}), nil
}

func (s *server) MoveUserCases(ctx context.Context, req MoveUserCasesRequestObject) (MoveUserCasesResponseObject, error) {
	rep, err := s.svc().Cases.MoveUserCases(ctx, info(ctx).p, req.UserId, req.Body.ToUserId)
	if err != nil {
		return nil, err
	}
	return MoveUserCases200JSONResponse(MoveReport{Moved: rep.Moved}), nil
}
