-- Moderator page sessions: a random cookie token stored as SHA-256, the
-- key it was opened with, and the CSRF token its forms carry.
CREATE TABLE ui_sessions (
    token_sha256 TEXT PRIMARY KEY,
    key_id       TEXT NOT NULL REFERENCES api_keys (id),
    csrf         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at);
