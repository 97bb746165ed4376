-- Every blob key a case row has ever named (issue 16, orphan-blob
-- collection; storage.BlobRefStore). A trigger on case_bodies adds the
-- keys of every File in a body (Document, Acceptance, Supplements, Sealed:
-- any JSON member named "Key") as rows are written (COPY included), in the
-- same transaction, and nothing removes them: a document a later version
-- replaced stays referenced (the audit log names it). The orphan collector
-- removes only blobs not listed here. Keys are inserted in order, so two
-- commits adding the same new keys wait on each other, never deadlock.

-- +goose Up
CREATE TABLE blob_refs (
    key text COLLATE "C" PRIMARY KEY
);

INSERT INTO blob_refs (key)
SELECT DISTINCT k #>> '{}' FROM case_bodies b, jsonb_path_query(b.body, 'strict $.**.Key') k
 WHERE jsonb_typeof(k) = 'string' AND k #>> '{}' <> ''
ON CONFLICT DO NOTHING;

-- +goose StatementBegin
CREATE FUNCTION keiyaku_blob_refs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO blob_refs (key)
    SELECT DISTINCT k #>> '{}' FROM jsonb_path_query(NEW.body, 'strict $.**.Key') k
     WHERE jsonb_typeof(k) = 'string' AND k #>> '{}' <> ''
     ORDER BY 1
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER case_bodies_blob_refs AFTER INSERT OR UPDATE OF body ON case_bodies
    FOR EACH ROW EXECUTE FUNCTION keiyaku_blob_refs();

-- +goose Down
DROP TRIGGER case_bodies_blob_refs ON case_bodies;
DROP FUNCTION keiyaku_blob_refs();
DROP TABLE blob_refs;
