-- Webhooks (PRODUCT §6, DELIVERY.md): subscriptions, the outbox of deliveries with one row per
-- attempt, and the record of expiry notices already sent.
-- PostgreSQL twin of migrations/sqlite/0003_webhooks.sql; keep them in step (schema-parity test).

CREATE TABLE webhook_subscriptions (
    subscription_id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name            TEXT COLLATE "C" NOT NULL,
    name_key        TEXT COLLATE "C" NOT NULL UNIQUE,
    url             TEXT COLLATE "C" NOT NULL,
    -- The secret, sealed with the installation's key (never stored in clear).
    secret_sealed   TEXT COLLATE "C" NOT NULL,
    -- JSON array of triggers: taskSuccess, taskFailure, orgKeyExpiry.
    triggers        TEXT COLLATE "C" NOT NULL,
    notes           TEXT COLLATE "C" NOT NULL,
    enabled         BIGINT NOT NULL,
    -- Why it was switched off by ucm (a 410 answer), if it was.
    disabled_reason TEXT COLLATE "C",
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- The outbox: written in the same transaction as the event (a run's outcome, an expiry notice).
CREATE TABLE webhook_deliveries (
    -- Stable across retries; sent as `webhook-id`.
    delivery_id     TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    subscription_id TEXT COLLATE "C" NOT NULL REFERENCES webhook_subscriptions (subscription_id) ON DELETE CASCADE,
    event           TEXT COLLATE "C" NOT NULL,
    process_id      TEXT COLLATE "C",
    api_key_id      TEXT COLLATE "C",
    -- The exact bytes sent and signed, never re-serialised.
    body            TEXT COLLATE "C" NOT NULL,
    -- pending, in_flight, retrying, succeeded, dead
    state           TEXT COLLATE "C" NOT NULL,
    attempts        BIGINT NOT NULL,
    -- Attempts made before the current round (a redelivery by hand starts a new round of
    -- 1 attempt + retries).
    round_start     BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT COLLATE "C",
    lease_until     BIGINT,
    last_status     BIGINT,
    last_error      TEXT COLLATE "C",
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, created_at);
CREATE INDEX webhook_deliveries_process ON webhook_deliveries (process_id);

CREATE TABLE webhook_attempts (
    delivery_id     TEXT COLLATE "C" NOT NULL REFERENCES webhook_deliveries (delivery_id) ON DELETE CASCADE,
    attempt         BIGINT NOT NULL,
    started_at      BIGINT NOT NULL,
    duration_ms     BIGINT NOT NULL,
    -- The HTTP status, or NULL when there was no answer (then error_kind says why).
    status          BIGINT,
    error_kind      TEXT COLLATE "C",
    -- The first bytes of the answer.
    response_prefix TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- One orgKeyExpiry per key per expiry date: a renewed key (new expires_at) fires again.
CREATE TABLE key_expiry_notices (
    api_key_id TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    noticed_at BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, expires_at)
);
