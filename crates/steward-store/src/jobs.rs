//! Durable provisioning jobs made of journaled steps, claimed by workers under a lease.
//!
//! Life cycle of a job: `queued` → (claimed) `running` → `succeeded` | `failed`; a running job
//! can go back to `queued` ([`Jobs::retry_later`]); a queued job can be `cancelled`. A worker
//! [`Jobs::claim`]s the oldest due job and holds it under a lease (owner name + expiry); every
//! later write is **fenced**: it commits only if the writer still holds an unexpired lease,
//! otherwise it fails with [`Error::LeaseLost`] and changes nothing. A job whose worker died
//! (lease expired while `running`) is claimed again and **resumed**, not restarted: its step
//! journal says where it was.
//!
//! Step statuses: `pending` (not started), `running` (started, outcome unknown), `done`,
//! `failed`, `skipped`. `done` and `skipped` are final. A step found `running` by a new owner
//! was interrupted by a crash: it may or may not have taken effect, so the engine re-runs it
//! (every step must be idempotent). A `failed` step may be started again (after
//! [`Jobs::retry_later`]).
//!
//! PostgreSQL: claims use `FOR UPDATE SKIP LOCKED`, so several workers never hold the same
//! job at once; fenced writes lock the job row, so a write and a takeover can't interleave.
//! SQLite: every write transaction is `BEGIN IMMEDIATE` (one writer at a time).
//! Leases use the application's clock: keep worker clocks within a small fraction of the lease.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditEntry, EncodedAudit, NewAuditEntry, append_audit, is_postgres};
use crate::error::{Error, Result};
use crate::store::{Store, now, with_pool, with_tx};

/// The longest lease granted; longer requests are clamped to it.
pub const MAX_LEASE: Duration = Duration::from_secs(24 * 60 * 60);

/// Identifier of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a job is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker (from `not_before` on).
    Queued,
    /// Held by a worker under a lease (or its worker died and the lease will expire).
    Running,
    /// Every step done or skipped. Final.
    Succeeded,
    /// Stopped with an error; completed steps stay visible. Final.
    Failed,
    /// Cancelled before it ran. Final.
    Cancelled,
}

