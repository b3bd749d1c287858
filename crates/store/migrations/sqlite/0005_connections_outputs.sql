-- Connections to the final-action targets (TARGETS.md) and what the local connection keeps.

CREATE TABLE connections (
    connection_id TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL UNIQUE,
    -- slackWebhook, slackBot, confluence, jira, smtp, local
    kind          TEXT NOT NULL,
    -- The typed settings that are not secret, as JSON.
    settings      TEXT NOT NULL,
    -- The credential (token, password, webhook URL), sealed with the installation's key.
    secret_sealed TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- What the local connection stored instead of sending: pages, messages, work items, emails.
CREATE TABLE outputs (
    output_id     TEXT PRIMARY KEY NOT NULL,
    -- page, message, workItem, email
    kind          TEXT NOT NULL,
    -- The work item key (LOCAL-1, LOCAL-2, …); NULL for other kinds.
    item_key      TEXT UNIQUE,
    -- A page title, a channel, a summary, a subject.
    title         TEXT NOT NULL,
    -- Everything else, as JSON (the Markdown and its rendering, headers, fields).
    data          TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX outputs_newest ON outputs (kind, created_at);
