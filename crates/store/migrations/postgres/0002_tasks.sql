-- Automated Tasks, their runs and per-user results (PRODUCT §4–§5), and leases for background
-- work shared by several processes.
-- PostgreSQL twin of migrations/sqlite/0002_tasks.sql; keep them in step (schema-parity test).

CREATE TABLE tasks (
    task_id         TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name            TEXT COLLATE "C" NOT NULL,
    name_key        TEXT COLLATE "C" NOT NULL UNIQUE,
    -- No foreign key: a run whose filter has gone fails with that reason (PRODUCT §4).
    filter_id       TEXT COLLATE "C" NOT NULL,
    actions         TEXT COLLATE "C" NOT NULL,
    schedule        TEXT COLLATE "C" NOT NULL,
    active          BIGINT NOT NULL,
    execution_limit TEXT COLLATE "C",
    updated_by      TEXT COLLATE "C" NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    -- When the schedule was last set: intervals count from here.
    schedule_anchor BIGINT NOT NULL,
    last_run_at     BIGINT,
    -- NULL: the scheduler never starts it (manual, paused, or a one-off already run).
    next_run_at     BIGINT,
    last_process_id TEXT COLLATE "C"
);
CREATE INDEX tasks_next_run_at ON tasks (next_run_at);

CREATE TABLE runs (
    process_id     TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    source         TEXT COLLATE "C" NOT NULL,
    task_id        TEXT COLLATE "C",
    name           TEXT COLLATE "C" NOT NULL,
    -- What the run does and to whom, as they were when it started (JSON).
    actions        TEXT COLLATE "C" NOT NULL,
    selection      TEXT COLLATE "C" NOT NULL,
    started_via    TEXT COLLATE "C" NOT NULL,
    started_by     TEXT COLLATE "C" NOT NULL,
    state          TEXT COLLATE "C" NOT NULL,
    outcome        TEXT COLLATE "C",
    error          TEXT COLLATE "C",
    started_at     BIGINT NOT NULL,
    finished_at    BIGINT,
    summary        TEXT COLLATE "C" NOT NULL,
    progress_done  BIGINT NOT NULL,
    progress_total BIGINT NOT NULL,
    quarantine     TEXT COLLATE "C",
    cancel_requested_by TEXT COLLATE "C",
    -- The process executing the run and until when its claim holds; a running run whose lease
    -- has lapsed was interrupted.
    owner          TEXT COLLATE "C",
    lease_until    BIGINT
);
-- Never two open runs of one task: the database refuses the second.
CREATE UNIQUE INDEX runs_one_open_per_task ON runs (task_id) WHERE state IN ('running', 'quarantined');
CREATE INDEX runs_task ON runs (task_id, started_at);
CREATE INDEX runs_started_at ON runs (started_at);
CREATE INDEX runs_state ON runs (state, lease_until);

CREATE TABLE run_users (
    process_id TEXT COLLATE "C" NOT NULL REFERENCES runs (process_id) ON DELETE CASCADE,
    account_id TEXT COLLATE "C" NOT NULL,
    status     TEXT COLLATE "C" NOT NULL,
    -- Every (action, target) item with its outcome (JSON).
    result     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (process_id, account_id)
);
CREATE INDEX run_users_account ON run_users (account_id, process_id);

CREATE TABLE leases (
    name       TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    owner      TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL
);
