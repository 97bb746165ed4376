-- Disclosure accounts (第三者開示, issue 12): see storage.DisclosureStore.
-- A login ID is unique among users and disclosure accounts together: both
-- tables register their login IDs in login_names (by trigger), whose
-- primary key refuses a second holder under any concurrency.
-- disclosure_cases is keyed (disclosure_id, case_id), so a disclosure
-- search reads one key range and an access check one key; its rows go
-- with their case. The partial index audit_disclosure serves an owner's
-- list of the access through one account (ListDisclosureAccess).

-- +goose Up
CREATE TABLE login_names (
    login_id text COLLATE "C" PRIMARY KEY
);
INSERT INTO login_names (login_id) SELECT login_id FROM users;

-- +goose StatementBegin
CREATE FUNCTION login_names_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO login_names (login_id) VALUES (NEW.login_id);
    ELSIF NEW.login_id <> OLD.login_id THEN
        DELETE FROM login_names WHERE login_id = OLD.login_id;
        INSERT INTO login_names (login_id) VALUES (NEW.login_id);
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER users_login_names AFTER INSERT OR UPDATE OF login_id ON users
    FOR EACH ROW EXECUTE FUNCTION login_names_track();

CREATE TABLE disclosures (
    id          text COLLATE "C" PRIMARY KEY,
    version     bigint NOT NULL CHECK (version > 0),
    owner_user  text COLLATE "C" NOT NULL CONSTRAINT disclosures_owner_fkey REFERENCES users (id),
    login_id    text COLLATE "C" NOT NULL UNIQUE,
    revoked     boolean NOT NULL,
    created_at  bigint NOT NULL, -- Unix nanoseconds
    body        jsonb NOT NULL
);
CREATE INDEX disclosures_owner ON disclosures (owner_user, created_at, id);
CREATE TRIGGER disclosures_login_names AFTER INSERT OR UPDATE OF login_id ON disclosures
    FOR EACH ROW EXECUTE FUNCTION login_names_track();

CREATE TABLE disclosure_cases (
    disclosure_id text COLLATE "C" NOT NULL REFERENCES disclosures (id),
    case_id       text COLLATE "C" NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    PRIMARY KEY (disclosure_id, case_id)
);
CREATE INDEX disclosure_cases_case ON disclosure_cases (case_id);

CREATE INDEX audit_disclosure ON audit (actor_user, seq) WHERE action LIKE 'disclosure.%';

-- +goose Down
DROP INDEX audit_disclosure;
DROP TABLE disclosure_cases;
DROP TRIGGER disclosures_login_names ON disclosures;
DROP TABLE disclosures;
DROP TRIGGER users_login_names ON users;
DROP FUNCTION login_names_track();
DROP TABLE login_names;
