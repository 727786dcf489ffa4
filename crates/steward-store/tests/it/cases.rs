//! The shared suite: every function here runs on SQLite and on PostgreSQL.

use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use steward_store::{
    AccountFilter, AccountRow, Batch, ChangeKind, ChangeQuery, Checkpoint, Error, GrantSource,
    GroupMembershipRow, GroupRoleRow, GroupRow, JsmCustomerRow, LastActiveRow, MasterKey,
    NewChangeEvent, OrgRow, ResourceRow, RoleAssignmentRow, RunId, RunStatus, SiteRow,
    StatuspageMemberRow, StatuspagePermissionRow, Store,
};

use crate::db::{Kind, TestDb};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + secs, 0).single().unwrap()
}

fn account(id: &str, email: &str, status: &str) -> AccountRow {
    AccountRow {
        account_id: id.to_owned(),
        email: Some(email.to_owned()),
        name: format!("User {id}"),
        account_type: "atlassian".to_owned(),
        status: status.to_owned(),
        account_status: "active".to_owned(),
        membership_status: Some("active".to_owned()),
        claim_status: "managed".to_owned(),
        management_source: None,
        added_to_org: Some(at(0)),
        mfa: Some(true),
    }
}

fn grant(account: &str, ari: &str, role: &str, source: GrantSource) -> RoleAssignmentRow {
    RoleAssignmentRow {
        account_id: account.to_owned(),
        resource_ari: ari.to_owned(),
        role: role.to_owned(),
        source,
    }
}

fn resource(ari: &str, product: &str) -> ResourceRow {
    ResourceRow {
        ari: ari.to_owned(),
        product: product.to_owned(),
        site: Some("cloud-1".to_owned()),
        seats: Some(10),
    }
}

fn change(run: Option<RunId>, kind: ChangeKind, account: &str, secs: i64) -> NewChangeEvent {
    NewChangeEvent {
        run_id: run,
        detected_at: at(secs),
        kind,
        account_id: Some(account.to_owned()),
        group_id: None,
        resource: Some("ari:jira".to_owned()),
        role: Some("atlassian/user".to_owned()),
        before: None,
        after: Some(json!({"role": "atlassian/user"})),
        out_of_band: true,
        actor_id: Some("admin-1".to_owned()),
        actor_name: Some("Ada Admin".to_owned()),
    }
}

/// How many migrations the crate ships (both back ends have the same list).
fn migration_count() -> anyhow::Result<i64> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");
    Ok(i64::try_from(std::fs::read_dir(dir)?.count())?)
}

/// Begins a run, writes `accounts` into it and completes it.
async fn completed_run(store: &Store, accounts: &[AccountRow]) -> anyhow::Result<RunId> {
    let run = store.runs().begin().await?;
    store.writer(run).write_accounts(accounts).await?;
    store
        .runs()
        .complete(run, &json!({"org": "ok"}), &[])
        .await?;
    Ok(run)
}

async fn visible_account_ids(store: &Store) -> anyhow::Result<Vec<String>> {
    let snapshot = store
        .latest_snapshot()
        .await?
        .context("no completed snapshot")?;
    Ok(snapshot
        .accounts(&AccountFilter::default())
        .await?
        .into_iter()
        .map(|a| a.account_id)
        .collect())
}

pub async fn first_open_creates_and_migrates(db: &TestDb) -> anyhow::Result<()> {
    if let Some(file) = &db.sqlite_file {
        assert!(file.exists(), "the SQLite file is created on first open");
        let mode: String = {
            use sqlx::Connection;
            let mut c =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display())).await?;
            sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut c)
                .await?
        };
        assert_eq!(mode, "wal");
    }
    assert_eq!(db.applied_migrations().await?, migration_count()?);
    assert!(db.store.runs().latest_completed().await?.is_none());
    assert!(db.store.latest_snapshot().await?.is_none());
    assert!(db.store.runs().list(10).await?.is_empty());
    Ok(())
}

