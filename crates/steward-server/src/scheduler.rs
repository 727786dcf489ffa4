//! The background work of `steward serve`: the scheduled sync, the access-request sweep
//! (grant jobs of approved requests, job outcomes, expiry) and the job workers.
//!
//! Several processes may share one PostgreSQL database, so:
//! - the **scheduled sync** runs exactly once per interval across them: time is cut into slots
//!   of `sync_interval` (slot = Unix time / interval) and a process syncs only after winning
//!   the slot's claim (`store.schedule().claim("sync", slot, owner)`, one conditional UPDATE:
//!   one winner per slot, slots only move forward). The engine's sync lease still keeps an
//!   on-demand sync and the scheduled one from running at once (the second says who holds it);
//!   A failed scheduled sync is tried again within its slot, after `sync_retry` doubling
//!   (at most a quarter of the interval), by the process that won the slot;
//! - the **sweep** runs in every process every `sweep_interval`: each of its steps is a
//!   conditional transition or an enqueue under an idempotency key, so two sweeps queue one
//!   job and record one transition;
//! - the **workers** claim jobs under leases (`SKIP LOCKED` on PostgreSQL): each job runs on
//!   one worker at a time, and a job whose worker died resumes elsewhere after its lease.
//!
//! Shutdown: when the watch channel turns `true`, the loops stop; a worker finishes the job it
//! is running (its remaining steps) and stops; a sync in progress is dropped (it resumes from
//! its checkpoints at the next start). Jobs not finished resume on restart.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use steward_engine::SyncReport;
use steward_engine::provision::Worker;
use steward_engine::requests::{RequestError, SweepReport, Workflow};
use steward_store::{RunStatus, Store};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::state::SyncLauncher;

/// The name of the scheduled sync's slot claims.
pub const SYNC_TASK: &str = "sync";

/// Intervals and worker count (`[service]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Scheduled sync every this long (default one hour); zero turns it off.
    pub sync_interval: Duration,
    /// A failed scheduled sync is tried again after this, doubling each time, at most a
    /// quarter of `sync_interval` (default one minute).
    pub sync_retry: Duration,
    /// Access-request sweep every this long (default 30 s).
    pub sweep_interval: Duration,
    /// Job workers in this process (default 2; 0: none, e.g. a process that only serves).
    pub workers: usize,
    /// Housekeeping every this long (default one hour; zero turns it off): expired
    /// sessions, old idempotency keys, and sync snapshots beyond `keep_sync_runs`.
    pub prune_interval: Duration,
    /// Completed sync runs whose snapshots are kept (default 24, at least 2: the diff needs
    /// the previous one). Change events are history and are never pruned.
    pub keep_sync_runs: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            sync_interval: Duration::from_secs(3600),
            sync_retry: Duration::from_secs(60),
            sweep_interval: Duration::from_secs(30),
            workers: 2,
            prune_interval: Duration::from_secs(3600),
            keep_sync_runs: 24,
        }
    }
}

/// A failed scheduled sync waiting to be tried again within its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Retry {
    /// The slot it failed in; a new slot starts afresh with its own claim.
    slot: i64,
    /// Failed attempts so far in that slot.
    failures: u32,
    /// When to try again.
    at: DateTime<Utc>,
}

/// The wait after the `failures`-th failed attempt: `base`, doubling, at most a quarter of
/// the interval (so a slot sees several attempts), never less than 10 ms.
pub fn retry_backoff(base: Duration, failures: u32, interval: Duration) -> Duration {
    let doubled = base.saturating_mul(1 << failures.saturating_sub(1).min(16));
    doubled.min(interval / 4).max(Duration::from_millis(10))
}

/// Whether a sync ended without completing (failed, or could not start).
fn sync_failed(report: &SyncReport) -> bool {
    report.run.is_none() || report.status != RunStatus::Completed
}

/// The scheduler (cheap to clone).
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// The store.
    pub store: Store,
    /// Intervals and workers.
    pub config: SchedulerConfig,
    /// Starts syncs (`None`: no Atlassian connection; no scheduled sync).
    pub sync: Option<Arc<dyn SyncLauncher>>,
    /// The access-request workflow the sweep advances.
    pub workflow: Workflow,
    /// A worker to clone for each job worker (`None`: no workers).
    pub worker: Option<Worker>,
    /// This process's name in slot claims and worker leases (unique per process).
    pub owner: String,
}

