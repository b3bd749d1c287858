-- Web UI sessions (PRODUCT §10): a signed-in API key, found by the hash of the cookie's value.
-- PostgreSQL twin of migrations/sqlite/0009_web_sessions.sql; keep them in step.
CREATE TABLE web_sessions (
    session_hash  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    api_key_id    TEXT COLLATE "C" NOT NULL REFERENCES api_keys (api_key_id) ON DELETE CASCADE,
    -- Every form and htmx request of the session carries it (CSRF).
    csrf_token    TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
