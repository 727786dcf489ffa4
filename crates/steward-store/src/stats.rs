//! Counts for monitoring: jobs by kind and status, access requests by state. `/metrics`
//! reads them at scrape time, so every process sharing the database reports the same
//! figures whichever of them did the work.

use crate::Store;
use crate::error::Result;
use crate::store::with_pool;

/// Monitoring counts over the whole store.
#[derive(Debug, Clone, Copy)]
pub struct Stats<'a> {
    pub(crate) store: &'a Store,
}

impl Stats<'_> {
    /// How many jobs there are per (kind, status), sorted.
    ///
    /// # Errors
    /// [`crate::Error::Database`].
    pub async fn jobs_by_status(&self) -> Result<Vec<(String, String, i64)>> {
        let mut rows: Vec<(String, String, i64)> = with_pool!(self.store, pool => {
            sqlx::query_as("SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status")
                .fetch_all(pool)
                .await?
        });
        rows.sort();
        Ok(rows)
    }

    /// How many access requests there are per state, sorted.
    ///
    /// # Errors
    /// [`crate::Error::Database`].
    pub async fn requests_by_state(&self) -> Result<Vec<(String, i64)>> {
        let mut rows: Vec<(String, i64)> = with_pool!(self.store, pool => {
            sqlx::query_as("SELECT state, COUNT(*) FROM access_requests GROUP BY state")
                .fetch_all(pool)
                .await?
        });
        rows.sort();
        Ok(rows)
    }

    /// How many access requests' revocation jobs failed (the access is still there and an
    /// admin should retry).
    ///
    /// # Errors
    /// [`crate::Error::Database`].
    pub async fn failed_revocations(&self) -> Result<i64> {
        Ok(with_pool!(self.store, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM access_requests WHERE revocation_status = 'failed'",
            )
            .fetch_one(pool)
            .await?
        }))
    }
}
