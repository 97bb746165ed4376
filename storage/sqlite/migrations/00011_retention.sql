-- Retention (保管期間), legal holds and the deletion sweep (issue 12): see
-- storage.RetentionStore.
--
-- retention: one row per completed case, with the date from which the
-- sweep may delete it (until_date, 'YYYY-MM-DD' in the owner company's
-- zone) and the rest of storage.Retention as JSON. The due list is read
-- in (until_date, case_id) order from retention_due; a company's upcoming
-- deletions from retention_company.
--
-- retention_holds: legal holds, one per case and company; a case with any
-- hold is never due.
--
-- case_blobs: every blob key a case has ever referenced (its document in
-- each version, acceptance, supplements, sealed files), written by
-- CommitCase and ImportCases, so that the sweep can tell whether another
-- case still uses a blob without reading case bodies.
--
-- blob_pins: content-addressed blobs are shared. A writer pins a key when
-- it stores (or finds) the blob, before any row names it; the sweep
-- removes a blob only after marking its row here "removing" in a
-- transaction that finds no other case_blobs row and no pin younger than
-- storage.PinTTL. A pin of a key being removed is refused (retry later).
-- The embedded store keeps the pins themselves in memory (one process
-- per file; see sqlite.pinSet), so pinned_at stays 0 here.
--
-- deletion_records: what the sweep removed, time-stamped (RFC 3161) and
-- named in the audit chain; kept for good.

-- +goose Up
CREATE TABLE retention (
    case_id     TEXT PRIMARY KEY REFERENCES cases (id),
    company_id  TEXT NOT NULL,
    until_date  TEXT NOT NULL,
    deleting    INTEGER NOT NULL DEFAULT 0,
    body        TEXT NOT NULL
) STRICT;
CREATE INDEX retention_due ON retention (until_date, case_id);
CREATE INDEX retention_company ON retention (company_id, until_date, case_id);
CREATE INDEX retention_deleting ON retention (case_id) WHERE deleting = 1;

CREATE TABLE retention_holds (
    case_id     TEXT NOT NULL REFERENCES cases (id),
    company_id  TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (case_id, company_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE case_blobs (
    blob_key  TEXT NOT NULL,
    case_id   TEXT NOT NULL,
    PRIMARY KEY (blob_key, case_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX case_blobs_case ON case_blobs (case_id);

CREATE TABLE blob_pins (
    blob_key   TEXT PRIMARY KEY,
    pinned_at  INTEGER NOT NULL, -- Unix nanoseconds
    removing   INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE TABLE deletion_records (
    case_id     TEXT PRIMARY KEY,
    deleted_at  INTEGER NOT NULL, -- Unix nanoseconds
    finished    INTEGER NOT NULL DEFAULT 0,
    body        TEXT NOT NULL
) STRICT;

-- The deletion removes a case's outbox rows (they carry its name).
CREATE INDEX outbox_case ON outbox (case_id);

-- Every file a stored case names, from its JSON body.
INSERT OR IGNORE INTO case_blobs (blob_key, case_id)
SELECT json_extract(b.body, '$.Document.Key'), b.id FROM case_bodies b
 WHERE coalesce(json_extract(b.body, '$.Document.Key'), '') <> '';
INSERT OR IGNORE INTO case_blobs (blob_key, case_id)
SELECT json_extract(b.body, '$.Acceptance.Key'), b.id FROM case_bodies b
 WHERE coalesce(json_extract(b.body, '$.Acceptance.Key'), '') <> '';
INSERT OR IGNORE INTO case_blobs (blob_key, case_id)
SELECT json_extract(f.value, '$.Key'), b.id FROM case_bodies b, json_each(b.body, '$.Supplements') f
 WHERE json_type(b.body, '$.Supplements') = 'array' AND coalesce(json_extract(f.value, '$.Key'), '') <> '';
INSERT OR IGNORE INTO case_blobs (blob_key, case_id)
SELECT json_extract(f.value, '$.Key'), b.id FROM case_bodies b, json_each(b.body, '$.Sealed') f
 WHERE json_type(b.body, '$.Sealed') = 'array' AND coalesce(json_extract(f.value, '$.Key'), '') <> '';

-- +goose Down
DROP INDEX outbox_case;
DROP TABLE deletion_records;
DROP TABLE blob_pins;
DROP TABLE case_blobs;
DROP TABLE retention_holds;
DROP TABLE retention;
