-- The Atlassian organization this installation's directory mirrors (at most one row): its
-- ids and names, the organization API key sealed with the installation's key, the key's
-- expiry as the admin typed it, and how the last sync went.
CREATE TABLE atlassian_connection (
    connection_id          TEXT PRIMARY KEY NOT NULL,
    org_id                 TEXT NOT NULL,
    org_name               TEXT NOT NULL,
    directory_id           TEXT NOT NULL,
    directory_name         TEXT NOT NULL,
    key_sealed             TEXT NOT NULL,
    key_name               TEXT NOT NULL,
    key_expires_at         INTEGER NOT NULL,
    connected_at           INTEGER NOT NULL,
    connected_by           TEXT NOT NULL,
    last_sync_started_at   INTEGER,
    last_sync_finished_at  INTEGER,
    -- Why the last sync failed (NULL when it succeeded or none ran).
    last_sync_error        TEXT,
    -- The last sync's report as JSON (counts, calls, 429s, duration).
    last_sync_report       TEXT
);
