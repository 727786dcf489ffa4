//! The scenarios of one profile, run in order against one store: full sync, sync after 1% of
//! users changed, onboarding, offboarding, one grant.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use atlassian_client::config::{Rate, RateLimits};
use serde_json::json;
use steward_engine::Target;
use steward_engine::provision::{
    Catalog, CatalogConfig, Entitlement, EntitlementKind, OffboardLevel, OrgFacts, Plan,
    RunOutcome, Worker, enqueue_plan_confirmed, person_state, plan_grant, plan_offboard,
};
use steward_engine::sync::{self, SyncReport};
use steward_store::{AccountFilter, Snapshot, Store};

use crate::profile::{Pace, ProfileSpec};
use crate::report::{self, OrgSize, ProfileReport, STATUSPAGE, Scenario, ScopeBound};
use crate::sim::{Counters, SimProcess};
use crate::usage;

/// Workers running provisioning jobs at once (one client, so one limiter per scope).
pub const WORKERS: usize = 16;
/// Longest a batch of provisioning jobs may take before the benchmark gives up on it.
const JOBS_DEADLINE: Duration = Duration::from_secs(3600);

/// What one measured future cost.
struct Raw {
    wall: Duration,
    cpu: Option<Duration>,
    peak_rss: Option<u64>,
    counters: Counters,
}

/// Runs `fut` with the simulator's counters zeroed and the memory high-water mark reset, and
/// reads what it cost.
async fn measured<F: Future>(sim: &SimProcess, fut: F) -> anyhow::Result<(F::Output, Raw)> {
    sim.reset_counters().await?;
    usage::reset_peak();
    let before = usage::now();
    let start = Instant::now();
    let out = fut.await;
    let wall = start.elapsed();
    let after = usage::now();
    let counters = sim.counters().await?;
    Ok((
        out,
        Raw {
            wall,
            cpu: after.cpu.zip(before.cpu).map(|(a, b)| a.saturating_sub(b)),
            peak_rss: after.peak_rss,
            counters,
        },
    ))
}

fn family(c: &Counters, names: &[&str]) -> u64 {
    names
        .iter()
        .filter_map(|n| c.families.get(*n))
        .map(|f| f.total)
        .sum()
}

fn db_mib(path: &Path) -> f64 {
    let mut bytes = 0;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        bytes += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    }
    bytes as f64 / (1024.0 * 1024.0)
}

/// Fills a [`Scenario`] from its measurements and bounds.
struct Draft<'a> {
    name: &'a str,
    detail: String,
    ok: bool,
    min_calls: u64,
    scopes: Vec<ScopeBound>,
    chain_s: Option<f64>,
}

impl Draft<'_> {
    fn finish(self, raw: &Raw, db: &Path) -> Scenario {
        let wall_s = raw.wall.as_secs_f64();
        let cpu_s = raw.cpu.map(|c| c.as_secs_f64());
        let calls: BTreeMap<String, u64> = raw
            .counters
            .families
            .iter()
            .filter(|(k, _)| k.as_str() != "control")
            .map(|(k, v)| (k.clone(), v.total))
            .collect();
        let calls_total: u64 = calls.values().sum();
        let bound_s = self
            .scopes
            .iter()
            .map(ScopeBound::seconds)
            .chain(self.chain_s)
            .fold(0.0, f64::max);
        Scenario {
            name: self.name.to_owned(),
            detail: self.detail,
            ok: self.ok,
            wall_s,
            cpu_s,
            cpu_share: cpu_s.map(|c| c / wall_s.max(1e-9)),
            peak_rss_mib: raw.peak_rss.map(|b| b as f64 / (1024.0 * 1024.0)),
            db_mib: db_mib(db),
            calls,
            calls_total,
            rate_limited: raw.counters.rate_limited,
            min_calls: self.min_calls,
            call_ratio: calls_total as f64 / (self.min_calls.max(1) as f64),
            bound_s,
            bound_ratio: wall_s / bound_s.max(1e-9),
            scopes: self.scopes,
            chain_s: self.chain_s,
            target: String::new(),
            met: false,
        }
    }
}

