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

CREATE TABLE audit_anchors (
    seq    bigint PRIMARY KEY,
    hash   bytea NOT NULL,
    at     bigint NOT NULL,
    token  bytea NOT NULL
);
-- Append-only, like the audit log.
CREATE TRIGGER audit_anchors_no_change BEFORE UPDATE OR DELETE ON audit_anchors
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- +goose Down
DROP TABLE audit_anchors;
ALTER TABLE audit DROP COLUMN key_id;
DROP INDEX sessions_user;
DROP TABLE tallies;
DROP TABLE throttles;
