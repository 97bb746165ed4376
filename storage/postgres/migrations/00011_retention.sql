-- Retention (保管期間), legal holds and the deletion sweep (issue 12): see
-- storage.RetentionStore and the SQLite migration of the same number for
-- what each table is. PostgreSQL specifics: the sweep's reference check
-- and a writer's pin meet on the blob_pins row of the key (INSERT ... ON
-- CONFLICT DO UPDATE locks it), so under READ COMMITTED the two cannot
-- both succeed on stale reads.

-- +goose Up
CREATE TABLE retention (
    case_id     text COLLATE "C" PRIMARY KEY REFERENCES cases (id),
    company_id  text COLLATE "C" NOT NULL,
    until_date  text COLLATE "C" NOT NULL,
    deleting    boolean NOT NULL DEFAULT false,
    body        jsonb NOT NULL
);
CREATE INDEX retention_due ON retention (until_date, case_id);
CREATE INDEX retention_company ON retention (company_id, until_date, case_id);
CREATE INDEX retention_deleting ON retention (case_id) WHERE deleting;

CREATE TABLE retention_holds (
    case_id     text COLLATE "C" NOT NULL REFERENCES cases (id),
    company_id  text COLLATE "C" NOT NULL,
    body        jsonb NOT NULL,
    PRIMARY KEY (case_id, company_id)
);

CREATE TABLE case_blobs (
    blob_key  text COLLATE "C" NOT NULL,
    case_id   text COLLATE "C" NOT NULL,
    PRIMARY KEY (blob_key, case_id)
);
CREATE INDEX case_blobs_case ON case_blobs (case_id);

CREATE TABLE blob_pins (
    blob_key   text COLLATE "C" PRIMARY KEY,
    pinned_at  bigint NOT NULL, -- Unix nanoseconds
    removing   boolean NOT NULL DEFAULT false
);

CREATE TABLE deletion_records (
    case_id     text COLLATE "C" PRIMARY KEY,
    deleted_at  bigint NOT NULL, -- Unix nanoseconds
    finished    boolean NOT NULL DEFAULT false,
    body        jsonb NOT NULL
);

-- The deletion removes a case's outbox rows (they carry its name).
CREATE INDEX outbox_case ON outbox (case_id);

-- Every file a stored case names, from its JSON body.
INSERT INTO case_blobs (blob_key, case_id)
SELECT DISTINCT k, id FROM (
    SELECT b.body #>> '{Document,Key}' AS k, b.id FROM case_bodies b
    UNION ALL SELECT b.body #>> '{Acceptance,Key}', b.id FROM case_bodies b
    UNION ALL SELECT f ->> 'Key', b.id FROM case_bodies b,
        jsonb_array_elements(CASE WHEN jsonb_typeof(b.body -> 'Supplements') = 'array' THEN b.body -> 'Supplements' ELSE '[]'::jsonb END) f
    UNION ALL SELECT f ->> 'Key', b.id FROM case_bodies b,
        jsonb_array_elements(CASE WHEN jsonb_typeof(b.body -> 'Sealed') = 'array' THEN b.body -> 'Sealed' ELSE '[]'::jsonb END) f
) keys WHERE coalesce(k, '') <> ''
ON CONFLICT DO NOTHING;

-- +goose Down
DROP INDEX outbox_case;
DROP TABLE deletion_records;
DROP TABLE blob_pins;
DROP TABLE case_blobs;
DROP TABLE retention_holds;
DROP TABLE retention;
