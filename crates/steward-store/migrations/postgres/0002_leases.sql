-- Leases: one named, time-bound claim per activity that must run once at a time across
-- processes (the sync; later the scheduler). A holder renews before `expires_at`; anyone may
-- take over an expired lease.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
