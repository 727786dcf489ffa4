//! The background work of `steward serve`: the scheduled sync, the access-request sweep
//! (grant jobs of approved requests, job outcomes, expiry) and the job workers.
//!
//! Several processes may share one PostgreSQL database, so:
//! - the **scheduled sync** runs exactly once per interval across them: time is cut into slots
//!   of `sync_interval` (slot = Unix time / interval) and a process syncs only after winning
//!   the slot's claim (`store.schedule().claim("sync", slot, owner)`, one conditional UPDATE:
//!   one winner per slot, slots only move forward). The engine's sync lease still keeps an
//!   on-demand sync and the scheduled one from running at once (the second says who holds it);
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
use steward_store::Store;
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
    /// Access-request sweep every this long (default 30 s).
    pub sweep_interval: Duration,
    /// Job workers in this process (default 2; 0: none, e.g. a process that only serves).
    pub workers: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            sync_interval: Duration::from_secs(3600),
            sweep_interval: Duration::from_secs(30),
            workers: 2,
        }
    }
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

    /// Runs the scheduled sync if this process wins the claim of `at`'s slot; `None` when
    /// another process has it (or it ran already, or there is no connection).
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
        tracing::info!(slot, owner = %self.owner, "scheduled sync starting");
        let report = launcher.launch(self.store.clone()).await;
        tracing::info!(run = ?report.run, status = ?report.status, error = ?report.error, "scheduled sync finished");
        Ok(Some(report))
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
                loop {
                    tokio::select! {
                        biased;
                        _ = stopped(&mut stop) => return,
                        outcome = me.sync_tick(Utc::now()) => {
                            if let Err(e) = outcome {
                                tracing::warn!(error = %e, "scheduled sync: cannot claim the slot");
                            }
                        }
                    }
                    tokio::select! {
                        _ = stopped(&mut stop) => return,
                        () = tokio::time::sleep(every) => {}
                    }
                }
            });
        }
        if !self.config.sweep_interval.is_zero() {
            let me = self.clone();
            let mut stop = shutdown.clone();
            tasks.spawn(async move {
                loop {
                    // A sweep is short and each of its steps commits alone: let it finish.
                    if *stop.borrow() {
                        return;
                    }
                    if let Err(e) = me.sweep_tick(Utc::now()).await {
                        tracing::warn!(error = %e, "access-request sweep failed; retrying");
                    }
                    tokio::select! {
                        _ = stopped(&mut stop) => return,
                        () = tokio::time::sleep(me.config.sweep_interval) => {}
                    }
                }
            });
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
