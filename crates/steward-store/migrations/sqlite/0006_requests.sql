-- Steward store: access requests, their approvals, and the scheduler's slot claims (SQLite).
-- Keep in step with migrations/postgres/0006_requests.sql.

CREATE TABLE access_requests (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    subject        TEXT    NOT NULL,
    entitlements   TEXT    NOT NULL,
    justification  TEXT    NOT NULL,
    duration_secs  INTEGER,
    requested_by   TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'provisioning',
                       'provisioned', 'failed', 'denied', 'cancelled', 'expired', 'revoked')),
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    approved_at    TEXT,
    provisioned_at TEXT,
    expires_at     TEXT,
    grant_job_id   INTEGER,
    revoke_job_id  INTEGER,
    decided_by     TEXT,
    reason         TEXT
);
CREATE INDEX access_requests_state ON access_requests (state, id);

CREATE TABLE request_approvals (
    request_id INTEGER NOT NULL REFERENCES access_requests (id),
    approver   TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('viewer', 'requester', 'approver', 'admin')),
    comment    TEXT,
    at         TEXT    NOT NULL,
    PRIMARY KEY (request_id, approver)
);

CREATE TABLE schedule_slots (
    name       TEXT    PRIMARY KEY,
    slot       INTEGER NOT NULL,
    owner      TEXT    NOT NULL,
    claimed_at TEXT    NOT NULL
);
