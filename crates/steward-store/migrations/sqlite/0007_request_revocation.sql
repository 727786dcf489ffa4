-- Steward store: the outcome of an access request's revocation job, followed by the sweep like
-- the grant job's (so a failed revocation shows on the request and can be retried).
-- Keep in step with migrations/postgres/0007_request_revocation.sql.

-- 'in_progress' while the revocation job is queued or running, then 'succeeded' or 'failed'
-- (with the job's error); NULL when no revocation job was queued.
ALTER TABLE access_requests ADD COLUMN revocation_status TEXT
    CHECK (revocation_status IN ('in_progress', 'succeeded', 'failed'));
ALTER TABLE access_requests ADD COLUMN revocation_error TEXT;

-- Revocations queued before this migration: the next sweep records their outcome.
UPDATE access_requests SET revocation_status = 'in_progress' WHERE revoke_job_id IS NOT NULL;
