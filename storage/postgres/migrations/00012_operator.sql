-- Company-name change requests decided by the service operator (issue 12,
-- Administration): see storage.NameRequestStore. The partial unique index
-- keeps at most one pending request per company.

-- +goose Up
CREATE TABLE name_requests (
    id            text COLLATE "C" PRIMARY KEY,
    version       bigint NOT NULL CHECK (version > 0),
    company_id    text COLLATE "C" NOT NULL CONSTRAINT name_requests_company_fkey REFERENCES companies (id),
    status        text NOT NULL,
    requested_at  bigint NOT NULL, -- Unix nanoseconds
    body          jsonb NOT NULL
);
CREATE INDEX name_requests_order ON name_requests (requested_at, id);
CREATE INDEX name_requests_company ON name_requests (company_id, requested_at, id);
CREATE UNIQUE INDEX name_requests_pending ON name_requests (company_id) WHERE status = 'pending';

-- +goose Down
DROP TABLE name_requests;
