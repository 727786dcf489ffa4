-- Steward store: find the steps that took effect in a time window (the sync marks the changes
-- they explain as Steward's own, not out-of-band) without scanning the whole step history.
CREATE INDEX job_steps_done ON job_steps (status, finished_at);