/// What one housekeeping pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Expired console sessions and old idempotency keys.
    pub sessions_and_keys: u64,
    /// Sync runs (with their snapshot rows) beyond the kept ones.
    pub sync_runs: u64,
}

/// The running scheduler's tasks.
#[derive(Debug)]
pub struct SchedulerHandle {
    tasks: JoinSet<()>,
}

impl SchedulerHandle {
    /// Waits for every task to stop (after the shutdown channel turned `true`).
    pub async fn join(mut self) {
        while let Some(done) = self.tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "a scheduler task failed");
            }
        }
    }
}

/// How often a loop looks at the clock: often enough to start within a small fraction of
/// its interval, never busy.
fn tick(interval: Duration) -> Duration {
    (interval / 10).clamp(Duration::from_millis(50), Duration::from_secs(30))
}

impl Scheduler {
    /// The sync slot `at` falls in.
    pub fn sync_slot(&self, at: DateTime<Utc>) -> i64 {
        let millis = i64::try_from(self.config.sync_interval.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        at.timestamp_millis().div_euclid(millis)
    }

    /// When `slot` begins.
    fn slot_start(&self, slot: i64) -> DateTime<Utc> {
        let millis = i64::try_from(self.config.sync_interval.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        DateTime::from_timestamp_millis(slot.saturating_mul(millis)).unwrap_or_default()
    }

    /// Whether a sync (of any trigger) that started within `slot` has completed.
    async fn completed_in_slot(&self, slot: i64) -> Result<bool, steward_store::Error> {
        Ok(self
            .store
            .runs()
            .latest_completed()
            .await?
            .is_some_and(|run| run.started_at >= self.slot_start(slot)))
    }

    /// Runs the scheduled sync if this process wins the claim of `at`'s slot; `None` when
    /// another process has it (or it ran already, or there is no connection). A sync that
    /// completed earlier in the slot (started on demand, or at the sandbox's start) counts
    /// as the slot's: the claim is taken and nothing runs.
    ///
    /// # Errors
    /// When the claim can't be written.
    pub async fn sync_tick(
        &self,
        at: DateTime<Utc>,
    ) -> Result<Option<SyncReport>, steward_store::Error> {
        let Some(launcher) = &self.sync else {
            return Ok(None);
        };
        if self.config.sync_interval.is_zero() {
            return Ok(None);
        }
        let slot = self.sync_slot(at);
        if !self
            .store
            .schedule()
            .claim(SYNC_TASK, slot, &self.owner)
            .await?
        {
            return Ok(None);
        }
        if self.completed_in_slot(slot).await? {
            tracing::info!(
                slot,
                "scheduled sync skipped: a sync completed in this slot already"
            );
            return Ok(None);
        }
        tracing::info!(slot, owner = %self.owner, "scheduled sync starting");
        let report =
            crate::metrics::timed_sync(launcher.as_ref(), self.store.clone(), "scheduled").await;
        tracing::info!(run = ?report.run, status = ?report.status, error = ?report.error, "scheduled sync finished");
        Ok(Some(report))
    }

    /// One turn of the sync loop: a due retry of this slot's failed sync, else the slot's
    /// claim (see [`Scheduler::sync_tick`]); a failure schedules the next retry.
    async fn sync_step(&self, retry: &mut Option<Retry>) {
        let now = Utc::now();
        let slot = self.sync_slot(now);
        let outcome = match *retry {
            Some(r) if r.slot == slot && now < r.at => return,
            Some(r) if r.slot == slot => match &self.sync {
                // Another sync (say, on demand) completed since: the slot has its sync.
                Some(_) if self.completed_in_slot(slot).await.unwrap_or(false) => {
                    *retry = None;
                    return;
                }
                Some(launcher) => {
                    tracing::info!(
                        slot,
                        attempt = r.failures + 1,
                        "scheduled sync: trying again"
                    );
                    Ok(Some(
                        crate::metrics::timed_sync(launcher.as_ref(), self.store.clone(), "retry")
                            .await,
                    ))
                }
                None => Ok(None),
            },
            _ => {
                *retry = None;
                self.sync_tick(now).await
            }
        };
        match outcome {
            Ok(Some(report)) if sync_failed(&report) => {
                let failures = retry.map_or(0, |r| r.failures) + 1;
                let wait =
                    retry_backoff(self.config.sync_retry, failures, self.config.sync_interval);
                tracing::warn!(
                    slot,
                    failures,
                    retry_in_ms = wait.as_millis() as u64,
                    error = report.error.as_deref().unwrap_or("no run"),
                    "scheduled sync failed; it will be tried again"
                );
                *retry = Some(Retry {
                    slot,
                    failures,
                    at: Utc::now() + wait,
                });
            }
            Ok(Some(_)) => *retry = None,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "scheduled sync: cannot claim the slot"),
        }
    }

    /// Housekeeping at `at`: deletes expired console sessions and old idempotency keys, and
    /// sync snapshots beyond the newest `keep_sync_runs` completed runs. Each delete is
    /// idempotent, so every process may run it.
    ///
    /// # Errors
    /// When the store refuses a delete.
    pub async fn prune_tick(&self, at: DateTime<Utc>) -> Result<PruneReport, steward_store::Error> {
        let report = PruneReport {
            sessions_and_keys: self.store.accounts().prune(at).await?,
            sync_runs: self
                .store
                .runs()
                .prune(i64::from(self.config.keep_sync_runs.max(2)))
                .await?,
        };
        if report != PruneReport::default() {
            tracing::info!(?report, "housekeeping: pruned");
        }
        Ok(report)
    }

    /// One access-request sweep at `at`.
    ///
    /// # Errors
    /// When the due requests can't be listed.
    pub async fn sweep_tick(&self, at: DateTime<Utc>) -> Result<SweepReport, RequestError> {
        let report = self.workflow.sweep(at).await?;
        if report != SweepReport::default() {
            tracing::info!(?report, "access requests advanced");
        }
        Ok(report)
    }

    /// Starts the sync loop, the sweep loop and the workers; they run until `shutdown` turns
    /// `true` (or its sender is dropped).
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> SchedulerHandle {
        let mut tasks = JoinSet::new();
        if self.sync.is_some() && !self.config.sync_interval.is_zero() {
            let me = self.clone();
            let mut stop = shutdown.clone();
            tasks.spawn(async move {
                let every = tick(me.config.sync_interval);
                let mut retry: Option<Retry> = None;
                loop {
                    tokio::select! {
                        biased;
                        _ = stopped(&mut stop) => return,
                        () = me.sync_step(&mut retry) => {}
                    }
                    // Wake for a retry due sooner than the next look at the clock.
                    let nap = retry
                        .and_then(|r| (r.at - Utc::now()).to_std().ok())
                        .map_or(every, |due| due.min(every));
                    tokio::select! {
                        _ = stopped(&mut stop) => return,
                        () = tokio::time::sleep(nap) => {}
                    }
                }
            });
        }
        if !self.config.prune_interval.is_zero() {
            let me = self.clone();
            tasks.spawn(every(
                self.config.prune_interval,
                shutdown.clone(),
                move || {
                    let me = me.clone();
                    async move {
                        if let Err(e) = me.prune_tick(Utc::now()).await {
                            tracing::warn!(error = %e, "housekeeping failed; trying again later");
                        }
                    }
                },
            ));
        }
        if !self.config.sweep_interval.is_zero() {
            let me = self.clone();
            tasks.spawn(every(
                self.config.sweep_interval,
                shutdown.clone(),
                move || {
                    let me = me.clone();
                    async move {
                        if let Err(e) = me.sweep_tick(Utc::now()).await {
                            tracing::warn!(error = %e, "access-request sweep failed; retrying");
                        }
                    }
                },
            ));
        }
        if let Some(template) = &self.worker {
            for i in 0..self.config.workers {
                let mut worker = template.clone();
                worker.owner = format!("{}/w{i}", self.owner);
                let stop = shutdown.clone();
                tasks.spawn(async move {
                    if let Err(e) = worker.run(stop).await {
                        tracing::error!(error = %e, owner = %worker.owner, "job worker stopped");
                    }
                });
            }
        }
        SchedulerHandle { tasks }
    }
}

/// Runs `pass` every `interval` until `stop` turns `true`. A pass that has begun is let
/// finish (sweeps and housekeeping are short, and each of their steps commits alone).
async fn every<F, Fut>(interval: Duration, mut stop: watch::Receiver<bool>, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        if *stop.borrow() {
            return;
        }
        pass().await;
        tokio::select! {
            _ = stopped(&mut stop) => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Completes once `stop` is `true` or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}
