-- Login throttles and tallies (issue 11): see storage.GuardStore. Keys are
-- keyed hashes chosen by account, never what a caller typed.

-- +goose Up
CREATE TABLE throttles (
    key            TEXT PRIMARY KEY,
    subject        TEXT NOT NULL,
    count          INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    blocks         INTEGER NOT NULL,
    last_at        INTEGER NOT NULL,
    blocked_until  INTEGER NOT NULL
) STRICT;
CREATE INDEX throttles_subject ON throttles (subject);
CREATE INDEX throttles_last ON throttles (last_at);

CREATE TABLE tallies (
    key    TEXT PRIMARY KEY,
    n      INTEGER NOT NULL,
    since  INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);

-- The ID of the key an audit entry is sealed with (storage.AuditKey);
-- empty for plain SHA-256 entries.
ALTER TABLE audit ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

CREATE TABLE audit_anchors (
    seq    INTEGER PRIMARY KEY,
    hash   BLOB NOT NULL,
    at     INTEGER NOT NULL,
    token  BLOB NOT NULL
) STRICT;
-- Append-only, like the audit log.
-- +goose StatementBegin
CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_anchors;
ALTER TABLE audit DROP COLUMN key_id;
DROP INDEX sessions_user;
DROP TABLE tallies;
DROP TABLE throttles;
