package httpapi

import (
	"context"
	"strconv"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/webhook"
)

// The company's webhooks over REST (issue 13): each operation is package
// webhook's own call with the caller's principal, which decides (company
// administrators only; another company's subscription is 404); the token
// scope (admin, x-keiyaku-admin) is checked before.

func toWebhook(s *webhook.Subscription) Webhook {
	return Webhook{Id: s.ID, Url: s.URL, Events: s.Events, Description: s.Description, CreatedBy: s.CreatedBy,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

func webhookInput(in *WebhookInput) webhook.Input {
	out := webhook.Input{URL: in.Url}
	for _, e := range in.Events {
		out.Events = append(out.Events, string(e))
	}
	if in.Description != nil {
		out.Description = *in.Description
	}
	return out
}

func (s *server) ListWebhooks(ctx context.Context, _ ListWebhooksRequestObject) (ListWebhooksResponseObject, error) {
	subs, err := s.svc().Webhooks.List(ctx, info(ctx).p)
	if err != nil {
		return nil, err
	}
	out := ListWebhooks200JSONResponse{Webhooks: make([]Webhook, 0, len(subs))}
	for i := range subs {
		out.Webhooks = append(out.Webhooks, toWebhook(&subs[i]))
	}
	return out, nil
}

func (s *server) CreateWebhook(ctx context.Context, req CreateWebhookRequestObject) (CreateWebhookResponseObject, error) {
	sub, secret, err := s.svc().Webhooks.Create(ctx, info(ctx).p, webhookInput(req.Body))
	if err != nil {
		return nil, err
	}
	return CreateWebhook201JSONResponse{Webhook: toWebhook(sub), Secret: secret}, nil
}

func (s *server) GetWebhook(ctx context.Context, req GetWebhookRequestObject) (GetWebhookResponseObject, error) {
	sub, err := s.svc().Webhooks.Get(ctx, info(ctx).p, req.WebhookId)
	if err != nil {
		return nil, err
	}
	return GetWebhook200JSONResponse(toWebhook(sub)), nil
}

func (s *server) UpdateWebhook(ctx context.Context, req UpdateWebhookRequestObject) (UpdateWebhookResponseObject, error) {
	sub, err := s.svc().Webhooks.Update(ctx, info(ctx).p, req.WebhookId, webhookInput(req.Body))
	if err != nil {
		return nil, err
	}
	return UpdateWebhook200JSONResponse(toWebhook(sub)), nil
}

func (s *server) DeleteWebhook(ctx context.Context, req DeleteWebhookRequestObject) (DeleteWebhookResponseObject, error) {
	if err := s.svc().Webhooks.Delete(ctx, info(ctx).p, req.WebhookId); err != nil {
		return nil, err
	}
	return DeleteWebhook204Response{}, nil
}

func (s *server) RotateWebhookSecret(ctx context.Context, req RotateWebhookSecretRequestObject) (RotateWebhookSecretResponseObject, error) {
	secret, err := s.svc().Webhooks.RotateSecret(ctx, info(ctx).p, req.WebhookId)
	if err != nil {
		return nil, err
	}
	return RotateWebhookSecret200JSONResponse{Secret: secret}, nil
}

func (s *server) ListWebhookDeliveries(ctx context.Context, req ListWebhookDeliveriesRequestObject) (ListWebhookDeliveriesResponseObject, error) {
	const op = "httpapi.listWebhookDeliveries"
	var after int64
	if c := req.Params.Cursor; c != nil && *c != "" {
		n, err := strconv.ParseInt(*c, 10, 64)
		if err != nil || n < 0 {
			return nil, kerr.E(kerr.Invalid, op, "cursor %q is not a next_cursor this API gave", *c)
		}
		after = n
	}
	limit := 20
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	ds, err := s.svc().Webhooks.Deliveries(ctx, info(ctx).p, req.WebhookId, after, limit)
	if err != nil {
		return nil, err
	}
	out := ListWebhookDeliveries200JSONResponse{Deliveries: make([]WebhookDelivery, 0, len(ds))}
	for i := range ds {
		d := &ds[i]
		wd := WebhookDelivery{Id: d.ID, Event: d.Type, CaseId: d.CaseID, CreatedAt: d.CreatedAt, Attempts: d.Attempts,
			LastStatus: d.LastStatus, LastError: d.LastError, Log: make([]WebhookAttempt, 0, len(d.Log))}
		switch {
		case !d.DeliveredAt.IsZero():
			wd.Status, wd.DeliveredAt = WebhookDeliveryStatusDelivered, timep(d.DeliveredAt)
		case d.GaveUp:
			wd.Status = WebhookDeliveryStatusFailed
		default:
			wd.Status, wd.NextAttemptAt = WebhookDeliveryStatusPending, timep(d.NextAttemptAt)
		}
		for _, a := range d.Log {
			wd.Log = append(wd.Log, WebhookAttempt{At: a.At, StatusCode: a.StatusCode, Error: a.Error, DurationMs: int(a.Duration / time.Millisecond)})
		}
		out.Deliveries = append(out.Deliveries, wd)
	}
	if len(ds) == limit {
		out.NextCursor = strp(strconv.FormatInt(ds[len(ds)-1].Seq, 10))
	}
	return out, nil
}

func (s *server) ReplayWebhookDelivery(ctx context.Context, req ReplayWebhookDeliveryRequestObject) (ReplayWebhookDeliveryResponseObject, error) {
	if err := s.svc().Webhooks.Replay(ctx, info(ctx).p, req.WebhookId, req.DeliveryId); err != nil {
		return nil, err
	}
	return ReplayWebhookDelivery202Response{}, nil
}
