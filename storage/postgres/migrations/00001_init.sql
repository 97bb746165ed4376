-- keiyaku's PostgreSQL schema. Every name is unqualified: Open runs these
-- migrations with search_path set to the configured schema only, so the
-- tables, the trigger function and goose's version table all land there.
--
-- Times are bigint Unix nanoseconds (transaction_date: Unix seconds), 0 for
-- the zero time, not timestamptz: timestamptz keeps microseconds, and the
-- contract needs the exact nanoseconds back (audit hashes cover them, and
-- search cursors carry them).
--
-- Every text column is COLLATE "C": the contract orders names and IDs
-- byte-wise whatever the database's default collation is, and byte-wise
-- comparison keeps index maintenance and lookups free of strcoll() calls.
-- (Equality is byte-wise under every deterministic collation anyway.)

-- +goose Up
CREATE TABLE cases (
    id                  text COLLATE "C" PRIMARY KEY,
    version             bigint NOT NULL CHECK (version > 0),
    form                text COLLATE "C" NOT NULL,
    state               text COLLATE "C" NOT NULL,
    category            text COLLATE "C" NOT NULL,
    original_id         text COLLATE "C" NOT NULL,
    name                text COLLATE "C" NOT NULL,
    order_number        text COLLATE "C" NOT NULL,
    amount              bigint NOT NULL,
    currency            text COLLATE "C" NOT NULL,
    transaction_date    bigint NOT NULL,
    registrant_company  text COLLATE "C" NOT NULL,
    registrant_user     text COLLATE "C" NOT NULL,
    created_at          bigint NOT NULL,
    updated_at          bigint NOT NULL,
    completed_at        bigint NOT NULL
);
CREATE INDEX cases_updated ON cases (updated_at, id);
CREATE INDEX cases_created ON cases (created_at, id);
CREATE INDEX cases_transaction ON cases (transaction_date, id);
CREATE INDEX cases_amount ON cases (amount, id);
CREATE INDEX cases_completed ON cases (completed_at, id);
CREATE INDEX cases_name ON cases (name, id);
CREATE INDEX cases_state ON cases (state, updated_at);
CREATE INDEX cases_original ON cases (original_id) WHERE original_id <> '';

-- The whole record, apart from the narrow searchable columns above, so that
-- searches scan small rows and fetch bodies for one page only.
CREATE TABLE case_bodies (
    id   text COLLATE "C" PRIMARY KEY REFERENCES cases (id),
    body jsonb NOT NULL
);

CREATE TABLE case_parties (
    case_id      text COLLATE "C" NOT NULL REFERENCES cases (id),
    idx          integer NOT NULL,
    company_id   text COLLATE "C" NOT NULL,
    company_name text COLLATE "C" NOT NULL,
    user_id      text COLLATE "C" NOT NULL,
    PRIMARY KEY (case_id, idx)
);
CREATE INDEX case_parties_company ON case_parties (company_id, case_id);

-- Who may see a case: a company-wide row (user_id '') and a personal row
-- for the registrant and for each party, with the list sort keys copied in,
-- so that a company's or a user's list is read in order from one index.
CREATE TABLE case_access (
    company_id       text COLLATE "C" NOT NULL,
    user_id          text COLLATE "C" NOT NULL,
    case_id          text COLLATE "C" NOT NULL REFERENCES cases (id),
    updated_at       bigint NOT NULL,
    completed_at     bigint NOT NULL,
    amount           bigint NOT NULL,
    transaction_date bigint NOT NULL,
    PRIMARY KEY (company_id, user_id, case_id)
);
CREATE INDEX case_access_case ON case_access (case_id);
CREATE INDEX case_access_updated ON case_access (company_id, user_id, updated_at, case_id);
CREATE INDEX case_access_completed ON case_access (company_id, user_id, completed_at, case_id);
CREATE INDEX case_access_amount ON case_access (company_id, user_id, amount, case_id);
CREATE INDEX case_access_transaction ON case_access (company_id, user_id, transaction_date, case_id);

CREATE TABLE audit (
    seq             bigint PRIMARY KEY CHECK (seq > 0),
    at              bigint NOT NULL,
    actor_user      text COLLATE "C" NOT NULL,
    actor_company   text COLLATE "C" NOT NULL,
    remote_addr     text COLLATE "C" NOT NULL,
    action          text COLLATE "C" NOT NULL,
    case_id         text COLLATE "C" NOT NULL,
    detail          text COLLATE "C" NOT NULL,
    prev_hash       bytea NOT NULL,
    hash            bytea NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_case ON audit (case_id, seq) WHERE case_id <> '';

-- The head of the one audit chain: the last entry's Seq and Hash. Every
-- append locks this row (SELECT ... FOR UPDATE), which serialises appends,
-- keeps Seq free of gaps (a sequence would leave gaps on rollback) and
-- spares a max(seq) lookup.
CREATE TABLE audit_head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seq      bigint NOT NULL,
    hash     bytea NOT NULL
);
INSERT INTO audit_head (only_row, seq, hash) VALUES (true, 0, '');

-- Append-only: the database refuses to change, remove or truncate audit
-- entries (the hash chain detects it anyway if someone drops the triggers).
-- +goose StatementBegin
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- delivered_at is NULL until delivered; gave_up marks an abandoned event. The
-- partial index holds only the events a worker may still deliver.
CREATE TABLE outbox (
    id              text COLLATE "C" PRIMARY KEY,
    type            text COLLATE "C" NOT NULL,
    case_id         text COLLATE "C" NOT NULL,
    created_at      bigint NOT NULL,
    next_attempt_at bigint NOT NULL,
    delivered_at    bigint,
    gave_up         boolean NOT NULL,
    attempts        bigint NOT NULL,
    body            jsonb NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, created_at, id) WHERE delivered_at IS NULL AND NOT gave_up;

CREATE TABLE companies (
    id      text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL CHECK (version > 0),
    body    jsonb NOT NULL
);

CREATE TABLE users (
    id         text COLLATE "C" PRIMARY KEY,
    version    bigint NOT NULL CHECK (version > 0),
    company_id text COLLATE "C" NOT NULL CONSTRAINT users_company_fkey REFERENCES companies (id),
    login_id   text COLLATE "C" NOT NULL CONSTRAINT users_login_id_key UNIQUE,
    body       jsonb NOT NULL
);
CREATE INDEX users_company ON users (company_id, id);

CREATE TABLE sessions (
    token_hash text COLLATE "C" PRIMARY KEY,
    user_id    text COLLATE "C" NOT NULL,
    expires_at bigint NOT NULL,
    body       jsonb NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE companies;
DROP TABLE outbox;
DROP TABLE audit;
DROP FUNCTION audit_append_only();
DROP TABLE audit_head;
DROP TABLE case_access;
DROP TABLE case_parties;
DROP TABLE case_bodies;
DROP TABLE cases;
