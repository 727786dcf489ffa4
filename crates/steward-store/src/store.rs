//! The store handle and its operations, grouped by concern: [`Runs`], [`SnapshotWriter`],
//! [`Snapshot`], [`Changes`], [`Secrets`].
//!
//! Every operation runs the same SQL on both back ends (`$n` placeholders work on SQLite too);
//! the [`with_pool!`]/[`with_tx!`] macros expand one body once per back end. Lists are sorted
//! in Rust by natural key, because NULL ordering and text collation differ between SQLite and
//! PostgreSQL and the store must have one behaviour.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use secrecy::SecretString;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{Error, Result};
use crate::redact::redact_url;
use crate::rows::{
    AccountFilter, AccountRow, Batch, ChangeEvent, ChangeKind, ChangeQuery, Checkpoint,
    DirectoryRow, GrantSource, GroupMembershipRow, GroupRoleRow, GroupRow, JsmCustomerRow,
    LastActiveRow, NewChangeEvent, OrgRow, ResourceRow, RoleAssignmentRow, RunId, RunStatus,
    SiteRow, StatuspageMemberRow, StatuspagePermissionRow, SyncRun,
};
use crate::secrets::{self, MasterKey};

/// How long a SQLite connection waits for a lock before failing with `SQLITE_BUSY`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the back end's pool (`&SqlitePool` or `&PgPool`).
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Runs `$body` inside a write transaction bound to `$tx`, committing when it completes; an
/// early `?` return drops (rolls back) the transaction. SQLite transactions start with
/// `BEGIN IMMEDIATE` so two writers queue on the busy timeout instead of failing to upgrade
/// a read lock.
macro_rules! with_tx {
    ($store:expr, $tx:ident => $body:block) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::store::Backend::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}
pub(crate) use with_tx;

/// Inside [`with_tx!`]: returns early unless `$run` exists and is running, and keeps it so
/// until commit. On PostgreSQL the run's row is locked: `share` by batch writers (they run
/// concurrently), `exclusive` by whoever finishes the run, so a run can't complete while a
/// batch is still being written into it. SQLite's `BEGIN IMMEDIATE` already serializes.
macro_rules! ensure_running {
    ($tx:ident, $run:expr, $lock:ident) => {{
        let run: RunId = $run;
        let sql = match (is_postgres(&$tx), RowLock::$lock) {
            (false, _) => "SELECT status FROM sync_runs WHERE id = $1",
            (true, RowLock::Share) => "SELECT status FROM sync_runs WHERE id = $1 FOR SHARE",
            (true, RowLock::Exclusive) => "SELECT status FROM sync_runs WHERE id = $1 FOR UPDATE",
        };
        let status: Option<(String,)> = sqlx::query_as(sql)
            .bind(run.0)
            .fetch_optional(&mut *$tx)
            .await?;
        check_running(run, status.map(|s| s.0))?;
    }};
}

/// How [`ensure_running!`] locks the run row on PostgreSQL.
#[derive(Clone, Copy)]
enum RowLock {
    Share,
    Exclusive,
}

/// Whether `store` runs on PostgreSQL (for the few statements whose locking differs).
pub(crate) fn backend_is_postgres(store: &Store) -> bool {
    matches!(store.backend, Backend::Postgres(_))
}

fn is_postgres<DB: sqlx::Database>(_: &sqlx::Transaction<'_, DB>) -> bool {
    DB::NAME == <sqlx::Postgres as sqlx::Database>::NAME
}

