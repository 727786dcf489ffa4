//! The sync engine, first slice: the org-level data, exact.
//!
//! [`run`] reads the organization through the Org API and writes one snapshot run into the
//! store: the org, its directories, sites and resources (workspaces plus the `platform` site
//! resources), every directory account, every group with its role assignments, every group
//! membership and every account role assignment with its source (direct, through which group,
//! or inferred). Users stream page by page into the store; the whole org is never held in
//! memory. The run completes atomically (readers switch to it at once) or fails, leaving the
//! previous snapshot visible. [`run_all`] adds the product slices ([`products`]: Statuspage
//! team and page permissions, each site's JSM customers), read concurrently with the org part;
//! a product failure is recorded per product and does not fail the run. The call plan is in
//! the crate README.

mod diff;
mod fetch;
pub mod products;

use std::collections::BTreeMap;
use std::time::Duration;

use atlassian_client::{Client, RetryPolicy};
use serde::Serialize;
use steward_store::{RunId, RunStatus, Store};

use crate::target::Target;

pub use fetch::SyncCounts;
pub use products::ProductCounts;

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
    /// Per product (`org`, `statuspage`): `ok`, `failed: <why>` or `not configured`, as
    /// recorded in the run's `product_status`. A product failure does not fail the run.
    pub product_status: BTreeMap<String, String>,
    /// Rows written by the product slices.
    pub products: ProductCounts,
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
/// in the report. [`run_all`] syncs the products too.
pub async fn run(target: &Target, store: &Store) -> SyncReport {
    run_built(target, store, false).await
}

/// [`run`] plus the product slices (Statuspage team and page permissions, each site's JSM
/// customers), each read concurrently with the org-level data; a product failure is recorded
/// in [`SyncReport::product_status`] and does not fail the run.
pub async fn run_all(target: &Target, store: &Store) -> SyncReport {
    run_built(target, store, true).await
}

async fn run_built(target: &Target, store: &Store, with_products: bool) -> SyncReport {
    match target.client(sync_retry(), Duration::from_secs(30)) {
        Ok(client) => run_slices(&client, target, store, with_products).await,
        Err(e) => SyncReport {
            run: None,
            status: RunStatus::Failed,
            counts: SyncCounts::default(),
            error: Some(format!("cannot build the Atlassian client: {e}")),
            changes: 0,
            attribution_error: None,
            product_status: BTreeMap::new(),
            products: ProductCounts::default(),
        },
    }
}

/// [`run`] with a given client (built from `target`, e.g. with another retry policy).
pub async fn run_with(client: &Client, target: &Target, store: &Store) -> SyncReport {
    run_slices(client, target, store, false).await
}

/// [`run_all`] with a given client (built from `target`, e.g. with another rate or retry
/// policy).
pub async fn run_all_with(client: &Client, target: &Target, store: &Store) -> SyncReport {
    run_slices(client, target, store, true).await
}

