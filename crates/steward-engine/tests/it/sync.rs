//! The org-level sync against a seeded sandbox: exact against the simulator's ground truth,
//! atomic across runs, and failing cleanly.

use std::collections::BTreeSet;
use std::time::Duration;

use atlassian_client::RetryPolicy;
use atlassian_sim::state::Mode;
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use secrecy::SecretString;
use serde_json::json;
use steward_engine::Target;
use steward_engine::sync;
use steward_store::{AccountFilter, GrantSource, RunStatus, Snapshot, Store};
use url::Url;

use crate::support::{control, drop_schema, postgres, sqlite, target};

pub(crate) async fn sandbox(
    mode: Mode,
    users: usize,
    latency_ms: u64,
) -> anyhow::Result<SimHandle> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = SimConfig {
        mode,
        users: Some(users),
        ..SimConfig::default()
    };
    config.faults.latency_ms = latency_ms;
    Ok(Simulator::spawn(config).await?)
}

/// Accounts (id, email, composite status), memberships (group, account) and role assignments
/// (account, resource, role, source).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Truth {
    accounts: BTreeSet<(String, Option<String>, String)>,
    memberships: BTreeSet<(String, String)>,
    roles: BTreeSet<(String, String, String, String)>,
}

/// The ground truth, from the simulator's world: every Atlassian account in a directory or
/// managed by the org, its groups, and every role with how it is held (a group grant once per
/// granting group the account is in). Organization admin is held directly on the org.
pub(crate) fn expected(sim: &SimHandle) -> Truth {
    use atlassian_sim::state::AccountType;
    sim.app().read(|w| {
        let mut t = Truth {
            accounts: BTreeSet::new(),
            memberships: BTreeSet::new(),
            roles: BTreeSet::new(),
        };
        for (i, a) in w.accounts.iter().enumerate() {
            let ax = i as _;
            if a.kind != AccountType::Atlassian || (a.directories.is_empty() && !w.is_managed(ax)) {
                continue;
            }
            t.accounts.insert((
                a.id.clone(),
                a.email.clone(),
                w.composite_status(ax).to_owned(),
            ));
            for gx in &a.groups {
                let g = w.group(*gx);
                if !g.deleted {
                    t.memberships.insert((g.id.clone(), a.id.clone()));
                }
            }
            if a.org_admin {
                t.roles.insert((
                    a.id.clone(),
                    format!("ari:cloud:platform::org/{}", w.org.id),
                    "atlassian/org-admin".to_owned(),
                    "direct".to_owned(),
                ));
            }
            for ((rx, role), m) in w.role_assignments(ax) {
                let ari = w.resource(rx).ari();
                let mut add = |source: String| {
                    t.roles
                        .insert((a.id.clone(), ari.clone(), role.id().to_owned(), source));
                };
                if m.direct {
                    add("direct".to_owned());
                }
                if m.inferred {
                    add("inferred".to_owned());
                }
                if m.group {
                    for gx in &a.groups {
                        let g = w.group(*gx);
                        if !g.deleted && g.roles.contains(&(rx, role)) {
                            add(format!("group:{}", g.id));
                        }
                    }
                }
            }
        }
        t
    })
}

pub(crate) async fn actual(snapshot: &Snapshot) -> anyhow::Result<Truth> {
    Ok(Truth {
        accounts: snapshot
            .accounts(&AccountFilter::default())
            .await?
            .into_iter()
            .map(|a| (a.account_id, a.email, a.status))
            .collect(),
        memberships: snapshot
            .group_memberships()
            .await?
            .into_iter()
            .map(|m| (m.group_id, m.account_id))
            .collect(),
        roles: snapshot
            .role_assignments()
            .await?
            .into_iter()
            .map(|r| {
                let source = match r.source {
                    GrantSource::Direct => "direct".to_owned(),
                    GrantSource::Inferred => "inferred".to_owned(),
                    GrantSource::Group { group_id } => format!("group:{group_id}"),
                };
                (r.account_id, r.resource_ari, r.role, source)
            })
            .collect(),
    })
}

