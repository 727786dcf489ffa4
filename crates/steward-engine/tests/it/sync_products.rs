//! The product slices of the sync against the simulator: the Statuspage team and its page
//! permissions exact against the simulator's ground truth, a permission change recorded as a
//! change event, and a Statuspage failure that leaves the org-level data synced.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use atlassian_client::models::statuspage::{NewTeamMember, PageChange};
use atlassian_client::{Client, Rate, RateLimits, RetryPolicy};
use atlassian_sim::state::Mode;
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use serde_json::json;
use steward_engine::Target;
use steward_engine::sync;
use steward_store::{AccountFilter, ChangeKind, RunStatus, Snapshot, Store};

use crate::support::{control, drop_schema, postgres, sqlite, target};

async fn sandbox(users: usize) -> anyhow::Result<SimHandle> {
    sandbox_in(users, Mode::Centralized).await
}

async fn sandbox_in(users: usize, mode: Mode) -> anyhow::Result<SimHandle> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = SimConfig {
        mode,
        users: Some(users),
        ..SimConfig::default()
    };
    Ok(Simulator::spawn(config).await?)
}

/// A client for `t` with a fast Statuspage rate (the real one is 1 req/s).
fn client(t: &Target, retry: RetryPolicy) -> anyhow::Result<Client> {
    let limits = RateLimits {
        statuspage: Rate {
            per_second: 200.0,
            burst: 200,
        },
        ..RateLimits::default()
    };
    Ok(t.client_with(retry, Duration::from_secs(10), limits)?)
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

type Flags = (bool, bool, bool);

/// Members (Statuspage user id, email, account id), permissions ((user, page) → flags) and
/// JSM customers (site cloud id, service desk id, account id).
#[derive(Debug, PartialEq, Eq)]
struct Team {
    members: BTreeSet<(String, String, Option<String>)>,
    permissions: BTreeMap<(String, String), Flags>,
    jsm: BTreeSet<(String, String, String)>,
}

/// The simulator's Statuspage team, each member linked to its account.
fn expected(sim: &SimHandle) -> Team {
    sim.app().read(|w| {
        let mut t = Team {
            members: BTreeSet::new(),
            permissions: BTreeMap::new(),
            jsm: BTreeSet::new(),
        };
        for site in &w.sites {
            for desk in &site.service_desks {
                for ax in &desk.customers {
                    t.jsm.insert((
                        site.cloud_id.clone(),
                        desk.id.to_string(),
                        w.accounts[*ax as usize].id.clone(),
                    ));
                }
            }
        }
        for (ax, m) in &w.statuspage.members {
            let a = &w.accounts[*ax as usize];
            t.members.insert((
                m.id.clone(),
                a.email.clone().unwrap_or_default(),
                Some(a.id.clone()),
            ));
            for (page, p) in &m.pages {
                t.permissions.insert(
                    (m.id.clone(), page.clone()),
                    (
                        p.page_configuration,
                        p.incident_manager,
                        p.maintenance_manager,
                    ),
                );
            }
        }
        t
    })
}

async fn actual(snapshot: &Snapshot) -> anyhow::Result<Team> {
    Ok(Team {
        members: snapshot
            .statuspage_members()
            .await?
            .into_iter()
            .map(|m| (m.sp_user_id, m.email, m.account_id))
            .collect(),
        permissions: snapshot
            .statuspage_permissions()
            .await?
            .into_iter()
            .map(|p| {
                (
                    (p.sp_user_id, p.page_id),
                    (
                        p.page_configuration,
                        p.incident_manager,
                        p.maintenance_manager,
                    ),
                )
            })
            .collect(),
        jsm: snapshot
            .jsm_customers()
            .await?
            .into_iter()
            .map(|c| (c.site, c.service_desk_id, c.account_id))
            .collect(),
    })
}

async fn synced_team_is_exact(store: &Store, mode: Mode) -> anyhow::Result<()> {
    let sim = sandbox_in(150, mode).await?;
    let t = target(&sim)?;
    let client = client(&t, sync::sync_retry())?;
    let report = sync::run_all_with(&client, &t, store).await;
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(
        report.product_status.get("org").map(String::as_str),
        Some("ok")
    );
    assert_eq!(
        report.product_status.get("statuspage").map(String::as_str),
        Some("ok")
    );
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    let want = expected(&sim);
    assert!(!want.members.is_empty() && !want.permissions.is_empty() && !want.jsm.is_empty());
    let got = actual(&snapshot).await?;
    assert_eq!(got, want);
    assert_eq!(report.products.statuspage_members, want.members.len());
    assert_eq!(
        report.products.statuspage_permissions,
        want.permissions.len()
    );
    assert_eq!(report.products.jsm_customers, want.jsm.len());
    let mut status = json!({"org": "ok", "statuspage": "ok"});
    for site in &t.sites {
        status[format!("jsm:{}", site.name)] = json!("ok");
    }
    let run = report.run.ok_or_else(|| anyhow::anyhow!("no run"))?;
    let stored = store.runs().get(run).await?;
    assert_eq!(stored.product_status, status);
    assert_eq!(json!(report.product_status), status);
    Ok(())
}

#[tokio::test]
async fn statuspage_team_and_permissions_are_exact_sqlite() -> anyhow::Result<()> {
    let (store, _dir) = sqlite().await?;
    synced_team_is_exact(&store, Mode::Centralized).await
}

#[tokio::test]
async fn statuspage_team_and_jsm_customers_are_exact_in_an_original_org() -> anyhow::Result<()> {
    let (store, _dir) = sqlite().await?;
    synced_team_is_exact(&store, Mode::Original).await
}

#[tokio::test]
async fn statuspage_team_and_permissions_are_exact_postgres() -> anyhow::Result<()> {
    let Some((store, server, schema)) = postgres("product sync").await? else {
        return Ok(());
    };
    let outcome = synced_team_is_exact(&store, Mode::Centralized).await;
    drop_schema(store, &server, &schema).await?;
    outcome
}

#[tokio::test]
async fn a_permission_change_between_syncs_is_a_change_event() -> anyhow::Result<()> {
    let sim = sandbox(150).await?;
    let (store, _dir) = sqlite().await?;
    let t = target(&sim)?;
    let client = client(&t, sync::sync_retry())?;
    let first = sync::run_all_with(&client, &t, &store).await;
    assert!(first.succeeded(), "{first:#?}");

    // Take one page away from a member who has some.
    let (user, page) = sim
        .app()
        .read(|w| {
            w.statuspage
                .members
                .values()
                .find_map(|m| m.pages.keys().next().map(|p| (m.id.clone(), p.clone())))
        })
        .ok_or_else(|| anyhow::anyhow!("no member with a page"))?;
    client
        .statuspage()?
        .merge_permissions(&user, &BTreeMap::from([(page.clone(), PageChange::Remove)]))
        .await?;

    // A new team member.
    let joined = client
        .statuspage()?
        .create_team_member(&NewTeamMember::new("new.member@acme.test", "New", "Member"))
        .await?;

    // Add a customer to a service desk.
    let (site, desk, customer) = sim
        .app()
        .read(|w| {
            let desk = w.sites[0].service_desks.first()?;
            let ax = w.accounts.iter().enumerate().position(|(i, a)| {
                a.kind == atlassian_sim::state::AccountType::Atlassian
                    && !a.directories.is_empty()
                    && !desk.customers.contains(&(i as _))
            })?;
            Some((
                w.sites[0].cloud_id.clone(),
                desk.id.to_string(),
                w.accounts[ax].id.clone(),
            ))
        })
        .ok_or_else(|| anyhow::anyhow!("no desk or no account"))?;
    client
        .jsm(&t.sites[0].name)?
        .add_desk_customers(&desk, std::slice::from_ref(&customer))
        .await?;

    let second = sync::run_all_with(&client, &t, &store).await;
    assert!(second.succeeded(), "{second:#?}");
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    assert_eq!(actual(&snapshot).await?, expected(&sim));
    let events: Vec<_> = store
        .changes()
        .since(None)
        .await?
        .into_iter()
        .map(|e| e.event)
        .filter(|e| e.kind == ChangeKind::StatuspagePermissionChanged)
        .collect();
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event.run_id, second.run);
    assert_eq!(event.resource.as_deref(), Some(page.as_str()));
    assert!(
        event.before.is_some() && event.after.is_none(),
        "{event:#?}"
    );
    let account = sim.app().read(|w| {
        w.statuspage
            .members
            .iter()
            .find(|(_, m)| m.id == user)
            .map(|(ax, _)| w.accounts[*ax as usize].id.clone())
    });
    assert_eq!(event.account_id, account);

    let members: Vec<_> = store
        .changes()
        .since(None)
        .await?
        .into_iter()
        .map(|e| e.event)
        .filter(|e| {
            e.kind == ChangeKind::StatuspageMemberAdded
                || e.kind == ChangeKind::StatuspageMemberRemoved
        })
        .collect();
    assert_eq!(members.len(), 1, "{members:#?}");
    assert_eq!(members[0].kind, ChangeKind::StatuspageMemberAdded);
    assert_eq!(
        members[0].after,
        Some(json!({"sp_user_id": joined.id, "email": "new.member@acme.test"}))
    );

    let added: Vec<_> = store
        .changes()
        .since(None)
        .await?
        .into_iter()
        .map(|e| e.event)
        .filter(|e| {
            e.kind == ChangeKind::JsmCustomerAdded || e.kind == ChangeKind::JsmCustomerRemoved
        })
        .collect();
    assert_eq!(added.len(), 1, "{added:#?}");
    assert_eq!(added[0].kind, ChangeKind::JsmCustomerAdded);
    assert_eq!(added[0].account_id.as_deref(), Some(customer.as_str()));
    assert_eq!(added[0].resource.as_deref(), Some(desk.as_str()));
    assert_eq!(
        added[0].after,
        Some(json!({"site": site, "service_desk_id": desk}))
    );
    Ok(())
}