/// Runs every scenario of `spec` against `sim`.
///
/// # Errors
/// The store cannot be opened, a sync fails, or the snapshot cannot be read.
pub async fn run_all(
    sim: &SimProcess,
    spec: &ProfileSpec,
    pace: Pace,
) -> anyhow::Result<ProfileReport> {
    let target = sim.target()?;
    let client = client(&target, pace).context("cannot build the Atlassian client")?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("steward.db");
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .context("cannot open the benchmark's store")?;
    let latency = spec.latency_ms as f64 / 1000.0;
    // A chain of dependent calls can be no faster than its calls at the lowest latency.
    let fastest = spec.latency_ms.saturating_sub(spec.jitter_ms) as f64 / 1000.0;
    let tag = spec.name.as_str();
    let mut scenarios = vec![];

    // 1. Full sync.
    eprintln!("[{tag}] full sync…");
    let (first, raw) = measured(sim, sync::run_all_with(&client, &target, &store)).await?;
    anyhow::ensure!(
        first.succeeded(),
        "the full sync failed: {}",
        first.error.clone().unwrap_or_default()
    );
    let snapshot = latest(&store).await?;
    let org = org_size(&first, &snapshot, target.sites.len()).await?;
    let mut full = sync_draft("full_sync", &first, &org, &raw, latency).finish(&raw, &db);
    full.met = full.call_ratio <= 1.05
        && full.bound_ratio <= 1.25
        && full.cpu_share.is_some_and(|c| c <= 0.10)
        && full.peak_rss_mib.is_some_and(|m| m <= 250.0);
    full.target =
        "calls ≤ 1.05×min, wall ≤ 1.25×bound, CPU ≤ 10% of wall, peak ≤ 250 MiB".to_owned();
    let full_wall = full.wall_s;
    scenarios.push(full);

    // 2. 1% of users changed by another admin, then the sync Steward has (a full one).
    let changed = change_one_percent(sim, &snapshot, &target).await?;
    eprintln!("[{tag}] sync after {changed} users changed…");
    let (second, raw) = measured(sim, sync::run_all_with(&client, &target, &store)).await?;
    anyhow::ensure!(
        second.succeeded(),
        "the second sync failed: {}",
        second.error.clone().unwrap_or_default()
    );
    let mut again =
        sync_draft("sync_after_1pct_change", &second, &org, &raw, latency).finish(&raw, &db);
    again.detail = format!(
        "{changed} users changed out of band; {} change events recorded; {}",
        second.changes, again.detail
    );
    let speedup = full_wall / again.wall_s.max(1e-9);
    again.met = speedup >= 10.0;
    again.target =
        "≥ 10× faster than the full sync (no incremental sync yet: a full one)".to_owned();
    scenarios.push(again);

    // 3. Onboarding, 4. offboarding, 5. one grant: planned against the latest snapshot.
    let snapshot = latest(&store).await?;
    let facts = OrgFacts::from_snapshot(&snapshot, Some(&target.integration_email)).await?;
    let catalog = Catalog::from_snapshot(&snapshot, &CatalogConfig::default()).await?;

    eprintln!("[{tag}] onboarding {} people…", spec.onboard);
    let entitlements = onboarding_entitlements(&catalog, &facts, &target)?;
    let emails: Vec<String> = (0..spec.onboard)
        .map(|i| format!("bench.hire{i:05}@acme.com"))
        .collect();
    let work = async {
        let mut plans = vec![];
        for email in &emails {
            let state = person_state(&snapshot, email, &facts).await?;
            plans.push(plan_grant(&state, &entitlements, &facts)?);
        }
        run_jobs(&store, &client, &target, plans, "grant").await
    };
    let (outcome, raw) = measured(sim, work).await?;
    let outcome: Jobs = outcome?;
    scenarios.push(provisioning(
        "onboard",
        &format!(
            "{} people × {} entitlements ({})",
            spec.onboard,
            entitlements.len(),
            entitlements
                .iter()
                .map(|e| e.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        &outcome,
        &raw,
        &db,
        (latency, fastest),
        target.sites.len(),
    ));

    eprintln!("[{tag}] offboarding {} people…", spec.offboard);
    let leavers = offboarding_candidates(&snapshot, &facts, spec.offboard).await?;
    let work = async {
        let mut plans = vec![];
        for email in &leavers {
            let state = person_state(&snapshot, email, &facts).await?;
            plans.push(plan_offboard(&state, OffboardLevel::Suspend, &facts)?);
        }
        run_jobs(&store, &client, &target, plans, "offboard").await
    };
    let (outcome, raw) = measured(sim, work).await?;
    let outcome: Jobs = outcome?;
    scenarios.push(provisioning(
        "offboard",
        &format!("{} people, level suspend", leavers.len()),
        &outcome,
        &raw,
        &db,
        (latency, fastest),
        target.sites.len(),
    ));

    eprintln!("[{tag}] one grant…");
    let leavers: BTreeSet<String> = leavers.into_iter().collect();
    let grant = async {
        let (email, plan) = grant_candidate(&snapshot, &facts, &catalog, &target, &leavers).await?;
        let (outcome, raw) =
            measured(sim, run_jobs(&store, &client, &target, vec![plan], "grant")).await?;
        let outcome = outcome?;
        let calls = family(
            &raw.counters,
            &[
                "org",
                "user-management",
                "jira",
                "jsm",
                "confluence-v1",
                "confluence-v2",
                "statuspage",
            ],
        );
        let mut grant = Draft {
            name: "grant",
            detail: format!("{email}: {}", outcome.summary()),
            ok: outcome.failed.is_empty(),
            min_calls: calls,
            scopes: vec![],
            chain_s: Some(calls as f64 * fastest),
        }
        .finish(&raw, &db);
        let allowed = (calls as f64 + 1.0) * latency + 0.050;
        grant.met = grant.ok && grant.wall_s <= allowed;
        grant.target = format!("≤ (calls + 1) × latency + 50 ms = {allowed:.3} s");
        Ok::<_, anyhow::Error>(grant)
    };
    // A grant that cannot be set up is reported, not fatal: the other numbers still count.
    scenarios.push(
        grant
            .await
            .unwrap_or_else(|e| Scenario::failed("grant", &e)),
    );

    store.close().await;
    Ok(ProfileReport {
        profile: tag.to_owned(),
        pace: pace.as_str().to_owned(),
        org,
        latency_ms: spec.latency_ms,
        jitter_ms: spec.jitter_ms,
        scenarios,
        incremental_speedup: Some(speedup),
    })
}

/// The client a configured Steward builds (sync retry policy, 30 s per attempt), paced as
/// `pace` says.
fn client(
    target: &Target,
    pace: Pace,
) -> Result<atlassian_client::Client, atlassian_client::Error> {
    let mut builder = atlassian_client::Client::builder()
        .api_url(target.api_url.clone())
        .org_api_key(target.org_api_key.clone())
        .org_id(target.org_id.clone())
        .retry(sync::sync_retry())
        .timeout(Duration::from_secs(30));
    for site in &target.sites {
        builder = builder.site(
            site.name.clone(),
            site.url.clone(),
            target.integration_email.clone(),
            site.api_token.clone(),
        );
    }
    if let Some(sp) = &target.statuspage {
        builder = builder.statuspage(
            sp.url.clone(),
            sp.api_key.clone(),
            sp.organization_id.clone(),
        );
    }
    if pace == Pace::Documented {
        let documented = Rate {
            per_second: report::ORG.per_second,
            burst: report::ORG.burst as u32,
        };
        builder = builder.rate_limits(RateLimits {
            org: documented,
            jira: documented,
            confluence: documented,
            ..RateLimits::default()
        });
    }
    builder.build()
}

async fn latest(store: &Store) -> anyhow::Result<Snapshot> {
    store
        .latest_snapshot()
        .await?
        .context("no completed sync in the store")
}

async fn org_size(r: &SyncReport, snapshot: &Snapshot, sites: usize) -> anyhow::Result<OrgSize> {
    let groups_with_roles: BTreeSet<String> = snapshot
        .group_roles()
        .await?
        .into_iter()
        .map(|g| g.group_id)
        .collect();
    Ok(OrgSize {
        users: r.counts.accounts,
        users_with_access: r.counts.users_with_access,
        groups: r.counts.groups,
        groups_with_roles: groups_with_roles.len() as u64,
        memberships: r.counts.memberships,
        role_assignments: r.counts.role_assignments,
        sites: sites as u64,
        statuspage_members: r.products.statuspage_members as u64,
        jsm_customers: r.products.jsm_customers as u64,
    })
}

fn div_ceil(a: u64, b: u64) -> u64 {
    a.div_ceil(b.max(1))
}

/// A sync's minimum calls and bound. The Org API part follows the engine README's call plan
/// (`3 + ⌈U/100⌉ + ⌈G/100⌉ + G_r + U_a`, plus the org events read for attribution when changes
/// were recorded, counted as made); Statuspage needs `⌈M/100⌉ + M`; JSM needs the desks list
/// and each desk's customer pages, counted as made (the snapshot keeps only desks with
/// customers, so their minimum cannot be derived from it).
fn sync_draft<'a>(
    name: &'a str,
    r: &SyncReport,
    org: &OrgSize,
    raw: &Raw,
    latency: f64,
) -> Draft<'a> {
    let events: u64 = raw
        .counters
        .routes
        .iter()
        .filter(|(route, _)| route.contains("/events"))
        .map(|(_, n)| *n)
        .sum();
    let org_min = 3
        + div_ceil(org.users, 100)
        + div_ceil(org.groups, 100)
        + org.groups_with_roles
        + org.users_with_access
        + events;
    let members = r.products.statuspage_members as u64;
    let sp_min = div_ceil(members, 100) + members;
    let jsm = family(&raw.counters, &["jsm", "jira"]);
    let sites = org.sites.max(1) as f64;
    let site_limit = report::Limit {
        per_second: report::SITE.per_second * sites,
        burst: report::SITE.burst * sites,
    };
    Draft {
        name,
        detail: format!(
            "{} accounts, {} role assignments, {} memberships, {} Statuspage members, {} JSM \
             customers written",
            r.counts.accounts,
            r.counts.role_assignments,
            r.counts.memberships,
            r.products.statuspage_members,
            r.products.jsm_customers
        ),
        ok: r.succeeded() && r.product_status.values().all(|s| s == "ok"),
        min_calls: org_min + sp_min + jsm,
        scopes: vec![
            ScopeBound::new("org", org_min, report::ORG, latency),
            ScopeBound::new("statuspage", sp_min, STATUSPAGE, latency),
            ScopeBound::new("jira+jsm", jsm, site_limit, latency),
        ],
        chain_s: None,
    }
}

