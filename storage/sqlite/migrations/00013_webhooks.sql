-- Webhooks (issue 13) and reminders (issue 12): each company's subscriptions, the deliveries
-- written in the transaction of the case change they report, and the log
-- of delivery attempts. A subscription's deliveries and their log go with
-- it (ON DELETE CASCADE). Deliveries are claimed in seq order among the
-- due ones (webhook_deliveries_due: only rows still pending).

-- +goose Up
CREATE TABLE webhook_subscriptions (
    id          TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL,
    created_at  INTEGER NOT NULL, -- Unix nanoseconds
    body        TEXT NOT NULL     -- storage.WebhookSubscription as JSON
) STRICT;
CREATE INDEX webhook_subscriptions_company ON webhook_subscriptions (company_id, created_at);

CREATE TABLE webhook_deliveries (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    company_id      TEXT NOT NULL,
    type            TEXT NOT NULL,
    case_id         TEXT NOT NULL,
    body            BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    delivered_at    INTEGER NOT NULL DEFAULT 0,
    gave_up         INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX webhook_deliveries_sub ON webhook_deliveries (subscription_id, seq);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, seq) WHERE delivered_at = 0 AND gave_up = 0;

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n           INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    error       TEXT NOT NULL,
    duration_ns INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, n)
) STRICT, WITHOUT ROWID;

-- Reminders (issue 12): each reminder or overdue notice sent, once per
-- (case, key); they go with their case.
CREATE TABLE case_reminders (
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    key     TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (case_id, key)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE case_reminders;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
