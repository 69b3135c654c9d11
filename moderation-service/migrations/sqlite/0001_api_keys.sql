-- API keys: only the SHA-256 of a token is stored; the token is shown once.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('forum', 'moderator', 'admin')),
    -- Comma-separated forum ids the key is scoped to; '' = every forum.
    forums       TEXT NOT NULL DEFAULT '',
    label        TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
