-- Flows of the automation engine (AUTOMATION.md): a trigger and steps, kept as JSON.
-- PostgreSQL twin of migrations/sqlite/0006_flows.sql; keep them in step.

CREATE TABLE flows (
    flow_id        TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name           TEXT COLLATE "C" NOT NULL,
    enabled        BIGINT NOT NULL,
    -- The trigger and steps as written (model::flow::FlowDefinition without name and state).
    definition     TEXT COLLATE "C" NOT NULL,
    -- The incoming webhook's secret, sealed with the installation's key; minted on first save.
    secret_sealed  TEXT COLLATE "C" NOT NULL,
    created_by     TEXT COLLATE "C" NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX flows_by_name ON flows (name, flow_id);