pub async fn reopen_is_a_noop(db: &TestDb) -> anyhow::Result<()> {
    let run = completed_run(&db.store, &[account("a1", "a1@acme.test", "active")]).await?;
    let again = db.reopen().await?;
    let third = db.reopen().await?;
    assert_eq!(db.applied_migrations().await?, migration_count()?);
    assert_eq!(
        again.runs().latest_completed().await?.map(|r| r.id),
        Some(run)
    );
    assert_eq!(visible_account_ids(&third).await?, ["a1"]);
    again.close().await;
    third.close().await;
    Ok(())
}

pub async fn readers_see_previous_completed_run_while_a_new_run_is_half_written(
    db: &TestDb,
) -> anyhow::Result<()> {
    let store = &db.store;
    let first = completed_run(store, &[account("a1", "a1@acme.test", "active")]).await?;

    let second = store.runs().begin().await?;
    store
        .writer(second)
        .write_accounts(&[
            account("a1", "a1@acme.test", "suspended"),
            account("a2", "a2@acme.test", "active"),
        ])
        .await?;

    // Another handle (another process) sees only the first run.
    let reader = db.reopen().await?;
    let snapshot = reader.latest_snapshot().await?.context("snapshot")?;
    assert_eq!(snapshot.run(), first);
    assert_eq!(visible_account_ids(&reader).await?, ["a1"]);
    assert_eq!(
        snapshot.account("a1").await?.context("a1")?.status,
        "active"
    );

    store.runs().complete(second, &json!({}), &[]).await?;
    assert_eq!(visible_account_ids(&reader).await?, ["a1", "a2"]);
    // A snapshot handle stays pinned to its run.
    assert_eq!(
        snapshot.account("a1").await?.context("a1")?.status,
        "active"
    );
    assert_eq!(snapshot.accounts(&AccountFilter::default()).await?.len(), 1);
    reader.close().await;
    Ok(())
}

pub async fn failed_and_abandoned_runs_never_become_visible(db: &TestDb) -> anyhow::Result<()> {
    let store = &db.store;
    let good = completed_run(store, &[account("a1", "a1@acme.test", "active")]).await?;

    let failed = store.runs().begin().await?;
    store
        .writer(failed)
        .write_accounts(&[account("f1", "f1@acme.test", "active")])
        .await?;
    store
        .runs()
        .fail(failed, &json!({"jira": {"error": "boom"}}), "jira failed")
        .await?;

    let crashed = store.runs().begin().await?;
    store
        .writer(crashed)
        .write_accounts(&[account("c1", "c1@acme.test", "active")])
        .await?;
    assert_eq!(
        store.runs().latest_running().await?.map(|r| r.id),
        Some(crashed)
    );
    let abandoned = store
        .runs()
        .abandon_stale(Utc::now() + chrono::Duration::seconds(60), "writer gone")
        .await?;
    assert_eq!(abandoned, [crashed]);
    assert!(store.runs().latest_running().await?.is_none());
    assert!(
        store
            .runs()
            .abandon_stale(Utc::now() + chrono::Duration::seconds(60), "again")
            .await?
            .is_empty(),
        "abandoning is idempotent"
    );

    let explicit = store.runs().begin().await?;
    store.runs().abandon(explicit, "superseded").await?;

    assert_eq!(
        store.runs().latest_completed().await?.map(|r| r.id),
        Some(good)
    );
    assert_eq!(visible_account_ids(store).await?, ["a1"]);

    let f = store.runs().get(failed).await?;
    assert_eq!(f.status, RunStatus::Failed);
    assert_eq!(f.error.as_deref(), Some("jira failed"));
    assert_eq!(f.product_status, json!({"jira": {"error": "boom"}}));
    assert!(f.finished_at.is_some());
    assert_eq!(
        store.runs().get(crashed).await?.status,
        RunStatus::Abandoned
    );
    let statuses: Vec<RunStatus> = store
        .runs()
        .list(10)
        .await?
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        [
            RunStatus::Abandoned,
            RunStatus::Abandoned,
            RunStatus::Failed,
            RunStatus::Completed
        ]
    );
    Ok(())
}

