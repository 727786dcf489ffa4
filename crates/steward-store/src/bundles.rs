//! Restore bundles: what a person had (roles, groups, Statuspage permissions, …) saved before a
//! destructive step, so `steward restore <email>` can reinstate it. The content is opaque JSON
//! to the store; the engine defines it.

use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::is_postgres;
use crate::error::{Error, Result};
use crate::jobs::JobId;
use crate::store::{Store, now, with_pool, with_tx};

/// Identifier of a restore bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BundleId(pub i64);

impl fmt::Display for BundleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A bundle to save.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewBundle {
    /// The person's Atlassian account id.
    pub account_id: String,
    /// Their email, if known (bundles are found by either).
    pub email: Option<String>,
    /// The job whose destructive step this bundle precedes.
    pub job_id: Option<JobId>,
    /// When the state it holds was read (e.g. the sync or read-back it comes from).
    pub taken_at: DateTime<Utc>,
    /// What the person had, in the engine's format.
    pub content: serde_json::Value,
}

/// A saved bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// The bundle.
    pub id: BundleId,
    /// What was saved (`taken_at` at microsecond precision).
    #[serde(flatten)]
    pub bundle: NewBundle,
    /// When it was marked restored.
    pub restored_at: Option<DateTime<Utc>>,
    /// The job that restored it.
    pub restored_by: Option<JobId>,
}

#[derive(sqlx::FromRow)]
struct BundleRecord {
    id: i64,
    account_id: String,
    email: Option<String>,
    job_id: Option<i64>,
    taken_at: DateTime<Utc>,
    content: String,
    restored_at: Option<DateTime<Utc>>,
    restored_by_job: Option<i64>,
}

/// The `restore_bundles` columns decoded into [`BundleRecord`].
macro_rules! bundle_columns {
    () => {
        "id, account_id, email, job_id, taken_at, content, restored_at, restored_by_job"
    };
}

impl BundleRecord {
    fn decode(self) -> Result<Bundle> {
        Ok(Bundle {
            id: BundleId(self.id),
            bundle: NewBundle {
                account_id: self.account_id,
                email: self.email,
                job_id: self.job_id.map(JobId),
                taken_at: self.taken_at,
                content: serde_json::from_str(&self.content).map_err(|e| Error::Corrupt {
                    column: "restore_bundles.content",
                    detail: e.to_string(),
                })?,
            },
            restored_at: self.restored_at,
            restored_by: self.restored_by_job.map(JobId),
        })
    }
}

/// Restore bundles.
#[derive(Debug, Clone, Copy)]
pub struct Bundles<'a> {
    pub(crate) store: &'a Store,
}

impl Bundles<'_> {
    /// Saves a bundle and returns its id. Not idempotent: each call saves a new bundle (the
    /// newest one is what [`Bundles::latest_for`] returns). `job_id`, if given, must exist.
    ///
    /// # Errors
    /// [`Error::Json`], [`Error::Database`] (e.g. an unknown job).
    pub async fn save(&self, bundle: &NewBundle) -> Result<BundleId> {
        let content = serde_json::to_string(&bundle.content)?;
        let id: i64 = with_pool!(self.store, pool => {
            sqlx::query_scalar(
                "INSERT INTO restore_bundles (account_id, email, job_id, taken_at, content) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(&bundle.account_id)
            .bind(bundle.email.as_deref())
            .bind(bundle.job_id.map(|j| j.0))
            .bind(bundle.taken_at.trunc_subsecs(6))
            .bind(&content)
            .fetch_one(pool)
            .await?
        });
        tracing::info!(bundle = id, account_id = %bundle.account_id, "saved restore bundle");
        Ok(BundleId(id))
    }

    /// One bundle.
    ///
    /// # Errors
    /// [`Error::UnknownBundle`], [`Error::Database`], [`Error::Corrupt`].
    pub async fn get(&self, id: BundleId) -> Result<Bundle> {
        let row: Option<BundleRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(concat!(
                "SELECT ",
                bundle_columns!(),
                " FROM restore_bundles WHERE id = $1"
            ))
            .bind(id.0)
            .fetch_optional(pool)
            .await?
        });
        row.ok_or(Error::UnknownBundle(id))?.decode()
    }

    /// The newest bundle (by `taken_at`, then id) of the person with this account id or
    /// email (emails compared case-insensitively, ASCII), restored or not: check
    /// [`Bundle::restored_at`]. `None` if there is none.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn latest_for(&self, account_or_email: &str) -> Result<Option<Bundle>> {
        let rows: Vec<BundleRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(concat!(
                "SELECT ",
                bundle_columns!(),
                " FROM restore_bundles WHERE account_id = $1 OR lower(email) = lower($1)"
            ))
            .bind(account_or_email)
            .fetch_all(pool)
            .await?
        });
        // Sorted in Rust: one ordering on both back ends.
        rows.into_iter()
            .max_by(|a, b| (a.taken_at, a.id).cmp(&(b.taken_at, b.id)))
            .map(BundleRecord::decode)
            .transpose()
    }

    /// Records that `job` restored the bundle. Idempotent for the same job; a bundle restored
    /// by another job is refused.
    ///
    /// # Errors
    /// [`Error::UnknownBundle`], [`Error::BundleAlreadyRestored`], [`Error::Database`]
    /// (e.g. an unknown job).
    pub async fn mark_restored(&self, id: BundleId, job: JobId) -> Result<()> {
        let at = now();
        with_tx!(self.store, tx => {
            let sql = if is_postgres(&tx) {
                "SELECT restored_by_job FROM restore_bundles WHERE id = $1 FOR UPDATE"
            } else {
                "SELECT restored_by_job FROM restore_bundles WHERE id = $1"
            };
            let current: Option<(Option<i64>,)> =
                sqlx::query_as(sql).bind(id.0).fetch_optional(&mut *tx).await?;
            match current.ok_or(Error::UnknownBundle(id))?.0 {
                Some(by) if by == job.0 => {}
                Some(by) => {
                    return Err(Error::BundleAlreadyRestored { bundle: id, by: JobId(by) });
                }
                None => {
                    sqlx::query(
                        "UPDATE restore_bundles SET restored_at = $2, restored_by_job = $3 \
                         WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(at)
                    .bind(job.0)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        });
        tracing::info!(bundle = id.0, job = job.0, "restore bundle marked restored");
        Ok(())
    }
}
