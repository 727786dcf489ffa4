//! The sync engine, first slice: the org-level data, exact.
//!
//! [`run`] reads the organization through the Org API and writes one snapshot run into the
//! store: the org, its directories, sites and resources (workspaces plus the `platform` site
//! resources), every directory account, every group with its role assignments, every group
//! membership and every account role assignment with its source (direct, through which group,
//! or inferred). Users stream page by page into the store; the whole org is never held in
//! memory. The run completes atomically (readers switch to it at once) or fails, leaving the
//! previous snapshot visible. The call plan is in the crate README.

mod diff;
mod fetch;

use std::time::Duration;

use atlassian_client::{Client, RetryPolicy};
use serde::Serialize;
use steward_store::{RunId, RunStatus, Store};

use crate::target::Target;

pub use fetch::SyncCounts;

/// Page size of the user search and of the store batches (the API maximum).
pub const USER_PAGE: usize = 100;
/// Role-assignment reads in flight at once (the client's limiter still paces them).
pub const ROLE_READS_IN_FLIGHT: usize = 8;

/// What a sync run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncReport {
    /// The run (absent only when the store refused to begin one).
    pub run: Option<RunId>,
    /// `Completed` or `Failed`.
    pub status: RunStatus,
    /// Rows written, per entity.
    pub counts: SyncCounts,
    /// Why the run failed.
    pub error: Option<String>,
    /// Change events recorded against the previous completed run (0 for the first run, the
    /// baseline, and for a failed run).
    pub changes: usize,
    /// Why the changes could not be attributed (the org events read failed); the sync itself
    /// still completed.
    pub attribution_error: Option<String>,
}

impl SyncReport {
    /// Whether the run completed.
    pub fn succeeded(&self) -> bool {
        self.status == RunStatus::Completed
    }
}

/// The retry policy of a sync: patient, since a sync runs unattended.
pub fn sync_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        initial_backoff: Duration::from_millis(250),
        max_backoff: Duration::from_secs(10),
        max_elapsed: Duration::from_secs(60),
        max_retry_after: Duration::from_secs(60),
    }
}

/// Syncs the org-level data of `target` into `store`, with a client built from the target
/// ([`sync_retry`], 30 s per attempt). Never returns an error: a failure fails the run and is
/// in the report.
pub async fn run(target: &Target, store: &Store) -> SyncReport {
    match target.client(sync_retry(), Duration::from_secs(30)) {
        Ok(client) => run_with(&client, target, store).await,
        Err(e) => SyncReport {
            run: None,
            status: RunStatus::Failed,
            counts: SyncCounts::default(),
            error: Some(format!("cannot build the Atlassian client: {e}")),
            changes: 0,
            attribution_error: None,
        },
    }
}

/// [`run`] with a given client (built from `target`, e.g. with another retry policy).
pub async fn run_with(client: &Client, target: &Target, store: &Store) -> SyncReport {
    let run = match store.runs().begin().await {
        Ok(run) => run,
        Err(e) => {
            return SyncReport {
                run: None,
                status: RunStatus::Failed,
                counts: SyncCounts::default(),
                error: Some(format!("cannot begin a sync run: {e}")),
                changes: 0,
                attribution_error: None,
            };
        }
    };
    let counts = fetch::Counters::default();
    let outcome = fetch::sync_org(client, target, store, run, &counts).await;
    let counts = counts.snapshot();
    let product_status = |state: serde_json::Value| serde_json::json!({ "org": state });
    if let Err(e) = outcome {
        return failed(store, run, counts, e.to_string()).await;
    }
    // The diff against the previous completed run (none: this run is the baseline).
    let previous = match store.runs().latest_completed().await {
        Ok(previous) => previous.filter(|p| p.id != run),
        Err(e) => {
            let error = format!("cannot read the previous run: {e}");
            return failed(store, run, counts, error).await;
        }
    };
    let mut events = vec![];
    let mut attribution_error = None;
    if let Some(previous) = &previous {
        events = match diff::diff(store, previous.id, run, chrono::Utc::now()).await {
            Ok(events) => events,
            Err(e) => {
                let error = format!("cannot diff against run {}: {e}", previous.id);
                return failed(store, run, counts, error).await;
            }
        };
        match diff::attribute(client, previous, &mut events).await {
            Ok(n) => tracing::info!(
                run = run.0,
                changes = events.len(),
                attributed = n,
                "diffed"
            ),
            Err(e) => {
                let error = format!("cannot read the org events to attribute the changes: {e}");
                tracing::warn!(run = run.0, error, "changes left unattributed");
                attribution_error = Some(error);
            }
        }
    }
    match store
        .runs()
        .complete(run, &product_status(serde_json::json!("ok")), &events)
        .await
    {
        Ok(()) => SyncReport {
            run: Some(run),
            status: RunStatus::Completed,
            counts,
            error: None,
            changes: events.len(),
            attribution_error,
        },
        Err(e) => failed(store, run, counts, format!("cannot complete the run: {e}")).await,
    }
}

async fn failed(store: &Store, run: RunId, counts: SyncCounts, error: String) -> SyncReport {
    let status = serde_json::json!({ "org": { "error": error } });
    let error = match store.runs().fail(run, &status, &error).await {
        Ok(()) => error,
        Err(e) => format!("{error} (and the run could not be marked failed: {e})"),
    };
    tracing::warn!(run = run.0, error, "sync run failed");
    SyncReport {
        run: Some(run),
        status: RunStatus::Failed,
        counts,
        error: Some(error),
        changes: 0,
        attribution_error: None,
    }
}

/// Compile-time check: the sync future is `Send`, so a service can `tokio::spawn` it.
#[cfg(test)]
#[allow(dead_code)]
fn sync_future_is_send(target: &Target, store: &Store) {
    fn is_send<T: Send>(_: T) {}
    is_send(run(target, store));
}
