//! Chaos (#8): with the simulator injecting about 10% 5xx, 5% 429 with `Retry-After`, 2%
//! timeouts, 1% connection resets and 1% truncated bodies (half the timeouts and resets after the
//! request was applied: the `hostile` profile), and role changes visible only after a delay:
//!
//! - a full sync equals, row for row, the sync of the same org without faults (profile M with
//!   `STEWARD_CHAOS_PROFILE=medium`, else 1,000 users);
//! - 200 provisioning and offboarding jobs converge: every job succeeds, none is lost, and the
//!   simulator applied exactly one write per planned write (no duplicate side effect).
//!
//! Long: runs when `STEWARD_LONG_TESTS` is set (`.ci/run` sets it), else says it was skipped.

use std::collections::BTreeMap;
use std::time::Duration;

use atlassian_client::{Client, Rate, RateLimits, RetryPolicy};
use atlassian_sim::faults::FaultProfile;
use atlassian_sim::seed::SizeProfile;
use atlassian_sim::state::{AccountType, ManagementSource, Mode};
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use serde_json::json;
use steward_engine::Target;
use steward_engine::provision::{
    Catalog, CatalogConfig, OffboardLevel, Op, OrgFacts, Plan, Worker, WorkerPolicy,
    enqueue_plan_confirmed, person_state, plan_grant, plan_offboard,
};
use steward_engine::sync;
use steward_store::{AccountFilter, JobId, JobStatus, Snapshot};

use crate::support::{sqlite, target};

fn long_tests() -> bool {
    if std::env::var_os("STEWARD_LONG_TESTS").is_some() {
        return true;
    }
    println!("SKIPPED: chaos test (set STEWARD_LONG_TESTS=1 to run it; .ci/run does)");
    false
}

async fn sim(
    profile: FaultProfile,
    size: SizeProfile,
    users: Option<usize>,
) -> anyhow::Result<SimHandle> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = SimConfig {
        mode: Mode::Centralized,
        profile: size,
        users,
        ..SimConfig::default()
    };
    config.faults.profile = profile;
    config.faults.seed = Some(7);
    // A timeout holds the request this long; the client gives up on an attempt after 1 s.
    config.faults.timeout_ms = 1_500;
    // Faults are the subject here, not Atlassian's rate limits (they have their own tests).
    config.faults.rate_limits.enabled = false;
    // Exchanges are not recorded: a profile-M sync makes thousands.
    config.faults.record = false;
    // Profile M's ~800 injected 429s would otherwise spend most of the run waiting out
    // `Retry-After` (1 to 5 s, the whole scope paused each time): send Atlassian's shortest,
    // 1 s. The client honouring longer waits is tested in atlassian-client.
    if size == SizeProfile::Medium {
        config.faults.max_retry_after_secs = Some(1);
    }
    Ok(Simulator::spawn(config).await?)
}

/// A patient client, fast against the simulator: quick attempts, many retries.
fn client(t: &Target) -> anyhow::Result<Client> {
    let fast = Rate {
        per_second: 400.0,
        burst: 100,
    };
    let retry = RetryPolicy {
        max_attempts: 14,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(500),
        max_elapsed: Duration::from_secs(120),
        max_retry_after: Duration::from_secs(10),
    };
    let limits = RateLimits {
        org: fast,
        jira: fast,
        confluence: fast,
        statuspage: fast,
        max_concurrency: 16,
        initial_concurrency: 8,
    };
    Ok(t.client_with(retry, Duration::from_secs(1), limits)?)
}

