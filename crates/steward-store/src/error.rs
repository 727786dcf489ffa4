//! The store's error type.

use crate::bundles::BundleId;
use crate::jobs::{JobId, JobStatus, StepStatus};
use crate::requests::{RequestId, RequestState};
use crate::rows::{RunId, RunStatus};

/// Result alias for store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the store.
///
/// Database URLs carried by variants are always redacted (no password).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database URL is neither SQLite nor PostgreSQL, or can't be parsed.
    #[error("unsupported or invalid database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The redacted URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Connecting to (or creating) the database failed.
    #[error("cannot open database `{url}`")]
    Open {
        /// The redacted URL.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Applying the schema migrations failed.
    #[error("cannot migrate database `{url}`")]
    Migrate {
        /// The redacted URL.
        url: String,
        /// The migrator's error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database query failed")]
    Database(#[from] sqlx::Error),
    /// No sync run has this id.
    #[error("sync run {0} does not exist")]
    UnknownRun(RunId),
    /// The run is not `running`, so it can't be written to or finished.
    #[error("sync run {run} is {status}, not running")]
    RunNotRunning {
        /// The run.
        run: RunId,
        /// Its current status.
        status: RunStatus,
    },
    /// A stored value does not decode (unknown enum text, invalid JSON): the database was
    /// written by something else or a newer Steward.
    #[error("corrupt value in column `{column}`: {detail}")]
    Corrupt {
        /// Table and column.
        column: &'static str,
        /// What was found.
        detail: String,
    },
    /// An argument out of range (e.g. a lease's time to live).
    #[error("invalid {what}: {detail}")]
    InvalidArgument {
        /// What was invalid.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// JSON (checkpoint, product status, change before/after) could not be encoded.
    #[error("cannot encode JSON")]
    Json(#[from] serde_json::Error),
    /// The master key is not 32 bytes.
    #[error("the master key must be exactly 32 bytes, got {0}")]
    InvalidMasterKey(usize),
    /// A secret could not be decrypted: wrong master key, or the ciphertext was tampered with.
    #[error(
        "cannot decrypt secret `{name}`: wrong master key or tampered ciphertext (the key that encrypted it is needed)"
    )]
    Decrypt {
        /// The secret's name.
        name: String,
    },
    /// A secret could not be encrypted (only if it is absurdly large).
    #[error("cannot encrypt secret `{name}`")]
    Encrypt {
        /// The secret's name.
        name: String,
    },
    /// No job has this id.
    #[error("job {0} does not exist")]
    UnknownJob(JobId),
    /// The worker does not hold the job's lease (any more): it expired, or another worker
    /// claimed the job, or the job was finished or sent back to the queue. Nothing was
    /// written; the worker must stop working on the job (its next owner resumes it).
    #[error(
        "worker `{owner}` does not hold the lease on job {job} (expired, or taken over by another worker): nothing was written, stop working on it"
    )]
    LeaseLost {
        /// The job.
        job: JobId,
        /// The worker that tried to write.
        owner: String,
    },
    /// The job has no step with this sequence number.
    #[error("job {job} has no step {seq}")]
    UnknownStep {
        /// The job.
        job: JobId,
        /// The step asked for.
        seq: i64,
    },
    /// The step is already `done` or `skipped`; a finished step is final.
    #[error("step {seq} of job {job} is already {status}; a finished step is final")]
    StepFinished {
        /// The job.
        job: JobId,
        /// The step.
        seq: i64,
        /// Its (final) status.
        status: StepStatus,
    },
    /// A job can only succeed when every step is `done` or `skipped`.
    #[error("job {job} cannot succeed: step {seq} is {status}, not done or skipped")]
    StepsUnfinished {
        /// The job.
        job: JobId,
        /// The first unfinished step.
        seq: i64,
        /// Its status.
        status: StepStatus,
    },
    /// Only a queued job can be cancelled.
    #[error(
        "job {job} is {status}: only a queued job can be cancelled (a running job is mid-change: let it finish, then undo it with a new job)"
    )]
    NotCancellable {
        /// The job.
        job: JobId,
        /// Its status.
        status: JobStatus,
    },
    /// No restore bundle has this id.
    #[error("restore bundle {0} does not exist")]
    UnknownBundle(BundleId),
    /// The bundle was already marked restored by another job.
    #[error("restore bundle {bundle} was already restored by job {by}")]
    BundleAlreadyRestored {
        /// The bundle.
        bundle: BundleId,
        /// The job that restored it.
        by: JobId,
    },
    /// A unique value is taken (a console user's email, an API token prefix).
    #[error("{what} `{value}` already exists")]
    AlreadyExists {
        /// What kind of thing.
        what: &'static str,
        /// The value that is taken.
        value: String,
    },
    /// No access request has this id.
    #[error("access request {0} does not exist")]
    UnknownRequest(RequestId),
    /// The request is not in a state the change can start from (another decision got there
    /// first, or the change does not apply to it).
    #[error("access request {request} is {state}; this change needs it {}", expected_states(.expected))]
    RequestState {
        /// The request.
        request: RequestId,
        /// Its current state.
        state: RequestState,
        /// The states the change can start from.
        expected: Vec<RequestState>,
    },
    /// A revocation retry of a request whose revocation has not failed (none queued, in
    /// progress, succeeded, or retried already).
    #[error("access request {request}'s revocation {}: only a failed revocation is queued again", .status.map_or("was never queued".to_owned(), |s| format!("is {s}")))]
    RevocationNotFailed {
        /// The request.
        request: RequestId,
        /// Its revocation's status, if it has one.
        status: Option<crate::requests::RevocationStatus>,
    },
}

fn expected_states(states: &[RequestState]) -> String {
    states
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}
