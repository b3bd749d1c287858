-- Requests to flows' incoming webhooks, each stored before it is answered 202: the durable
-- queue the executor claims from, and the head of the audit log.
-- PostgreSQL twin of migrations/sqlite/0007_flow_executions.sql; keep them in step.

CREATE TABLE flow_executions (
    execution_id  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    flow_id       TEXT COLLATE "C" NOT NULL,
    -- queued, running, finished
    state         TEXT COLLATE "C" NOT NULL,
    -- SUCCESS, SOME_ERRORS, FAILURE, NO_ACTIONS_PERFORMED, THROTTLED, LOOP, ABORTED once finished
    status        TEXT COLLATE "C",
    -- The sender's `webhook-id`, when given: a second request with it is the same execution.
    webhook_id    TEXT COLLATE "C",
    -- The raw body, as received.
    body          TEXT COLLATE "C" NOT NULL,
    -- The work items of a `provided` trigger, as a JSON list; NULL otherwise.
    work_items    TEXT COLLATE "C",
    -- Where it came from (the peer address) and how it proved itself (token, path, signature).
    source        TEXT COLLATE "C" NOT NULL,
    auth          TEXT COLLATE "C" NOT NULL,
    -- How many flows led to this request (X-Automation-Depth): a chain stops at 10 with LOOP.
    depth         BIGINT NOT NULL,
    received_at   BIGINT NOT NULL,
    started_at    BIGINT,
    finished_at   BIGINT,
    owner         TEXT COLLATE "C",
    lease_until   BIGINT,
    -- The audit log of each step (type, status, rendered inputs with secrets redacted, outputs,
    -- messages), as a JSON list, once finished.
    steps         TEXT COLLATE "C",
    duration_ms   BIGINT
);
CREATE UNIQUE INDEX flow_executions_webhook_id ON flow_executions (flow_id, webhook_id);
CREATE INDEX flow_executions_by_flow ON flow_executions (flow_id, received_at);
CREATE INDEX flow_executions_queued ON flow_executions (state, received_at);