pub(crate) fn assert_same(want: &Truth, got: &Truth) {
    let diff = |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?} vs {b:?}");
    assert_eq!(
        want.accounts,
        got.accounts,
        "accounts differ: missing {:?}, extra {:?}",
        want.accounts.difference(&got.accounts).collect::<Vec<_>>(),
        got.accounts.difference(&want.accounts).collect::<Vec<_>>()
    );
    assert_eq!(
        want.memberships,
        got.memberships,
        "memberships differ: {}",
        diff(
            &want
                .memberships
                .difference(&got.memberships)
                .collect::<Vec<_>>(),
            &got.memberships
                .difference(&want.memberships)
                .collect::<Vec<_>>()
        )
    );
    assert_eq!(
        want.roles,
        got.roles,
        "role assignments differ: missing {:?}, extra {:?}",
        want.roles.difference(&got.roles).collect::<Vec<_>>(),
        got.roles.difference(&want.roles).collect::<Vec<_>>()
    );
}

async fn reproduces_ground_truth(mode: Mode, store: &Store) -> anyhow::Result<()> {
    // 250 users: three pages of the users search.
    let sim = sandbox(mode, 250, 0).await?;
    sim.app().faults().reset_counters();
    let report = sync::run(&target(&sim)?, store).await;
    assert!(report.succeeded(), "{report:#?}");
    assert_call_plan(&sim);
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    assert_eq!(Some(snapshot.run()), report.run);
    let want = expected(&sim);
    assert!(want.accounts.len() > 200 && !want.memberships.is_empty());
    assert!(want.roles.iter().any(|r| r.3.starts_with("group:")));
    assert!(want.roles.iter().any(|r| r.3 == "direct"));
    assert!(want.roles.iter().any(|r| r.3 == "inferred"));
    let got = actual(&snapshot).await?;
    assert_same(&want, &got);
    assert_eq!(report.counts.accounts, want.accounts.len() as u64);
    assert_eq!(report.counts.memberships, want.memberships.len() as u64);
    assert_eq!(report.counts.role_assignments, want.roles.len() as u64);
    assert_eq!(report.counts.unattributed_group_grants, 0);
    // org, groups and resources
    let org = snapshot
        .org()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no org"))?;
    let (org_id, groups, resources, dirs) = sim.app().read(|w| {
        (
            w.org.id.clone(),
            w.live_groups()
                .map(|(_, g)| g.id.clone())
                .collect::<BTreeSet<_>>(),
            w.resources.iter().map(|r| r.ari()).collect::<BTreeSet<_>>(),
            w.directories.len(),
        )
    });
    assert_eq!(org.org_id, org_id);
    assert_eq!(
        org.user_management,
        match mode {
            Mode::Centralized => "centralized",
            Mode::Original => "original",
        }
    );
    let got_groups: BTreeSet<String> = snapshot
        .groups()
        .await?
        .into_iter()
        .map(|g| g.group_id)
        .collect();
    assert_eq!(got_groups, groups);
    let mut got_resources: BTreeSet<String> = snapshot
        .resources()
        .await?
        .into_iter()
        .map(|r| r.ari)
        .collect();
    assert!(got_resources.remove(&format!("ari:cloud:platform::org/{org_id}")));
    assert_eq!(got_resources, resources);
    assert_eq!(snapshot.directories().await?.len(), dirs);
    assert!(!snapshot.sites().await?.is_empty());
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn reproduces_the_ground_truth_of_a_centralized_org() -> anyhow::Result<()> {
    let (store, _dir) = sqlite().await?;
    reproduces_ground_truth(Mode::Centralized, &store).await
}

#[tokio::test]
async fn reproduces_the_ground_truth_of_an_original_org() -> anyhow::Result<()> {
    let (store, _dir) = sqlite().await?;
    reproduces_ground_truth(Mode::Original, &store).await
}

#[tokio::test]
async fn reproduces_the_ground_truth_on_postgres() -> anyhow::Result<()> {
    for mode in [Mode::Centralized, Mode::Original] {
        let Some((store, server, schema)) = postgres("sync").await? else {
            return Ok(());
        };
        let outcome = reproduces_ground_truth(mode, &store).await;
        drop_schema(store, &server, &schema).await?;
        outcome?;
    }
    Ok(())
}

/// The API calls of the sync equal the documented plan:
/// `3 + ⌈U/100⌉ + ⌈G/100⌉ + G_r + U_a` (no user or group holds roles on over 100 resources).
fn assert_call_plan(sim: &SimHandle) {
    use atlassian_sim::state::AccountType;
    let (u, u_a, g, g_r) = sim.app().read(|w| {
        let listed: Vec<_> = (0..w.accounts.len())
            .map(|i| i as _)
            .filter(|ax| {
                let a = w.account(*ax);
                a.kind == AccountType::Atlassian && (!a.directories.is_empty() || w.is_managed(*ax))
            })
            .collect();
        let with_access = listed
            .iter()
            .filter(|ax| w.account(**ax).org_admin || !w.role_assignments(**ax).is_empty())
            .count();
        let groups: Vec<_> = w.live_groups().collect();
        let with_roles = groups.iter().filter(|(_, g)| !g.roles.is_empty()).count();
        (listed.len(), with_access, groups.len(), with_roles)
    });
    let planned = 3 + u.div_ceil(100) + g.div_ceil(100) + g_r + u_a;
    let counters = sim.app().faults().counters();
    let org = counters
        .families
        .get("org")
        .map(|f| f.total)
        .unwrap_or_default();
    let extra = counters.rate_limited + counters.faults_injected;
    assert_eq!(
        (org - extra) as usize,
        planned,
        "U={u} U_a={u_a} G={g} G_r={g_r}; routes: {:#?}",
        counters.routes
    );
    let others: u64 = counters
        .families
        .iter()
        .filter(|(name, _)| name.as_str() != "org")
        .map(|(_, f)| f.total)
        .sum();
    assert_eq!(
        others, 0,
        "only the Org API is read: {:#?}",
        counters.families
    );
}

/// An active account with a direct role, and a group it is not in.
fn pick_subjects(sim: &SimHandle) -> anyhow::Result<(String, String)> {
    sim.app().read(|w| {
        let integration = w.integration_account();
        let a = (0..w.accounts.len())
            .map(|i| i as _)
            .filter(|ax| *ax != integration)
            .map(|ax| (ax, w.account(ax)))
            .find(|(ax, a)| {
                !a.org_admin && w.composite_status(*ax) == "active" && !a.direct_roles.is_empty()
            })
            .map(|(_, a)| a)
            .ok_or_else(|| anyhow::anyhow!("no active account"))?;
        let group = w
            .live_groups()
            .find(|(gx, g)| {
                !a.groups.contains(gx) && !g.roles.is_empty() && !g.name.contains("admin")
            })
            .map(|(_, g)| g.id.clone())
            .ok_or_else(|| anyhow::anyhow!("no group"))?;
        Ok((a.id.clone(), group))
    })
}

#[tokio::test]
async fn a_second_sync_shows_an_out_of_band_change_and_the_first_stays_readable()
-> anyhow::Result<()> {
    // Some latency so the second run is observably in progress.
    let sim = sandbox(Mode::Centralized, 120, 3).await?;
    let (store, _dir) = sqlite().await?;
    let t = target(&sim)?;
    let first = sync::run(&t, &store).await;
    assert!(first.succeeded(), "{first:#?}");
    let first_run = first.run.ok_or_else(|| anyhow::anyhow!("no run"))?;
    let before = expected(&sim);

    let (account, group) = pick_subjects(&sim)?;
    control(
        &sim,
        "/out-of-band",
        json!({"op": "suspend", "account_id": account}),
    )
    .await?;
    control(
        &sim,
        "/out-of-band",
        json!({"op": "add_member", "account_id": account, "group_id": group}),
    )
    .await?;
    let after = expected(&sim);
    assert_ne!(before, after);

    // The second run and a reader polling the store, side by side.
    let done = std::sync::atomic::AtomicBool::new(false);
    let sync_second = async {
        let report = sync::run(&t, &store).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        report
    };
    let reader = async {
        let mut observed_running = false;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            if store.runs().latest_running().await?.is_some() {
                let snapshot = store
                    .latest_snapshot()
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
                if store.runs().latest_running().await?.is_some() {
                    assert_eq!(snapshot.run(), first_run);
                    assert_same(&before, &actual(&snapshot).await?);
                    observed_running = true;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok::<_, anyhow::Error>(observed_running)
    };
    let (second, observed_running) = tokio::join!(sync_second, reader);
    let observed_running = observed_running?;
    assert!(second.succeeded(), "{second:#?}");
    assert!(
        observed_running,
        "the second run was never seen in progress"
    );
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    assert_eq!(Some(snapshot.run()), second.run);
    let got = actual(&snapshot).await?;
    assert_same(&after, &got);
    assert!(
        got.accounts
            .iter()
            .any(|a| a.0 == account && a.2 == "suspended")
    );
    assert!(got.memberships.contains(&(group, account)));
    // the first run's snapshot is still readable by id
    assert_same(&before, &actual(&store.snapshot(first_run)).await?);
    sim.shutdown().await;
    Ok(())
}

fn impatient() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(2),
        max_retry_after: Duration::from_secs(1),
    }
}

#[tokio::test]
async fn a_sync_failing_midway_leaves_the_previous_snapshot_and_the_next_completes()
-> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized, 250, 0).await?;
    let (store, _dir) = sqlite().await?;
    let t = target(&sim)?;
    let first = sync::run(&t, &store).await;
    assert!(first.succeeded(), "{first:#?}");
    let want = expected(&sim);

    // Role-assignment reads fail: the accounts of the first pages are written, then the run fails.
    control(
        &sim,
        "/faults",
        json!({"family": "org", "path": "/v2/orgs/*/directories/*/users/*/role-assignments",
               "kind": "status", "status": 500, "count": 1000}),
    )
    .await?;
    let client = t.client(impatient(), Duration::from_secs(5))?;
    let failed = sync::run_with(&client, &t, &store).await;
    assert_eq!(failed.status, RunStatus::Failed, "{failed:#?}");
    assert!(failed.counts.accounts > 0, "{failed:#?}");
    let error = failed.error.clone().unwrap_or_default();
    assert!(error.contains("role assignments"), "{error}");
    let failed_run = failed.run.ok_or_else(|| anyhow::anyhow!("no run"))?;
    let stored = store.runs().get(failed_run).await?;
    assert_eq!(stored.status, RunStatus::Failed);
    assert_eq!(stored.error.as_deref(), Some(error.as_str()));
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    assert_eq!(Some(snapshot.run()), first.run);
    assert_same(&want, &actual(&snapshot).await?);

    // Every org read failing (the brief's fault): fails too, previous snapshot still visible.
    reqwest::Client::new()
        .delete(format!("{}/faults", sim.info().control_url))
        .bearer_auth(&sim.info().control_token)
        .send()
        .await?
        .error_for_status()?;
    control(
        &sim,
        "/faults",
        json!({"family": "org", "path_prefix": "/v2/orgs/", "kind": "status", "status": 500,
               "count": 1000}),
    )
    .await?;
    let failed = sync::run_with(&client, &t, &store).await;
    assert_eq!(failed.status, RunStatus::Failed, "{failed:#?}");
    assert_eq!(store.latest_snapshot().await?.map(|s| s.run()), first.run);

    // Faults gone: the next run completes.
    reqwest::Client::new()
        .delete(format!("{}/faults", sim.info().control_url))
        .bearer_auth(&sim.info().control_token)
        .send()
        .await?
        .error_for_status()?;
    let next = sync::run(&t, &store).await;
    assert!(next.succeeded(), "{next:#?}");
    assert_same(
        &want,
        &actual(
            &store
                .latest_snapshot()
                .await?
                .ok_or_else(|| anyhow::anyhow!("no snapshot"))?,
        )
        .await?,
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_closed_port_fails_the_run() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    drop(listener);
    let (store, _dir) = sqlite().await?;
    let t = Target {
        api_url: Url::parse(&format!("http://127.0.0.1:{port}"))?,
        org_id: "org".into(),
        org_api_key: SecretString::from("key".to_owned()),
        integration_email: "x@example.com".into(),
        sites: vec![],
        statuspage: None,
    };
    let client = t.client(impatient(), Duration::from_secs(2))?;
    let report = sync::run_with(&client, &t, &store).await;
    assert_eq!(report.status, RunStatus::Failed, "{report:#?}");
    assert!(report.error.is_some());
    assert!(store.latest_snapshot().await?.is_none());
    let run = report.run.ok_or_else(|| anyhow::anyhow!("no run"))?;
    assert_eq!(store.runs().get(run).await?.status, RunStatus::Failed);
    Ok(())
}
