//! Steward's own changes are not drift: a sync after a provisioning job records the job's
//! changes with `out_of_band = false`, attributed to the job, and only the other admin's
//! change as out-of-band.

use std::time::Duration;

use atlassian_client::{Client, Rate, RateLimits, RetryPolicy};
use atlassian_sim::faults::{FaultConfig, LimitConfig, RateLimitConfig};
use atlassian_sim::state::{AccountType, ManagementSource, Mode};
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use serde_json::json;
use steward_engine::Target;
use steward_engine::provision::{
    Catalog, CatalogConfig, Entitlement, OrgFacts, Plan, RunOutcome, Worker, WorkerPolicy,
    enqueue_plan_confirmed, person_state, plan_grant,
};
use steward_engine::sync;
use steward_store::{ChangeEvent, ChangeKind, ChangeQuery, JobId, RunId, Snapshot, Store};

use crate::support::{control, sqlite, target};

/// Who asks for the jobs of these tests.
pub const LEAD: &str = "lead@acme.test";

/// A seeded sandbox of `users` people in `mode`, answering at once, Statuspage not held to
/// its documented 60 requests a minute (the tests read its team after every round of jobs).
pub async fn sandbox(mode: Mode, users: usize) -> anyhow::Result<SimHandle> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(Simulator::spawn(SimConfig {
        mode,
        users: Some(users),
        faults: FaultConfig {
            record: false,
            rate_limits: RateLimitConfig {
                statuspage: LimitConfig::token_bucket(1000, 1, 1000),
                ..RateLimitConfig::default()
            },
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    })
    .await?)
}

/// A client for the sandbox: quick retries, and Statuspage paced for tests rather than at
/// Atlassian's documented 1 request a second.
pub fn client(t: &Target) -> anyhow::Result<Client> {
    let retry = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(5),
        max_retry_after: Duration::from_secs(1),
    };
    let limits = RateLimits {
        statuspage: Rate {
            per_second: 500.0,
            burst: 500,
        },
        ..RateLimits::default()
    };
    Ok(t.client_with(retry, Duration::from_secs(10), limits)?)
}

/// A worker with short pauses.
pub fn worker(store: &Store, client: &Client, t: &Target) -> Worker {
    let mut w = Worker::new(store.clone(), client.clone(), t.clone(), "test-worker");
    w.policy = WorkerPolicy {
        max_attempts: 5,
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        idle: Duration::from_millis(10),
        max_idle: Duration::from_millis(50),
        verify_attempts: 6,
        verify_backoff: Duration::from_millis(50),
    };
    w
}

/// Enqueues `plan` and runs the worker until the job is finished; fails unless it succeeded.
pub async fn run_job(
    store: &Store,
    worker: &Worker,
    plan: &Plan,
    kind: &str,
) -> anyhow::Result<JobId> {
    // Confirmed, as an admin changing many people on purpose would: the tests using this
    // helper change more than the mass-change share (its breaker: `guard_concurrency`).
    let enqueued = enqueue_plan_confirmed(store, plan, kind, LEAD, "test", None, true).await?;
    for _ in 0..20 {
        match worker.run_once().await? {
            Some(run) if run.job == enqueued.id => match run.outcome {
                RunOutcome::Succeeded => return Ok(enqueued.id),
                RunOutcome::Failed { reason } => {
                    anyhow::bail!("job {} failed: {reason}\nplan: {plan:#?}", run.job)
                }
                RunOutcome::RetryLater { .. } | RunOutcome::LeaseLost => {}
            },
            Some(_) => {}
            None => tokio::time::sleep(Duration::from_millis(30)).await,
        }
    }
    anyhow::bail!("job {} did not finish", enqueued.id)
}

/// Syncs everything (org and products); fails unless the run completed with every product ok.
pub async fn sync_all(client: &Client, t: &Target, store: &Store) -> anyhow::Result<RunId> {
    let report = sync::run_all_with(client, t, store).await;
    anyhow::ensure!(report.succeeded(), "sync failed: {:?}", report.error);
    anyhow::ensure!(
        report.product_status.values().all(|s| s == "ok"),
        "a product failed: {:?}",
        report.product_status
    );
    report.run.ok_or_else(|| anyhow::anyhow!("no run"))
}

/// The change events recorded by `run`.
pub async fn changes_of(store: &Store, run: RunId) -> anyhow::Result<Vec<ChangeEvent>> {
    Ok(store
        .changes()
        .list(&ChangeQuery {
            run: Some(run),
            ..ChangeQuery::default()
        })
        .await?)
}