pub async fn finished_runs_refuse_writes(db: &TestDb) -> anyhow::Result<()> {
    let store = &db.store;
    let run = completed_run(store, &[]).await?;
    let err = store
        .writer(run)
        .write_accounts(&[account("late", "late@acme.test", "active")])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::RunNotRunning {
                status: RunStatus::Completed,
                ..
            }
        ),
        "{err:?}"
    );
    let err = store
        .runs()
        .complete(run, &json!({}), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RunNotRunning { .. }), "{err:?}");
    let err = store
        .runs()
        .fail(RunId(9_999), &json!({}), "x")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownRun(RunId(9_999))), "{err:?}");
    assert!(matches!(
        store.runs().get(RunId(9_999)).await,
        Err(Error::UnknownRun(_))
    ));
    let snapshot = store.latest_snapshot().await?.context("snapshot")?;
    assert!(snapshot.account("late").await?.is_none());
    Ok(())
}

pub async fn batches_are_idempotent_per_run_and_key(db: &TestDb) -> anyhow::Result<()> {
    let store = &db.store;
    let run = store.runs().begin().await?;
    let w = store.writer(run);
    let page = [
        account("a1", "a1@acme.test", "active"),
        account("a2", "a2@acme.test", "active"),
    ];
    let grants = [
        grant("a1", "ari:jira", "atlassian/user", GrantSource::Direct),
        grant(
            "a1",
            "ari:jira",
            "atlassian/user",
            GrantSource::Group {
                group_id: "g1".to_owned(),
            },
        ),
    ];
    let members = [GroupMembershipRow {
        group_id: "g1".to_owned(),
        account_id: "a1".to_owned(),
    }];
    for _ in 0..2 {
        w.write_accounts(&page).await?;
        w.write_role_assignments(&grants).await?;
        w.write_group_memberships(&members).await?;
        w.write_resources(&[resource("ari:jira", "jira-software")])
            .await?;
    }
    // A later value for the same key replaces the earlier one.
    w.write_accounts(&[account("a2", "a2@acme.test", "suspended")])
        .await?;
    store.runs().complete(run, &json!({}), &[]).await?;

    let s = store.snapshot(run);
    let accounts = s.accounts(&AccountFilter::default()).await?;
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[1].status, "suspended");
    assert_eq!(
        s.role_assignments().await?.len(),
        2,
        "direct and group grants are distinct"
    );
    assert_eq!(s.group_memberships().await?, members);
    assert_eq!(s.resources().await?.len(), 1);
    Ok(())
}

pub async fn checkpoints_commit_with_their_batch(db: &TestDb) -> anyhow::Result<()> {
    let store = &db.store;
    let run = store.runs().begin().await?;
    let w = store.writer(run);
    let cp = |v: serde_json::Value| Checkpoint {
        scope: "accounts".to_owned(),
        value: v,
    };
    w.write(
        Batch::Accounts(&[account("a1", "a1@acme.test", "active")]),
        Some(&cp(json!({"cursor": "page2"}))),
    )
    .await?;
    w.write(
        Batch::Accounts(&[account("a2", "a2@acme.test", "active")]),
        Some(&cp(json!({"cursor": "page3"}))),
    )
    .await?;
    store
        .runs()
        .set_checkpoint(
            run,
            &Checkpoint {
                scope: "jira:cloud-1".to_owned(),
                value: json!("done"),
            },
        )
        .await?;

    // A restarted engine finds the run and where each scope stopped.
    let restarted = db.reopen().await?;
    let resumable = restarted
        .runs()
        .latest_running()
        .await?
        .context("running")?;
    assert_eq!(resumable.id, run);
    let cps = restarted.runs().checkpoints(run).await?;
    assert_eq!(
        cps,
        [
            cp(json!({"cursor": "page3"})),
            Checkpoint {
                scope: "jira:cloud-1".to_owned(),
                value: json!("done")
            }
        ]
    );
    // Resuming rewrites the last page: no duplicates.
    restarted
        .writer(run)
        .write(
            Batch::Accounts(&[account("a2", "a2@acme.test", "active")]),
            Some(&cp(json!({"cursor": null}))),
        )
        .await?;
    restarted
        .runs()
        .complete(run, &json!({"org": "ok"}), &[])
        .await?;
    assert_eq!(visible_account_ids(&restarted).await?, ["a1", "a2"]);
    assert_eq!(
        restarted.runs().get(run).await?.product_status,
        json!({"org": "ok"})
    );
    restarted.close().await;
    Ok(())
}

