//! `steward sync`: against the in-process sandbox, and failing against a closed port.

use serde_json::Value;
use steward_store::{AccountFilter, RunStatus, Store};

use crate::{steward, text};

#[tokio::test(flavor = "multi_thread")]
async fn sync_sandbox_prints_a_summary_and_fills_the_given_database() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let path = dir.path().to_owned();
    let url2 = url.clone();
    let (first, second) = tokio::task::spawn_blocking(move || {
        let first = steward(&path, &["sync", "--sandbox", "--database-url", &url2], &[]);
        let second = steward(
            &path,
            &[
                "sync",
                "--sandbox",
                "--database-url",
                &url2,
                "--output",
                "json",
            ],
            &[],
        );
        (first, second)
    })
    .await
    .unwrap_or_else(|e| unreachable!("{e}"));
    let out = text(&first);
    assert_eq!(first.status.code(), Some(0), "{out}");
    let row = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .map(|l| l[name.len()..].trim().to_owned())
            .unwrap_or_else(|| panic!("{name:?} missing in {out}"))
    };
    assert_eq!(row("accounts"), "60");
    for name in [
        "groups",
        "memberships",
        "role assignments",
        "statuspage members",
        "jsm customers",
    ] {
        assert!(
            row(name).parse::<usize>().is_ok_and(|n| n > 0),
            "{name} in {out}"
        );
    }
    for product in ["org", "statuspage", "jsm:acme"] {
        let line = [product, "ok"];
        assert!(
            out.lines().any(|l| l.split_whitespace().eq(line)),
            "{product} not ok in {out}"
        );
    }
    assert!(out.contains("run 1 completed"), "{out}");
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let json: Value =
        serde_json::from_slice(&second.stdout).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(json["run"], 2);
    assert_eq!(json["status"], "completed");
    assert_eq!(json["counts"]["accounts"], 60);

    let store = Store::open(&url)
        .await
        .unwrap_or_else(|e| unreachable!("{e}"));
    let snapshot = store
        .latest_snapshot()
        .await
        .unwrap_or_else(|e| unreachable!("{e}"))
        .unwrap_or_else(|| unreachable!("no snapshot"));
    assert_eq!(snapshot.run().0, 2);
    let accounts = snapshot
        .accounts(&AccountFilter::default())
        .await
        .unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(accounts.len(), 60);
    assert!(
        !snapshot
            .role_assignments()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_sync_exits_1_and_leaves_no_snapshot() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| unreachable!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let file = format!(
        "[atlassian]\norg_id = \"o\"\napi_url = \"http://{closed}/api\"\norg_api_key = \"canary-x1\"\nintegration_email = \"a@acme.com\"\n\n[database]\nurl = \"{url}\"\n"
    );
    std::fs::write(dir.path().join("steward.toml"), file).unwrap_or_else(|e| unreachable!("{e}"));
    let path = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || steward(&path, &["sync"], &[]))
        .await
        .unwrap_or_else(|e| unreachable!("{e}"));
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(1), "{printed}");
    assert!(printed.contains("the sync failed"), "{printed}");
    assert!(printed.contains("run 1 failed"), "{printed}");
    assert!(!printed.contains("canary-x1"), "{printed}");
    let store = Store::open(&url)
        .await
        .unwrap_or_else(|e| unreachable!("{e}"));
    assert!(
        store
            .latest_snapshot()
            .await
            .unwrap_or_else(|e| unreachable!("{e}"))
            .is_none()
    );
    let run = store
        .runs()
        .get(steward_store::RunId(1))
        .await
        .unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(run.status, RunStatus::Failed);
}
