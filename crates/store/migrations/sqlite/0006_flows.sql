-- Flows of the automation engine (AUTOMATION.md): a trigger and steps, kept as JSON.

CREATE TABLE flows (
    flow_id        TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    enabled        INTEGER NOT NULL,
    -- The trigger and steps as written (model::flow::FlowDefinition without name and state).
    definition     TEXT NOT NULL,
    -- The incoming webhook's secret, sealed with the installation's key; minted on first save.
    secret_sealed  TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX flows_by_name ON flows (name, flow_id);
