-- Each user's own marks on cases (issue 12, "Hide and private comments"):
-- which cases a user has hidden, and one private comment per user and
-- case. Keyed by (user_id, case_id) so a search probes the hidden marks of
-- its user by primary key for each candidate case (anti-join), and the
-- only-hidden list reads one key range. They go with their case
-- (ON DELETE CASCADE, through the case_id indexes).

-- +goose Up
CREATE TABLE case_hidden (
    user_id    TEXT NOT NULL,
    case_id    TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    hidden_at  INTEGER NOT NULL, -- Unix nanoseconds
    PRIMARY KEY (user_id, case_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX case_hidden_case ON case_hidden (case_id);

CREATE TABLE case_comments (
    user_id    TEXT NOT NULL,
    case_id    TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    updated_at INTEGER NOT NULL, -- Unix nanoseconds
    text       TEXT NOT NULL,
    PRIMARY KEY (user_id, case_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX case_comments_case ON case_comments (case_id);

-- +goose Down
DROP TABLE case_comments;
DROP TABLE case_hidden;
