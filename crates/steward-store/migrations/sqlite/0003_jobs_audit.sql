-- Steward store: provisioning jobs, their step journal, the hash-chained audit log and restore
-- bundles (SQLite). Keep in step with migrations/postgres/0003_jobs_audit.sql.
-- JSON columns are TEXT on both back ends (the store encodes and decodes them).

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    requested_by     TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    idempotency_key  TEXT    UNIQUE,
    plan             TEXT    NOT NULL,
    status           TEXT    NOT NULL
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    not_before       TEXT    NOT NULL,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    error            TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    finished_at      TEXT
);
CREATE INDEX jobs_claimable ON jobs (status, not_before, id);
CREATE INDEX jobs_subject ON jobs (subject, id);

CREATE TABLE job_steps (
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    api_call    TEXT    NOT NULL,
    op          TEXT    NOT NULL,
    status      TEXT    NOT NULL
        CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    result      TEXT,
    error       TEXT,
    started_at  TEXT,
    finished_at TEXT,
    PRIMARY KEY (job_id, seq)
);

-- Append-only. `seq` is assigned by the store (head + 1, under the head's lock), so it has
-- no gaps. `job_id` deliberately has no foreign key: an ON DELETE action would rewrite
-- hashed rows, and the log must outlive whatever it describes.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    subject   TEXT,
    reason    TEXT,
    detail    TEXT    NOT NULL,
    result    TEXT    NOT NULL,
    job_id    INTEGER,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_subject ON audit_log (subject, seq);
CREATE INDEX audit_log_job ON audit_log (job_id, seq);

-- The chain's head, updated in the transaction of every append: lets `verify` detect a
-- truncated tail, and serializes appends on PostgreSQL (SELECT ... FOR UPDATE).
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE restore_bundles (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      TEXT    NOT NULL,
    email           TEXT,
    job_id          INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    taken_at        TEXT    NOT NULL,
    content         TEXT    NOT NULL,
    restored_at     TEXT,
    restored_by_job INTEGER REFERENCES jobs (id) ON DELETE SET NULL
);
CREATE INDEX restore_bundles_account ON restore_bundles (account_id, taken_at);
CREATE INDEX restore_bundles_email ON restore_bundles (email, taken_at);
