//! `steward grant|revoke|offboard|restore` end to end against an in-process simulator: each
//! applied as a journaled job, checked against the simulator's ground truth, audited; guard
//! rails and dry runs change nothing.

use std::collections::BTreeSet;
use std::path::Path;

use atlassian_sim::state::{AccountType, ManagementSource};
use atlassian_sim::{SimConfig, SimHandle, Simulator};

use crate::{steward, text, write_config};

async fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    let dir = dir.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        steward(&dir, &args, &[])
    })
    .await
    .unwrap_or_else(|e| unreachable!("{e}"))
}

/// (resource ARI, role id, how) of every role the account holds.
fn roles_of(sim: &SimHandle, email: &str) -> BTreeSet<(String, String, String)> {
    sim.app().read(|w| {
        let Some(ax) = w.account_by_email(email) else {
            return BTreeSet::new();
        };
        w.role_assignments(ax)
            .into_iter()
            .map(|((rx, role), m)| {
                let how = format!("direct={} group={}", m.direct, m.group);
                (w.resource(rx).ari(), role.id().to_owned(), how)
            })
            .collect()
    })
}

fn status_of(sim: &SimHandle, email: &str) -> Option<String> {
    sim.app().read(|w| {
        w.account_by_email(email)
            .map(|ax| w.composite_status(ax).to_owned())
    })
}

/// An active, unmanaged-by-IdP person with a direct role and a group, who is neither an admin
/// nor the integration account.
fn someone_to_offboard(sim: &SimHandle) -> String {
    sim.app().read(|w| {
        let integration = w.integration_account();
        (0..w.accounts.len() as u32)
            .find(|ax| {
                let a = w.account(*ax);
                *ax != integration
                    && !a.org_admin
                    && a.kind == AccountType::Atlassian
                    && a.email.is_some()
                    && w.composite_status(*ax) == "active"
                    && !a.direct_roles.is_empty()
                    && !a.groups.is_empty()
                    && a.source == ManagementSource::Invited
            })
            .and_then(|ax| w.account(ax).email.clone())
            .unwrap_or_else(|| unreachable!("the sandbox has someone to offboard"))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn grant_revoke_offboard_and_restore_through_jobs() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::spawn(SimConfig::default())
        .await
        .unwrap_or_else(|e| unreachable!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let info = sim.info().clone();
    write_config(
        dir.path(),
        &sim,
        &info.admin_api_key,
        &info.sites[0].api_token,
    );
    let d = dir.path();
    let site = info.sites[0].name.clone();
    let jira_user = format!("jira:{site}/user");

    let out = run(d, &["sync", "--quiet"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // A dry run plans and changes nothing.
    let newcomer = "new.hire@acme.test";
    let out = run(d, &["grant", newcomer, &jira_user, "--dry-run"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("invite the account") && all.contains("Dry run"),
        "{all}"
    );
    assert_eq!(status_of(&sim, newcomer), None, "a dry run invited");

    // Grant: the account is created and gets Jira.
    let out = run(
        d,
        &[
            "grant",
            newcomer,
            &jira_user,
            "--reason",
            "new starter",
            "--requested-by",
            "it@acme.test",
        ],
    )
    .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("Queued as job 1"), "{all}");
    assert!(all.contains("succeeded"), "{all}");
    let jira = sim.app().read(|w| {
        w.resources
            .iter()
            .find(|r| r.ari().starts_with("ari:cloud:jira-software::site/"))
            .map(|r| r.ari())
            .unwrap_or_default()
    });
    assert!(
        roles_of(&sim, newcomer)
            .iter()
            .any(|(r, role, _)| *r == jira && role == "atlassian/user"),
        "{:?}",
        roles_of(&sim, newcomer)
    );

    // Granting it again: nothing to do, no job.
    let out = run(d, &["sync", "--quiet"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(d, &["grant", newcomer, &jira_user]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("Nothing to apply"), "{all}");

    // Revoke: gone.
    let out = run(
        d,
        &["revoke", newcomer, &jira_user, "--reason", "changed team"],
    )
    .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        !roles_of(&sim, newcomer)
            .iter()
            .any(|(r, role, _)| *r == jira && role == "atlassian/user"),
        "{all}"
    );

    // Offboard someone at the suspend level, then restore them.
    let leaver = someone_to_offboard(&sim);
    let before = roles_of(&sim, &leaver);
    let out = run(
        d,
        &[
            "offboard", &leaver, "--level", "suspend", "--reason", "left",
        ],
    )
    .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("save a restore bundle"), "{all}");
    assert_eq!(
        status_of(&sim, &leaver).as_deref(),
        Some("suspended"),
        "{all}"
    );
    let out = run(d, &["sync", "--quiet"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(d, &["restore", &leaver, "--reason", "came back"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_eq!(status_of(&sim, &leaver).as_deref(), Some("active"), "{all}");
    assert_eq!(roles_of(&sim, &leaver), before, "{all}");
    // The bundle is spent.
    let out = run(d, &["restore", &leaver]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("already restored"), "{}", text(&out));

    // Guard rail: the integration account is never offboarded; nothing is queued.
    let out = run(d, &["offboard", &info.sites[0].email, "--level", "suspend"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("integration account"), "{all}");

    // Four jobs, all succeeded; the audit chain holds.
    let out = run(d, &["--output", "json", "jobs"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let jobs: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| unreachable!("{e}"));
    let statuses: Vec<&str> = jobs
        .as_array()
        .map(|a| a.iter().filter_map(|j| j["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(statuses, ["succeeded"; 4], "{jobs:#}");
    let out = run(d, &["jobs", "1"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("requested by it@acme.test: new starter"),
        "{all}"
    );
    let out = run(d, &["audit", "verify"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_entitlements_and_missing_levels_are_usage_errors() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::spawn(SimConfig::default())
        .await
        .unwrap_or_else(|e| unreachable!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let info = sim.info().clone();
    write_config(
        dir.path(),
        &sim,
        &info.admin_api_key,
        &info.sites[0].api_token,
    );
    let d = dir.path();
    let out = run(d, &["grant", "a@acme.test", "jira:acme/user"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("run `steward sync` first"),
        "{}",
        text(&out)
    );
    let out = run(d, &["sync", "--quiet"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(d, &["grant", "a@acme.test", "jira:acme/usr"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("one of user, admin"), "{}", text(&out));
    let out = run(d, &["offboard", "a@acme.test"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--level"), "{}", text(&out));
    sim.shutdown().await;
}
