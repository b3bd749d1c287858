-- Webhooks (PRODUCT §6, DELIVERY.md): subscriptions, the outbox of deliveries with one row per
-- attempt, and the record of expiry notices already sent.

CREATE TABLE webhook_subscriptions (
    subscription_id TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL UNIQUE,
    url             TEXT NOT NULL,
    -- The secret, sealed with the installation's key (never stored in clear).
    secret_sealed   TEXT NOT NULL,
    -- JSON array of triggers: taskSuccess, taskFailure, orgKeyExpiry.
    triggers        TEXT NOT NULL,
    notes           TEXT NOT NULL,
    enabled         INTEGER NOT NULL,
    -- Why it was switched off by ucm (a 410 answer), if it was.
    disabled_reason TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- The outbox: written in the same transaction as the event (a run's outcome, an expiry notice).
CREATE TABLE webhook_deliveries (
    -- Stable across retries; sent as `webhook-id`.
    delivery_id     TEXT PRIMARY KEY NOT NULL,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (subscription_id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    process_id      TEXT,
    api_key_id      TEXT,
    -- The exact bytes sent and signed, never re-serialised.
    body            TEXT NOT NULL,
    -- pending, in_flight, retrying, succeeded, dead
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    -- Attempts made before the current round (a redelivery by hand starts a new round of
    -- 1 attempt + retries).
    round_start     INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, created_at);
CREATE INDEX webhook_deliveries_process ON webhook_deliveries (process_id);

CREATE TABLE webhook_attempts (
    delivery_id     TEXT NOT NULL REFERENCES webhook_deliveries (delivery_id) ON DELETE CASCADE,
    attempt         INTEGER NOT NULL,
    started_at      INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    -- The HTTP status, or NULL when there was no answer (then error_kind says why).
    status          INTEGER,
    error_kind      TEXT,
    -- The first bytes of the answer.
    response_prefix TEXT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- One orgKeyExpiry per key per expiry date: a renewed key (new expires_at) fires again.
CREATE TABLE key_expiry_notices (
    api_key_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    noticed_at INTEGER NOT NULL,
    PRIMARY KEY (api_key_id, expires_at)
);