#[tokio::test]
async fn a_statuspage_failure_leaves_the_org_synced() -> anyhow::Result<()> {
    let sim = sandbox(150).await?;
    let (store, _dir) = sqlite().await?;
    let t = target(&sim)?;
    control(
        &sim,
        "/faults",
        json!({"family": "statuspage", "kind": "status", "status": 500, "count": 1000}),
    )
    .await?;
    let client = client(&t, impatient())?;
    let report = sync::run_all_with(&client, &t, &store).await;
    assert_eq!(report.status, RunStatus::Completed, "{report:#?}");
    assert_eq!(
        report.product_status.get("org").map(String::as_str),
        Some("ok")
    );
    let sp = report
        .product_status
        .get("statuspage")
        .cloned()
        .unwrap_or_default();
    assert!(sp.starts_with("failed: "), "{sp}");
    let run = report.run.ok_or_else(|| anyhow::anyhow!("no run"))?;
    let stored = store.runs().get(run).await?;
    assert_eq!(stored.status, RunStatus::Completed);
    assert_eq!(stored.product_status["statuspage"], json!(sp));
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    assert_eq!(snapshot.run(), run);
    assert!(
        !snapshot
            .accounts(&AccountFilter::default())
            .await?
            .is_empty()
    );
    assert!(snapshot.statuspage_members().await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_jsm_failure_fails_only_that_site_and_is_no_baseline_for_the_diff() -> anyhow::Result<()>
{
    let sim = sandbox(150).await?;
    let (store, _dir) = sqlite().await?;
    let t = target(&sim)?;
    let client = client(&t, impatient())?;
    let first = sync::run_all_with(&client, &t, &store).await;
    assert!(first.succeeded(), "{first:#?}");

    control(
        &sim,
        "/faults",
        json!({"family": "jsm", "kind": "status", "status": 500, "count": 1000}),
    )
    .await?;
    let failed = sync::run_all_with(&client, &t, &store).await;
    assert_eq!(failed.status, RunStatus::Completed, "{failed:#?}");
    assert_eq!(
        failed.product_status.get("org").map(String::as_str),
        Some("ok")
    );
    assert_eq!(
        failed.product_status.get("statuspage").map(String::as_str),
        Some("ok")
    );
    for site in &t.sites {
        let state = failed
            .product_status
            .get(&format!("jsm:{}", site.name))
            .cloned()
            .unwrap_or_default();
        assert!(state.starts_with("failed: "), "{state}");
    }
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    assert!(snapshot.jsm_customers().await?.is_empty());
    assert!(!snapshot.statuspage_members().await?.is_empty());

    // Faults gone: JSM is synced again, and its customers are not "added" against a run that
    // could not read them.
    reqwest::Client::new()
        .delete(format!("{}/faults", sim.info().control_url))
        .bearer_auth(&sim.info().control_token)
        .send()
        .await?
        .error_for_status()?;
    let next = sync::run_all_with(&client, &t, &store).await;
    assert!(next.succeeded(), "{next:#?}");
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    assert_eq!(actual(&snapshot).await?, expected(&sim));
    let jsm_events = store
        .changes()
        .since(None)
        .await?
        .into_iter()
        .filter(|e| {
            matches!(
                e.event.kind,
                ChangeKind::JsmCustomerAdded | ChangeKind::JsmCustomerRemoved
            )
        })
        .count();
    assert_eq!(jsm_events, 0);
    Ok(())
}
