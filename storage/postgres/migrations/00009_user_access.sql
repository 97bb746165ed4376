-- Per-user IP allow-lists and last logins (issue 12): see
-- storage.UserAccessStore. allow_list is a JSON array of CIDR strings.

-- +goose Up
CREATE TABLE user_access (
    user_id        text COLLATE "C" PRIMARY KEY REFERENCES users (id),
    allow_list     jsonb NOT NULL DEFAULT '[]',
    last_login_at  bigint NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE user_access;
