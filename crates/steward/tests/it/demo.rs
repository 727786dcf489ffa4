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
        "1/7 steward verify",
        "2/7 steward sync",
        "3/7",
        "4/7 steward sync again",
        "5/7 steward grant",
        "6/7 steward offboard",
        "7/7 steward sync",
    ] {
        assert!(all.contains(step), "{step:?} missing in {all}");
    }
    assert!(all.contains("All prerequisites hold"), "{all}");
    assert!(all.contains("group_membership_added"), "{all}");
    assert!(all.contains("Done: Steward saw"), "{all}");
    assert!(all.contains("job 1 (grant) succeeded"), "{all}");
    assert!(all.contains("job 2 (offboard) succeeded"), "{all}");
    assert!(all.contains("via Steward (job 1)"), "{all}");
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

/// `kill -9` during a sync: the previous snapshot stays visible, and the next `steward sync`
/// (same host, the dead process's lease taken over at once) resumes and completes that run.
#[tokio::test(flavor = "multi_thread")]
async fn a_sync_killed_with_sigkill_is_resumed_by_the_next() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let path = dir.path().to_owned();
    let args = [
        "sync",
        "--sandbox",
        "--quiet",
        "--database-url",
        url.as_str(),
    ];
    let first = {
        let (path, args) = (path.clone(), args.map(str::to_owned));
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            steward(&path, &args, &[])
        })
        .await?
    };
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));

    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .current_dir(&path)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // Kill it once the org-level scopes are stored (Statuspage, paced at 1 request/s, is
    // still being read).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let killed_run = loop {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "never saw the users stored"
        );
        anyhow::ensure!(
            child.try_wait()?.is_none(),
            "the sync ended before it was killed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        let store = Store::open(&url).await?;
        let running = store.runs().latest_running().await?;
        let done = match &running {
            Some(run) => store
                .runs()
                .checkpoints(run.id)
                .await?
                .iter()
                .any(|c| c.scope == "org.users" && c.value["done"] == true),
            None => false,
        };
        store.close().await;
        if let (true, Some(run)) = (done, running) {
            child.kill()?;
            child.wait()?;
            break run.id;
        }
    };
    let store = Store::open(&url).await?;
    assert_eq!(
        store.runs().get(killed_run).await?.status,
        RunStatus::Running
    );
    let visible = store.latest_snapshot().await?.map(|s| s.run());
    assert!(visible.is_some_and(|r| r != killed_run), "{visible:?}");
    store.close().await;

    let second = tokio::task::spawn_blocking(move || {
        steward(&path, &["sync", "--sandbox", "--database-url", &url], &[])
    })
    .await?;
    let out = text(&second);
    assert_eq!(second.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "run {killed_run} completed (resumed after an interruption;"
        )),
        "{out}"
    );
    // The org scopes were not read again.
    assert!(out.contains("accounts                0"), "{out}");
    Ok(())
}
