-- Web UI sessions (PRODUCT §10): a signed-in API key, found by the hash of the cookie's value.
CREATE TABLE web_sessions (
    session_hash  TEXT PRIMARY KEY NOT NULL,
    api_key_id    TEXT NOT NULL REFERENCES api_keys (api_key_id) ON DELETE CASCADE,
    -- Every form and htmx request of the session carries it (CSRF).
    csrf_token    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