/// Every row of a snapshot, as comparable text, by table.
async fn rows(s: &Snapshot) -> anyhow::Result<BTreeMap<&'static str, Vec<String>>> {
    let dbg = |v: &dyn std::fmt::Debug| format!("{v:?}");
    let mut out = BTreeMap::new();
    let mut put = |name: &'static str, mut v: Vec<String>| {
        v.sort();
        out.insert(name, v);
    };
    put("org", s.org().await?.iter().map(|r| dbg(r)).collect());
    put("sites", s.sites().await?.iter().map(|r| dbg(r)).collect());
    put(
        "resources",
        s.resources().await?.iter().map(|r| dbg(r)).collect(),
    );
    put(
        "directories",
        s.directories().await?.iter().map(|r| dbg(r)).collect(),
    );
    put(
        "accounts",
        s.accounts(&AccountFilter::default())
            .await?
            .iter()
            .map(|r| dbg(r))
            .collect(),
    );
    put("groups", s.groups().await?.iter().map(|r| dbg(r)).collect());
    put(
        "memberships",
        s.group_memberships()
            .await?
            .iter()
            .map(|r| dbg(r))
            .collect(),
    );
    put(
        "group_roles",
        s.group_roles().await?.iter().map(|r| dbg(r)).collect(),
    );
    put(
        "role_assignments",
        s.role_assignments().await?.iter().map(|r| dbg(r)).collect(),
    );
    put(
        "statuspage_members",
        s.statuspage_members()
            .await?
            .iter()
            .map(|r| dbg(r))
            .collect(),
    );
    put(
        "statuspage_permissions",
        s.statuspage_permissions()
            .await?
            .iter()
            .map(|r| dbg(r))
            .collect(),
    );
    put(
        "jsm_customers",
        s.jsm_customers().await?.iter().map(|r| dbg(r)).collect(),
    );
    put(
        "last_active",
        s.last_active().await?.iter().map(|r| dbg(r)).collect(),
    );
    Ok(out)
}

/// Rows of a sync of `sim`, with the simulator's own address (which differs between two
/// simulators of the same org) replaced by `SIM`.
async fn synced_rows(sim: &SimHandle) -> anyhow::Result<BTreeMap<&'static str, Vec<String>>> {
    let t = target(sim)?;
    let base = url::Url::parse(&sim.info().admin_base_url)?;
    let address = format!(
        "{}:{}",
        base.host_str().unwrap_or_default(),
        base.port_or_known_default().unwrap_or_default()
    );
    let (store, _dir) = sqlite().await?;
    let report = sync::run_all_with(&client(&t)?, &t, &store).await;
    anyhow::ensure!(report.succeeded(), "{report:#?}");
    anyhow::ensure!(
        report.product_status.values().all(|s| s == "ok"),
        "{:?}",
        report.product_status
    );
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    let mut rows = rows(&snapshot).await?;
    for table in rows.values_mut() {
        for row in table.iter_mut() {
            *row = row.replace(&address, "SIM");
        }
        table.sort();
    }
    Ok(rows)
}

