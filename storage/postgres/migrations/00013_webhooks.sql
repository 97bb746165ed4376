-- Webhooks (issue 13) and reminders (issue 12): each company's subscriptions, the deliveries
-- written in the transaction of the case change they report, and the log
-- of delivery attempts. A subscription's deliveries and their log go with
-- it (ON DELETE CASCADE). Deliveries are claimed in seq order among the
-- due ones (webhook_deliveries_due: only rows still pending).

-- +goose Up
CREATE TABLE webhook_subscriptions (
    id          text COLLATE "C" PRIMARY KEY,
    company_id  text COLLATE "C" NOT NULL,
    created_at  bigint NOT NULL, -- Unix nanoseconds
    body        jsonb NOT NULL   -- storage.WebhookSubscription
);
CREATE INDEX webhook_subscriptions_company ON webhook_subscriptions (company_id, created_at);

CREATE TABLE webhook_deliveries (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              text COLLATE "C" NOT NULL UNIQUE,
    subscription_id text COLLATE "C" NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    company_id      text COLLATE "C" NOT NULL,
    type            text NOT NULL,
    case_id         text COLLATE "C" NOT NULL,
    body            bytea NOT NULL,
    created_at      bigint NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at bigint NOT NULL DEFAULT 0,
    delivered_at    bigint NOT NULL DEFAULT 0,
    gave_up         boolean NOT NULL DEFAULT false,
    last_status     integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_sub ON webhook_deliveries (subscription_id, seq);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, seq) WHERE delivered_at = 0 AND NOT gave_up;

CREATE TABLE webhook_attempts (
    delivery_id text COLLATE "C" NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n           integer NOT NULL,
    at          bigint NOT NULL,
    status      integer NOT NULL,
    error       text NOT NULL,
    duration_ns bigint NOT NULL,
    PRIMARY KEY (delivery_id, n)
);

-- Reminders (issue 12): each reminder or overdue notice sent, once per
-- (case, key); they go with their case.
CREATE TABLE case_reminders (
    case_id text COLLATE "C" NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    key     text COLLATE "C" NOT NULL,
    sent_at bigint NOT NULL,
    PRIMARY KEY (case_id, key)
);

-- +goose Down
DROP TABLE case_reminders;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