/// The latest snapshot.
pub async fn snapshot(store: &Store) -> anyhow::Result<Snapshot> {
    store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))
}

/// Active, admin-invited, managed people who are not org admins, nor the integration account:
/// (email, account id).
pub fn ordinary_people(sim: &SimHandle) -> Vec<(String, String)> {
    sim.app().read(|w| {
        w.accounts
            .iter()
            .enumerate()
            .filter(|(i, a)| {
                let ax = *i as u32;
                a.kind == AccountType::Atlassian
                    && a.source == ManagementSource::Invited
                    && !a.org_admin
                    && w.composite_status(ax) == "active"
                    && w.is_managed(ax)
                    && ax != w.integration_account()
            })
            .filter_map(|(_, a)| Some((a.email.clone()?, a.id.clone())))
            .collect()
    })
}

#[tokio::test]
async fn stewards_own_changes_are_not_drift_and_the_other_admins_are() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized, 60).await?;
    let t = target(&sim)?;
    let client = client(&t)?;
    let (store, _dir) = sqlite().await?;
    sync_all(&client, &t, &store).await?;

    // Grant Jira and a plain group (a membership) to someone who has neither.
    let snap = snapshot(&store).await?;
    let catalog = Catalog::from_snapshot(&snap, &CatalogConfig::default()).await?;
    let facts = OrgFacts::from_snapshot(&snap, Some(&t.integration_email)).await?;
    let site = &t.sites[0].name;
    let jira = catalog.resolve(&format!("jira:{site}/user"))?.clone();
    let group_id = sim.app().read(|w| {
        w.live_groups()
            .find(|(_, g)| {
                !g.external && !g.protected && g.default_for.is_none() && g.roles.is_empty()
            })
            .map(|(_, g)| g.id.clone())
            .unwrap_or_default()
    });
    let group: Entitlement = catalog
        .entitlements()
        .iter()
        .find(|e| matches!(&e.kind, steward_engine::provision::EntitlementKind::Group { group_id: g, .. } if *g == group_id))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no plain group in the catalog"))?;
    let people = ordinary_people(&sim);
    let mut chosen = None;
    for (email, account_id) in &people {
        let state = person_state(&snap, email, &facts).await?;
        let plan = plan_grant(&state, &[jira.clone(), group.clone()], &facts)?;
        // Exactly the role and the membership: the person holds neither.
        if plan.ops.len() == 3 {
            chosen = Some((email.clone(), account_id.clone(), plan));
            break;
        }
    }
    let (email, account_id, plan) =
        chosen.ok_or_else(|| anyhow::anyhow!("nobody lacks both Jira and the group"))?;
    let job = run_job(&store, &worker(&store, &client, &t), &plan, "grant").await?;

    // Another admin suspends someone else.
    let (other, other_id) = people
        .iter()
        .find(|(e, _)| *e != email)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("nobody else"))?;
    let body = control(
        &sim,
        "/out-of-band",
        json!({"op": "suspend", "account_id": other_id}),
    )
    .await?;
    let admin = body["actor"]["account_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!admin.is_empty(), "{body}");

    let second = sync_all(&client, &t, &store).await?;
    let events = changes_of(&store, second).await?;
    let (own, drift): (Vec<_>, Vec<_>) = events.iter().partition(|e| !e.event.out_of_band);
    let mut own_kinds: Vec<(&str, Option<&str>)> = own
        .iter()
        .map(|e| (e.event.kind.as_str(), e.event.role.as_deref()))
        .collect();
    own_kinds.sort();
    assert_eq!(
        own_kinds,
        [
            ("group_membership_added", None),
            ("role_granted", Some("atlassian/user")),
        ],
        "{events:#?}"
    );
    for e in &own {
        assert_eq!(e.event.account_id.as_deref(), Some(account_id.as_str()));
        assert_eq!(
            e.event.actor_id.as_deref(),
            Some(format!("steward:job:{job}").as_str())
        );
        assert_eq!(
            e.event.actor_name.as_deref(),
            Some(format!("{LEAD} via Steward (job {job})").as_str())
        );
    }
    assert_eq!(drift.len(), 1, "{other}: {drift:#?}");
    assert_eq!(drift[0].event.kind, ChangeKind::AccountStatusChanged);
    assert_eq!(
        drift[0].event.account_id.as_deref(),
        Some(other_id.as_str())
    );
    assert_eq!(drift[0].event.actor_id.as_deref(), Some(admin.as_str()));

    let third = sync_all(&client, &t, &store).await?;
    assert!(changes_of(&store, third).await?.is_empty());
    store.close().await;
    Ok(())
}