impl JobStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [JobStatus; 5] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The TEXT stored in `jobs.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether no further change can happen.
    pub fn is_final(self) -> bool {
        match self {
            Self::Succeeded | Self::Failed | Self::Cancelled => true,
            Self::Queued | Self::Running => false,
        }
    }

    /// The status a `jobs.status` TEXT names ([`Error::Corrupt`] for any other text).
    ///
    /// # Errors
    /// [`Error::Corrupt`].
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| Error::Corrupt {
                column: "jobs.status",
                detail: s.to_owned(),
            })
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a step is. `Done` and `Skipped` are final; see the module docs for resuming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not started.
    Pending,
    /// Started; if the job's owner changed since, interrupted: re-run it.
    Running,
    /// Took effect (verified by the engine). Final.
    Done,
    /// Failed; may be started again after [`Jobs::retry_later`].
    Failed,
    /// Not needed (e.g. already in the desired state). Final.
    Skipped,
}

impl StepStatus {
    /// The TEXT stored in `job_steps.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    /// Whether the step is `done` or `skipped` (final, never run again).
    pub fn is_finished(self) -> bool {
        match self {
            Self::Done | Self::Skipped => true,
            Self::Pending | Self::Running | Self::Failed => false,
        }
    }

    fn parse(s: &str) -> Result<Self> {
        [
            Self::Pending,
            Self::Running,
            Self::Done,
            Self::Failed,
            Self::Skipped,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
        .ok_or_else(|| Error::Corrupt {
            column: "job_steps.status",
            detail: s.to_owned(),
        })
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a worker ends a job with [`Jobs::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// Every step is done or skipped.
    Succeeded,
    /// Stopped for good (a permanent error, or retries exhausted).
    Failed,
}

impl JobOutcome {
    fn status(self) -> JobStatus {
        match self {
            Self::Succeeded => JobStatus::Succeeded,
            Self::Failed => JobStatus::Failed,
        }
    }
}

/// One step of a new job, in execution order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewStep {
    /// What it does, for people (`grant jira:acme/user to ada@acme.test`).
    pub name: String,
    /// The API call it makes (`POST /admin/v2/orgs/{orgId}/directories/{directoryId}/groups/{groupId}/memberships`).
    pub api_call: String,
    /// The operation, for the engine (opaque to the store).
    pub op: serde_json::Value,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    /// What kind of job (`grant`, `revoke`, `offboard`, `restore`), chosen by the engine.
    pub kind: String,
    /// Whom it concerns (an email).
    pub subject: String,
    /// Who asked.
    pub requested_by: String,
    /// Why.
    pub reason: String,
    /// With a key, enqueueing again with the same key returns the first job instead of
    /// creating another (an HTTP `Idempotency-Key`, an access request's id).
    pub idempotency_key: Option<String>,
    /// The plan the steps come from (opaque to the store).
    pub plan: serde_json::Value,
    /// The steps, numbered 1, 2, … in this order.
    pub steps: Vec<NewStep>,
    /// Not to be claimed before this instant (e.g. an expiry); `None` for now.
    pub not_before: Option<DateTime<Utc>>,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The job.
    pub id: JobId,
    /// Kind, as enqueued.
    pub kind: String,
    /// Subject, as enqueued.
    pub subject: String,
    /// Who asked.
    pub requested_by: String,
    /// Why.
    pub reason: String,
    /// Idempotency key, if any.
    pub idempotency_key: Option<String>,
    /// The plan.
    pub plan: serde_json::Value,
    /// Life-cycle status.
    pub status: JobStatus,
    /// How many times it was claimed.
    pub attempts: i64,
    /// Not claimed before this instant.
    pub not_before: DateTime<Utc>,
    /// The worker holding it (while running), or the last one that did (after it finished).
    pub lease_owner: Option<String>,
    /// When the current lease expires (only while running).
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Why it failed, was cancelled, or the last transient error before a retry.
    pub error: Option<String>,
    /// When enqueued.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it became succeeded, failed or cancelled.
    pub finished_at: Option<DateTime<Utc>>,
}

/// One step of a job, as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStep {
    /// Position, from 1.
    pub seq: i64,
    /// What it does, for people.
    pub name: String,
    /// The API call it makes.
    pub api_call: String,
    /// The operation, for the engine.
    pub op: serde_json::Value,
    /// Where it is.
    pub status: StepStatus,
    /// How many times it was started.
    pub attempts: i64,
    /// What it produced (when done), e.g. the created account id.
    pub result: Option<serde_json::Value>,
    /// Why it failed, or why it was skipped.
    pub error: Option<String>,
    /// When it was last started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it became done, failed or skipped.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job with its step journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetail {
    /// The job.
    pub job: Job,
    /// Its steps, by seq.
    pub steps: Vec<JobStep>,
}

impl JobDetail {
    /// The first step that is not `done` or `skipped`: where a (resumed) worker continues.
    /// `None` when every step is finished.
    pub fn next_step(&self) -> Option<&JobStep> {
        self.steps.iter().find(|s| !s.status.is_finished())
    }
}

/// What [`Jobs::claim`] returns: the job (now `running`, leased to the caller) and its steps.
/// If `job.attempts > 1` it is a resumption: steps may be `done`, `running` (interrupted) or
/// `failed`.
pub type ClaimedJob = JobDetail;

/// What [`Jobs::enqueue`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enqueued {
    /// The new job, or the existing one with the same idempotency key.
    pub id: JobId,
    /// False when the idempotency key matched an existing job (nothing was written).
    pub created: bool,
    /// The audit entry appended with the job (only when created and one was given).
    pub audit: Option<AuditEntry>,
}

/// Filters for [`Jobs::list`]; every field is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobQuery {
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Only jobs about this subject (compared case-insensitively, ASCII).
    pub subject: Option<String>,
    /// At most this many jobs.
    pub limit: Option<i64>,
    /// Only jobs with a larger id (to page: pass the last id seen).
    pub after_id: Option<JobId>,
}

/// A step that took effect (`done`), with what of its job the change-event attribution needs
/// ([`Jobs::done_steps_between`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoneStep {
    /// The job.
    pub job_id: JobId,
    /// The job's kind (`grant`, `revoke`, …).
    pub kind: String,
    /// The job's subject (an email).
    pub subject: String,
    /// Who asked for the job.
    pub requested_by: String,
    /// The step's position in its job.
    pub seq: i64,
    /// The operation (opaque to the store).
    pub op: serde_json::Value,
    /// When the step became `done`.
    pub finished_at: DateTime<Utc>,
    /// The subject's account id: the `account_id` of this step's result, else of another
    /// done step of the same job (the first step may invite the account, so the plan may not
    /// know it). `None` when no done step of the job recorded one.
    pub account_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct DoneStepRecord {
    job_id: i64,
    kind: String,
    subject: String,
    requested_by: String,
    seq: i64,
    op: String,
    result: Option<String>,
    finished_at: DateTime<Utc>,
}

/// The `account_id` string of a step result's JSON, if any.
fn result_account_id(result: Option<&str>) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(result?).ok()?;
    value
        .get("account_id")
        .and_then(serde_json::Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

#[derive(sqlx::FromRow)]
struct JobRecord {
    id: i64,
    kind: String,
    subject: String,
    requested_by: String,
    reason: String,
    idempotency_key: Option<String>,
    plan: String,
    status: String,
    attempts: i64,
    not_before: DateTime<Utc>,
    lease_owner: Option<String>,
    lease_expires_at: Option<DateTime<Utc>>,
    error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

/// The `jobs` columns decoded into [`JobRecord`].
macro_rules! job_columns {
    () => {
        "id, kind, subject, requested_by, reason, idempotency_key, plan, status, attempts, \
         not_before, lease_owner, lease_expires_at, error, created_at, updated_at, finished_at"
    };
}

impl JobRecord {
    fn decode(self) -> Result<Job> {
        Ok(Job {
            id: JobId(self.id),
            kind: self.kind,
            subject: self.subject,
            requested_by: self.requested_by,
            reason: self.reason,
            idempotency_key: self.idempotency_key,
            plan: json_column(&self.plan, "jobs.plan")?,
            status: JobStatus::parse(&self.status)?,
            attempts: self.attempts,
            not_before: self.not_before,
            lease_owner: self.lease_owner,
            lease_expires_at: self.lease_expires_at,
            error: self.error,
            created_at: self.created_at,
            updated_at: self.updated_at,
            finished_at: self.finished_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct StepRecord {
    seq: i64,
    name: String,
    api_call: String,
    op: String,
    status: String,
    attempts: i64,
    result: Option<String>,
    error: Option<String>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

/// The `job_steps` columns decoded into [`StepRecord`].
macro_rules! step_columns {
    () => {
        "seq, name, api_call, op, status, attempts, result, error, started_at, finished_at"
    };
}

impl StepRecord {
    fn decode(self) -> Result<JobStep> {
        Ok(JobStep {
            seq: self.seq,
            name: self.name,
            api_call: self.api_call,
            op: json_column(&self.op, "job_steps.op")?,
            status: StepStatus::parse(&self.status)?,
            attempts: self.attempts,
            result: self
                .result
                .map(|r| json_column(&r, "job_steps.result"))
                .transpose()?,
            error: self.error,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

fn json_column(text: &str, column: &'static str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt {
        column,
        detail: e.to_string(),
    })
}

fn detail(job: JobRecord, steps: Vec<StepRecord>) -> Result<JobDetail> {
    Ok(JobDetail {
        job: job.decode()?,
        steps: steps
            .into_iter()
            .map(StepRecord::decode)
            .collect::<Result<_>>()?,
    })
}

/// `at + lease`, the lease clamped to [`MAX_LEASE`], at the store's microsecond precision.
fn lease_expiry(at: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(lease.min(MAX_LEASE))
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(at)
        .trunc_subsecs(6)
}

/// The oldest claimable job: due and queued, or running under an expired lease.
macro_rules! claim_select {
    () => {
        "SELECT id FROM jobs WHERE (status = 'queued' AND not_before <= $1) \
         OR (status = 'running' AND lease_expires_at <= $1) ORDER BY id LIMIT 1"
    };
}

/// Inside [`with_tx!`]: returns early with [`Error::LeaseLost`] (or [`Error::UnknownJob`])
/// unless `$owner` holds an unexpired lease on `$job` at `$at`. On PostgreSQL the job row stays
/// locked until commit, so no claim can take the job over mid-write.
macro_rules! fence {
    ($tx:ident, $job:expr, $owner:expr, $at:expr) => {{
        let job: JobId = $job;
        let owner: &str = $owner;
        let held = sqlx::query(
            "UPDATE jobs SET updated_at = $3 WHERE id = $1 AND status = 'running' \
             AND lease_owner = $2 AND lease_expires_at > $3",
        )
        .bind(job.0)
        .bind(owner)
        .bind($at)
        .execute(&mut *$tx)
        .await?
        .rows_affected();
        if held == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM jobs WHERE id = $1")
                .bind(job.0)
                .fetch_optional(&mut *$tx)
                .await?;
            return Err(match exists {
                None => Error::UnknownJob(job),
                Some(_) => {
                    tracing::warn!(job = job.0, owner, "fenced write refused: lease lost");
                    Error::LeaseLost {
                        job,
                        owner: owner.to_owned(),
                    }
                }
            });
        }
    }};
}

/// How a step changes in [`Jobs::step_write`].
enum StepWrite {
    Started,
    Done(String),
    Failed(String),
    Skipped(String),
}

/// The job queue. Cheap to create (borrows the store).
#[derive(Debug, Clone, Copy)]
pub struct Jobs<'a> {
    pub(crate) store: &'a Store,
}

impl Jobs<'_> {
    /// Enqueues a job with its steps (all `pending`), and the audit entry if given (attributed
    /// to the new job), in one transaction. With an idempotency key that is already used,
    /// nothing is written and the existing job is returned (`created: false`), even under
    /// concurrent enqueues.
    ///
    /// # Errors
    /// [`Error::Json`], [`Error::Database`].
    pub async fn enqueue(&self, job: &NewJob, audit: Option<&NewAuditEntry>) -> Result<Enqueued> {
        let plan = serde_json::to_string(&job.plan)?;
        let ops = job
            .steps
            .iter()
            .map(|s| serde_json::to_string(&s.op))
            .collect::<Result<Vec<_>, _>>()?;
        let audit = audit.map(EncodedAudit::new).transpose()?;
        let at = now();
        let not_before = job.not_before.map_or(at, |t| t.trunc_subsecs(6));
        let out = with_tx!(self.store, tx => {
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO jobs (kind, subject, requested_by, reason, idempotency_key, plan, \
                 status, attempts, not_before, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8, $8) \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            )
            .bind(&job.kind)
            .bind(&job.subject)
            .bind(&job.requested_by)
            .bind(&job.reason)
            .bind(job.idempotency_key.as_deref())
            .bind(&plan)
            .bind(not_before)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            match inserted {
                None => {
                    // The key is taken (only a non-NULL key can conflict).
                    let existing: i64 =
                        sqlx::query_scalar("SELECT id FROM jobs WHERE idempotency_key = $1")
                            .bind(job.idempotency_key.as_deref())
                            .fetch_one(&mut *tx)
                            .await?;
                    Enqueued { id: JobId(existing), created: false, audit: None }
                }
                Some(id) => {
                    for (i, (step, op)) in job.steps.iter().zip(&ops).enumerate() {
                        sqlx::query(
                            "INSERT INTO job_steps (job_id, seq, name, api_call, op, status, \
                             attempts) VALUES ($1, $2, $3, $4, $5, 'pending', 0)",
                        )
                        .bind(id)
                        .bind(i64::try_from(i).unwrap_or(i64::MAX).saturating_add(1))
                        .bind(&step.name)
                        .bind(&step.api_call)
                        .bind(op)
                        .execute(&mut *tx)
                        .await?;
                    }
                    let entry = match audit {
                        Some(a) => {
                            let a = a.for_job(JobId(id));
                            Some(append_audit!(tx, &a))
                        }
                        None => None,
                    };
                    Enqueued { id: JobId(id), created: true, audit: entry }
                }
            }
        });
        if out.created {
            tracing::info!(job = out.id.0, kind = %job.kind, subject = %job.subject, "enqueued job");
        } else {
            tracing::debug!(
                job = out.id.0,
                "enqueue matched an existing idempotency key"
            );
        }
        Ok(out)
    }

    /// Claims the oldest claimable job for `owner` for `lease` (at most [`MAX_LEASE`]): a
    /// `queued` job whose `not_before` has come, or a `running` job whose lease expired (its
    /// worker died; the job is resumed, with its journal). The job becomes `running`, its
    /// `attempts` grows by one. `None` when nothing is claimable.
    ///
    /// `owner` must be unique per worker (e.g. `host:pid:random`): fencing trusts it. A worker
    /// that lost a lease must stop that job's task before it may claim the job again under
    /// the same owner (or use a fresh owner per claim).
    /// Concurrent claims never return the same job while its lease is valid.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn claim(&self, owner: &str, lease: Duration) -> Result<Option<ClaimedJob>> {
        let at = now();
        let expires = lease_expiry(at, lease);
        let claimed = with_tx!(self.store, tx => {
            let sql = if is_postgres(&tx) {
                concat!(claim_select!(), " FOR UPDATE SKIP LOCKED")
            } else {
                claim_select!()
            };
            let id: Option<i64> = sqlx::query_scalar(sql)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
            match id {
                None => None,
                Some(id) => {
                    let job: JobRecord = sqlx::query_as(concat!(
                        "UPDATE jobs SET status = 'running', attempts = attempts + 1, \
                         lease_owner = $2, lease_expires_at = $3, updated_at = $4 \
                         WHERE id = $1 RETURNING ",
                        job_columns!()
                    ))
                    .bind(id)
                    .bind(owner)
                    .bind(expires)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    let steps: Vec<StepRecord> = sqlx::query_as(concat!(
                        "SELECT ",
                        step_columns!(),
                        " FROM job_steps WHERE job_id = $1 ORDER BY seq"
                    ))
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                    Some((job, steps))
                }
            }
        });
        let Some((job, steps)) = claimed else {
            return Ok(None);
        };
        let claimed = detail(job, steps)?;
        tracing::info!(
            job = claimed.job.id.0,
            owner,
            attempt = claimed.job.attempts,
            "claimed job"
        );
        Ok(Some(claimed))
    }

    /// Extends `owner`'s lease on `job` to now + `lease` (at most [`MAX_LEASE`]) and returns
    /// the new expiry. Call it well before the lease runs out.
    ///
    /// # Errors
    /// [`Error::LeaseLost`], [`Error::UnknownJob`], [`Error::Database`].
    pub async fn renew(&self, job: JobId, owner: &str, lease: Duration) -> Result<DateTime<Utc>> {
        let at = now();
        let expires = lease_expiry(at, lease);
        with_tx!(self.store, tx => {
            fence!(tx, job, owner, at);
            sqlx::query("UPDATE jobs SET lease_expires_at = $2 WHERE id = $1")
                .bind(job.0)
                .bind(expires)
                .execute(&mut *tx)
                .await?;
        });
        Ok(expires)
    }

    /// Journals that step `seq` starts (again): `running`, attempts + 1, result and error
    /// cleared. Allowed from `pending`, `running` (re-run after a crash) and `failed`.
    ///
    /// # Errors
    /// [`Error::LeaseLost`], [`Error::UnknownJob`], [`Error::UnknownStep`],
    /// [`Error::StepFinished`], [`Error::Database`].
    pub async fn step_started(&self, job: JobId, owner: &str, seq: i64) -> Result<()> {
        self.step_write(job, owner, seq, StepWrite::Started).await
    }

    /// Journals that step `seq` took effect, with what it produced. Final.
    ///
    /// # Errors
    /// As [`Jobs::step_started`], plus [`Error::Json`].
    pub async fn step_done(
        &self,
        job: JobId,
        owner: &str,
        seq: i64,
        result: &serde_json::Value,
    ) -> Result<()> {
        let result = serde_json::to_string(result)?;
        self.step_write(job, owner, seq, StepWrite::Done(result))
            .await
    }

    /// Journals that step `seq` failed, and why. The job stays `running`: follow with
    /// [`Jobs::retry_later`] (transient) or [`Jobs::finish`] (permanent).
    ///
    /// # Errors
    /// As [`Jobs::step_started`].
    pub async fn step_failed(&self, job: JobId, owner: &str, seq: i64, error: &str) -> Result<()> {
        self.step_write(job, owner, seq, StepWrite::Failed(error.to_owned()))
            .await
    }

    /// Journals that step `seq` is not needed, and why (e.g. already in the desired state).
    /// Final.
    ///
    /// # Errors
    /// As [`Jobs::step_started`].
    pub async fn step_skipped(
        &self,
        job: JobId,
        owner: &str,
        seq: i64,
        reason: &str,
    ) -> Result<()> {
        self.step_write(job, owner, seq, StepWrite::Skipped(reason.to_owned()))
            .await
    }

    async fn step_write(&self, job: JobId, owner: &str, seq: i64, write: StepWrite) -> Result<()> {
        let at = now();
        let (sql, text) = match &write {
            StepWrite::Started => (
                "UPDATE job_steps SET status = 'running', attempts = attempts + 1, \
                 started_at = $3, finished_at = NULL, result = NULL, error = $4 \
                 WHERE job_id = $1 AND seq = $2 AND status IN ('pending', 'running', 'failed')",
                None,
            ),
            StepWrite::Done(result) => (
                "UPDATE job_steps SET status = 'done', finished_at = $3, result = $4, error = NULL \
                 WHERE job_id = $1 AND seq = $2 AND status IN ('pending', 'running', 'failed')",
                Some(result.as_str()),
            ),
            StepWrite::Failed(error) => (
                "UPDATE job_steps SET status = 'failed', finished_at = $3, error = $4 \
                 WHERE job_id = $1 AND seq = $2 AND status IN ('pending', 'running', 'failed')",
                Some(error.as_str()),
            ),
            StepWrite::Skipped(reason) => (
                "UPDATE job_steps SET status = 'skipped', finished_at = $3, error = $4 \
                 WHERE job_id = $1 AND seq = $2 AND status IN ('pending', 'running', 'failed')",
                Some(reason.as_str()),
            ),
        };
        with_tx!(self.store, tx => {
            fence!(tx, job, owner, at);
            let changed = sqlx::query(sql)
                .bind(job.0)
                .bind(seq)
                .bind(at)
                .bind(text)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 0 {
                let status: Option<String> =
                    sqlx::query_scalar("SELECT status FROM job_steps WHERE job_id = $1 AND seq = $2")
                        .bind(job.0)
                        .bind(seq)
                        .fetch_optional(&mut *tx)
                        .await?;
                return Err(match status {
                    None => Error::UnknownStep { job, seq },
                    Some(s) => Error::StepFinished {
                        job,
                        seq,
                        status: StepStatus::parse(&s)?,
                    },
                });
            }
        });
        Ok(())
    }

    /// Gives the job back to the queue after a transient error: `queued` again from
    /// `not_before`, lease cleared, `error` recorded. Steps keep their status (a `failed` step
    /// is started again by the next owner). The next claim counts a new attempt.
    ///
    /// # Errors
    /// [`Error::LeaseLost`], [`Error::UnknownJob`], [`Error::Database`].
    pub async fn retry_later(
        &self,
        job: JobId,
        owner: &str,
        not_before: DateTime<Utc>,
        error: &str,
    ) -> Result<()> {
        let at = now();
        with_tx!(self.store, tx => {
            fence!(tx, job, owner, at);
            sqlx::query(
                "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, \
                 not_before = $2, error = $3 WHERE id = $1",
            )
            .bind(job.0)
            .bind(not_before.trunc_subsecs(6))
            .bind(error)
            .execute(&mut *tx)
            .await?;
        });
        tracing::info!(job = job.0, %not_before, error, "job sent back to the queue");
        Ok(())
    }

    /// Ends the job: `succeeded` (every step must be `done` or `skipped`) or `failed` with
    /// `error`. The lease ends (`lease_owner` stays, as the last owner). With an audit entry,
    /// it is appended (attributed to this job) in the same transaction, so the outcome and
    /// its audit entry commit together or not at all.
    ///
    /// # Errors
    /// [`Error::LeaseLost`], [`Error::UnknownJob`], [`Error::StepsUnfinished`],
    /// [`Error::Json`], [`Error::Database`].
    pub async fn finish(
        &self,
        job: JobId,
        owner: &str,
        outcome: JobOutcome,
        error: Option<&str>,
        audit: Option<&NewAuditEntry>,
    ) -> Result<Option<AuditEntry>> {
        let audit = audit
            .map(|a| EncodedAudit::new(a).map(|e| e.for_job(job)))
            .transpose()?;
        let at = now();
        let status = outcome.status();
        let entry = with_tx!(self.store, tx => {
            fence!(tx, job, owner, at);
            if outcome == JobOutcome::Succeeded {
                let unfinished: Option<(i64, String)> = sqlx::query_as(
                    "SELECT seq, status FROM job_steps WHERE job_id = $1 \
                     AND status NOT IN ('done', 'skipped') ORDER BY seq LIMIT 1",
                )
                .bind(job.0)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((seq, s)) = unfinished {
                    return Err(Error::StepsUnfinished { job, seq, status: StepStatus::parse(&s)? });
                }
            }
            sqlx::query(
                "UPDATE jobs SET status = $2, error = $3, finished_at = $4, \
                 lease_expires_at = NULL WHERE id = $1",
            )
            .bind(job.0)
            .bind(status.as_str())
            .bind(error)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            match &audit {
                Some(a) => Some(append_audit!(tx, a)),
                None => None,
            }
        });
        tracing::info!(job = job.0, %status, error, "finished job");
        Ok(entry)
    }

    /// Cancels a `queued` job (`why` recorded as its error), with the audit entry if given
    /// (attributed to this job) in the same transaction. Cancelling a cancelled job changes
    /// nothing and returns `None`. A running or finished job is refused: a running one is
    /// mid-change (let it finish, then undo it with a new job).
    ///
    /// # Errors
    /// [`Error::NotCancellable`], [`Error::UnknownJob`], [`Error::Json`], [`Error::Database`].
    pub async fn cancel(
        &self,
        job: JobId,
        why: &str,
        audit: Option<&NewAuditEntry>,
    ) -> Result<Option<AuditEntry>> {
        let audit = audit
            .map(|a| EncodedAudit::new(a).map(|e| e.for_job(job)))
            .transpose()?;
        let at = now();
        let entry = with_tx!(self.store, tx => {
            let sql = if is_postgres(&tx) {
                "SELECT status FROM jobs WHERE id = $1 FOR UPDATE"
            } else {
                "SELECT status FROM jobs WHERE id = $1"
            };
            let status: Option<String> =
                sqlx::query_scalar(sql).bind(job.0).fetch_optional(&mut *tx).await?;
            let status = JobStatus::parse(&status.ok_or(Error::UnknownJob(job))?)?;
            match status {
                JobStatus::Cancelled => None,
                JobStatus::Running | JobStatus::Succeeded | JobStatus::Failed => {
                    return Err(Error::NotCancellable { job, status });
                }
                JobStatus::Queued => {
                    sqlx::query(
                        "UPDATE jobs SET status = 'cancelled', error = $2, finished_at = $3, \
                         updated_at = $3 WHERE id = $1 AND status = 'queued'",
                    )
                    .bind(job.0)
                    .bind(why)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    match &audit {
                        Some(a) => Some(append_audit!(tx, a)),
                        None => None,
                    }
                }
            }
        });
        tracing::info!(job = job.0, why, "cancelled job");
        Ok(entry)
    }

    /// One job with its step journal.
    ///
    /// # Errors
    /// [`Error::UnknownJob`], [`Error::Database`], [`Error::Corrupt`].
    pub async fn get(&self, job: JobId) -> Result<JobDetail> {
        let (record, steps): (Option<JobRecord>, Vec<StepRecord>) = with_pool!(self.store, pool => {
            let record = sqlx::query_as(concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1"))
                .bind(job.0)
                .fetch_optional(pool)
                .await?;
            let steps = sqlx::query_as(concat!(
                "SELECT ",
                step_columns!(),
                " FROM job_steps WHERE job_id = $1 ORDER BY seq"
            ))
            .bind(job.0)
            .fetch_all(pool)
            .await?;
            (record, steps)
        });
        detail(record.ok_or(Error::UnknownJob(job))?, steps)
    }

    /// The steps that became `done` from `from` on (inclusive) and before `until` (exclusive;
    /// `None`: up to now), oldest first (then by job and position), each with its job's kind,
    /// subject, requester and the subject's account id. Skipped and failed steps are left out:
    /// only a `done` step changed something. Served by the `job_steps_done` index (status,
    /// finished_at), so its cost follows the window, not the history.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn done_steps_between(
        &self,
        from: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<DoneStep>> {
        let rows: Vec<DoneStepRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT s.job_id, j.kind, j.subject, j.requested_by, s.seq, s.op, s.result, \
                 s.finished_at FROM job_steps s JOIN jobs j ON j.id = s.job_id \
                 WHERE s.status = 'done' AND s.finished_at >= $1 \
                 AND ($2 IS NULL OR s.finished_at < $2) \
                 ORDER BY s.finished_at, s.job_id, s.seq",
            )
            .bind(from.trunc_subsecs(6))
            .bind(until.map(|t| t.trunc_subsecs(6)))
            .fetch_all(pool)
            .await?
        });
        // The job's account id, from whichever of its done steps recorded one.
        let mut accounts: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
        let mut steps = Vec::with_capacity(rows.len());
        for row in rows {
            let account_id = result_account_id(row.result.as_deref());
            if let Some(id) = &account_id {
                accounts.entry(row.job_id).or_insert_with(|| id.clone());
            }
            steps.push(DoneStep {
                job_id: JobId(row.job_id),
                kind: row.kind,
                subject: row.subject,
                requested_by: row.requested_by,
                seq: row.seq,
                op: json_column(&row.op, "job_steps.op")?,
                finished_at: row.finished_at,
                account_id,
            });
        }
        for step in &mut steps {
            if step.account_id.is_none() {
                step.account_id = accounts.get(&step.job_id.0).cloned();
            }
        }
        Ok(steps)
    }

    /// Jobs matching `query`, by id (oldest first).
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn list(&self, query: &JobQuery) -> Result<Vec<Job>> {
        let rows: Vec<JobRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(concat!(
                "SELECT ",
                job_columns!(),
                " FROM jobs WHERE ($1 IS NULL OR status = $1) \
                 AND ($2 IS NULL OR lower(subject) = lower($2)) AND ($3 IS NULL OR id > $3) \
                 ORDER BY id LIMIT $4"
            ))
            .bind(query.status.map(JobStatus::as_str))
            .bind(query.subject.as_deref())
            .bind(query.after_id.map(|j| j.0))
            .bind(query.limit.unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(JobRecord::decode).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_clamped_and_truncated_to_microseconds() {
        let at = now();
        assert_eq!(lease_expiry(at, Duration::ZERO), at);
        assert_eq!(
            lease_expiry(at, Duration::from_secs(365 * 24 * 3600)),
            at + TimeDelta::days(1)
        );
        assert_eq!(
            lease_expiry(at, Duration::from_nanos(1_500)),
            at + TimeDelta::microseconds(1)
        );
    }

    #[test]
    fn statuses_round_trip_through_their_text() -> Result<()> {
        for s in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Succeeded,
            JobStatus::Failed,
            JobStatus::Cancelled,
        ] {
            assert_eq!(JobStatus::parse(s.as_str())?, s);
        }
        for s in [
            StepStatus::Pending,
            StepStatus::Running,
            StepStatus::Done,
            StepStatus::Failed,
            StepStatus::Skipped,
        ] {
            assert_eq!(StepStatus::parse(s.as_str())?, s);
        }
        assert!(JobStatus::parse("paused").is_err());
        Ok(())
    }
}
