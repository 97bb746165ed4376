-- Answers kept for Idempotency-Keys (issue 13): see storage.IdempotencyStore.
-- status 0 is a request in flight; header is a JSON object of string arrays.

-- +goose Up
CREATE TABLE idempotency (
    principal     TEXT NOT NULL,
    request       TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  BLOB,
    status        INTEGER NOT NULL DEFAULT 0,
    header        TEXT NOT NULL DEFAULT '{}',
    body          BLOB NOT NULL DEFAULT x'',
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (principal, request, idem_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_expires ON idempotency (expires_at);

-- +goose Down
DROP TABLE idempotency;