/// Writes a small org: two products, direct and group grants, and some statuses.
async fn seed(store: &Store) -> anyhow::Result<RunId> {
    let run = store.runs().begin().await?;
    let w = store.writer(run);
    w.write_org(&[OrgRow {
        org_id: "org-1".to_owned(),
        name: "Acme".to_owned(),
        user_management: "centralized".to_owned(),
    }])
    .await?;
    w.write_sites(&[SiteRow {
        cloud_id: "cloud-1".to_owned(),
        name: "acme".to_owned(),
        url: "https://acme.atlassian.net".to_owned(),
    }])
    .await?;
    w.write_resources(&[
        resource("ari:jira", "jira-software"),
        resource("ari:conf", "confluence"),
        ResourceRow {
            ari: "ari:sp".to_owned(),
            product: "statuspage".to_owned(),
            site: None,
            seats: None,
        },
    ])
    .await?;
    w.write_directories(&[steward_store::DirectoryRow {
        directory_id: "dir-1".to_owned(),
        name: "Acme directory".to_owned(),
    }])
    .await?;
    let mut bob = account("b", "Bob@Acme.test", "suspended");
    bob.mfa = None;
    bob.added_to_org = None;
    let mut carol = account("c", "carol@acme.test", "active");
    carol.email = None;
    w.write_accounts(&[account("a", "alice@acme.test", "active"), bob, carol])
        .await?;
    w.write_groups(&[GroupRow {
        group_id: "g-devs".to_owned(),
        name: "developers".to_owned(),
        directory_id: Some("dir-1".to_owned()),
        external_synced: true,
        managed_by: Some("scim".to_owned()),
    }])
    .await?;
    w.write_group_memberships(&[GroupMembershipRow {
        group_id: "g-devs".to_owned(),
        account_id: "b".to_owned(),
    }])
    .await?;
    w.write_group_roles(&[GroupRoleRow {
        group_id: "g-devs".to_owned(),
        resource_ari: "ari:jira".to_owned(),
        role: "atlassian/user".to_owned(),
    }])
    .await?;
    w.write_role_assignments(&[
        grant("a", "ari:jira", "atlassian/admin", GrantSource::Direct),
        grant("a", "ari:conf", "atlassian/user", GrantSource::Direct),
        grant(
            "b",
            "ari:jira",
            "atlassian/user",
            GrantSource::Group {
                group_id: "g-devs".to_owned(),
            },
        ),
        grant("c", "ari:conf", "atlassian/user", GrantSource::Inferred),
    ])
    .await?;
    w.write_statuspage_members(&[StatuspageMemberRow {
        sp_user_id: "sp-1".to_owned(),
        email: "alice@acme.test".to_owned(),
        account_id: Some("a".to_owned()),
    }])
    .await?;
    w.write_statuspage_permissions(&[StatuspagePermissionRow {
        sp_user_id: "sp-1".to_owned(),
        page_id: "page-1".to_owned(),
        page_configuration: true,
        incident_manager: false,
        maintenance_manager: true,
    }])
    .await?;
    w.write_jsm_customers(&[JsmCustomerRow {
        site: "cloud-1".to_owned(),
        service_desk_id: "1".to_owned(),
        account_id: "c".to_owned(),
    }])
    .await?;
    w.write_last_active(&[LastActiveRow {
        account_id: "a".to_owned(),
        resource: "jira-software".to_owned(),
        at: at(100),
    }])
    .await?;
    store.runs().complete(run, &json!({}), &[]).await?;
    Ok(run)
}

