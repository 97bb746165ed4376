-- Per-user IP allow-lists and last logins (issue 12): see
-- storage.UserAccessStore. allow_list is a JSON array of CIDR strings.

-- +goose Up
CREATE TABLE user_access (
    user_id        TEXT PRIMARY KEY REFERENCES users (id),
    allow_list     TEXT NOT NULL DEFAULT '[]',
    last_login_at  INTEGER NOT NULL DEFAULT 0
) STRICT;

-- +goose Down
DROP TABLE user_access;
