-- One organization sync at a time, across processes: who holds it and until when (a lease
-- its holder renews), and how far it got (JSON counts, shown as progress).
ALTER TABLE atlassian_connection ADD COLUMN sync_owner TEXT;
ALTER TABLE atlassian_connection ADD COLUMN sync_claimed_until INTEGER;
ALTER TABLE atlassian_connection ADD COLUMN sync_progress TEXT;

-- The pages the current sync has read so far, in order (JSON), so that a sync which failed
-- midway resumes where it stopped. Emptied when a sync succeeds, when the organization's
-- users are changed through ucm (the pages would be stale) and on disconnect.
CREATE TABLE atlassian_sync_pages (
    connection_id  TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    saved_at       INTEGER NOT NULL,
    page           TEXT NOT NULL,
    PRIMARY KEY (connection_id, seq)
);
