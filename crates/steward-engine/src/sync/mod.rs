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
mod lease;
mod own;
pub mod products;
pub mod progress;

use std::collections::BTreeMap;
use std::time::Duration;

use atlassian_client::{Client, RetryPolicy};
use serde::Serialize;
use steward_store::{Acquired, Checkpoint, RunId, RunStatus, Store};

use crate::target::Target;

pub use fetch::SyncCounts;
pub use lease::{holder_is_gone, owner_id};
pub use products::ProductCounts;
pub use progress::{Phase, ProductProgress, Progress};

/// Page size of the user search and of the store batches (the API maximum).
pub const USER_PAGE: usize = 100;
/// Role-assignment reads in flight at once (the client's limiter still paces them).
pub const ROLE_READS_IN_FLIGHT: usize = 8;

/// What a sync run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncReport {
    /// The run (absent when the sync could not begin one: the store refused, or another
    /// sync holds the lease).
    pub run: Option<RunId>,
    /// Whether this sync resumed a run a crashed sync left (then `counts` are the rows this
    /// attempt wrote, not the whole snapshot's).
    pub resumed: bool,
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

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Sync the products (Statuspage, each site's JSM) too, not only the org-level data.
    pub products: bool,
    /// How long the sync lease lasts unless renewed (it is renewed every third of that). A
    /// sync whose process died is taken over once this has passed, or at once when it ran on
    /// this host and its process is gone.
    pub lease_ttl: Duration,
    /// A run left `running` by a crash is resumed from its checkpoints when it started less
    /// than this long ago; an older one is abandoned and a new run begins.
    pub resume_within: Duration,
    /// Where the sync reports its progress.
    pub progress: Progress,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            products: true,
            lease_ttl: Duration::from_secs(30),
            resume_within: Duration::from_secs(6 * 3600),
            progress: Progress::new(),
        }
    }
}

/// The name of the lease a sync holds while it runs (one sync at a time per database).
pub const SYNC_LEASE: &str = "sync";

/// Syncs the org-level data of `target` into `store`, with a client built from the target
/// ([`sync_retry`], 30 s per attempt). Never returns an error: a failure fails the run and is
/// in the report. [`run_all`] syncs the products too.
pub async fn run(target: &Target, store: &Store) -> SyncReport {
    let options = SyncOptions {
        products: false,
        ..SyncOptions::default()
    };
    run_built(target, store, &options).await
}

/// [`run`] plus the product slices (Statuspage team and page permissions, each site's JSM
/// customers), each read concurrently with the org-level data; a product failure is recorded
/// in [`SyncReport::product_status`] and does not fail the run.
pub async fn run_all(target: &Target, store: &Store) -> SyncReport {
    run_built(target, store, &SyncOptions::default()).await
}

/// A sync with the given options, with a client built from the target.
pub async fn run_with_options(target: &Target, store: &Store, options: &SyncOptions) -> SyncReport {
    run_built(target, store, options).await
}

async fn run_built(target: &Target, store: &Store, options: &SyncOptions) -> SyncReport {
    match target.client(sync_retry(), Duration::from_secs(30)) {
        Ok(client) => run_client(&client, target, store, options).await,
        Err(e) => not_started(format!("cannot build the Atlassian client: {e}")),
    }
}

/// [`run`] with a given client (built from `target`, e.g. with another retry policy).
pub async fn run_with(client: &Client, target: &Target, store: &Store) -> SyncReport {
    let options = SyncOptions {
        products: false,
        ..SyncOptions::default()
    };
    run_client(client, target, store, &options).await
}

/// [`run_all`] with a given client (built from `target`, e.g. with another rate or retry
/// policy).
pub async fn run_all_with(client: &Client, target: &Target, store: &Store) -> SyncReport {
    run_client(client, target, store, &SyncOptions::default()).await
}

