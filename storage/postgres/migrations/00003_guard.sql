-- Login throttles and tallies (issue 11): see storage.GuardStore. Keys are
-- keyed hashes chosen by account, never what a caller typed.

-- +goose Up
CREATE TABLE throttles (
    key            text COLLATE "C" PRIMARY KEY,
    subject        text COLLATE "C" NOT NULL,
    count          bigint NOT NULL,
    seq            bigint NOT NULL,
    blocks         bigint NOT NULL,
    last_at        bigint NOT NULL,
    blocked_until  bigint NOT NULL
);
CREATE INDEX throttles_subject ON throttles (subject);
CREATE INDEX throttles_last ON throttles (last_at);

CREATE TABLE tallies (
    key    text COLLATE "C" PRIMARY KEY,
    n      bigint NOT NULL,
    since  bigint NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);

-- The ID of the key an audit entry is sealed with (storage.AuditKey);
-- empty for plain SHA-256 entries.
ALTER TABLE audit ADD COLUMN key_id text COLLATE "C" NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit DROP COLUMN key_id;
DROP INDEX sessions_user;
DROP TABLE tallies;
DROP TABLE throttles;
