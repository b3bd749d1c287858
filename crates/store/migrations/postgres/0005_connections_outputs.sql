-- Connections to the final-action targets (TARGETS.md) and what the local connection keeps.
-- PostgreSQL twin of migrations/sqlite/0005_connections_outputs.sql; keep them in step.

CREATE TABLE connections (
    connection_id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    name_key      TEXT COLLATE "C" NOT NULL UNIQUE,
    -- slackWebhook, slackBot, confluence, jira, smtp, local
    kind          TEXT COLLATE "C" NOT NULL,
    -- The typed settings that are not secret, as JSON.
    settings      TEXT COLLATE "C" NOT NULL,
    -- The credential (token, password, webhook URL), sealed with the installation's key.
    secret_sealed TEXT COLLATE "C",
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- What the local connection stored instead of sending: pages, messages, work items, emails.
CREATE TABLE outputs (
    output_id     TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    -- page, message, workItem, email
    kind          TEXT COLLATE "C" NOT NULL,
    -- The work item key (LOCAL-1, LOCAL-2, …); NULL for other kinds.
    item_key      TEXT COLLATE "C" UNIQUE,
    -- A page title, a channel, a summary, a subject.
    title         TEXT COLLATE "C" NOT NULL,
    -- Everything else, as JSON (the Markdown and its rendering, headers, fields).
    data          TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX outputs_newest ON outputs (kind, created_at);