/// A sync with a given client and options: takes the sync lease (one sync at a time per
/// database), resumes the run a crashed sync left (or begins one), keeps the lease renewed
/// while it works, and gives it up at the end.
pub async fn run_client(
    client: &Client,
    target: &Target,
    store: &Store,
    options: &SyncOptions,
) -> SyncReport {
    let owner = lease::owner_id();
    let leases = store.leases();
    match leases
        .acquire(SYNC_LEASE, &owner, options.lease_ttl, lease::holder_is_gone)
        .await
    {
        Ok(Acquired::Held { taken_over }) => {
            if let Some(previous) = taken_over {
                tracing::warn!(
                    previous = previous.owner,
                    "took over the sync of a process that stopped"
                );
            }
        }
        Ok(Acquired::Busy(holder)) => {
            return not_started(format!(
                "another sync is running ({} holds the sync lease until {}); wait for it to \
                 finish, or, if that process is gone, run again after that time",
                holder.owner,
                holder
                    .expires_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        Err(e) => return not_started(format!("cannot take the sync lease: {e}")),
    }
    let work = run_leased(client, target, store, options);
    let heartbeat = lease::keep(store, SYNC_LEASE, &owner, options.lease_ttl);
    let report = tokio::select! {
        report = work => report,
        lost = heartbeat => {
            // Someone else holds the lease now and may resume the run: leave it running.
            let mut report = not_started(lost);
            report.run = store.runs().latest_running().await.ok().flatten().map(|r| r.id);
            report
        }
    };
    if let Err(e) = leases.release(SYNC_LEASE, &owner).await {
        tracing::warn!(error = %e, "cannot release the sync lease (it lapses by itself)");
    }
    report
}

/// A report for a sync that did not get to begin (or lost its lease).
fn not_started(error: String) -> SyncReport {
    SyncReport {
        run: None,
        resumed: false,
        status: RunStatus::Failed,
        counts: SyncCounts::default(),
        error: Some(error),
        changes: 0,
        attribution_error: None,
        product_status: BTreeMap::new(),
        products: ProductCounts::default(),
    }
}

/// The run to write: the one a crashed sync left (resumed from its checkpoints) or a new
/// one.
async fn pick_run(
    store: &Store,
    options: &SyncOptions,
) -> steward_store::Result<(RunId, Vec<Checkpoint>)> {
    let runs = store.runs();
    if let Some(left) = runs.latest_running().await? {
        let age = chrono::Utc::now() - left.started_at;
        let recent = age.to_std().is_ok_and(|age| age < options.resume_within);
        if recent {
            let checkpoints = runs.checkpoints(left.id).await?;
            tracing::info!(
                run = left.id.0,
                checkpoints = checkpoints.len(),
                "resuming a sync run a crash left"
            );
            return Ok((left.id, checkpoints));
        }
        runs.abandon(left.id, "left running by a crash too long ago to resume")
            .await?;
    }
    Ok((runs.begin().await?, vec![]))
}

async fn run_leased(
    client: &Client,
    target: &Target,
    store: &Store,
    options: &SyncOptions,
) -> SyncReport {
    let (run, checkpoints) = match pick_run(store, options).await {
        Ok(picked) => picked,
        Err(e) => return not_started(format!("cannot begin a sync run: {e}")),
    };
    let report = run_slices(client, target, store, options, run, &checkpoints).await;
    // A resumed cursor the API no longer accepts (expired, or the org changed under it):
    // start that run over, once.
    if !checkpoints.is_empty()
        && report
            .error
            .as_deref()
            .is_some_and(|e| e.contains(STALE_CURSOR))
    {
        tracing::warn!(
            run = run.0,
            "the resumed cursor was refused; starting a new run"
        );
        return match store.runs().begin().await {
            Ok(fresh) => run_slices(client, target, store, options, fresh, &[]).await,
            Err(e) => not_started(format!("cannot begin a sync run: {e}")),
        };
    }
    report
}

/// Marks the error of a run whose resumed cursor the API refused.
const STALE_CURSOR: &str = "the saved page cursor was refused";

async fn run_slices(
    client: &Client,
    target: &Target,
    store: &Store,
    options: &SyncOptions,
    run: RunId,
    checkpoints: &[Checkpoint],
) -> SyncReport {
    let with_products = options.products;
    let progress = &options.progress;
    let resume = fetch::OrgResume::of(checkpoints);
    let resumed = resume.is_resumed();
    let counts = fetch::Counters::default();
    // Statuspage is its own scope: read concurrently with the org-level data (unless an
    // earlier attempt of this run stored it whole).
    let statuspage_before = products::done_before(checkpoints, products::STATUSPAGE);
    let statuspage = async {
        match (with_products, &target.statuspage, statuspage_before) {
            (true, Some(_), None) => Some(products::fetch_statuspage(client, progress).await),
            _ => None,
        }
    };
    // Each site's JSM is its own scope too.
    let jsm = futures::future::join_all(
        target
            .sites
            .iter()
            .filter(|_| with_products)
            .filter(|site| {
                products::done_before(checkpoints, &products::jsm_key(&site.name)).is_none()
            })
            .map(|site| async move {
                (
                    site,
                    products::fetch_jsm(client, &site.name, progress).await,
                )
            }),
    );
    // The org part failing fails the run: stop the product reads at once (try_join drops them).
    let outcome = tokio::try_join!(
        fetch::sync_org(client, target, store, run, &counts, &resume, progress),
        async { Ok(statuspage.await) },
        async { Ok(jsm.await) },
    );
    let counts = counts.snapshot();
    let (statuspage, jsm) = match outcome {
        Ok(((), statuspage, jsm)) => (statuspage, jsm),
        Err(e) => {
            progress.fail(products::ORG);
            let error = match &e {
                fetch::SyncError::Api { source, .. }
                    if resumed && source.status().map(|s| s.as_u16()) == Some(400) =>
                {
                    format!("{STALE_CURSOR}: {e}")
                }
                _ => e.to_string(),
            };
            return failed(store, run, counts, error).await;
        }
    };
    let mut product_status = BTreeMap::from([(products::ORG.to_owned(), products::OK.to_owned())]);
    let mut product_counts = ProductCounts::default();
    let statuspage_state = match (statuspage, statuspage_before) {
        (_, Some(before)) => {
            product_counts = before;
            progress.finish(products::STATUSPAGE);
            products::OK.to_owned()
        }
        (None, None) => products::NOT_CONFIGURED.to_owned(),
        (Some(Err(e)), None) => {
            tracing::warn!(run = run.0, error = %e, "statuspage sync failed");
            progress.fail(products::STATUSPAGE);
            format!("failed: {e}")
        }
        (Some(Ok(team)), None) => match products::write_statuspage(store, run, team).await {
            Ok(written) => {
                product_counts = written;
                progress.finish(products::STATUSPAGE);
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
    for site in target.sites.iter().filter(|_| with_products) {
        let key = products::jsm_key(&site.name);
        if let Some(before) = products::done_before(checkpoints, &key) {
            product_counts.jsm_customers += before.jsm_customers;
            if let Some(cloud_id) = products::cloud_id(&sites, site) {
                jsm_synced.insert(cloud_id);
            }
            progress.finish(&key);
            product_status.insert(key, products::OK.to_owned());
        }
    }
    for (site, read) in jsm {
        let key = products::jsm_key(&site.name);
        let state = match (read, products::cloud_id(&sites, site)) {
            (Err(e), _) => {
                tracing::warn!(run = run.0, site = site.name, error = %e, "jsm sync failed");
                progress.fail(&key);
                format!("failed: {e}")
            }
            (Ok(_), None) => {
                progress.fail(&key);
                format!("failed: {} is not among the org's sites", site.url)
            }
            (Ok(customers), Some(cloud_id)) => {
                match products::write_jsm(store, run, &cloud_id, &site.name, customers).await {
                    Ok(n) => {
                        product_counts.jsm_customers += n;
                        jsm_synced.insert(cloud_id);
                        progress.finish(&key);
                        products::OK.to_owned()
                    }
                    Err(e) => {
                        let error = format!("cannot write the JSM customers of {}: {e}", site.name);
                        return failed(store, run, counts, error).await;
                    }
                }
            }
        };
        product_status.insert(key, state);
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
        // Steward's own changes first: they are not drift, and keep their job attribution.
        let own = match own::mark_own_changes(store, previous, run, &mut events).await {
            Ok(n) => n,
            Err(e) => {
                let error = format!("cannot read Steward's own jobs to mark its changes: {e}");
                return failed(store, run, counts, error).await;
            }
        };
        match diff::attribute(client, previous, &mut events).await {
            Ok(n) => tracing::info!(
                run = run.0,
                changes = events.len(),
                own,
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
            resumed,
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
        resumed: false,
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
    is_send(run_all(target, store));
}
