-- Answers kept for Idempotency-Keys (issue 13): see storage.IdempotencyStore.
-- status 0 is a request in flight; header is a JSON object of string arrays.

-- +goose Up
CREATE TABLE idempotency (
    principal     text COLLATE "C" NOT NULL,
    request       text COLLATE "C" NOT NULL,
    idem_key      text COLLATE "C" NOT NULL,
    request_hash  bytea,
    status        integer NOT NULL DEFAULT 0,
    header        jsonb NOT NULL DEFAULT '{}',
    body          bytea NOT NULL DEFAULT '',
    created_at    bigint NOT NULL,
    expires_at    bigint NOT NULL,
    PRIMARY KEY (principal, request, idem_key)
);
CREATE INDEX idempotency_expires ON idempotency (expires_at);

-- +goose Down
DROP TABLE idempotency;
