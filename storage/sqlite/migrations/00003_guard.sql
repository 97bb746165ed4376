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

-- +goose Down
ALTER TABLE audit DROP COLUMN key_id;
DROP INDEX sessions_user;
DROP TABLE tallies;
DROP TABLE throttles;
