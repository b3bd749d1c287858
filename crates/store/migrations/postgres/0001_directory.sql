-- The directory (PRODUCT §2), API keys, saved filters and settings.
-- PostgreSQL twin of migrations/sqlite/0001_directory.sql; keep them in step (schema-parity test).
-- Instants are Unix milliseconds (BIGINT). Every text column compares bytewise (COLLATE "C"), as
-- in SQLite. `*_key` columns hold lower-cased text for lookups and ordering, computed by the
-- application so both engines agree byte for byte.

CREATE TABLE sites (
    site_id   TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name      TEXT COLLATE "C" NOT NULL,
    name_key  TEXT COLLATE "C" NOT NULL UNIQUE,
    url       TEXT COLLATE "C" NOT NULL
);

CREATE TABLE app_types (
    app_type     TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    display_name TEXT COLLATE "C" NOT NULL,
    position     BIGINT NOT NULL
);

CREATE TABLE app_type_aliases (
    alias_key TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    alias     TEXT COLLATE "C" NOT NULL,
    app_type  TEXT COLLATE "C" NOT NULL REFERENCES app_types (app_type) ON DELETE CASCADE
);

CREATE TABLE groups (
    group_id  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name      TEXT COLLATE "C" NOT NULL,
    name_key  TEXT COLLATE "C" NOT NULL UNIQUE,
    site_id   TEXT COLLATE "C" REFERENCES sites (site_id)
);

CREATE TABLE group_grants (
    group_id  TEXT COLLATE "C" NOT NULL REFERENCES groups (group_id) ON DELETE CASCADE,
    app_type  TEXT COLLATE "C" NOT NULL REFERENCES app_types (app_type),
    site_id   TEXT COLLATE "C" NOT NULL REFERENCES sites (site_id),
    PRIMARY KEY (group_id, app_type, site_id)
);

CREATE TABLE users (
    account_id    TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    display_name  TEXT COLLATE "C" NOT NULL,
    email         TEXT COLLATE "C" NOT NULL,
    name_key      TEXT COLLATE "C" NOT NULL,
    email_key     TEXT COLLATE "C" NOT NULL,
    email_domain  TEXT COLLATE "C" NOT NULL,
    status        TEXT COLLATE "C" NOT NULL,
    last_active   BIGINT,
    created_at    BIGINT NOT NULL,
    -- last_active, or created_at for a user who never signed in: what inactivity compares.
    activity_at   BIGINT NOT NULL
);
CREATE INDEX users_name_key ON users (name_key, account_id);
CREATE INDEX users_email_key ON users (email_key);
CREATE INDEX users_email_domain ON users (email_domain);
CREATE INDEX users_status ON users (status);
CREATE INDEX users_activity_at ON users (activity_at);

CREATE TABLE user_sites (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES users (account_id) ON DELETE CASCADE,
    site_id    TEXT COLLATE "C" NOT NULL REFERENCES sites (site_id),
    PRIMARY KEY (account_id, site_id)
);
CREATE INDEX user_sites_site ON user_sites (site_id, account_id);

CREATE TABLE user_groups (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES users (account_id) ON DELETE CASCADE,
    group_id   TEXT COLLATE "C" NOT NULL REFERENCES groups (group_id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, group_id)
);
CREATE INDEX user_groups_group ON user_groups (group_id, account_id);

-- Derived from user_groups × group_grants; kept in step by the store. Holds the user's last
-- activity in each app they can use (NULL: never used).
CREATE TABLE user_app_access (
    account_id  TEXT COLLATE "C" NOT NULL REFERENCES users (account_id) ON DELETE CASCADE,
    app_type    TEXT COLLATE "C" NOT NULL REFERENCES app_types (app_type),
    site_id     TEXT COLLATE "C" NOT NULL REFERENCES sites (site_id),
    last_active BIGINT,
    -- last_active, or the user's created_at when never used: what inactivity compares.
    activity_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, app_type, site_id)
);
CREATE INDEX user_app_access_app ON user_app_access (app_type, site_id, account_id, activity_at);

CREATE TABLE user_roles (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES users (account_id) ON DELETE CASCADE,
    role       TEXT COLLATE "C" NOT NULL,
    -- '' when the role is not scoped to an app or a site.
    app_type   TEXT COLLATE "C" NOT NULL DEFAULT '',
    site_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, role, app_type, site_id)
);
CREATE INDEX user_roles_role ON user_roles (role, account_id);

CREATE TABLE saved_filters (
    filter_id  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    name_key   TEXT COLLATE "C" NOT NULL UNIQUE,
    criteria   TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    api_key_id    TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    role          TEXT COLLATE "C" NOT NULL,
    principal     TEXT COLLATE "C",
    secret_hash   TEXT COLLATE "C" NOT NULL UNIQUE,
    secret_prefix TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);

CREATE TABLE settings (
    name  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    value TEXT COLLATE "C" NOT NULL
);

INSERT INTO app_types (app_type, display_name, position) VALUES
    ('jira-software', 'Jira', 1),
    ('jira-servicedesk', 'Jira Service Management', 2),
    ('confluence', 'Confluence', 3),
    ('cmdb', 'Assets', 4),
    ('customer-service-management', 'Customer Service', 5),
    ('jira-product-discovery', 'Jira Product Discovery', 6),
    ('bitbucket', 'Bitbucket', 7),
    ('compass', 'Compass', 8);

INSERT INTO app_type_aliases (alias_key, alias, app_type) VALUES
    ('jsm', 'JSM', 'jira-servicedesk'),
    ('service desk', 'service desk', 'jira-servicedesk'),
    ('csm', 'CSM', 'customer-service-management'),
    ('jpd', 'JPD', 'jira-product-discovery');
