//! `steward changes`: against a database filled by in-process syncs of a sandbox (the
//! `--sandbox` of `steward sync` is ephemeral, so two syncs through the binary could not see
//! the same organization).

use atlassian_sim::state::{AccountType, Mode};
use atlassian_sim::{SimConfig, SimHandle, Simulator};
use serde_json::Value;
use steward_engine::Target;
use steward_store::Store;

use crate::{steward, text};

fn target(sim: &SimHandle) -> anyhow::Result<Target> {
    Ok(Target {
        statuspage: None,
        ..Target::from_sim(sim.info())?
    })
}

/// Suspends an active non-admin person as another org admin; their account id and the admin's.
fn suspend_someone(sim: &SimHandle) -> anyhow::Result<(String, String)> {
    sim.app().write(|w| {
        let integration = w.integration_account();
        let people: Vec<_> = (0..w.accounts.len()).map(|i| i as _).collect();
        let admin = *people
            .iter()
            .find(|ax| {
                **ax != integration
                    && w.account(**ax).org_admin
                    && w.account(**ax).kind == AccountType::Atlassian
                    && w.composite_status(**ax) == "active"
            })
            .ok_or_else(|| anyhow::anyhow!("no other org admin"))?;
        let subject = *people
            .iter()
            .find(|ax| {
                **ax != integration
                    && !w.account(**ax).org_admin
                    && w.account(**ax).kind == AccountType::Atlassian
                    && w.composite_status(**ax) == "active"
            })
            .ok_or_else(|| anyhow::anyhow!("no active person"))?;
        let dirs: Vec<_> = w.account(subject).directories.keys().copied().collect();
        for dir in dirs {
            w.suspend(admin, dir, subject)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok((w.account(subject).id.clone(), w.account(admin).id.clone()))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_lists_what_a_second_sync_recorded() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::spawn(SimConfig {
        mode: Mode::Centralized,
        users: Some(30),
        ..SimConfig::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let store = Store::open(&url).await?;
    let t = target(&sim)?;
    let first = steward_engine::sync::run(&t, &store).await;
    anyhow::ensure!(first.succeeded(), "{first:#?}");
    let (subject, admin) = suspend_someone(&sim)?;
    let second = steward_engine::sync::run(&t, &store).await;
    anyhow::ensure!(second.succeeded(), "{second:#?}");
    store.close().await;
    sim.shutdown().await;

    let path = dir.path().to_owned();
    let (json, table, csv, later, bad) = tokio::task::spawn_blocking(move || {
        let run = |extra: &[&str]| {
            let mut args = vec!["changes", "--database-url", url.as_str()];
            args.extend_from_slice(extra);
            steward(&path, &args, &[])
        };
        (
            run(&["--output", "json"]),
            run(&[]),
            run(&["--output", "csv"]),
            run(&["--since", "2999-01-01T00:00:00Z"]),
            run(&["--since", "yesterday"]),
        )
    })
    .await?;

    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    let events: Value = serde_json::from_slice(&json.stdout)?;
    let events = events
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("not an array"))?;
    assert_eq!(events.len(), 1, "{events:#?}");
    let e = &events[0];
    assert_eq!(e["kind"], "account_status_changed");
    assert_eq!(e["account_id"], subject.as_str());
    assert_eq!(e["before"]["status"], "active");
    assert_eq!(e["after"]["status"], "suspended");
    assert_eq!(e["out_of_band"], true);
    assert_eq!(e["actor_id"], admin.as_str());

    assert_eq!(table.status.code(), Some(0), "{}", text(&table));
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(table.starts_with("id "), "{table}");
    assert!(table.contains("account_status_changed"), "{table}");
    assert!(table.contains(&subject), "{table}");
    assert!(table.contains(&admin), "{table}");

    assert_eq!(csv.status.code(), Some(0), "{}", text(&csv));
    let csv = String::from_utf8_lossy(&csv.stdout).into_owned();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[0].starts_with("id,detected_at,kind,account_id"),
        "{csv}"
    );
    assert!(
        lines[1].contains("\"{\"\"status\"\":\"\"active\"\"}\""),
        "{csv}"
    );

    assert_eq!(later.status.code(), Some(0), "{}", text(&later));
    assert_eq!(
        String::from_utf8_lossy(&later.stdout),
        "no changes recorded\n"
    );

    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("RFC 3339"), "{}", text(&bad));
    Ok(())
}
