-- Every blob key a case row has ever named (issue 16, orphan-blob
-- collection; storage.BlobRefStore). Triggers on case_bodies add the keys
-- of every File in a body (Document, Acceptance, Supplements, Sealed: any
-- JSON member named "Key") as rows are written, in the same transaction,
-- and nothing removes them: a document a later version replaced stays
-- referenced (the audit log names it). The orphan collector removes only
-- blobs not listed here.

-- +goose Up
CREATE TABLE blob_refs (
    key TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;

INSERT OR IGNORE INTO blob_refs (key)
SELECT j.value FROM case_bodies b, json_tree(b.body) j
 WHERE j.key = 'Key' AND j.type = 'text' AND j.value <> '';

-- +goose StatementBegin
CREATE TRIGGER case_bodies_blob_refs_insert AFTER INSERT ON case_bodies
BEGIN
    INSERT OR IGNORE INTO blob_refs (key)
    SELECT value FROM json_tree(NEW.body) WHERE key = 'Key' AND type = 'text' AND value <> '';
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER case_bodies_blob_refs_update AFTER UPDATE OF body ON case_bodies
BEGIN
    INSERT OR IGNORE INTO blob_refs (key)
    SELECT value FROM json_tree(NEW.body) WHERE key = 'Key' AND type = 'text' AND value <> '';
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER case_bodies_blob_refs_update;
DROP TRIGGER case_bodies_blob_refs_insert;
DROP TABLE blob_refs;