/// Provisioning: the calls made are the minimum (every step reads before it writes, which an
/// idempotent step needs); the bound adds one job's chain of dependent calls (its share of the
/// calls at the lowest latency, `fastest`).
fn provisioning(
    name: &str,
    what: &str,
    jobs: &Jobs,
    raw: &Raw,
    db: &Path,
    (latency, fastest): (f64, f64),
    sites: usize,
) -> Scenario {
    let c = &raw.counters;
    let org = family(c, &["org", "user-management"]);
    let jira = family(c, &["jira", "jsm"]);
    let confluence = family(c, &["confluence-v1", "confluence-v2"]);
    let sp = family(c, &["statuspage"]);
    let total = org + jira + confluence + sp;
    let sites = sites.max(1) as f64;
    let site_limit = report::Limit {
        per_second: report::SITE.per_second * sites,
        burst: report::SITE.burst * sites,
    };
    let chain = (total as f64 / jobs.count.max(1) as f64) * fastest;
    let mut s = Draft {
        name,
        detail: format!("{what}: {}", jobs.summary()),
        ok: jobs.failed.is_empty(),
        min_calls: total,
        scopes: vec![
            ScopeBound::new("org", org, report::ORG, latency),
            ScopeBound::new("jira+jsm", jira, site_limit, latency),
            ScopeBound::new("confluence", confluence, site_limit, latency),
            ScopeBound::new("statuspage", sp, STATUSPAGE, latency),
        ],
        chain_s: Some(chain),
    }
    .finish(raw, db);
    s.met = s.ok && s.bound_ratio <= 1.25;
    s.target = "wall ≤ 1.25 × rate-limit bound".to_owned();
    s
}