pub async fn account_filters_select_by_product_role_and_status(db: &TestDb) -> anyhow::Result<()> {
    seed(&db.store).await?;
    let s = db.store.latest_snapshot().await?.context("snapshot")?;
    let ids = async |f: AccountFilter| -> anyhow::Result<Vec<String>> {
        Ok(s.accounts(&f)
            .await?
            .into_iter()
            .map(|a| a.account_id)
            .collect())
    };
    let f = |product: Option<&str>, role: Option<&str>, status: Option<&str>| AccountFilter {
        product: product.map(str::to_owned),
        role: role.map(str::to_owned),
        status: status.map(str::to_owned),
    };
    // Sorted by email (byte order), accounts without email last.
    assert_eq!(ids(f(None, None, None)).await?, ["b", "a", "c"]);
    assert_eq!(ids(f(Some("jira-software"), None, None)).await?, ["b", "a"]);
    assert_eq!(ids(f(Some("confluence"), None, None)).await?, ["a", "c"]);
    assert_eq!(
        ids(f(None, Some("atlassian/user"), None)).await?,
        ["b", "a", "c"]
    );
    assert_eq!(
        ids(f(Some("jira-software"), Some("atlassian/admin"), None)).await?,
        ["a"]
    );
    assert_eq!(
        ids(f(Some("confluence"), Some("atlassian/admin"), None)).await?,
        Vec::<String>::new()
    );
    assert_eq!(ids(f(None, None, Some("suspended"))).await?, ["b"]);
    assert_eq!(
        ids(f(Some("jira-software"), None, Some("active"))).await?,
        ["a"]
    );
    assert_eq!(
        ids(f(Some("statuspage"), None, None)).await?,
        Vec::<String>::new()
    );
    Ok(())
}

pub async fn account_details_group_statuspage_and_jsm_round_trip(
    db: &TestDb,
) -> anyhow::Result<()> {
    let run = seed(&db.store).await?;
    let s = db.store.latest_snapshot().await?.context("snapshot")?;
    assert_eq!(s.run(), run);
    assert_eq!(
        s.org().await?.context("org")?.user_management,
        "centralized"
    );
    assert_eq!(s.sites().await?.len(), 1);
    assert_eq!(s.resources().await?.len(), 3);
    assert_eq!(s.directories().await?.len(), 1);

    let bob = s
        .account_by_email("bob@acme.TEST")
        .await?
        .context("bob by email")?;
    assert_eq!(bob.account_id, "b");
    assert_eq!(bob.mfa, None);
    assert_eq!(bob.added_to_org, None);
    let alice = s.account("a").await?.context("alice")?;
    assert_eq!(alice, account("a", "alice@acme.test", "active"));
    assert!(s.account_by_email("nobody@acme.test").await?.is_none());

    assert_eq!(
        s.grants_of("b").await?,
        [grant(
            "b",
            "ari:jira",
            "atlassian/user",
            GrantSource::Group {
                group_id: "g-devs".to_owned()
            }
        )]
    );
    assert_eq!(
        s.grants_of("a").await?,
        [
            grant("a", "ari:conf", "atlassian/user", GrantSource::Direct),
            grant("a", "ari:jira", "atlassian/admin", GrantSource::Direct),
        ]
    );
    assert_eq!(s.grants_of("c").await?[0].source, GrantSource::Inferred);
    assert_eq!(s.role_assignments().await?.len(), 4);

    let groups = s.groups().await?;
    assert_eq!(groups.len(), 1);
    assert!(groups[0].external_synced);
    assert_eq!(s.groups_of("b").await?, groups);
    assert!(s.groups_of("a").await?.is_empty());
    assert_eq!(s.group_roles().await?.len(), 1);

    assert_eq!(
        s.statuspage_members().await?[0].account_id.as_deref(),
        Some("a")
    );
    let perms = s.statuspage_permissions().await?;
    assert!(
        perms[0].page_configuration && !perms[0].incident_manager && perms[0].maintenance_manager
    );
    assert_eq!(s.jsm_customers().await?[0].account_id, "c");
    assert_eq!(s.last_active().await?[0].at, at(100));
    Ok(())
}

