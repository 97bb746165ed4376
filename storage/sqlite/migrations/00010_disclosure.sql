-- Disclosure accounts (第三者開示, issue 12): see storage.DisclosureStore.
-- A disclosure account's login ID is unique among users and disclosure
-- accounts together (PutUser and PutDisclosure check the other table in
-- their write transaction; SQLite has one writer). disclosure_cases is
-- keyed (disclosure_id, case_id), so a disclosure search reads one key
-- range and an access check one key; its rows go with their case.
-- The partial index audit_disclosure serves an owner's list of the
-- access through one account (ListDisclosureAccess).

-- +goose Up
CREATE TABLE disclosures (
    id          TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    owner_user  TEXT NOT NULL REFERENCES users (id),
    login_id    TEXT NOT NULL UNIQUE,
    revoked     INTEGER NOT NULL, -- 1 once revoked
    created_at  INTEGER NOT NULL, -- Unix nanoseconds
    body        TEXT NOT NULL
) STRICT;
CREATE INDEX disclosures_owner ON disclosures (owner_user, created_at, id);

CREATE TABLE disclosure_cases (
    disclosure_id TEXT NOT NULL REFERENCES disclosures (id),
    case_id       TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    PRIMARY KEY (disclosure_id, case_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX disclosure_cases_case ON disclosure_cases (case_id);

CREATE INDEX audit_disclosure ON audit (actor_user, seq) WHERE action LIKE 'disclosure.%';

-- +goose Down
DROP INDEX audit_disclosure;
DROP TABLE disclosure_cases;
DROP TABLE disclosures;
