// Package webhook delivers case events to the endpoints companies
// subscribe (issue 13), signed per the Standard Webhooks specification
// (https://www.standardwebhooks.com/, spec v1).
//
// A company administrator creates a [Subscription]: an https URL, the
// event types it wants ([EventTypes]) and a description. The service
// generates its secret ("whsec_" + base64 of 32 random bytes), shows it
// once, and keeps it so that it can sign: sealed with AES-256-GCM under
// [Config.Key] when one is given, otherwise stored as it is (then anyone
// who can read the database can forge signatures: give a Key in
// production). A secret is never logged.
//
// Deliveries ride on the transaction of the case change they report:
// casework asks [Service.PlanWebhooks] (its [casework.WebhookPlanner]) for
// one delivery per subscription of every company on the case that wants
// the event, and the store writes them in the same commit as the new
// state, its audit entry and its mail outbox rows - a separate table
// rather than a channel of the mail outbox, because a delivery belongs to
// a subscription (not to a recipient user), must keep its exact body for
// replays, and keeps a log of attempts that an administrator reads.
//
// [Service.DeliverOnce] (run in a loop by [Service.Run], which the facade
// starts beside the mail notifier) claims due deliveries under a lease
// and POSTs each body with the headers webhook-id, webhook-timestamp and
// webhook-signature ("v1," + base64 HMAC-SHA256 over
// "<id>.<timestamp>.<body>", keyed with the base64-decoded secret; during
// [RotationOverlap] after a rotation the previous secret signs too, space
// separated). A 2xx answer delivers it; anything else - another status, a
// redirect (never followed), a timeout, a refused address - is an attempt
// logged with status, error and duration, retried with exponential
// backoff up to [Config.MaxAttempts] and then given up. [Service.Replay]
// makes a delivery due again with the same webhook-id, so receivers
// deduplicate it.
//
// Server-side request forgery: URLs must be https (plain http only to a
// loopback host, and only with [Config.AllowLoopback], for tests and
// same-host receivers); the connection is refused after DNS resolution
// when the address is loopback, private (RFC 1918, RFC 4193), link-local,
// CGNAT, multicast or unspecified, unless [Config.AllowLoopback] (loopback
// only) or [Config.AllowPrivate] allow it; environment proxies are not
// used and redirects are not followed.
//
// The body is JSON: {"type": "case.<event>", "timestamp": RFC 3339,
// "data": {"case_id", "event", "state", "version", "time"}} - no names,
// amounts or documents of the contract.
package webhook