pub async fn change_events_round_trip_and_filter(db: &TestDb) -> anyhow::Result<()> {
    let store = &db.store;
    let run = completed_run(store, &[]).await?;
    let events = [
        change(Some(run), ChangeKind::AccountAdded, "a", 10),
        change(Some(run), ChangeKind::RoleGranted, "a", 20),
        change(None, ChangeKind::StatuspagePermissionChanged, "b", 30),
    ];
    store.changes().record(&events).await?;

    let all = store.changes().since(None).await?;
    assert_eq!(all.len(), 3);
    assert_eq!(
        all.iter().map(|c| c.event.clone()).collect::<Vec<_>>(),
        events
    );
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));

    let later = store.changes().since(Some(at(10))).await?;
    assert_eq!(later.len(), 2, "since is exclusive");
    let after = store
        .changes()
        .list(&ChangeQuery {
            after_id: Some(all[0].id),
            limit: Some(1),
            ..ChangeQuery::default()
        })
        .await?;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, all[1].id);
    let of_run = store
        .changes()
        .list(&ChangeQuery {
            run: Some(run),
            ..ChangeQuery::default()
        })
        .await?;
    assert_eq!(of_run.len(), 2);
    let of_b = store
        .changes()
        .list(&ChangeQuery {
            account_id: Some("b".to_owned()),
            ..ChangeQuery::default()
        })
        .await?;
    assert_eq!(of_b[0].event.kind, ChangeKind::StatuspagePermissionChanged);
    assert_eq!(of_b[0].event.actor_name.as_deref(), Some("Ada Admin"));
    Ok(())
}

pub async fn changes_recorded_with_completion_appear_with_the_snapshot(
    db: &TestDb,
) -> anyhow::Result<()> {
    let store = &db.store;
    let run = store.runs().begin().await?;
    let events = [change(Some(run), ChangeKind::AccountRemoved, "gone", 5)];
    store.runs().complete(run, &json!({}), &events).await?;
    let recorded = store.changes().since(None).await?;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].event, events[0]);

    // A completion that fails records nothing.
    let err = store.runs().complete(run, &json!({}), &events).await;
    assert!(err.is_err());
    assert_eq!(store.changes().since(None).await?.len(), 1);
    Ok(())
}

pub async fn secrets_round_trip(db: &TestDb) -> anyhow::Result<()> {
    let key = MasterKey::generate();
    let secrets = db.store.secrets(&key);
    assert!(secrets.get("org_api_key").await?.is_none());
    secrets
        .put("org_api_key", &SecretString::from("first"))
        .await?;
    secrets
        .put("org_api_key", &SecretString::from("second"))
        .await?;
    secrets
        .put("site_token", &SecretString::from("tok"))
        .await?;
    let got = secrets.get("org_api_key").await?.context("secret")?;
    assert_eq!(got.expose_secret(), "second");
    assert_eq!(secrets.names().await?, ["org_api_key", "site_token"]);
    // Survives a restart with the same key.
    let again = db.reopen().await?;
    let key_again = MasterKey::from_bytes(key.expose_bytes())?;
    let got = again
        .secrets(&key_again)
        .get("site_token")
        .await?
        .context("secret")?;
    assert_eq!(got.expose_secret(), "tok");
    assert!(secrets.delete("site_token").await?);
    assert!(
        !secrets.delete("site_token").await?,
        "deleting twice is fine"
    );
    assert!(secrets.get("site_token").await?.is_none());
    again.close().await;
    Ok(())
}

