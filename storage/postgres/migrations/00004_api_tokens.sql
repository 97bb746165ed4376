-- +goose Up
CREATE TABLE api_tokens (
    id          text COLLATE "C" PRIMARY KEY,
    token_hash  text COLLATE "C" NOT NULL UNIQUE,
    user_id     text COLLATE "C" NOT NULL,
    created_at  bigint NOT NULL,
    body        jsonb NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);

-- +goose Down
DROP TABLE api_tokens;