async fn run_slices(
    client: &Client,
    target: &Target,
    store: &Store,
    with_products: bool,
) -> SyncReport {
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
                product_status: BTreeMap::new(),
                products: ProductCounts::default(),
            };
        }
    };
    let counts = fetch::Counters::default();
    // Statuspage is its own scope: read concurrently with the org-level data.
    let statuspage = async {
        match (with_products, &target.statuspage) {
            (true, Some(_)) => Some(products::fetch_statuspage(client).await),
            _ => None,
        }
    };
    // Each site's JSM is its own scope too.
    let jsm = futures::future::join_all(
        target
            .sites
            .iter()
            .filter(|_| with_products)
            .map(|site| async move { (site, products::fetch_jsm(client, &site.name).await) }),
    );
    // The org part failing fails the run: stop the product reads at once (try_join drops them).
    let outcome = tokio::try_join!(
        fetch::sync_org(client, target, store, run, &counts),
        async { Ok(statuspage.await) },
        async { Ok(jsm.await) },
    );
    let counts = counts.snapshot();
    let (statuspage, jsm) = match outcome {
        Ok(((), statuspage, jsm)) => (statuspage, jsm),
        Err(e) => return failed(store, run, counts, e.to_string()).await,
    };
    let mut product_status = BTreeMap::from([(products::ORG.to_owned(), products::OK.to_owned())]);
    let mut product_counts = ProductCounts::default();
    let statuspage_state = match statuspage {
        None => products::NOT_CONFIGURED.to_owned(),
        Some(Err(e)) => {
            tracing::warn!(run = run.0, error = %e, "statuspage sync failed");
            format!("failed: {e}")
        }
        Some(Ok(team)) => match products::write_statuspage(store, run, team).await {
            Ok(written) => {
                product_counts = written;
                products::OK.to_owned()
            }
            Err(e) => {
                let error = format!("cannot write the statuspage team: {e}");
                return failed(store, run, counts, error).await;
            }
        },
    };
    if with_products {
        product_status.insert(products::STATUSPAGE.to_owned(), statuspage_state);
    }
    let sites = match store.snapshot(run).sites().await {
        Ok(sites) => sites,
        Err(e) => return failed(store, run, counts, format!("cannot read the sites: {e}")).await,
    };
    // Cloud ids of the sites whose JSM is synced whole in this run.
    let mut jsm_synced = std::collections::BTreeSet::new();
    for (site, read) in jsm {
        let state = match (read, products::cloud_id(&sites, site)) {
            (Err(e), _) => {
                tracing::warn!(run = run.0, site = site.name, error = %e, "jsm sync failed");
                format!("failed: {e}")
            }
            (Ok(_), None) => format!("failed: {} is not among the org's sites", site.url),
            (Ok(customers), Some(cloud_id)) => {
                match products::write_jsm(store, run, &cloud_id, customers).await {
                    Ok(n) => {
                        product_counts.jsm_customers += n;
                        jsm_synced.insert(cloud_id);
                        products::OK.to_owned()
                    }
                    Err(e) => {
                        let error = format!("cannot write the JSM customers of {}: {e}", site.name);
                        return failed(store, run, counts, error).await;
                    }
                }
            }
        };
        product_status.insert(products::jsm_key(&site.name), state);
    }
    let product_status_json = serde_json::json!(product_status);
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
        // A product is diffed only when both runs synced it whole.
        if products::synced(&previous.product_status, products::STATUSPAGE)
            && products::synced(&product_status_json, products::STATUSPAGE)
        {
            match products::diff_statuspage(store, previous.id, run, chrono::Utc::now()).await {
                Ok(more) => events.extend(more),
                Err(e) => {
                    let error = format!("cannot diff statuspage against run {}: {e}", previous.id);
                    return failed(store, run, counts, error).await;
                }
            }
        }
        // JSM: the sites synced whole in both runs (the previous run's by its status).
        let both: std::collections::BTreeSet<String> = target
            .sites
            .iter()
            .filter(|site| {
                products::synced(&previous.product_status, &products::jsm_key(&site.name))
            })
            .filter_map(|site| products::cloud_id(&sites, site))
            .filter(|cloud_id| jsm_synced.contains(cloud_id))
            .collect();
        if !both.is_empty() {
            match products::diff_jsm(store, previous.id, run, &both, chrono::Utc::now()).await {
                Ok(more) => events.extend(more),
                Err(e) => {
                    let error = format!("cannot diff JSM against run {}: {e}", previous.id);
                    return failed(store, run, counts, error).await;
                }
            }
        }
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
        .complete(run, &product_status_json, &events)
        .await
    {
        Ok(()) => SyncReport {
            run: Some(run),
            status: RunStatus::Completed,
            counts,
            error: None,
            changes: events.len(),
            attribution_error,
            product_status,
            products: product_counts,
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
        product_status: BTreeMap::from([(products::ORG.to_owned(), format!("failed: {error}"))]),
        error: Some(error),
        changes: 0,
        attribution_error: None,
        products: ProductCounts::default(),
    }
}

/// Compile-time check: the sync future is `Send`, so a service can `tokio::spawn` it.
#[cfg(test)]
#[allow(dead_code)]
fn sync_future_is_send(target: &Target, store: &Store) {
    fn is_send<T: Send>(_: T) {}
    is_send(run(target, store));
}