pub async fn secrets_are_not_plaintext_at_rest(db: &TestDb) -> anyhow::Result<()> {
    const CANARY: &str = "canary-7f3a9c1e-do-not-store-me";
    let key = MasterKey::generate();
    db.store
        .secrets(&key)
        .put("org_api_key", &SecretString::from(CANARY))
        .await?;
    let blobs = db.raw_ciphertexts().await?;
    assert_eq!(blobs.len(), 1);
    assert!(
        blobs[0].len() >= 24 + CANARY.len() + 16,
        "nonce + ciphertext + tag"
    );
    assert!(!contains(&blobs[0], CANARY.as_bytes()));
    if let Some(file) = &db.sqlite_file {
        db.store.close().await;
        let mut files = vec![file.clone()];
        for suffix in ["-wal", "-shm"] {
            let mut p = file.clone().into_os_string();
            p.push(suffix);
            files.push(p.into());
        }
        let mut checked = 0;
        for f in files {
            if let Ok(bytes) = std::fs::read(&f) {
                checked += 1;
                assert!(
                    !contains(&bytes, CANARY.as_bytes()),
                    "plaintext secret found in {}",
                    f.display()
                );
            }
        }
        assert!(checked >= 1);
    }
    assert!(db.kind == Kind::Sqlite || db.sqlite_file.is_none());
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub async fn wrong_master_key_fails_clearly(db: &TestDb) -> anyhow::Result<()> {
    let right = MasterKey::generate();
    let wrong = MasterKey::generate();
    db.store
        .secrets(&right)
        .put("org_api_key", &SecretString::from("value"))
        .await?;
    let err = db
        .store
        .secrets(&wrong)
        .get("org_api_key")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decrypt { name } if name == "org_api_key"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("wrong master key"), "{msg}");
    assert!(!msg.contains("value"), "{msg}");
    Ok(())
}

pub async fn prune_keeps_the_newest_completed_runs(db: &TestDb) -> anyhow::Result<()> {
    let store = &db.store;
    let r1 = completed_run(store, &[account("a1", "a1@acme.test", "active")]).await?;
    store
        .changes()
        .record(&[change(Some(r1), ChangeKind::AccountAdded, "a1", 1)])
        .await?;
    let failed = store.runs().begin().await?;
    store.runs().fail(failed, &json!({}), "x").await?;
    let r2 = completed_run(store, &[account("a2", "a2@acme.test", "active")]).await?;
    let r3 = completed_run(store, &[account("a3", "a3@acme.test", "active")]).await?;

    assert_eq!(
        store.runs().prune(5).await?,
        0,
        "fewer completed runs than kept"
    );
    assert_eq!(store.runs().prune(2).await?, 2, "r1 and the failed run");
    let ids: Vec<RunId> = store
        .runs()
        .list(10)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, [r3, r2]);
    assert!(
        store
            .snapshot(r1)
            .accounts(&AccountFilter::default())
            .await?
            .is_empty()
    );
    assert_eq!(visible_account_ids(store).await?, ["a3"]);
    let kept = store.changes().since(None).await?;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].event.run_id, None, "events outlive pruned runs");
    assert_eq!(
        store.runs().prune(0).await?,
        1,
        "the visible run is always kept"
    );
    assert_eq!(visible_account_ids(store).await?, ["a3"]);
    Ok(())
}

