-- Company-name change requests decided by the service operator (issue 12,
-- Administration): see storage.NameRequestStore. The partial unique index
-- keeps at most one pending request per company.

-- +goose Up
CREATE TABLE name_requests (
    id            TEXT PRIMARY KEY,
    version       INTEGER NOT NULL,
    company_id    TEXT NOT NULL REFERENCES companies (id),
    status        TEXT NOT NULL,
    requested_at  INTEGER NOT NULL, -- Unix nanoseconds
    body          TEXT NOT NULL
) STRICT;
CREATE INDEX name_requests_order ON name_requests (requested_at, id);
CREATE INDEX name_requests_company ON name_requests (company_id, requested_at, id);
CREATE UNIQUE INDEX name_requests_pending ON name_requests (company_id) WHERE status = 'pending';

-- +goose Down
DROP TABLE name_requests;
