//! `steward entitlements` and `steward plan` after `sync --sandbox`: the catalog in every
//! format and filtered by product; plans printed step by step with their API calls and the
//! guard-rail verdict, applying nothing; no-op plans for what is held; refusals (integration
//! account, role held through a group) and unknown entitlements explained; and a store never
//! synced.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{steward, text};

async fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    let dir = dir.to_owned();
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        steward(&dir, &args, &[])
    })
    .await
    .unwrap_or_else(|e| unreachable!("{e}"))
}

/// The sandbox synced into a fresh SQLite database: (guard, dir, url).
async fn synced() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let path = dir.path().to_owned();
    let url = format!("sqlite://{}", path.join("s.db").display());
    let out = run(&path, &["sync", "--sandbox", "--database-url", &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    (dir, path, url)
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| unreachable!("{e}: {}", text(out)))
}

#[tokio::test]
async fn entitlements_lists_the_catalog_of_the_synced_sandbox() {
    let (_guard, dir, url) = synced().await;
    let out = run(&dir, &["entitlements", "--database-url", &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(table.starts_with("ID "), "{table}");
    for id in [
        "jira:acme/user",
        "confluence:acme/guest",
        "jsm:acme/agent",
        "jpd:acme/contributor",
        "group:engineering",
    ] {
        assert!(table.contains(id), "{id} missing: {table}");
    }
    assert!(!table.contains("platform:"), "{table}");

    let out = run(
        &dir,
        &[
            "--output",
            "json",
            "entitlements",
            "--platform-roles",
            "--database-url",
            &url,
        ],
    )
    .await;
    let all = json(&out);
    let items = all.as_array().cloned().unwrap_or_default();
    assert!(items.len() > 20, "{all:#}");
    for e in &items {
        assert!(e["id"].is_string() && e["risk"].is_string() && e["kind"]["type"].is_string());
    }
    let ids: Vec<&str> = items.iter().filter_map(|e| e["id"].as_str()).collect();
    assert!(ids.contains(&"platform:org/org-admin"), "{ids:?}");
    assert!(ids.contains(&"platform:acme/site-admin"), "{ids:?}");
    let jira_admin = items.iter().find(|e| e["id"] == "jira:acme/admin");
    assert_eq!(jira_admin.map(|e| e["risk"].clone()), Some("high".into()));
    assert_eq!(
        jira_admin.map(|e| e["kind"]["role"].clone()),
        Some("atlassian/admin".into())
    );

    let out = run(
        &dir,
        &[
            "--output",
            "csv",
            "entitlements",
            "--product",
            "jira",
            "--database-url",
            &url,
        ],
    )
    .await;
    let csv = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("id,product,site,risk,title,resource"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows.iter().all(|r| r.starts_with("jira:acme/")), "{csv}");
}

#[tokio::test]
async fn plan_prints_each_step_and_applies_nothing() {
    let (_guard, dir, url) = synced().await;
    let plan = |args: Vec<&'static str>| {
        let dir = dir.clone();
        let url = url.clone();
        async move {
            let mut all = vec!["--output", "json", "plan"];
            all.extend(args);
            all.extend(["--database-url", url.as_str()]);
            run(&dir, &all).await
        }
    };

    // A new person: invite, grant, Statuspage team before the page, verify last.
    let out = plan(vec![
        "grant",
        "new.hire@acme.com",
        "jira:acme/user",
        "confluence:acme/user",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let p = json(&out);
    let ops: Vec<&str> = p["ops"]
        .as_array()
        .map(|o| o.iter().filter_map(|s| s["op"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        ops,
        ["invite_account", "grant_role", "grant_role", "verify"],
        "{p:#}"
    );
    assert_eq!(p["applied"], false);
    assert_eq!(p["guard"]["passed"], true);
    assert!(p["planned_against_run"].is_i64());
    for step in p["ops"].as_array().cloned().unwrap_or_default() {
        assert!(step["describe"].is_string() && step["api_call"].is_string());
        assert!(step["why"].is_string());
    }

    // What someone already holds: a no-op plan.
    let users = run(&dir, &["--output", "json", "users", "--database-url", &url]).await;
    let people = json(&users);
    let people = people.as_array().cloned().unwrap_or_default();
    let holder = people.iter().find(|p| {
        p["status"] == "active"
            && p["grants"].as_array().is_some_and(|g| {
                g.iter()
                    .any(|g| g["product"] == "jira" && g["role"] == "atlassian/user")
            })
    });
    let email = holder
        .and_then(|p| p["email"].as_str())
        .unwrap_or_default()
        .to_owned();
    let out = run(
        &dir,
        &[
            "--output",
            "json",
            "plan",
            "grant",
            &email,
            "jira:acme/user",
            "--database-url",
            &url,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["noop"], true, "{}", text(&out));

    // A role held only through a group: refused, naming the group.
    let through_group = people.iter().find_map(|p| {
        let grants = p["grants"].as_array()?;
        let jira: Vec<&Value> = grants
            .iter()
            .filter(|g| g["product"] == "jira" && g["role"] == "atlassian/user")
            .collect();
        let group = jira
            .iter()
            .find(|g| g["source"]["type"] == "group")?
            .get("source")?
            .get("group_name")?
            .as_str()?
            .to_owned();
        jira.iter()
            .all(|g| g["source"]["type"] == "group")
            .then(|| (p["email"].as_str().unwrap_or_default().to_owned(), group))
    });
    let (email, group) = through_group.unwrap_or_default();
    let out = run(
        &dir,
        &[
            "plan",
            "revoke",
            &email,
            "jira:acme/user",
            "--database-url",
            &url,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("held through group {group}")),
        "{}",
        text(&out)
    );

    // The integration account is never offboarded.
    let out = run(
        &dir,
        &[
            "plan",
            "offboard",
            "steward-integration@acme.com",
            "--level",
            "suspend",
            "--integration-email",
            "steward-integration@acme.com",
            "--database-url",
            &url,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("Refused by a guard rail")
            && text(&out).contains("Steward's integration account"),
        "{}",
        text(&out)
    );

    // An offboarding saves a restore bundle before anything destructive (table output).
    let out = run(
        &dir,
        &[
            "plan",
            "offboard",
            &email,
            "--level",
            "revoke-roles",
            "--database-url",
            &url,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        table.contains("  1. save a restore bundle of the current access"),
        "{table}"
    );
    assert!(table.contains("Dry run: nothing was changed."), "{table}");

    // Unknown and malformed entitlements, and a missing level.
    let out = run(
        &dir,
        &[
            "plan",
            "grant",
            &email,
            "jira:acem/user",
            "--database-url",
            &url,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("did you mean jira:acme/user"),
        "{}",
        text(&out)
    );
    let out = run(&dir, &["plan", "offboard", &email, "--database-url", &url]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("needs --level"), "{}", text(&out));
}

#[tokio::test]
async fn entitlements_and_plan_need_a_completed_sync() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("none.db").display());
    for args in [
        vec!["entitlements", "--database-url", url.as_str()],
        vec![
            "plan",
            "grant",
            "a@acme.com",
            "jira:acme/user",
            "--database-url",
            url.as_str(),
        ],
    ] {
        let out = run(dir.path(), &args).await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains("run `steward sync` first"),
            "{}",
            text(&out)
        );
    }
}