pub async fn concurrent_batches_into_one_run_all_land(db: &TestDb) -> anyhow::Result<()> {
    let store = &db.store;
    let run = store.runs().begin().await?;
    let scope = async |n: usize| -> anyhow::Result<()> {
        for page in 0..10 {
            let rows: Vec<AccountRow> = (0..5)
                .map(|i| {
                    let id = format!("s{n}-p{page}-{i}");
                    account(&id, &format!("{id}@acme.test"), "active")
                })
                .collect();
            store
                .writer(run)
                .write(
                    Batch::Accounts(&rows),
                    Some(&Checkpoint {
                        scope: format!("scope-{n}"),
                        value: json!(page),
                    }),
                )
                .await?;
        }
        Ok(())
    };
    let (a, b, c, d) = tokio::join!(scope(0), scope(1), scope(2), scope(3));
    a?;
    b?;
    c?;
    d?;
    store.runs().complete(run, &json!({}), &[]).await?;
    assert_eq!(visible_account_ids(store).await?.len(), 4 * 10 * 5);
    let cps = store.runs().checkpoints(run).await?;
    assert_eq!(cps.len(), 4);
    assert!(cps.iter().all(|c| c.value == json!(9)));
    Ok(())
}

pub async fn a_lease_is_held_by_one_owner_until_it_lapses(db: &TestDb) -> anyhow::Result<()> {
    use std::time::Duration;
    use steward_store::Acquired;
    let leases = db.store.leases();
    let never = |_: &steward_store::Lease| false;
    let long = Duration::from_secs(60);
    assert_eq!(
        leases.acquire("sync", "a", long, never).await?,
        Acquired::Held { taken_over: None }
    );
    // Another owner waits; the holder re-acquires (renews).
    match leases.acquire("sync", "b", long, never).await? {
        Acquired::Busy(lease) => assert_eq!(lease.owner, "a"),
        other => panic!("b acquired a held lease: {other:?}"),
    }
    assert_eq!(
        leases.acquire("sync", "a", long, never).await?,
        Acquired::Held { taken_over: None }
    );
    assert!(leases.renew("sync", "a", long).await?);
    assert!(!leases.renew("sync", "b", long).await?);
    // A holder known dead is taken over at once.
    match leases
        .acquire("sync", "b", long, |l| l.owner == "a")
        .await?
    {
        Acquired::Held {
            taken_over: Some(previous),
        } => assert_eq!(previous.owner, "a"),
        other => panic!("b could not take over from a dead a: {other:?}"),
    }
    assert!(!leases.renew("sync", "a", long).await?, "a lost the lease");
    // A lapsed lease is taken over by anyone.
    leases.release("sync", "b").await?;
    assert_eq!(leases.get("sync").await?, None);
    leases
        .acquire("sync", "c", Duration::from_millis(1), never)
        .await?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    match leases.acquire("sync", "d", long, never).await? {
        Acquired::Held {
            taken_over: Some(previous),
        } => assert_eq!(previous.owner, "c"),
        other => panic!("d could not take a lapsed lease: {other:?}"),
    }
    // Releasing someone else's lease changes nothing.
    leases.release("sync", "c").await?;
    assert_eq!(
        leases.get("sync").await?.map(|l| l.owner).as_deref(),
        Some("d")
    );
    Ok(())
}

pub async fn concurrent_contenders_never_both_hold_a_lease(db: &TestDb) -> anyhow::Result<()> {
    use std::time::Duration;
    use steward_store::Acquired;
    let store = &db.store;
    let tries = (0..12).map(|i| async move {
        store
            .leases()
            .acquire("tick", &format!("p{i}"), Duration::from_secs(60), |_| false)
            .await
    });
    let results = futures::future::join_all(tries).await;
    let held = results
        .into_iter()
        .map(|r| r.map(|a| matches!(a, Acquired::Held { .. })))
        .collect::<Result<Vec<bool>, _>>()?;
    assert_eq!(held.iter().filter(|h| **h).count(), 1, "{held:?}");
    Ok(())
}
