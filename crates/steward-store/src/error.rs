//! The store's error type.

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
}
