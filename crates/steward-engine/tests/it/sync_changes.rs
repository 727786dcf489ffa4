//! Change events: a sync diffs its snapshot against the previous completed run and records
//! what changed, out-of-band and attributed to the admin the org's events name.

use std::collections::BTreeSet;
use std::time::Duration;

use atlassian_client::RetryPolicy;
use atlassian_client::api::org::InviteRequest;
use atlassian_sim::state::{AccountType, Mode};
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use serde_json::json;
use steward_engine::sync;
use steward_store::{
    AccountFilter, ChangeEvent, ChangeKind, ChangeQuery, GrantSource, RunStatus, Snapshot, Store,
};

use crate::support::{control, drop_schema, postgres, sqlite, target};

async fn sandbox(users: usize) -> anyhow::Result<SimHandle> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = SimConfig {
        mode: Mode::Centralized,
        users: Some(users),
        ..SimConfig::default()
    };
    Ok(Simulator::spawn(config).await?)
}

async fn clear_faults(sim: &SimHandle) -> anyhow::Result<()> {
    reqwest::Client::new()
        .delete(format!("{}/faults", sim.info().control_url))
        .bearer_auth(&sim.info().control_token)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

fn impatient() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(5),
        max_retry_after: Duration::from_secs(1),
    }
}

async fn all_changes(store: &Store) -> anyhow::Result<Vec<ChangeEvent>> {
    Ok(store.changes().list(&ChangeQuery::default()).await?)
}

/// A change event as a comparable tuple: kind, account, group, resource, role, source.
type Key = (
    &'static str,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn key(e: &ChangeEvent) -> Key {
    let e = &e.event;
    let source = e
        .after
        .as_ref()
        .or(e.before.as_ref())
        .and_then(|v| v.get("source"))
        .map(|s| s.to_string());
    (
        e.kind.as_str(),
        e.account_id.clone().unwrap_or_default(),
        e.group_id.clone(),
        e.resource.clone(),
        e.role.clone(),
        source,
    )
}

fn source_json(source: &str) -> String {
    let s = match source.strip_prefix("group:") {
        Some(group_id) => GrantSource::Group {
            group_id: group_id.to_owned(),
        },
        None if source == "inferred" => GrantSource::Inferred,
        None => GrantSource::Direct,
    };
    json!(s).to_string()
}

/// Role assignments of a snapshot as (account, resource, role, source).
async fn roles(snapshot: &Snapshot) -> anyhow::Result<BTreeSet<(String, String, String, String)>> {
    Ok(snapshot
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
        .collect())
}

/// The subjects of the out-of-band changes, four distinct active non-admin people:
/// `revoke` (holds a direct role), `join` (and a group with roles they are not in), `leave`
/// (and a group they are in), `grant` (and a direct role of `revoke`'s they don't hold), `suspend`.
struct Subjects {
    revoke: (String, String, String),
    join: (String, String),
    leave: (String, String),
    grant: (String, String, String),
    suspend: String,
}