/// Inside [`with_tx!`]: stores the checkpoint of one scope (latest wins).
macro_rules! upsert_checkpoint {
    ($tx:ident, $run:expr, $scope:expr, $value:expr, $at:expr) => {{
        sqlx::query(
            "INSERT INTO sync_checkpoints (run_id, scope, checkpoint, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (run_id, scope) DO UPDATE \
             SET checkpoint = excluded.checkpoint, updated_at = excluded.updated_at",
        )
        .bind($run.0)
        .bind($scope)
        .bind($value)
        .bind($at)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Inside [`with_tx!`]: inserts one [`EncodedChange`].
macro_rules! insert_change {
    ($tx:ident, $change:expr) => {{
        let c: &EncodedChange = $change;
        sqlx::query(
            "INSERT INTO change_events (run_id, detected_at, kind, account_id, group_id, \
             resource, role, before_state, after_state, out_of_band, actor_id, actor_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(c.run_id)
        .bind(c.detected_at)
        .bind(c.kind)
        .bind(c.account_id.as_deref())
        .bind(c.group_id.as_deref())
        .bind(c.resource.as_deref())
        .bind(c.role.as_deref())
        .bind(c.before.as_deref())
        .bind(c.after.as_deref())
        .bind(c.out_of_band)
        .bind(c.actor_id.as_deref())
        .bind(c.actor_name.as_deref())
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Timestamps are kept at microsecond precision, the finest PostgreSQL stores, so a value
/// reads back equal on both back ends.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A handle on Steward's database. Cheap to clone (a connection pool inside); safe to share
/// between tasks.
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    url: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .field("url", &self.url)
            .finish()
    }
}

impl Store {
    /// Opens the database at `url`, creating it (SQLite) and applying pending migrations.
    ///
    /// `sqlite://path/to/steward.db` (or `sqlite:path`) opens one file in WAL mode with
    /// `synchronous=NORMAL`, foreign keys on and a busy timeout; `postgres://…` or
    /// `postgresql://…` opens PostgreSQL (use `?options[search_path]=schema` to pick a schema).
    /// Re-opening an up-to-date database changes nothing.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`], [`Error::Open`] or [`Error::Migrate`]; the URL they carry is
    /// redacted.
    pub async fn open(url: &str) -> Result<Self> {
        let redacted = redact_url(url);
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url).map_err(|e| Error::InvalidUrl {
                url: redacted.clone(),
                reason: e.to_string(),
            })?;
            Self::open_sqlite(options, 4, redacted).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(|_| Error::InvalidUrl {
                url: redacted.clone(),
                reason: "not a valid PostgreSQL connection URL".to_owned(),
            })?;
            Self::open_postgres(options, redacted).await
        } else {
            Err(Error::InvalidUrl {
                url: redacted,
                reason: "expected a sqlite:// or postgres:// URL".to_owned(),
            })
        }
    }

    /// A private, empty in-memory SQLite database with one connection (it lives as long as
    /// the returned store). For tests.
    ///
    /// # Errors
    /// As [`Store::open`].
    pub async fn open_in_memory() -> Result<Self> {
        let options =
            SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| Error::InvalidUrl {
                url: "sqlite::memory:".to_owned(),
                reason: e.to_string(),
            })?;
        Self::open_sqlite(options, 1, "sqlite::memory:".to_owned()).await
    }

    async fn open_sqlite(
        options: SqliteConnectOptions,
        max_connections: u32,
        redacted: String,
    ) -> Result<Self> {
        // SQLite creates the file but not its directory (e.g. a fresh data dir).
        if let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
            && options.get_filename() != std::path::Path::new(":memory:")
        {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| Error::Open {
                    url: redacted.clone(),
                    source: sqlx::Error::Io(e),
                })?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            // An in-memory database disappears with its last connection.
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|source| Error::Open {
                url: redacted.clone(),
                source,
            })?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|source| Error::Migrate {
                url: redacted.clone(),
                source,
            })?;
        tracing::info!(url = %redacted, "opened SQLite store");
        Ok(Self {
            backend: Backend::Sqlite(pool),
            url: redacted,
        })
    }

    async fn open_postgres(options: PgConnectOptions, redacted: String) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|source| Error::Open {
                url: redacted.clone(),
                source,
            })?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|source| Error::Migrate {
                url: redacted.clone(),
                source,
            })?;
        tracing::info!(url = %redacted, "opened PostgreSQL store");
        Ok(Self {
            backend: Backend::Postgres(pool),
            url: redacted,
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The database URL with its password redacted (for logs and `steward verify`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }

    /// Sync-run life cycle and checkpoints.
    pub fn runs(&self) -> Runs<'_> {
        Runs { store: self }
    }

    /// Writes snapshot batches into `run`, which must be running.
    pub fn writer(&self, run: RunId) -> SnapshotWriter<'_> {
        SnapshotWriter { store: self, run }
    }

    /// The snapshot of the newest completed run, or `None` before the first sync completes.
    /// It stays the same snapshot while newer runs complete (it is pinned to its run id).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn latest_snapshot(&self) -> Result<Option<Snapshot>> {
        Ok(self
            .runs()
            .latest_completed()
            .await?
            .map(|run| self.snapshot(run.id)))
    }

    /// The snapshot of a given run, whatever its status (the engine diffs its own running
    /// run against the previous completed one; user-facing readers use [`Store::latest_snapshot`]).
    pub fn snapshot(&self, run: RunId) -> Snapshot {
        Snapshot {
            store: self.clone(),
            run,
        }
    }

    /// Change events.
    pub fn changes(&self) -> Changes<'_> {
        Changes { store: self }
    }

    /// Named leases (one sync at a time across processes).
    pub fn leases(&self) -> crate::leases::Leases<'_> {
        crate::leases::Leases { store: self }
    }

    /// Secrets, encrypted at rest with `key`.
    pub fn secrets<'a>(&'a self, key: &'a MasterKey) -> Secrets<'a> {
        Secrets { store: self, key }
    }

    /// The provisioning job queue and its step journal.
    pub fn jobs(&self) -> crate::jobs::Jobs<'_> {
        crate::jobs::Jobs { store: self }
    }

    /// The hash-chained audit log.
    pub fn audit(&self) -> crate::audit::Audit<'_> {
        crate::audit::Audit { store: self }
    }

    /// Console users, sessions, API tokens and idempotency keys (the service's own data).
    pub fn accounts(&self) -> crate::accounts::Accounts<'_> {
        crate::accounts::Accounts { store: self }
    }

    /// Restore bundles.
    pub fn bundles(&self) -> crate::bundles::Bundles<'_> {
        crate::bundles::Bundles { store: self }
    }

    /// Access requests and their approvals.
    pub fn requests(&self) -> crate::requests::Requests<'_> {
        crate::requests::Requests { store: self }
    }

    /// The scheduler's slot claims (one run per interval across processes).
    pub fn schedule(&self) -> crate::requests::Schedule<'_> {
        crate::requests::Schedule { store: self }
    }

    /// Counts for monitoring (jobs by status, requests by state).
    pub fn stats(&self) -> crate::stats::Stats<'_> {
        crate::stats::Stats { store: self }
    }
}

// ---------------------------------------------------------------------------------------------
// Runs

/// Sync-run life cycle: `begin` → (`write` batches, checkpoints) → `complete` | `fail`;
/// runs left `running` by a crash are resumed or `abandon`ed.
#[derive(Debug, Clone, Copy)]
pub struct Runs<'a> {
    store: &'a Store,
}

type RunTuple = (
    i64,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    String,
    String,
    Option<String>,
);

/// The `sync_runs` columns decoded by [`run_from_tuple`], as a literal for `concat!`.
macro_rules! run_columns {
    () => {
        "id, started_at, finished_at, status, product_status, error"
    };
}

fn run_from_tuple(t: RunTuple) -> Result<SyncRun> {
    let (id, started_at, finished_at, status, product_status, error) = t;
    Ok(SyncRun {
        id: RunId(id),
        started_at,
        finished_at,
        status: RunStatus::parse(&status)?,
        product_status: serde_json::from_str(&product_status).map_err(|e| Error::Corrupt {
            column: "sync_runs.product_status",
            detail: e.to_string(),
        })?,
        error,
    })
}

