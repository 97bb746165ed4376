-- +goose Up
CREATE TABLE cases (
    id                  TEXT PRIMARY KEY,
    version             INTEGER NOT NULL,
    form                TEXT NOT NULL,
    state               TEXT NOT NULL,
    category            TEXT NOT NULL,
    original_id         TEXT NOT NULL,
    name                TEXT NOT NULL,
    order_number        TEXT NOT NULL,
    amount              INTEGER NOT NULL,
    currency            TEXT NOT NULL,
    transaction_date    INTEGER NOT NULL, -- Unix seconds
    registrant_company  TEXT NOT NULL,
    registrant_user     TEXT NOT NULL,
    created_at          INTEGER NOT NULL, -- Unix nanoseconds
    updated_at          INTEGER NOT NULL,
    completed_at        INTEGER NOT NULL  -- 0 until completed
) STRICT;

-- The JSON of each whole record, apart from the narrow searchable columns
-- above, so that searches scan small rows.
CREATE TABLE case_bodies (
    id   TEXT PRIMARY KEY REFERENCES cases (id),
    body TEXT NOT NULL
) STRICT;
CREATE INDEX cases_registrant ON cases (registrant_company, registrant_user);
CREATE INDEX cases_updated ON cases (updated_at, id);
CREATE INDEX cases_created ON cases (created_at, id);
CREATE INDEX cases_transaction ON cases (transaction_date, id);
CREATE INDEX cases_amount ON cases (amount, id);
CREATE INDEX cases_completed ON cases (completed_at, id);
CREATE INDEX cases_name ON cases (name, id);
CREATE INDEX cases_state ON cases (state, updated_at);
CREATE INDEX cases_original ON cases (original_id) WHERE original_id <> '';

CREATE TABLE case_parties (
    case_id      TEXT NOT NULL REFERENCES cases (id),
    idx          INTEGER NOT NULL,
    company_id   TEXT NOT NULL,
    company_name TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    PRIMARY KEY (case_id, idx)
) STRICT;
CREATE INDEX case_parties_company ON case_parties (company_id, user_id);

-- Who may see a case: a company-wide row (user_id '') and a personal row
-- for the registrant and for each party, with the list's sort keys copied
-- in, so a company's or a user's list is read in order from one index.
CREATE TABLE case_access (
    company_id   TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    case_id      TEXT NOT NULL REFERENCES cases (id),
    updated_at       INTEGER NOT NULL,
    completed_at     INTEGER NOT NULL,
    amount           INTEGER NOT NULL,
    transaction_date INTEGER NOT NULL,
    PRIMARY KEY (company_id, user_id, case_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX case_access_case ON case_access (case_id);
CREATE INDEX case_access_updated ON case_access (company_id, user_id, updated_at, case_id);
CREATE INDEX case_access_completed ON case_access (company_id, user_id, completed_at, case_id);
CREATE INDEX case_access_amount ON case_access (company_id, user_id, amount, case_id);
CREATE INDEX case_access_transaction ON case_access (company_id, user_id, transaction_date, case_id);

CREATE TABLE audit (
    seq             INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL, -- Unix nanoseconds
    actor_user      TEXT NOT NULL,
    actor_company   TEXT NOT NULL,
    remote_addr     TEXT NOT NULL,
    action          TEXT NOT NULL,
    case_id         TEXT NOT NULL,
    detail          TEXT NOT NULL,
    prev_hash       BLOB NOT NULL,
    hash            BLOB NOT NULL
) STRICT;
CREATE INDEX audit_case ON audit (case_id, seq) WHERE case_id <> '';

-- Append-only: the database refuses to change or remove audit entries.
-- +goose StatementBegin
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
-- +goose StatementEnd

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    case_id         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER NOT NULL, -- 0 until delivered
    attempts        INTEGER NOT NULL,
    body            TEXT NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);

CREATE TABLE companies (
    id          TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    company_id  TEXT NOT NULL REFERENCES companies (id),
    login_id    TEXT NOT NULL UNIQUE,
    body        TEXT NOT NULL
) STRICT;
CREATE INDEX users_company ON users (company_id, id);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    body        TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE companies;
DROP TABLE outbox;
DROP TABLE audit;
DROP TABLE case_access;
DROP TABLE case_parties;
DROP TABLE case_bodies;
DROP TABLE cases;
