//! `steward demo`, and `steward sync` run periodically, interrupted and resumed.

use std::process::{Command, Stdio};
use std::time::Duration;

use steward_store::{RunStatus, Store};

use crate::{steward, text};

#[tokio::test(flavor = "multi_thread")]
async fn demo_runs_every_step_and_shows_the_out_of_band_change() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let path = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || steward(&path, &["demo"], &[]))
        .await
        .unwrap_or_else(|e| unreachable!("{e}"));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    for step in [
        "1/4 steward verify",
        "2/4 steward sync",
        "3/4",
        "4/4 steward sync again",
    ] {
        assert!(all.contains(step), "{step:?} missing in {all}");
    }
    assert!(all.contains("All prerequisites hold"), "{all}");
    assert!(all.contains("group_membership_added"), "{all}");
    assert!(all.contains("Done: Steward saw"), "{all}");
    // Not a terminal: progress comes as plain lines on stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sync org: done: 60 accounts"), "{stderr}");
    // Nothing left behind but what the test made.
    assert_eq!(
        std::fs::read_dir(dir.path())
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

#[test]
fn a_bad_interval_is_refused_with_examples() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let out = steward(dir.path(), &["sync", "--sandbox", "--every", "15x"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("`15m`"), "{}", text(&out));
}

/// `steward sync --every 1s` syncs again and again; Ctrl-C (SIGINT) stops it cleanly.
#[tokio::test(flavor = "multi_thread")]
async fn sync_every_repeats_until_interrupted() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .current_dir(dir.path())
        .args(["sync", "--sandbox", "--database-url", &url, "--every", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Wait for two completed runs.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let mut completed = 0;
    while completed < 2 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "two runs never completed"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Ok(store) = Store::open(&url).await {
            completed = store
                .runs()
                .list(10)
                .await?
                .iter()
                .filter(|r| r.status == RunStatus::Completed)
                .count();
            store.close().await;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "kill -INT failed");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
    let all = text(&out);
    // Interrupted while waiting (0) or while a third sync ran (130, resumable).
    assert!(
        matches!(out.status.code(), Some(0 | 130)),
        "{:?}: {all}",
        out.status
    );
    assert!(all.contains("next sync in 1s"), "{all}");
    assert!(all.matches("run ").count() >= 2, "{all}");
    Ok(())
}