impl Runs<'_> {
    /// Starts a new run in status `running` and returns its id. Readers don't see it until
    /// [`Runs::complete`].
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn begin(&self) -> Result<RunId> {
        let started = now();
        let id: i64 = with_pool!(self.store, pool => {
            sqlx::query_scalar(
                "INSERT INTO sync_runs (started_at, status, product_status) \
                 VALUES ($1, 'running', '{}') RETURNING id",
            )
            .bind(started)
            .fetch_one(pool)
            .await?
        });
        tracing::debug!(run = id, "began sync run");
        Ok(RunId(id))
    }

    /// One run.
    ///
    /// # Errors
    /// [`Error::UnknownRun`], [`Error::Database`].
    pub async fn get(&self, run: RunId) -> Result<SyncRun> {
        let sql = concat!("SELECT ", run_columns!(), " FROM sync_runs WHERE id = $1");
        let row: Option<RunTuple> = with_pool!(self.store, pool => {
            sqlx::query_as(sql).bind(run.0).fetch_optional(pool).await?
        });
        row.map(run_from_tuple)
            .transpose()?
            .ok_or(Error::UnknownRun(run))
    }

    /// The newest `limit` runs, newest first.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn list(&self, limit: i64) -> Result<Vec<SyncRun>> {
        let rows: Vec<RunTuple> = with_pool!(self.store, pool => {
            sqlx::query_as(
                concat!("SELECT ", run_columns!(), " FROM sync_runs ORDER BY id DESC LIMIT $1"),
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(run_from_tuple).collect()
    }

    /// The newest completed run: what readers see. Runs complete one at a time, so the
    /// highest id among completed runs is the latest.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn latest_completed(&self) -> Result<Option<SyncRun>> {
        self.latest_with_status(RunStatus::Completed).await
    }

    /// The newest run still marked `running` (after a crash: the one to resume).
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn latest_running(&self) -> Result<Option<SyncRun>> {
        self.latest_with_status(RunStatus::Running).await
    }

    async fn latest_with_status(&self, status: RunStatus) -> Result<Option<SyncRun>> {
        let row: Option<RunTuple> = with_pool!(self.store, pool => {
            sqlx::query_as(
                concat!(
                    "SELECT ",
                    run_columns!(),
                    " FROM sync_runs WHERE status = $1 ORDER BY id DESC LIMIT 1"
                ),
            )
            .bind(status.as_str())
            .fetch_optional(pool)
            .await?
        });
        row.map(run_from_tuple).transpose()
    }

    /// Records a resume point for one scope of a running run, outside any batch. Idempotent:
    /// the latest value per (run, scope) wins. Prefer [`SnapshotWriter::write`] with a
    /// checkpoint, which commits both together.
    ///
    /// # Errors
    /// [`Error::UnknownRun`], [`Error::RunNotRunning`], [`Error::Database`], [`Error::Json`].
    pub async fn set_checkpoint(&self, run: RunId, checkpoint: &Checkpoint) -> Result<()> {
        let value = serde_json::to_string(&checkpoint.value)?;
        let at = now();
        with_tx!(self.store, tx => {
            ensure_running!(tx, run, Share);
            upsert_checkpoint!(tx, run, &checkpoint.scope, &value, at);
        });
        Ok(())
    }

    /// Every checkpoint of a run, sorted by scope.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn checkpoints(&self, run: RunId) -> Result<Vec<Checkpoint>> {
        let rows: Vec<(String, String)> = with_pool!(self.store, pool => {
            sqlx::query_as("SELECT scope, checkpoint FROM sync_checkpoints WHERE run_id = $1")
                .bind(run.0)
                .fetch_all(pool)
                .await?
        });
        let mut out = rows
            .into_iter()
            .map(|(scope, value)| {
                Ok(Checkpoint {
                    scope,
                    value: serde_json::from_str(&value).map_err(|e| Error::Corrupt {
                        column: "sync_checkpoints.checkpoint",
                        detail: e.to_string(),
                    })?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| a.scope.cmp(&b.scope));
        Ok(out)
    }

    /// Marks a running run completed, making its snapshot the one readers see, and records
    /// the change events its diff produced in the same transaction (so events appear exactly
    /// when the snapshot they describe does).
    ///
    /// # Errors
    /// [`Error::UnknownRun`], [`Error::RunNotRunning`] (e.g. completed twice, or abandoned
    /// meanwhile), [`Error::Database`], [`Error::Json`].
    pub async fn complete(
        &self,
        run: RunId,
        product_status: &serde_json::Value,
        changes: &[NewChangeEvent],
    ) -> Result<()> {
        let status_json = serde_json::to_string(product_status)?;
        let encoded = changes
            .iter()
            .map(EncodedChange::new)
            .collect::<Result<Vec<_>>>()?;
        let at = now();
        with_tx!(self.store, tx => {
            ensure_running!(tx, run, Exclusive);
            sqlx::query(
                "UPDATE sync_runs SET status = 'completed', finished_at = $2, product_status = $3 \
                 WHERE id = $1 AND status = 'running'",
            )
            .bind(run.0)
            .bind(at)
            .bind(&status_json)
            .execute(&mut *tx)
            .await?;
            for change in &encoded {
                insert_change!(tx, change);
            }
        });
        tracing::info!(run = run.0, changes = changes.len(), "completed sync run");
        Ok(())
    }

    /// Marks a running run failed; its rows stay (for inspection) but never become visible.
    ///
    /// # Errors
    /// [`Error::UnknownRun`], [`Error::RunNotRunning`], [`Error::Database`], [`Error::Json`].
    pub async fn fail(
        &self,
        run: RunId,
        product_status: &serde_json::Value,
        error: &str,
    ) -> Result<()> {
        let status_json = serde_json::to_string(product_status)?;
        self.finish(run, RunStatus::Failed, Some(status_json), error)
            .await
    }

    /// Marks a running run abandoned (no writer left; it will not be resumed).
    ///
    /// # Errors
    /// [`Error::UnknownRun`], [`Error::RunNotRunning`], [`Error::Database`].
    pub async fn abandon(&self, run: RunId, reason: &str) -> Result<()> {
        self.finish(run, RunStatus::Abandoned, None, reason).await
    }

    async fn finish(
        &self,
        run: RunId,
        status: RunStatus,
        product_status: Option<String>,
        error: &str,
    ) -> Result<()> {
        let at = now();
        with_tx!(self.store, tx => {
            ensure_running!(tx, run, Exclusive);
            sqlx::query(
                "UPDATE sync_runs SET status = $2, finished_at = $3, \
                 product_status = COALESCE($4, product_status), error = $5 \
                 WHERE id = $1 AND status = 'running'",
            )
            .bind(run.0)
            .bind(status.as_str())
            .bind(at)
            .bind(product_status.as_deref())
            .bind(error)
            .execute(&mut *tx)
            .await?;
        });
        tracing::info!(run = run.0, %status, error, "finished sync run");
        Ok(())
    }

    /// Abandons every run still `running` that started before `started_before` (a writer
    /// that crashed or was killed). Returns the runs abandoned. Idempotent.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn abandon_stale(
        &self,
        started_before: DateTime<Utc>,
        reason: &str,
    ) -> Result<Vec<RunId>> {
        let at = now();
        let ids: Vec<i64> = with_pool!(self.store, pool => {
            sqlx::query_scalar(
                "UPDATE sync_runs SET status = 'abandoned', finished_at = $1, error = $2 \
                 WHERE status = 'running' AND started_at < $3 RETURNING id",
            )
            .bind(at)
            .bind(reason)
            .bind(started_before)
            .fetch_all(pool)
            .await?
        });
        let mut ids: Vec<RunId> = ids.into_iter().map(RunId).collect();
        ids.sort();
        if !ids.is_empty() {
            tracing::warn!(runs = ?ids, reason, "abandoned stale sync runs");
        }
        Ok(ids)
    }
}

impl Runs<'_> {
    /// Deletes every run (and its snapshot rows, through `ON DELETE CASCADE`) older than the
    /// `keep_completed`-th newest completed run, and every non-completed run older than that
    /// too. Change events stay (their `run_id` becomes NULL). Returns how many runs were
    /// deleted. `keep_completed` is at least 1: the visible snapshot is never pruned.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn prune(&self, keep_completed: i64) -> Result<u64> {
        let keep = keep_completed.max(1);
        let deleted = with_pool!(self.store, pool => {
            sqlx::query(
                "DELETE FROM sync_runs WHERE id < ( \
                     SELECT COALESCE(MIN(id), 0) FROM ( \
                         SELECT id FROM sync_runs WHERE status = 'completed' \
                         ORDER BY id DESC LIMIT $1) AS kept) \
                 AND (SELECT COUNT(*) FROM sync_runs WHERE status = 'completed') >= $1",
            )
            .bind(keep)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if deleted > 0 {
            tracing::info!(deleted, keep, "pruned old sync runs");
        }
        Ok(deleted)
    }
}

/// Fails unless `status` (of `run`, `None` if absent) is `running`.
fn check_running(run: RunId, status: Option<String>) -> Result<()> {
    match status {
        None => Err(Error::UnknownRun(run)),
        Some(s) => match RunStatus::parse(&s)? {
            RunStatus::Running => Ok(()),
            status @ (RunStatus::Completed | RunStatus::Failed | RunStatus::Abandoned) => {
                Err(Error::RunNotRunning { run, status })
            }
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshot writing

/// Writes one run's snapshot, a batch (page) at a time.
///
/// Every write is an upsert keyed by (run, natural key), so writing the same page twice (a
/// resumed run re-fetching its last page) stores it once, and a later value for the same key
/// replaces the earlier one. Each call is one transaction; writes to a run that is not
/// `running` fail with [`Error::RunNotRunning`].
#[derive(Debug, Clone, Copy)]
pub struct SnapshotWriter<'a> {
    store: &'a Store,
    run: RunId,
}

/// Inside [`with_tx!`]: upserts every row of a [`Batch`] into run `$run`.
macro_rules! write_batch {
    ($tx:ident, $run:expr, $batch:expr) => {{
        let run: i64 = $run.0;
        match $batch {
            Batch::Org(rows) => {
                for r in rows {
                    sqlx::query(
                        "INSERT INTO org (run_id, org_id, name, user_management) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (run_id, org_id) DO UPDATE \
                         SET name = excluded.name, user_management = excluded.user_management",
                    )
                    .bind(run)
                    .bind(&r.org_id)
                    .bind(&r.name)
                    .bind(&r.user_management)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Batch::Sites(rows) => {
                for r in rows {
                    sqlx::query(
                        "INSERT INTO sites (run_id, cloud_id, name, url) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (run_id, cloud_id) DO UPDATE \
                         SET name = excluded.name, url = excluded.url",
                    )
                    .bind(run)
                    .bind(&r.cloud_id)
                    .bind(&r.name)
                    .bind(&r.url)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Batch::Resources(rows) => {
                for r in rows {
                    sqlx::query(
                        "INSERT INTO resources (run_id, ari, product, site, seats) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id, ari) DO UPDATE \
                         SET product = excluded.product, site = excluded.site, seats = excluded.seats",
                    )
                    .bind(run)
                    .bind(&r.ari)
                    .bind(&r.product)
                    .bind(r.site.as_deref())
                    .bind(r.seats)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Batch::Directories(rows) => {
                for r in rows {
                    sqlx::query(
                        "INSERT INTO directories (run_id, directory_id, name) VALUES ($1, $2, $3) \
                         ON CONFLICT (run_id, directory_id) DO UPDATE SET name = excluded.name",
                    )
                    .bind(run)
                    .bind(&r.directory_id)
                    .bind(&r.name)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Batch::Accounts(rows) => {
                for r in rows {
                    sqlx::query(
                        "INSERT INTO accounts (run_id, account_id, email, name, account_type, \
                         status, account_status, membership_status, claim_status, \
                         management_source, added_to_org, mfa) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                         ON CONFLICT (run_id, account_id) DO UPDATE SET \
                         email = excluded.email, name = excluded.name, \
                         account_type = excluded.account_type, status = excluded.status, \
                         account_status = excluded.account_status, \
                         membership_status = excluded.membership_status, \
                         claim_status = excluded.claim_status, \
                         management_source = excluded.management_source, \
                         added_to_org = excluded.added_to_org, mfa = excluded.mfa",
                    )
                    .bind(run)
                    .bind(&r.account_id)
                    .bind(r.email.as_deref())
                    .bind(&r.name)
                    .bind(&r.account_type)
                    .bind(&r.status)
                    .bind(&r.account_status)
                    .bind(r.membership_status.as_deref())
                    .bind(&r.claim_status)
                    .bind(r.management_source.as_deref())
                    .bind(r.added_to_org)
                    .bind(r.mfa)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Batch::Groups(rows) => {
                for r in rows {
                    sqlx::query(
                        "INSERT INTO groups (run_id, group_id, name, directory_id, \
                         external_synced, managed_by) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (run_id, group_id) DO UPDATE SET name = excluded.name, \
                         directory_id = excluded.directory_id, \
                         external_synced = excluded.external_synced, \
                         managed_by = excluded.managed_by",
                    )
                    .bind(run)
                    .bind(&r.group_id)
                    .bind(&r.name)
                    .bind(r.directory_id.as_deref())
                    .bind(r.external_synced)
                    .bind(r.managed_by.as_deref())
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Batch::GroupMemberships(rows) => {
                for r in rows {
                    sqlx::query(
                        "INSERT INTO group_memberships (run_id, group_id, account_id) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(run)
                    .bind(&r.group_id)
                    .bind(&r.account_id)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Batch::RoleAssignments(rows) => {
                for r in rows {
                    let (source, via_group) = source_to_columns(&r.source);
                    sqlx::query(
                        "INSERT INTO role_assignments (run_id, account_id, resource_ari, role, \
                         source, via_group) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(run)
                    .bind(&r.account_id)
                    .bind(&r.resource_ari)
                    .bind(&r.role)
                    .bind(source)
                    .bind(via_group)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Batch::GroupRoles(rows) => {
                for r in rows {
                    sqlx::query(
                        "INSERT INTO group_roles (run_id, group_id, resource_ari, role) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    )
                    .bind(run)
                    .bind(&r.group_id)
                    .bind(&r.resource_ari)
                    .bind(&r.role)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Batch::StatuspageMembers(rows) => {
                for r in rows {
                    sqlx::query(
                        "INSERT INTO statuspage_members (run_id, sp_user_id, email, account_id) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (run_id, sp_user_id) DO UPDATE \
                         SET email = excluded.email, account_id = excluded.account_id",
                    )
                    .bind(run)
                    .bind(&r.sp_user_id)
                    .bind(&r.email)
                    .bind(r.account_id.as_deref())
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Batch::StatuspagePermissions(rows) => {
                for r in rows {
                    sqlx::query(
                        "INSERT INTO statuspage_permissions (run_id, sp_user_id, page_id, \
                         page_configuration, incident_manager, maintenance_manager) \
                         VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (run_id, sp_user_id, page_id) DO UPDATE SET \
                         page_configuration = excluded.page_configuration, \
                         incident_manager = excluded.incident_manager, \
                         maintenance_manager = excluded.maintenance_manager",
                    )
                    .bind(run)
                    .bind(&r.sp_user_id)
                    .bind(&r.page_id)
                    .bind(r.page_configuration)
                    .bind(r.incident_manager)
                    .bind(r.maintenance_manager)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Batch::JsmCustomers(rows) => {
                for r in rows {
                    sqlx::query(
                        "INSERT INTO jsm_customers (run_id, site, service_desk_id, account_id) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    )
                    .bind(run)
                    .bind(&r.site)
                    .bind(&r.service_desk_id)
                    .bind(&r.account_id)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Batch::LastActive(rows) => {
                for r in rows {
                    sqlx::query(
                        "INSERT INTO last_active (run_id, account_id, resource, at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (run_id, account_id, resource) \
                         DO UPDATE SET at = excluded.at",
                    )
                    .bind(run)
                    .bind(&r.account_id)
                    .bind(&r.resource)
                    .bind(r.at)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
        }
    }};
}

fn source_to_columns(source: &GrantSource) -> (&'static str, &str) {
    match source {
        GrantSource::Direct => ("direct", ""),
        GrantSource::Group { group_id } => ("group", group_id.as_str()),
        GrantSource::Inferred => ("inferred", ""),
    }
}

fn source_from_columns(source: &str, via_group: String) -> Result<GrantSource> {
    match source {
        "direct" => Ok(GrantSource::Direct),
        "group" => Ok(GrantSource::Group {
            group_id: via_group,
        }),
        "inferred" => Ok(GrantSource::Inferred),
        other => Err(Error::Corrupt {
            column: "role_assignments.source",
            detail: other.to_owned(),
        }),
    }
}

impl SnapshotWriter<'_> {
    /// The run being written.
    pub fn run(&self) -> RunId {
        self.run
    }

    /// Upserts one batch and, if given, the checkpoint that follows it, in one transaction:
    /// after a crash the checkpoint never points past data that was not committed.
    ///
    /// # Errors
    /// [`Error::UnknownRun`], [`Error::RunNotRunning`], [`Error::Database`], [`Error::Json`].
    pub async fn write(&self, batch: Batch<'_>, checkpoint: Option<&Checkpoint>) -> Result<()> {
        let checkpoint = checkpoint
            .map(|c| Ok::<_, Error>((c.scope.as_str(), serde_json::to_string(&c.value)?)))
            .transpose()?;
        let at = now();
        let run = self.run;
        with_tx!(self.store, tx => {
            ensure_running!(tx, run, Share);
            write_batch!(tx, run, batch);
            if let Some((scope, value)) = &checkpoint {
                upsert_checkpoint!(tx, run, *scope, value.as_str(), at);
            }
        });
        Ok(())
    }

    /// [`SnapshotWriter::write`] of [`Batch::Org`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_org(&self, rows: &[OrgRow]) -> Result<()> {
        self.write(Batch::Org(rows), None).await
    }

    /// [`SnapshotWriter::write`] of [`Batch::Sites`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_sites(&self, rows: &[SiteRow]) -> Result<()> {
        self.write(Batch::Sites(rows), None).await
    }

    /// [`SnapshotWriter::write`] of [`Batch::Resources`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_resources(&self, rows: &[ResourceRow]) -> Result<()> {
        self.write(Batch::Resources(rows), None).await
    }

    /// [`SnapshotWriter::write`] of [`Batch::Directories`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_directories(&self, rows: &[DirectoryRow]) -> Result<()> {
        self.write(Batch::Directories(rows), None).await
    }

    /// [`SnapshotWriter::write`] of [`Batch::Accounts`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_accounts(&self, rows: &[AccountRow]) -> Result<()> {
        self.write(Batch::Accounts(rows), None).await
    }

    /// [`SnapshotWriter::write`] of [`Batch::Groups`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_groups(&self, rows: &[GroupRow]) -> Result<()> {
        self.write(Batch::Groups(rows), None).await
    }

    /// [`SnapshotWriter::write`] of [`Batch::GroupMemberships`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_group_memberships(&self, rows: &[GroupMembershipRow]) -> Result<()> {
        self.write(Batch::GroupMemberships(rows), None).await
    }

    /// [`SnapshotWriter::write`] of [`Batch::RoleAssignments`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_role_assignments(&self, rows: &[RoleAssignmentRow]) -> Result<()> {
        self.write(Batch::RoleAssignments(rows), None).await
    }

    /// [`SnapshotWriter::write`] of [`Batch::GroupRoles`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_group_roles(&self, rows: &[GroupRoleRow]) -> Result<()> {
        self.write(Batch::GroupRoles(rows), None).await
    }

    /// [`SnapshotWriter::write`] of [`Batch::StatuspageMembers`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_statuspage_members(&self, rows: &[StatuspageMemberRow]) -> Result<()> {
        self.write(Batch::StatuspageMembers(rows), None).await
    }

    /// [`SnapshotWriter::write`] of [`Batch::StatuspagePermissions`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_statuspage_permissions(
        &self,
        rows: &[StatuspagePermissionRow],
    ) -> Result<()> {
        self.write(Batch::StatuspagePermissions(rows), None).await
    }

    /// [`SnapshotWriter::write`] of [`Batch::JsmCustomers`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_jsm_customers(&self, rows: &[JsmCustomerRow]) -> Result<()> {
        self.write(Batch::JsmCustomers(rows), None).await
    }

    /// [`SnapshotWriter::write`] of [`Batch::LastActive`] without a checkpoint.
    ///
    /// # Errors
    /// As [`SnapshotWriter::write`].
    pub async fn write_last_active(&self, rows: &[LastActiveRow]) -> Result<()> {
        self.write(Batch::LastActive(rows), None).await
    }

    /// Deletes the run's Statuspage rows (members and page permissions), so a product read
    /// again after a crash replaces what a half-finished attempt wrote instead of adding to
    /// it. Fails unless the run is running.
    ///
    /// # Errors
    /// [`Error::UnknownRun`], [`Error::RunNotRunning`], [`Error::Database`].
    pub async fn clear_statuspage(&self) -> Result<()> {
        let run = self.run;
        with_tx!(self.store, tx => {
            ensure_running!(tx, run, Share);
            for sql in [
                "DELETE FROM statuspage_permissions WHERE run_id = $1",
                "DELETE FROM statuspage_members WHERE run_id = $1",
            ] {
                sqlx::query(sql).bind(run.0).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// Deletes the run's JSM customers of one site (cloud id); see
    /// [`clear_statuspage`](Self::clear_statuspage).
    ///
    /// # Errors
    /// [`Error::UnknownRun`], [`Error::RunNotRunning`], [`Error::Database`].
    pub async fn clear_jsm_site(&self, cloud_id: &str) -> Result<()> {
        let run = self.run;
        with_tx!(self.store, tx => {
            ensure_running!(tx, run, Share);
            sqlx::query("DELETE FROM jsm_customers WHERE run_id = $1 AND site = $2")
                .bind(run.0)
                .bind(cloud_id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshot reading

/// A read view pinned to one run's snapshot. Each method is one query; lists are sorted by
/// natural key.
#[derive(Debug, Clone)]
pub struct Snapshot {
    store: Store,
    run: RunId,
}

/// `SELECT … FROM $table WHERE run_id = $1` decoded as `$row`, sorted by `$key`.
macro_rules! read_all {
    ($self:ident, $row:ty, $sql:expr, |$r:ident| $key:expr) => {{
        let mut rows: Vec<$row> = with_pool!($self.store, pool => {
            sqlx::query_as($sql).bind($self.run.0).fetch_all(pool).await?
        });
        rows.sort_by(|a, b| {
            let ka = { let $r = a; $key };
            let kb = { let $r = b; $key };
            ka.cmp(&kb)
        });
        Ok(rows)
    }};
}

/// The `accounts` columns decoded into [`AccountRow`], as a literal for `concat!`.
macro_rules! account_columns {
    () => {
        "account_id, email, name, account_type, status, account_status, membership_status, \
         claim_status, management_source, added_to_org, mfa"
    };
}

impl Snapshot {
    /// The run this snapshot belongs to.
    pub fn run(&self) -> RunId {
        self.run
    }

    /// The organization, if the run recorded it.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn org(&self) -> Result<Option<OrgRow>> {
        let rows: Result<Vec<OrgRow>> = read_all!(
            self,
            OrgRow,
            "SELECT org_id, name, user_management FROM org WHERE run_id = $1",
            |r| &r.org_id
        );
        Ok(rows?.into_iter().next())
    }

    /// Sites, by cloud id.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn sites(&self) -> Result<Vec<SiteRow>> {
        read_all!(
            self,
            SiteRow,
            "SELECT cloud_id, name, url FROM sites WHERE run_id = $1",
            |r| &r.cloud_id
        )
    }

    /// Resources (product instances), by ARI.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn resources(&self) -> Result<Vec<ResourceRow>> {
        read_all!(
            self,
            ResourceRow,
            "SELECT ari, product, site, seats FROM resources WHERE run_id = $1",
            |r| &r.ari
        )
    }

    /// Directories, by id.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn directories(&self) -> Result<Vec<DirectoryRow>> {
        read_all!(
            self,
            DirectoryRow,
            "SELECT directory_id, name FROM directories WHERE run_id = $1",
            |r| &r.directory_id
        )
    }

    /// Accounts matching `filter`, sorted by email then account id (accounts without email
    /// last).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn accounts(&self, filter: &AccountFilter) -> Result<Vec<AccountRow>> {
        let sql = concat!(
            "SELECT ",
            account_columns!(),
            " \
             FROM accounts a WHERE a.run_id = $1 \
             AND ($2 IS NULL OR a.status = $2) \
             AND (($3 IS NULL AND $4 IS NULL) OR EXISTS ( \
                 SELECT 1 FROM role_assignments r \
                 LEFT JOIN resources res ON res.run_id = r.run_id AND res.ari = r.resource_ari \
                 WHERE r.run_id = a.run_id AND r.account_id = a.account_id \
                 AND ($3 IS NULL OR res.product = $3) AND ($4 IS NULL OR r.role = $4)))"
        );
        let mut rows: Vec<AccountRow> = with_pool!(self.store, pool => {
            sqlx::query_as(sql)
                .bind(self.run.0)
                .bind(filter.status.as_deref())
                .bind(filter.product.as_deref())
                .bind(filter.role.as_deref())
                .fetch_all(pool)
                .await?
        });
        rows.sort_by(|a, b| {
            (a.email.is_none(), &a.email, &a.account_id).cmp(&(
                b.email.is_none(),
                &b.email,
                &b.account_id,
            ))
        });
        Ok(rows)
    }

    /// One account by id.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn account(&self, account_id: &str) -> Result<Option<AccountRow>> {
        Ok(with_pool!(self.store, pool => {
            sqlx::query_as(
                concat!("SELECT ", account_columns!(), " \
                 FROM accounts WHERE run_id = $1 AND account_id = $2"),
            )
            .bind(self.run.0)
            .bind(account_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// One account by email, compared case-insensitively (ASCII). If several accounts share
    /// the address, the smallest account id wins.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn account_by_email(&self, email: &str) -> Result<Option<AccountRow>> {
        let mut rows: Vec<AccountRow> = with_pool!(self.store, pool => {
            sqlx::query_as(
                concat!("SELECT ", account_columns!(), " \
                 FROM accounts WHERE run_id = $1 AND lower(email) = lower($2)"),
            )
            .bind(self.run.0)
            .bind(email)
            .fetch_all(pool)
            .await?
        });
        rows.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        Ok(rows.into_iter().next())
    }

    /// Every role assignment of the snapshot, sorted.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn role_assignments(&self) -> Result<Vec<RoleAssignmentRow>> {
        self.role_assignments_where(None).await
    }

    /// The grants of one account with where each comes from (direct, which group, inferred).
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn grants_of(&self, account_id: &str) -> Result<Vec<RoleAssignmentRow>> {
        self.role_assignments_where(Some(account_id)).await
    }

    async fn role_assignments_where(
        &self,
        account_id: Option<&str>,
    ) -> Result<Vec<RoleAssignmentRow>> {
        let rows: Vec<(String, String, String, String, String)> = with_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT account_id, resource_ari, role, source, via_group FROM role_assignments \
                 WHERE run_id = $1 AND ($2 IS NULL OR account_id = $2)",
            )
            .bind(self.run.0)
            .bind(account_id)
            .fetch_all(pool)
            .await?
        });
        let mut out = rows
            .into_iter()
            .map(|(account_id, resource_ari, role, source, via_group)| {
                Ok(RoleAssignmentRow {
                    account_id,
                    resource_ari,
                    role,
                    source: source_from_columns(&source, via_group)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| {
            let key = |r: &RoleAssignmentRow| {
                let (s, g) = source_to_columns(&r.source);
                (
                    r.account_id.clone(),
                    r.resource_ari.clone(),
                    r.role.clone(),
                    s,
                    g.to_owned(),
                )
            };
            key(a).cmp(&key(b))
        });
        Ok(out)
    }

    /// Groups, by id.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn groups(&self) -> Result<Vec<GroupRow>> {
        read_all!(
            self,
            GroupRow,
            "SELECT group_id, name, directory_id, external_synced, managed_by \
             FROM groups WHERE run_id = $1",
            |r| &r.group_id
        )
    }

    /// Group memberships, by (group, account).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn group_memberships(&self) -> Result<Vec<GroupMembershipRow>> {
        read_all!(
            self,
            GroupMembershipRow,
            "SELECT group_id, account_id FROM group_memberships WHERE run_id = $1",
            |r| (&r.group_id, &r.account_id)
        )
    }

    /// The groups one account belongs to, by group id.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn groups_of(&self, account_id: &str) -> Result<Vec<GroupRow>> {
        let mut rows: Vec<GroupRow> = with_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT g.group_id, g.name, g.directory_id, g.external_synced, g.managed_by \
                 FROM groups g JOIN group_memberships m \
                 ON m.run_id = g.run_id AND m.group_id = g.group_id \
                 WHERE g.run_id = $1 AND m.account_id = $2",
            )
            .bind(self.run.0)
            .bind(account_id)
            .fetch_all(pool)
            .await?
        });
        rows.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(rows)
    }

    /// The JSM service desks one account is a customer of, by (site, service desk).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn jsm_customers_of(&self, account_id: &str) -> Result<Vec<JsmCustomerRow>> {
        let mut rows: Vec<JsmCustomerRow> = with_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT site, service_desk_id, account_id FROM jsm_customers \
                 WHERE run_id = $1 AND account_id = $2",
            )
            .bind(self.run.0)
            .bind(account_id)
            .fetch_all(pool)
            .await?
        });
        rows.sort_by(|a, b| (&a.site, &a.service_desk_id).cmp(&(&b.site, &b.service_desk_id)));
        Ok(rows)
    }

    /// The last-active records of one account, by resource.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn last_active_of(&self, account_id: &str) -> Result<Vec<LastActiveRow>> {
        let mut rows: Vec<LastActiveRow> = with_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT account_id, resource, at FROM last_active \
                 WHERE run_id = $1 AND account_id = $2",
            )
            .bind(self.run.0)
            .bind(account_id)
            .fetch_all(pool)
            .await?
        });
        rows.sort_by(|a, b| a.resource.cmp(&b.resource));
        Ok(rows)
    }

    /// Roles held by groups, sorted.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn group_roles(&self) -> Result<Vec<GroupRoleRow>> {
        read_all!(
            self,
            GroupRoleRow,
            "SELECT group_id, resource_ari, role FROM group_roles WHERE run_id = $1",
            |r| (&r.group_id, &r.resource_ari, &r.role)
        )
    }

    /// Statuspage team members, by Statuspage user id.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn statuspage_members(&self) -> Result<Vec<StatuspageMemberRow>> {
        read_all!(
            self,
            StatuspageMemberRow,
            "SELECT sp_user_id, email, account_id FROM statuspage_members WHERE run_id = $1",
            |r| &r.sp_user_id
        )
    }

    /// Statuspage page permissions, by (user, page).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn statuspage_permissions(&self) -> Result<Vec<StatuspagePermissionRow>> {
        read_all!(
            self,
            StatuspagePermissionRow,
            "SELECT sp_user_id, page_id, page_configuration, incident_manager, \
             maintenance_manager FROM statuspage_permissions WHERE run_id = $1",
            |r| (&r.sp_user_id, &r.page_id)
        )
    }

    /// JSM customers, by (site, service desk, account).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn jsm_customers(&self) -> Result<Vec<JsmCustomerRow>> {
        read_all!(
            self,
            JsmCustomerRow,
            "SELECT site, service_desk_id, account_id FROM jsm_customers WHERE run_id = $1",
            |r| (&r.site, &r.service_desk_id, &r.account_id)
        )
    }

    /// Last-active records, by (account, resource).
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn last_active(&self) -> Result<Vec<LastActiveRow>> {
        read_all!(
            self,
            LastActiveRow,
            "SELECT account_id, resource, at FROM last_active WHERE run_id = $1",
            |r| (&r.account_id, &r.resource)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Change events

/// Change events: recorded by the sync engine (usually with [`Runs::complete`]), listed by
/// `steward changes`.
#[derive(Debug, Clone, Copy)]
pub struct Changes<'a> {
    store: &'a Store,
}

/// A [`NewChangeEvent`] with its columns encoded.
struct EncodedChange {
    run_id: Option<i64>,
    detected_at: DateTime<Utc>,
    kind: &'static str,
    account_id: Option<String>,
    group_id: Option<String>,
    resource: Option<String>,
    role: Option<String>,
    before: Option<String>,
    after: Option<String>,
    out_of_band: bool,
    actor_id: Option<String>,
    actor_name: Option<String>,
}

impl EncodedChange {
    fn new(e: &NewChangeEvent) -> Result<Self> {
        let json =
            |v: &Option<serde_json::Value>| v.as_ref().map(serde_json::to_string).transpose();
        Ok(Self {
            run_id: e.run_id.map(|r| r.0),
            detected_at: e.detected_at,
            kind: e.kind.as_str(),
            account_id: e.account_id.clone(),
            group_id: e.group_id.clone(),
            resource: e.resource.clone(),
            role: e.role.clone(),
            before: json(&e.before)?,
            after: json(&e.after)?,
            out_of_band: e.out_of_band,
            actor_id: e.actor_id.clone(),
            actor_name: e.actor_name.clone(),
        })
    }
}

#[derive(sqlx::FromRow)]
struct ChangeRecord {
    id: i64,
    run_id: Option<i64>,
    detected_at: DateTime<Utc>,
    kind: String,
    account_id: Option<String>,
    group_id: Option<String>,
    resource: Option<String>,
    role: Option<String>,
    before_state: Option<String>,
    after_state: Option<String>,
    out_of_band: bool,
    actor_id: Option<String>,
    actor_name: Option<String>,
}

impl ChangeRecord {
    fn decode(self) -> Result<ChangeEvent> {
        let json = |v: Option<String>, column: &'static str| {
            v.map(|s| {
                serde_json::from_str(&s).map_err(|e| Error::Corrupt {
                    column,
                    detail: e.to_string(),
                })
            })
            .transpose()
        };
        Ok(ChangeEvent {
            id: self.id,
            event: NewChangeEvent {
                run_id: self.run_id.map(RunId),
                detected_at: self.detected_at,
                kind: ChangeKind::parse(&self.kind)?,
                account_id: self.account_id,
                group_id: self.group_id,
                resource: self.resource,
                role: self.role,
                before: json(self.before_state, "change_events.before_state")?,
                after: json(self.after_state, "change_events.after_state")?,
                out_of_band: self.out_of_band,
                actor_id: self.actor_id,
                actor_name: self.actor_name,
            },
        })
    }
}

impl Changes<'_> {
    /// Records events in one transaction (all or none). Not idempotent: recording the same
    /// events twice stores them twice; the engine records a run's events once, with
    /// [`Runs::complete`].
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Json`].
    pub async fn record(&self, events: &[NewChangeEvent]) -> Result<()> {
        let encoded = events
            .iter()
            .map(EncodedChange::new)
            .collect::<Result<Vec<_>>>()?;
        with_tx!(self.store, tx => {
            for change in &encoded {
                insert_change!(tx, change);
            }
        });
        Ok(())
    }

    /// Events matching `query`, oldest first (by id).
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn list(&self, query: &ChangeQuery) -> Result<Vec<ChangeEvent>> {
        let rows: Vec<ChangeRecord> = with_pool!(self.store, pool => {
            sqlx::query_as(
                "SELECT id, run_id, detected_at, kind, account_id, group_id, resource, role, \
                 before_state, after_state, out_of_band, actor_id, actor_name \
                 FROM change_events \
                 WHERE ($1 IS NULL OR detected_at > $1) AND ($2 IS NULL OR id > $2) \
                 AND ($3 IS NULL OR run_id = $3) AND ($4 IS NULL OR account_id = $4) \
                 ORDER BY id LIMIT $5",
            )
            .bind(query.since)
            .bind(query.after_id)
            .bind(query.run.map(|r| r.0))
            .bind(query.account_id.as_deref())
            .bind(query.limit.unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(ChangeRecord::decode).collect()
    }

    /// Events detected strictly after `since` (all when `None`), oldest first.
    ///
    /// # Errors
    /// As [`Changes::list`].
    pub async fn since(&self, since: Option<DateTime<Utc>>) -> Result<Vec<ChangeEvent>> {
        self.list(&ChangeQuery {
            since,
            ..ChangeQuery::default()
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets

/// Named secrets (API tokens, keys), encrypted with the caller's [`MasterKey`] before they
/// reach the database. Plaintext never touches SQL or logs.
#[derive(Debug, Clone, Copy)]
pub struct Secrets<'a> {
    store: &'a Store,
    key: &'a MasterKey,
}

impl Secrets<'_> {
    /// Stores (or replaces) a secret. Idempotent in effect (a new nonce each time).
    ///
    /// # Errors
    /// [`Error::Encrypt`], [`Error::Database`].
    pub async fn put(&self, name: &str, value: &SecretString) -> Result<()> {
        let blob = secrets::seal(self.key, name, value)?;
        let at = now();
        with_pool!(self.store, pool => {
            sqlx::query(
                "INSERT INTO secrets (name, ciphertext, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE \
                 SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
            )
            .bind(name)
            .bind(&blob)
            .bind(at)
            .execute(pool)
            .await?;
        });
        tracing::debug!(name, "stored secret");
        Ok(())
    }

    /// Reads a secret, `None` if absent.
    ///
    /// # Errors
    /// [`Error::Decrypt`] when the master key is not the one that encrypted it (or the value
    /// was tampered with); [`Error::Database`].
    pub async fn get(&self, name: &str) -> Result<Option<SecretString>> {
        let blob: Option<Vec<u8>> = with_pool!(self.store, pool => {
            sqlx::query_scalar("SELECT ciphertext FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        blob.map(|b| secrets::open(self.key, name, &b)).transpose()
    }

    /// Deletes a secret; returns whether it existed. Deleting an absent secret succeeds.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn delete(&self, name: &str) -> Result<bool> {
        let done = with_pool!(self.store, pool => {
            sqlx::query("DELETE FROM secrets WHERE name = $1")
                .bind(name)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Names of the stored secrets, sorted.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn names(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = with_pool!(self.store, pool => {
            sqlx::query_scalar("SELECT name FROM secrets").fetch_all(pool).await?
        });
        names.sort();
        Ok(names)
    }
}