fn pick_subjects(sim: &SimHandle) -> anyhow::Result<Subjects> {
    sim.app().read(|w| {
        let integration = w.integration_account();
        let people: Vec<_> = (0..w.accounts.len())
            .map(|i| i as _)
            .filter(|ax| {
                let a = w.account(*ax);
                *ax != integration
                    && !a.org_admin
                    && a.kind == AccountType::Atlassian
                    && w.composite_status(*ax) == "active"
            })
            .collect();
        let mut used = BTreeSet::new();
        let none = || anyhow::anyhow!("no suitable subject in the sandbox");
        // revoke: a direct role
        let (rev_ax, (rx, role)) = people
            .iter()
            .find_map(|ax| w.account(*ax).direct_roles.iter().next().map(|r| (*ax, *r)))
            .ok_or_else(none)?;
        used.insert(rev_ax);
        let revoke = (
            w.account(rev_ax).id.clone(),
            w.resource(rx).ari(),
            role.id().to_owned(),
        );
        // grant: someone without that direct role (and without it at all, to stay clear of
        // seat limits counting them twice)
        let grant_ax = *people
            .iter()
            .find(|ax| !used.contains(*ax) && !w.role_assignments(**ax).contains_key(&(rx, role)))
            .ok_or_else(none)?;
        used.insert(grant_ax);
        let grant = (
            w.account(grant_ax).id.clone(),
            w.resource(rx).ari(),
            role.id().to_owned(),
        );
        // join: a group with roles the person is not in
        let (join_ax, join_group) = people
            .iter()
            .filter(|ax| !used.contains(*ax))
            .find_map(|ax| {
                w.live_groups()
                    .find(|(gx, g)| {
                        !w.account(*ax).groups.contains(gx)
                            && !g.external
                            && !g.roles.is_empty()
                            && !g.name.contains("admin")
                    })
                    .map(|(_, g)| (*ax, g.id.clone()))
            })
            .ok_or_else(none)?;
        used.insert(join_ax);
        // leave: a non-synced group the person is in
        let (leave_ax, leave_group) = people
            .iter()
            .filter(|ax| !used.contains(*ax))
            .find_map(|ax| {
                w.account(*ax)
                    .groups
                    .iter()
                    .map(|gx| w.group(*gx))
                    .find(|g| !g.external && !g.deleted)
                    .map(|g| (*ax, g.id.clone()))
            })
            .ok_or_else(none)?;
        used.insert(leave_ax);
        let suspend_ax = *people
            .iter()
            .find(|ax| !used.contains(*ax))
            .ok_or_else(none)?;
        Ok(Subjects {
            revoke,
            join: (w.account(join_ax).id.clone(), join_group),
            leave: (w.account(leave_ax).id.clone(), leave_group),
            grant,
            suspend: w.account(suspend_ax).id.clone(),
        })
    })
}

/// The group an out-of-band admin creates between two syncs.
const NEW_GROUP: &str = "created-out-of-band";

