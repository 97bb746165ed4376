// Package notify delivers the e-mail notices of the contract lifecycle
// (受領依頼, 返送, 差し戻し, 締結完了, 削除, 受領確認) and the reminder and
// overdue notices (ご対応のお願い, 回答期限超過) from a transactional outbox.
//
// The flow is:
//
//  1. casework records each state change together with one outbox row per
//     notice in a single transaction (see [Outbox]); notify never writes the
//     rows itself.
//  2. A [Worker] claims due rows, renders each with [Templates] (Japanese or
//     English, subject and plain-text body, text/template) and hands the
//     resulting [Mail] to a [Mailer] - normally the SMTP one from
//     [NewSMTPMailer], built on github.com/wneessen/go-mail.
//  3. A delivered row is marked sent; a failed one is retried with exponential
//     backoff ([Backoff]) until [WorkerConfig.MaxAttempts], and a permanent
//     failure (an SMTP 5yz reply, RFC 5321 §4.2.1, or a message that cannot be
//     rendered) is given up at once.
//
// A message whose Channel is ChannelWebhook goes instead to the embedder's
// endpoint as a JSON POST signed with HMAC-SHA256 ([WebhookSender],
// [SignatureHeader]); receivers check it with [VerifySignature] or
// [ParseWebhook].
//
// Delivery is at least once: a worker that stops between sending a mail and
// marking its row sent will send that mail again once the row's claim
// lapses. Every mail therefore carries a Message-ID derived from the outbox
// row ID (RFC 5322 §3.6.4) so that receiving systems can recognise repeats.
//
// Time is explicit: the worker reads the clock it is given, and the Date
// header, the webhook signature time and the backoff schedule come from
// that clock.
package notify