/// How a batch of jobs ended.
#[derive(Debug, Default)]
struct Jobs {
    count: usize,
    succeeded: usize,
    failed: Vec<String>,
    retried: usize,
}

impl Jobs {
    fn summary(&self) -> String {
        let mut s = format!(
            "{} jobs, {} succeeded, {} failed, {} retried later",
            self.count,
            self.succeeded,
            self.failed.len(),
            self.retried
        );
        if let Some(first) = self.failed.first() {
            s.push_str(&format!("; first failure: {first}"));
        }
        s
    }
}

/// Enqueues every plan as a job and runs them with [`WORKERS`] workers until each is final.
async fn run_jobs(
    store: &Store,
    client: &atlassian_client::Client,
    target: &Target,
    plans: Vec<Plan>,
    kind: &str,
) -> anyhow::Result<Jobs> {
    let count = plans.len();
    for plan in &plans {
        // Confirmed: offboarding 100 people is a deliberate mass change.
        enqueue_plan_confirmed(store, plan, kind, "steward-bench", "benchmark", None, true).await?;
    }
    let remaining = Arc::new(AtomicUsize::new(count));
    let outcomes = Arc::new(std::sync::Mutex::new(Jobs {
        count,
        ..Jobs::default()
    }));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..WORKERS.min(count.max(1)) {
        let worker = Worker::new(
            store.clone(),
            client.clone(),
            target.clone(),
            format!("steward-bench:{}:{i}", std::process::id()),
        );
        let remaining = remaining.clone();
        let outcomes = outcomes.clone();
        tasks.spawn(async move {
            while remaining.load(Ordering::Acquire) > 0 {
                match worker.run_once().await {
                    Ok(Some(run)) => {
                        let mut o = outcomes.lock().unwrap_or_else(|e| e.into_inner());
                        match run.outcome {
                            RunOutcome::Succeeded => {
                                o.succeeded += 1;
                                remaining.fetch_sub(1, Ordering::AcqRel);
                            }
                            RunOutcome::Failed { reason } => {
                                o.failed.push(reason);
                                remaining.fetch_sub(1, Ordering::AcqRel);
                            }
                            RunOutcome::RetryLater { .. } => o.retried += 1,
                            RunOutcome::LeaseLost => {}
                        }
                    }
                    Ok(None) => tokio::time::sleep(Duration::from_millis(20)).await,
                    Err(e) => {
                        tracing_free_warn(&e.to_string());
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }
    let all = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(JOBS_DEADLINE, all).await.is_err() {
        anyhow::bail!("{kind} jobs did not finish within {JOBS_DEADLINE:?}");
    }
    let mut o = outcomes.lock().unwrap_or_else(|e| e.into_inner());
    Ok(std::mem::take(&mut *o))
}

fn tracing_free_warn(message: &str) {
    eprintln!("worker: {message}");
}

/// A person's first three entitlements at a new job: Jira and Confluence on the first site,
/// and a team group (a managed group carrying no role).
fn onboarding_entitlements(
    catalog: &Catalog,
    facts: &OrgFacts,
    target: &Target,
) -> anyhow::Result<Vec<Entitlement>> {
    let site = target
        .sites
        .first()
        .map(|s| s.name.clone())
        .context("the org has no site")?;
    let mut chosen = catalog.resolve_all(&[
        format!("jira:{site}/user"),
        format!("confluence:{site}/user"),
    ])?;
    let team = catalog
        .entitlements()
        .iter()
        .find(|e| match &e.kind {
            EntitlementKind::Group { group_id, .. } => {
                facts.groups.get(group_id).is_some_and(|g| {
                    g.roles.is_empty()
                        && !g.external_synced
                        && g.managed_by.as_deref() != Some("external")
                })
            }
            _ => false,
        })
        .context("the org has no team group to onboard people into")?;
    chosen.push(team.clone());
    Ok(chosen)
}

/// Active, managed people other than admins and the integration account, whose suspend plan
/// the guard rails allow; `n` of them, spread over the org.
async fn offboarding_candidates(
    snapshot: &Snapshot,
    facts: &OrgFacts,
    n: usize,
) -> anyhow::Result<Vec<String>> {
    let accounts = snapshot.accounts(&AccountFilter::default()).await?;
    let pool: Vec<_> = accounts
        .iter()
        .filter(|a| a.status == "active" && a.account_type == "atlassian")
        .filter(|a| !facts.org_admins.contains(&a.account_id))
        .filter(|a| Some(&a.account_id) != facts.integration_account_id.as_ref())
        .filter(|a| a.management_source.as_deref() != Some("synced"))
        .filter_map(|a| a.email.clone())
        .collect();
    let step = (pool.len() / n.max(1)).max(1);
    let mut chosen = vec![];
    for email in pool.iter().step_by(step).chain(pool.iter()) {
        if chosen.len() >= n {
            break;
        }
        if chosen.contains(email) {
            continue;
        }
        let state = person_state(snapshot, email, facts).await?;
        if let Ok(plan) = plan_offboard(&state, OffboardLevel::Suspend, facts)
            && !plan.is_noop()
        {
            chosen.push(email.clone());
        }
    }
    Ok(chosen)
}

/// Someone active who lacks one product role (Confluence, else Jira, on the last site, else the
/// first) and needs only that grant and its check.
async fn grant_candidate(
    snapshot: &Snapshot,
    facts: &OrgFacts,
    catalog: &Catalog,
    target: &Target,
    exclude: &BTreeSet<String>,
) -> anyhow::Result<(String, Plan)> {
    let mut sites: Vec<&str> = target.sites.iter().rev().map(|s| s.name.as_str()).collect();
    sites.dedup();
    let wanted: Vec<Entitlement> = sites
        .iter()
        .flat_map(|site| {
            [
                format!("confluence:{site}/user"),
                format!("jira:{site}/user"),
            ]
        })
        .filter_map(|id| catalog.resolve(&id).ok().cloned())
        .collect();
    anyhow::ensure!(
        !wanted.is_empty(),
        "the catalog has no Jira or Confluence user role"
    );
    let accounts = snapshot.accounts(&AccountFilter::default()).await?;
    for e in &wanted {
        for a in accounts
            .iter()
            .filter(|a| a.status == "active" && a.account_type == "atlassian")
        {
            let Some(email) = &a.email else { continue };
            if exclude.contains(email) {
                continue;
            }
            let state = person_state(snapshot, email, facts).await?;
            if let Ok(plan) = plan_grant(&state, std::slice::from_ref(e), facts)
                && plan.ops.len() == 2
                && !plan.is_noop()
            {
                return Ok((email.clone(), plan));
            }
        }
    }
    anyhow::bail!("nobody in the org lacks a Jira or Confluence user role")
}

/// Another admin changes 1% of the org's users (at least one): alternately adds one to a team
/// group and suspends one. Returns how many changes were applied.
async fn change_one_percent(
    sim: &SimProcess,
    snapshot: &Snapshot,
    target: &Target,
) -> anyhow::Result<usize> {
    let accounts = snapshot.accounts(&AccountFilter::default()).await?;
    let facts = OrgFacts::from_snapshot(snapshot, Some(&target.integration_email)).await?;
    let team = facts
        .groups
        .values()
        .find(|g| {
            g.roles.is_empty() && !g.external_synced && g.managed_by.as_deref() != Some("external")
        })
        .map(|g| g.group_id.clone())
        .context("the org has no team group")?;
    let people: Vec<_> = accounts
        .iter()
        .filter(|a| a.status == "active" && a.account_type == "atlassian")
        .filter(|a| !facts.org_admins.contains(&a.account_id))
        .filter(|a| Some(&a.account_id) != facts.integration_account_id.as_ref())
        .collect();
    let n = (accounts.len() / 100).max(1);
    let step = (people.len() / n).max(1);
    let mut applied = 0;
    for (i, a) in people.iter().step_by(step).take(n).enumerate() {
        let body = if i % 2 == 0 {
            json!({"op": "add_member", "group_id": team, "account_id": a.account_id})
        } else {
            json!({"op": "suspend", "account_id": a.account_id})
        };
        if sim.control("/out-of-band", Some(body)).await.is_ok() {
            applied += 1;
        }
    }
    Ok(applied)
}
