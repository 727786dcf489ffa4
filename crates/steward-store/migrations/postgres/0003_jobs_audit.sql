-- Steward store: provisioning jobs, their step journal, the hash-chained audit log and restore
-- bundles (PostgreSQL). Keep in step with migrations/sqlite/0003_jobs_audit.sql.
-- JSON columns are TEXT on both back ends (the store encodes and decodes them).

CREATE TABLE jobs (
    id               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    requested_by     TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    idempotency_key  TEXT    UNIQUE,
    plan             TEXT    NOT NULL,
    status           TEXT    NOT NULL
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts         BIGINT  NOT NULL DEFAULT 0,
    not_before       TIMESTAMPTZ NOT NULL,
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    error            TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ
);
CREATE INDEX jobs_claimable ON jobs (status, not_before, id);
CREATE INDEX jobs_subject ON jobs (subject, id);

CREATE TABLE job_steps (
    job_id      BIGINT  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq         BIGINT  NOT NULL,
    name        TEXT    NOT NULL,
    api_call    TEXT    NOT NULL,
    op          TEXT    NOT NULL,
    status      TEXT    NOT NULL
        CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
    attempts    BIGINT  NOT NULL DEFAULT 0,
    result      TEXT,
    error       TEXT,
    started_at  TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (job_id, seq)
);

-- Append-only. `seq` is assigned by the store (head + 1, under the head's lock), so it has
-- no gaps. `job_id` deliberately has no foreign key: an ON DELETE action would rewrite
-- hashed rows, and the log must outlive whatever it describes.
CREATE TABLE audit_log (
    seq       BIGINT  PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    subject   TEXT,
    reason    TEXT,
    detail    TEXT    NOT NULL,
    result    TEXT    NOT NULL,
    job_id    BIGINT,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_subject ON audit_log (subject, seq);
CREATE INDEX audit_log_job ON audit_log (job_id, seq);

-- The chain's head, updated in the transaction of every append: lets `verify` detect a
-- truncated tail, and serializes appends on PostgreSQL (SELECT ... FOR UPDATE).
CREATE TABLE audit_head (
    id   BIGINT  PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE restore_bundles (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      TEXT    NOT NULL,
    email           TEXT,
    job_id          BIGINT  REFERENCES jobs (id) ON DELETE SET NULL,
    taken_at        TIMESTAMPTZ NOT NULL,
    content         TEXT    NOT NULL,
    restored_at     TIMESTAMPTZ,
    restored_by_job BIGINT  REFERENCES jobs (id) ON DELETE SET NULL
);
CREATE INDEX restore_bundles_account ON restore_bundles (account_id, taken_at);
CREATE INDEX restore_bundles_email ON restore_bundles (email, taken_at);
