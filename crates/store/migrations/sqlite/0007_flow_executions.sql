-- Requests to flows' incoming webhooks, each stored before it is answered 202: the durable
-- queue the executor claims from, and the head of the audit log.

CREATE TABLE flow_executions (
    execution_id  TEXT PRIMARY KEY NOT NULL,
    flow_id       TEXT NOT NULL,
    -- queued, running, finished
    state         TEXT NOT NULL,
    -- SUCCESS, SOME_ERRORS, FAILURE, NO_ACTIONS_PERFORMED, THROTTLED, LOOP, ABORTED once finished
    status        TEXT,
    -- The sender's `webhook-id`, when given: a second request with it is the same execution.
    webhook_id    TEXT,
    -- The raw body, as received.
    body          TEXT NOT NULL,
    -- The work items of a `provided` trigger, as a JSON list; NULL otherwise.
    work_items    TEXT,
    -- Where it came from (the peer address) and how it proved itself (token, path, signature).
    source        TEXT NOT NULL,
    auth          TEXT NOT NULL,
    -- How many flows led to this request (X-Automation-Depth): a chain stops at 10 with LOOP.
    depth         INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    owner         TEXT,
    lease_until   INTEGER,
    -- The audit log of each step (type, status, rendered inputs with secrets redacted, outputs,
    -- messages), as a JSON list, once finished.
    steps         TEXT,
    duration_ms   INTEGER
);
CREATE UNIQUE INDEX flow_executions_webhook_id ON flow_executions (flow_id, webhook_id);
CREATE INDEX flow_executions_by_flow ON flow_executions (flow_id, received_at);
CREATE INDEX flow_executions_queued ON flow_executions (state, received_at);