/// Makes the six out-of-band changes; returns the acting admin's (account id, name).
async fn out_of_band_changes(
    sim: &SimHandle,
    s: &Subjects,
) -> anyhow::Result<(String, Option<String>)> {
    let ops = [
        json!({"op": "revoke_role", "account_id": s.revoke.0, "resource": s.revoke.1, "role": s.revoke.2}),
        json!({"op": "grant_role", "account_id": s.grant.0, "resource": s.grant.1, "role": s.grant.2}),
        json!({"op": "add_member", "account_id": s.join.0, "group_id": s.join.1}),
        json!({"op": "remove_member", "account_id": s.leave.0, "group_id": s.leave.1}),
        json!({"op": "suspend", "account_id": s.suspend}),
        json!({"op": "create_group", "name": NEW_GROUP}),
    ];
    let mut actor = None;
    for op in ops {
        let body = control(sim, "/out-of-band", op.clone()).await?;
        anyhow::ensure!(
            body["changed"] == json!(true),
            "{op} changed nothing: {body}"
        );
        actor = Some((
            body["actor"]["account_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            body["actor"]["name"].as_str().map(str::to_owned),
        ));
    }
    actor.ok_or_else(|| anyhow::anyhow!("no actor"))
}

async fn out_of_band_changes_are_recorded_exactly(store: &Store) -> anyhow::Result<()> {
    let sim = sandbox(80).await?;
    let t = target(&sim)?;

    let first = sync::run(&t, store).await;
    assert!(first.succeeded(), "{first:#?}");
    assert_eq!(first.changes, 0, "the first run is the baseline");
    assert!(all_changes(store).await?.is_empty());
    let first_run = first.run.ok_or_else(|| anyhow::anyhow!("no run"))?;

    let subjects = pick_subjects(&sim)?;
    let (actor_id, actor_name) = out_of_band_changes(&sim, &subjects).await?;
    assert!(!actor_id.is_empty());

    let second = sync::run(&t, store).await;
    assert!(second.succeeded(), "{second:#?}");
    assert_eq!(second.attribution_error, None, "{second:#?}");
    let second_run = second.run.ok_or_else(|| anyhow::anyhow!("no run"))?;

    // Expected: the membership and status changes made, and every role row that appeared or
    // disappeared (the direct grant and revoke, plus the group grants of the group joined or
    // left), as the two snapshots (checked against the ground truth by the sync tests) say.
    let before = roles(&store.snapshot(first_run)).await?;
    let after = roles(&store.snapshot(second_run)).await?;
    let role_key = |kind: ChangeKind, r: &(String, String, String, String)| -> Key {
        let group = r.3.strip_prefix("group:").map(str::to_owned);
        (
            kind.as_str(),
            r.0.clone(),
            group,
            Some(r.1.clone()),
            Some(r.2.clone()),
            Some(source_json(&r.3)),
        )
    };
    let mut want: BTreeSet<Key> = BTreeSet::new();
    want.extend(
        after
            .difference(&before)
            .map(|r| role_key(ChangeKind::RoleGranted, r)),
    );
    want.extend(
        before
            .difference(&after)
            .map(|r| role_key(ChangeKind::RoleRevoked, r)),
    );
    let revoke_direct = (
        subjects.revoke.0.clone(),
        subjects.revoke.1.clone(),
        subjects.revoke.2.clone(),
        "direct".to_owned(),
    );
    let grant_direct = (
        subjects.grant.0.clone(),
        subjects.grant.1.clone(),
        subjects.grant.2.clone(),
        "direct".to_owned(),
    );
    assert!(want.contains(&role_key(ChangeKind::RoleRevoked, &revoke_direct)));
    assert!(want.contains(&role_key(ChangeKind::RoleGranted, &grant_direct)));
    want.insert((
        ChangeKind::GroupMembershipAdded.as_str(),
        subjects.join.0.clone(),
        Some(subjects.join.1.clone()),
        None,
        None,
        None,
    ));
    want.insert((
        ChangeKind::GroupMembershipRemoved.as_str(),
        subjects.leave.0.clone(),
        Some(subjects.leave.1.clone()),
        None,
        None,
        None,
    ));
    want.insert((
        ChangeKind::AccountStatusChanged.as_str(),
        subjects.suspend.clone(),
        None,
        None,
        None,
        None,
    ));
    // Only the five subjects are concerned.
    let subjects_ids: BTreeSet<&str> = [
        subjects.revoke.0.as_str(),
        subjects.grant.0.as_str(),
        subjects.join.0.as_str(),
        subjects.leave.0.as_str(),
        subjects.suspend.as_str(),
    ]
    .into();
    assert!(
        want.iter().all(|k| subjects_ids.contains(k.1.as_str())),
        "{want:#?}"
    );
    // And the group created, a group-level event.
    let new_group = sim
        .app()
        .read(|w| {
            w.live_groups()
                .find(|(_, g)| g.name == NEW_GROUP)
                .map(|(_, g)| g.id.clone())
        })
        .ok_or_else(|| anyhow::anyhow!("the new group is not in the simulator"))?;
    want.insert((
        ChangeKind::GroupAdded.as_str(),
        String::new(),
        Some(new_group),
        None,
        None,
        None,
    ));

    let got = all_changes(store).await?;
    assert_eq!(got.len(), second.changes);
    let got_keys: BTreeSet<Key> = got.iter().map(key).collect();
    assert_eq!(got_keys.len(), got.len(), "duplicate events: {got:#?}");
    assert_eq!(got_keys, want);
    for e in &got {
        let ev = &e.event;
        assert_eq!(ev.run_id, Some(second_run));
        assert!(ev.out_of_band, "{e:#?}");
        assert_eq!(ev.actor_id.as_deref(), Some(actor_id.as_str()), "{e:#?}");
        assert_eq!(ev.actor_name, actor_name, "{e:#?}");
    }
    let status = got
        .iter()
        .find(|e| e.event.kind == ChangeKind::AccountStatusChanged)
        .ok_or_else(|| anyhow::anyhow!("no status change"))?;
    assert_eq!(status.event.before, Some(json!({"status": "active"})));
    assert_eq!(status.event.after, Some(json!({"status": "suspended"})));

    // A third sync with nothing changed records nothing more.
    let third = sync::run(&t, store).await;
    assert!(third.succeeded(), "{third:#?}");
    assert_eq!(third.changes, 0);
    assert_eq!(all_changes(store).await?.len(), got.len());
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn out_of_band_changes_are_recorded_exactly_and_attributed() -> anyhow::Result<()> {
    let (store, _dir) = sqlite().await?;
    out_of_band_changes_are_recorded_exactly(&store).await
}

#[tokio::test]
async fn out_of_band_changes_are_recorded_exactly_on_postgres() -> anyhow::Result<()> {
    let Some((store, server, schema)) = postgres("change-events").await? else {
        return Ok(());
    };
    let result = out_of_band_changes_are_recorded_exactly(&store).await;
    drop_schema(store, &server, &schema).await?;
    result
}

#[tokio::test]
async fn an_invite_between_syncs_is_an_account_added() -> anyhow::Result<()> {
    let sim = sandbox(40).await?;
    let (store, _dir) = sqlite().await?;
    let t = target(&sim)?;
    let first = sync::run(&t, &store).await;
    assert!(first.succeeded(), "{first:#?}");

    let client = t.client(impatient(), Duration::from_secs(10))?;
    let email = "newcomer@invited.example";
    client
        .org()
        .invite(&InviteRequest {
            emails: vec![email.to_owned()],
            ..InviteRequest::default()
        })
        .await?;

    let second = sync::run(&t, &store).await;
    assert!(second.succeeded(), "{second:#?}");
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    let account = snapshot
        .account_by_email(email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the invited account is not in the snapshot"))?;
    let got = all_changes(&store).await?;
    let added: Vec<_> = got
        .iter()
        .filter(|e| e.event.kind == ChangeKind::AccountAdded)
        .collect();
    assert_eq!(added.len(), 1, "{got:#?}");
    assert_eq!(
        added[0].event.account_id.as_deref(),
        Some(account.account_id.as_str())
    );
    assert!(added[0].event.out_of_band);
    assert!(added[0].event.actor_id.is_some(), "{got:#?}");
    assert_eq!(
        added[0].event.after.as_ref().and_then(|a| a.get("email")),
        Some(&json!(email))
    );
    // Anything else recorded is about the newcomer (e.g. grants of default groups).
    assert!(
        got.iter()
            .all(|e| e.event.account_id.as_deref() == Some(account.account_id.as_str())),
        "{got:#?}"
    );
    assert!(
        store
            .snapshot(first.run.ok_or_else(|| anyhow::anyhow!("no run"))?)
            .accounts(&AccountFilter::default())
            .await?
            .iter()
            .all(|a| a.email.as_deref() != Some(email))
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_failed_run_records_no_events_and_the_next_run_does() -> anyhow::Result<()> {
    let sim = sandbox(60).await?;
    let (store, _dir) = sqlite().await?;
    let t = target(&sim)?;
    let first = sync::run(&t, &store).await;
    assert!(first.succeeded(), "{first:#?}");
    let subjects = pick_subjects(&sim)?;
    control(
        &sim,
        "/out-of-band",
        json!({"op": "suspend", "account_id": subjects.suspend}),
    )
    .await?;

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
    assert_eq!(failed.changes, 0);
    assert!(all_changes(&store).await?.is_empty());

    clear_faults(&sim).await?;
    let next = sync::run(&t, &store).await;
    assert!(next.succeeded(), "{next:#?}");
    let got = all_changes(&store).await?;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].event.kind, ChangeKind::AccountStatusChanged);
    assert_eq!(
        got[0].event.account_id.as_deref(),
        Some(subjects.suspend.as_str())
    );
    assert_eq!(got[0].event.run_id, next.run);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_failing_events_read_leaves_changes_unattributed_and_the_sync_completes()
-> anyhow::Result<()> {
    let sim = sandbox(60).await?;
    let (store, _dir) = sqlite().await?;
    let t = target(&sim)?;
    let first = sync::run(&t, &store).await;
    assert!(first.succeeded(), "{first:#?}");
    let subjects = pick_subjects(&sim)?;
    control(
        &sim,
        "/out-of-band",
        json!({"op": "suspend", "account_id": subjects.suspend}),
    )
    .await?;
    control(
        &sim,
        "/faults",
        json!({"family": "org", "path": "/v1/orgs/*/events-stream",
               "kind": "status", "status": 500, "count": 1000}),
    )
    .await?;
    let client = t.client(impatient(), Duration::from_secs(5))?;
    let second = sync::run_with(&client, &t, &store).await;
    assert!(second.succeeded(), "{second:#?}");
    assert!(second.attribution_error.is_some(), "{second:#?}");
    let got = all_changes(&store).await?;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].event.out_of_band);
    assert_eq!(got[0].event.actor_id, None);
    assert_eq!(got[0].event.actor_name, None);
    sim.shutdown().await;
    Ok(())
}
