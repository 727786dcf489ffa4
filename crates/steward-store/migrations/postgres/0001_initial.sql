-- Steward store, initial schema (PostgreSQL). Keep in step with migrations/sqlite/0001_initial.sql.

CREATE TABLE sync_runs (
    id             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ,
    status         TEXT    NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'abandoned')),
    product_status TEXT    NOT NULL DEFAULT '{}',
    error          TEXT
);
CREATE INDEX sync_runs_status ON sync_runs (status, finished_at);

CREATE TABLE sync_checkpoints (
    run_id     BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    checkpoint TEXT    NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, scope)
);

CREATE TABLE org (
    run_id          BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    org_id          TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    user_management TEXT    NOT NULL,
    PRIMARY KEY (run_id, org_id)
);

CREATE TABLE sites (
    run_id   BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    cloud_id TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    url      TEXT    NOT NULL,
    PRIMARY KEY (run_id, cloud_id)
);

CREATE TABLE resources (
    run_id  BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    ari     TEXT    NOT NULL,
    product TEXT    NOT NULL,
    site    TEXT,
    seats   BIGINT ,
    PRIMARY KEY (run_id, ari)
);

CREATE TABLE directories (
    run_id       BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    directory_id TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    PRIMARY KEY (run_id, directory_id)
);

CREATE TABLE accounts (
    run_id            BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    account_id        TEXT    NOT NULL,
    email             TEXT,
    name              TEXT    NOT NULL,
    account_type      TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    account_status    TEXT    NOT NULL,
    membership_status TEXT,
    claim_status      TEXT    NOT NULL,
    management_source TEXT,
    added_to_org      TIMESTAMPTZ,
    mfa               BOOLEAN,
    PRIMARY KEY (run_id, account_id)
);
CREATE INDEX accounts_email ON accounts (run_id, email);

CREATE TABLE groups (
    run_id          BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    group_id        TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    directory_id    TEXT,
    external_synced BOOLEAN NOT NULL,
    managed_by      TEXT,
    PRIMARY KEY (run_id, group_id)
);

CREATE TABLE group_memberships (
    run_id     BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    group_id   TEXT    NOT NULL,
    account_id TEXT    NOT NULL,
    PRIMARY KEY (run_id, group_id, account_id)
);
CREATE INDEX group_memberships_account ON group_memberships (run_id, account_id);

-- via_group is '' unless source = 'group' (primary-key columns can't be NULL on PostgreSQL).
CREATE TABLE role_assignments (
    run_id       BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    account_id   TEXT    NOT NULL,
    resource_ari TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('direct', 'group', 'inferred')),
    via_group    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, account_id, resource_ari, role, source, via_group)
);
CREATE INDEX role_assignments_resource ON role_assignments (run_id, resource_ari, role);

CREATE TABLE group_roles (
    run_id       BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    group_id     TEXT    NOT NULL,
    resource_ari TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    PRIMARY KEY (run_id, group_id, resource_ari, role)
);

CREATE TABLE statuspage_members (
    run_id     BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    sp_user_id TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    account_id TEXT,
    PRIMARY KEY (run_id, sp_user_id)
);

CREATE TABLE statuspage_permissions (
    run_id              BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    sp_user_id          TEXT    NOT NULL,
    page_id             TEXT    NOT NULL,
    page_configuration  BOOLEAN NOT NULL,
    incident_manager    BOOLEAN NOT NULL,
    maintenance_manager BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, sp_user_id, page_id)
);

CREATE TABLE jsm_customers (
    run_id          BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    site            TEXT    NOT NULL,
    service_desk_id TEXT    NOT NULL,
    account_id      TEXT    NOT NULL,
    PRIMARY KEY (run_id, site, service_desk_id, account_id)
);

CREATE TABLE last_active (
    run_id     BIGINT  NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    account_id TEXT    NOT NULL,
    resource   TEXT    NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, account_id, resource)
);

CREATE TABLE change_events (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       BIGINT  REFERENCES sync_runs (id) ON DELETE SET NULL,
    detected_at  TIMESTAMPTZ NOT NULL,
    kind         TEXT    NOT NULL,
    account_id   TEXT,
    group_id     TEXT,
    resource     TEXT,
    role         TEXT,
    before_state TEXT,
    after_state  TEXT,
    out_of_band  BOOLEAN NOT NULL,
    actor_id     TEXT,
    actor_name   TEXT
);
CREATE INDEX change_events_detected ON change_events (detected_at, id);
CREATE INDEX change_events_run ON change_events (run_id);

CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    ciphertext BYTEA NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
