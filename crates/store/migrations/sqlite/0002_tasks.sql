-- Automated Tasks, their runs and per-user results (PRODUCT §4–§5), and leases for background
-- work shared by several processes.

CREATE TABLE tasks (
    task_id         TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL UNIQUE,
    -- No foreign key: a run whose filter has gone fails with that reason (PRODUCT §4).
    filter_id       TEXT NOT NULL,
    actions         TEXT NOT NULL,
    schedule        TEXT NOT NULL,
    active          INTEGER NOT NULL,
    execution_limit TEXT,
    updated_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- When the schedule was last set: intervals count from here.
    schedule_anchor INTEGER NOT NULL,
    last_run_at     INTEGER,
    -- NULL: the scheduler never starts it (manual, paused, or a one-off already run).
    next_run_at     INTEGER,
    last_process_id TEXT
);
CREATE INDEX tasks_next_run_at ON tasks (next_run_at);

CREATE TABLE runs (
    process_id     TEXT PRIMARY KEY NOT NULL,
    source         TEXT NOT NULL,
    task_id        TEXT,
    name           TEXT NOT NULL,
    -- What the run does and to whom, as they were when it started (JSON).
    actions        TEXT NOT NULL,
    selection      TEXT NOT NULL,
    started_via    TEXT NOT NULL,
    started_by     TEXT NOT NULL,
    state          TEXT NOT NULL,
    outcome        TEXT,
    error          TEXT,
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    summary        TEXT NOT NULL,
    progress_done  INTEGER NOT NULL,
    progress_total INTEGER NOT NULL,
    quarantine     TEXT,
    cancel_requested_by TEXT,
    -- The process executing the run and until when its claim holds; a running run whose lease
    -- has lapsed was interrupted.
    owner          TEXT,
    lease_until    INTEGER
);
-- Never two open runs of one task: the database refuses the second.
CREATE UNIQUE INDEX runs_one_open_per_task ON runs (task_id) WHERE state IN ('running', 'quarantined');
CREATE INDEX runs_task ON runs (task_id, started_at);
CREATE INDEX runs_started_at ON runs (started_at);
CREATE INDEX runs_state ON runs (state, lease_until);

CREATE TABLE run_users (
    process_id TEXT NOT NULL REFERENCES runs (process_id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    status     TEXT NOT NULL,
    -- Every (action, target) item with its outcome (JSON).
    result     TEXT NOT NULL,
    PRIMARY KEY (process_id, account_id)
);
CREATE INDEX run_users_account ON run_users (account_id, process_id);

CREATE TABLE leases (
    name       TEXT PRIMARY KEY NOT NULL,
    owner      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
