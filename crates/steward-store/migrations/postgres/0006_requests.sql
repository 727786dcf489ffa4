-- Steward store: access requests, their approvals, and the scheduler's slot claims (PostgreSQL).
-- Keep in step with migrations/sqlite/0006_requests.sql.

CREATE TABLE access_requests (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject        TEXT    NOT NULL,
    entitlements   TEXT    NOT NULL,
    justification  TEXT    NOT NULL,
    duration_secs  BIGINT,
    requested_by   TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'provisioning',
                       'provisioned', 'failed', 'denied', 'cancelled', 'expired', 'revoked')),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    approved_at    TIMESTAMPTZ,
    provisioned_at TIMESTAMPTZ,
    expires_at     TIMESTAMPTZ,
    grant_job_id   BIGINT,
    revoke_job_id  BIGINT,
    decided_by     TEXT,
    reason         TEXT
);
CREATE INDEX access_requests_state ON access_requests (state, id);

CREATE TABLE request_approvals (
    request_id BIGINT  NOT NULL REFERENCES access_requests (id),
    approver   TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('viewer', 'requester', 'approver', 'admin')),
    comment    TEXT,
    at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, approver)
);

CREATE TABLE schedule_slots (
    name       TEXT    PRIMARY KEY,
    slot       BIGINT  NOT NULL,
    owner      TEXT    NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL
);
