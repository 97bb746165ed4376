package casework

import (
	"context"

	"github.com/keiyaku/keiyaku/storage"
)

// WebhookPlanner turns a state change into the webhook deliveries that
// commit with it (package webhook implements it). c is the case row as it
// will be stored, version its new version, event the webhook event type
// (WebhookEvent). An error fails the action: every state change of a
// subscribed company yields its deliveries, or does not happen.
type WebhookPlanner interface {
	PlanWebhooks(ctx context.Context, c *storage.Case, version int64, event string) ([]storage.WebhookDelivery, error)
}

// WebhookEvent returns the webhook event type of a lifecycle event: the
// outbox notice type it causes (a resend asks for receipt again, as a
// registration does), and "received" for a download, which mails no one.
func WebhookEvent(e Event) string {
	switch e {
	case EventRegister, EventResend:
		return NoticeReceiptRequested
	case EventReceive:
		return "received"
	case EventReturn:
		return NoticeReturned
	case EventSendBack:
		return NoticeSentBack
	case EventComplete:
		return NoticeCompleted
	case EventDelete:
		return NoticeDeleted
	case EventAcknowledge:
		return NoticeAcknowledged
	}
	return ""
}