/// The org the sync chaos test reads: profile M with `STEWARD_CHAOS_PROFILE=medium` (what
/// `.ci/run` runs), else 1,000 users.
fn chaos_org() -> (SizeProfile, Option<usize>) {
    match std::env::var("STEWARD_CHAOS_PROFILE").as_deref() {
        Ok("medium") => (SizeProfile::Medium, None),
        _ => (SizeProfile::Small, Some(1_000)),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_under_faults_equals_the_fault_free_sync() -> anyhow::Result<()> {
    if !long_tests() {
        return Ok(());
    }
    let (size, users) = chaos_org();
    let clean = sim(FaultProfile::None, size, users).await?;
    let want = synced_rows(&clean).await?;
    clean.shutdown().await;
    let hostile = sim(FaultProfile::Hostile, size, users).await?;
    let got = synced_rows(&hostile).await?;
    let counters = hostile.app().faults().counters();
    hostile.shutdown().await;
    // Most seeded users are directory accounts (apps and portal-only customers are not).
    let seeded = users.unwrap_or(5_000);
    assert!(
        want["accounts"].len() >= seeded * 8 / 10,
        "{} accounts for {seeded} users",
        want["accounts"].len()
    );
    for (table, rows) in &want {
        let other = got.get(table).cloned().unwrap_or_default();
        assert!(
            *rows == other,
            "{table}: {} rows without faults, {} with; first difference: {:?}",
            rows.len(),
            other.len(),
            rows.iter().zip(&other).find(|(a, b)| a != b)
        );
    }
    println!(
        "chaos sync: {} faults injected over {} requests; {} rows equal",
        counters.faults_injected,
        counters.families.values().map(|f| f.total).sum::<u64>(),
        want.values().map(Vec::len).sum::<usize>()
    );
    assert!(counters.faults_injected > 100, "{counters:?}");
    Ok(())
}

/// Applied writes whose key contains `needle` (method and wire path).
fn applied(sim: &SimHandle, method: &str, needle: &str) -> u64 {
    sim.app()
        .faults()
        .counters()
        .applied_mutations
        .iter()
        .filter(|(k, _)| k.starts_with(method) && k.contains(needle))
        .map(|(_, n)| n)
        .sum()
}

/// Statuspage team members the simulator created (`POST …/organizations/{id}/users`).
fn applied_team_creations(sim: &SimHandle) -> u64 {
    sim.app()
        .faults()
        .counters()
        .applied_mutations
        .iter()
        .filter(|(k, _)| {
            k.starts_with("POST") && k.contains("/statuspage/") && k.trim_end().ends_with("/users")
        })
        .map(|(_, n)| n)
        .sum()
}

/// Effective changes the simulator recorded with `action` about `account` (and `object`).
fn effective(sim: &SimHandle, action: &str, account: &str, object: Option<&str>) -> usize {
    sim.app().read(|w| {
        w.events
            .iter()
            .filter(|e| e.action == action)
            .filter(|e| e.context.iter().any(|(id, _)| id == account))
            .filter(|e| object.is_none_or(|o| e.context.iter().any(|(id, _)| id == o)))
            .count()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_jobs_under_faults_converge_with_no_duplicate_side_effect() -> anyhow::Result<()>
{
    if !long_tests() {
        return Ok(());
    }
    let sim = sim(FaultProfile::None, SizeProfile::Small, Some(400)).await?;
    let t = target(&sim)?;
    let client = client(&t)?;
    let (store, _dir) = sqlite().await?;
    let report = sync::run_all_with(&client, &t, &store).await;
    anyhow::ensure!(report.succeeded(), "{report:#?}");
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    let facts = OrgFacts::from_snapshot(&snapshot, Some(t.integration_email.as_str())).await?;
    let catalog = Catalog::from_snapshot(&snapshot, &CatalogConfig::default()).await?;
    let plain = facts
        .groups
        .values()
        .find(|g| {
            !g.external_synced && g.managed_by.as_deref() != Some("external") && g.roles.is_empty()
        })
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no plain group"))?;
    let group = catalog.resolve(&format!("group:{}", plain.name))?.clone();
    let page = catalog
        .entitlements()
        .iter()
        .find(|e| {
            e.id.to_string().starts_with("statuspage:") && e.id.to_string().ends_with("/user")
        })
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no Statuspage page in the catalog"))?;

    // 100 people join the group, 20 new hires are invited with the group and a Statuspage page
    // (invites and team-member creations are not idempotent: a resend would be a second
    // email), 80 others are offboarded (direct roles and role-carrying groups revoked).
    let (joiners, leavers) = sim.app().read(|w| {
        let integration = w.integration_account();
        let people: Vec<String> = (0..w.accounts.len() as u32)
            .filter(|ax| {
                let a = w.account(*ax);
                *ax != integration
                    && !a.org_admin
                    && a.kind == AccountType::Atlassian
                    && a.source == ManagementSource::Invited
                    && w.composite_status(*ax) == "active"
            })
            .filter_map(|ax| w.account(ax).email.clone())
            .collect();
        let leavers: Vec<String> = people.iter().rev().take(80).cloned().collect();
        let joiners: Vec<String> = people
            .iter()
            .filter(|p| !leavers.contains(p))
            .take(100)
            .cloned()
            .collect();
        (joiners, leavers)
    });
    anyhow::ensure!(
        joiners.len() == 100 && leavers.len() == 80,
        "too few people"
    );
    let hires: Vec<String> = (0..20)
        .map(|i| format!("chaos.hire{i}@acme.test"))
        .collect();
    let mut plans: Vec<(&str, Plan)> = vec![];
    for email in &joiners {
        let state = person_state(&snapshot, email, &facts).await?;
        plans.push((
            "grant",
            plan_grant(&state, std::slice::from_ref(&group), &facts)?,
        ));
    }
    for email in &hires {
        let state = person_state(&snapshot, email, &facts).await?;
        let wanted = [group.clone(), page.clone()];
        plans.push(("grant", plan_grant(&state, &wanted, &facts)?));
    }
    for email in &leavers {
        let state = person_state(&snapshot, email, &facts).await?;
        plans.push((
            "offboard",
            plan_offboard(&state, OffboardLevel::RevokeRoles, &facts)?,
        ));
    }
    let count = |f: &dyn Fn(&Op) -> bool| -> u64 {
        plans
            .iter()
            .flat_map(|(_, p)| &p.ops)
            .filter(|p| f(&p.op))
            .count() as u64
    };
    let invites = count(&|op| *op == Op::InviteAccount);
    let sp_members = count(&|op| *op == Op::AddStatuspageMember);
    assert_eq!(invites, 20);
    let mut jobs: Vec<JobId> = vec![];
    for (kind, plan) in &plans {
        jobs.push(
            // Confirmed: 80 leavers are a deliberate mass change.
            enqueue_plan_confirmed(&store, plan, kind, "chaos", "chaos test", None, true)
                .await?
                .id,
        );
    }

    // Now the faults, and role changes that show only after a delay.
    for (path, body) in [
        ("/config", json!({"profile": "hostile", "seed": 11})),
        ("/visibility-delay", json!({"ms": 300})),
    ] {
        reqwest::Client::new()
            .put(format!("{}{path}", sim.info().control_url))
            .bearer_auth(&sim.info().control_token)
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
    }
    let invites_before = applied(&sim, "POST", "/users/invite");
    let sp_before = applied_team_creations(&sim);

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut tasks = vec![];
    for name in ["chaos-a", "chaos-b", "chaos-c"] {
        let mut w = Worker::new(store.clone(), client.clone(), t.clone(), name);
        w.lease = Duration::from_secs(10);
        w.policy = WorkerPolicy {
            max_attempts: 30,
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            idle: Duration::from_millis(20),
            max_idle: Duration::from_millis(200),
            ..WorkerPolicy::default()
        };
        let shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move { w.run(shutdown).await }));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    loop {
        let mut finals = 0;
        for job in &jobs {
            finals += usize::from(store.jobs().get(*job).await?.job.status.is_final());
        }
        if finals == jobs.len() {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{finals}/200 jobs final"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _ = stop.send(true);
    for task in tasks {
        task.await??;
    }

    // No job lost: all 200 succeeded.
    let mut failed = vec![];
    for job in &jobs {
        let d = store.jobs().get(*job).await?;
        if d.job.status != JobStatus::Succeeded {
            failed.push(format!("job {}: {:?}", job.0, d.job.error));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
    // No duplicate side effect: one invite and one team-member creation per planned one,
    // whatever the faults (the client reads back after an ambiguous failure instead of
    // resending), one account per new hire, and each group change took effect exactly once.
    assert_eq!(
        applied(&sim, "POST", "/users/invite") - invites_before,
        invites
    );
    let sp_created = applied_team_creations(&sim) - sp_before;
    assert!(
        sp_created <= sp_members,
        "{sp_created} team members created for {sp_members} planned"
    );
    let (accounts, member_of) = sim.app().read(|w| {
        let accounts: Vec<usize> = hires
            .iter()
            .map(|h| {
                w.accounts
                    .iter()
                    .filter(|a| a.email.as_deref() == Some(h.as_str()))
                    .count()
            })
            .collect();
        let member_of = |email: &str| {
            w.account_by_email(email).is_some_and(|ax| {
                w.account(ax)
                    .groups
                    .iter()
                    .any(|g| w.group(*g).id == plain.group_id)
            })
        };
        let joined = joiners
            .iter()
            .chain(&hires)
            .filter(|e| member_of(e))
            .count();
        (accounts, joined)
    });
    assert!(
        accounts.iter().all(|n| *n == 1),
        "accounts per new hire: {accounts:?}"
    );
    assert_eq!(member_of, 120, "every joiner and new hire is in the group");
    let ids = sim.app().read(|w| {
        joiners
            .iter()
            .chain(&hires)
            .filter_map(|e| w.account_by_email(e).map(|ax| w.account(ax).id.clone()))
            .collect::<Vec<_>>()
    });
    for id in &ids {
        let n = effective(&sim, "user_added_to_group", id, Some(&plain.group_id));
        assert!(n <= 1, "{id} added to the group {n} times");
    }
    let counters = sim.app().faults().counters();
    println!(
        "chaos jobs: 200 jobs succeeded, {invites} invites sent once each, {} faults injected",
        counters.faults_injected
    );
    assert!(counters.faults_injected > 50, "{counters:?}");
    assert!(store.audit().verify().await?.ok);
    sim.shutdown().await;
    Ok(())
}
