//! A sync killed midway: the previous snapshot stays, and the next sync resumes the same run
//! from its checkpoints (without re-reading what was stored) and completes it exactly.

use std::time::Duration;

use atlassian_sim::SimHandle;
use atlassian_sim::state::Mode;
use steward_engine::sync::{self, SyncOptions};
use steward_store::{RunStatus, Store};

use crate::support::{sqlite, target};
use crate::sync::{actual, assert_same, expected, sandbox};

const USERS_SEARCH: &str = "/users/search";

/// Calls so far of the wire paths ending with `route`.
fn calls(sim: &SimHandle, route: &str) -> u64 {
    let counters = sim.app().faults().counters();
    counters
        .paths
        .iter()
        .filter(|(name, _)| name.ends_with(route))
        .map(|(_, n)| *n)
        .sum()
}

fn options(lease_ttl: Duration) -> SyncOptions {
    SyncOptions {
        products: false,
        lease_ttl,
        ..SyncOptions::default()
    }
}

/// Starts a sync and drops it (a crash, as far as the store can tell) once at least
/// `pages` users pages are checkpointed.
async fn crash_after_pages(
    sim: &SimHandle,
    store: &Store,
    pages: usize,
    ttl: Duration,
) -> anyhow::Result<steward_store::RunId> {
    let t = target(sim)?;
    let (s2, t2) = (store.clone(), t.clone());
    let task = tokio::spawn(async move { sync::run_with_options(&t2, &s2, &options(ttl)).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the sync never got {pages} pages in"
        );
        anyhow::ensure!(
            !task.is_finished(),
            "the sync finished before it could be killed"
        );
        if let Some(run) = store.runs().latest_running().await? {
            let cps = store.runs().checkpoints(run.id).await?;
            let users = cps.iter().find(|c| c.scope == "org.users");
            if users.is_some_and(|c| c.value["cursor"].is_string())
                && calls(sim, USERS_SEARCH) >= pages as u64
            {
                task.abort();
                let _ = task.await;
                return Ok(run.id);
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_sync_is_resumed_from_its_checkpoints_and_completes_exactly() -> anyhow::Result<()>
{
    // 400 users = 4 pages of the users search, slowed so the sync can be killed midway.
    let sim = sandbox(Mode::Centralized, 400, 15).await?;
    let (store, _dir) = sqlite().await?;
    let t = target(&sim)?;
    let ttl = Duration::from_millis(600);
    let first = sync::run_with_options(&t, &store, &options(ttl)).await;
    assert!(first.succeeded(), "{first:#?}");
    assert!(!first.resumed);

    sim.app().faults().reset_counters();
    let killed = crash_after_pages(&sim, &store, 2, ttl).await?;
    let pages_before_kill = calls(&sim, USERS_SEARCH);
    // The killed run is invisible: readers still see the first.
    assert_eq!(store.runs().get(killed).await?.status, RunStatus::Running);
    assert_eq!(store.latest_snapshot().await?.map(|s| s.run()), first.run);

    // While the killed sync's lease has not lapsed, another sync refuses to start.
    let busy = sync::run_with_options(&t, &store, &options(ttl)).await;
    assert!(busy.run.is_none(), "{busy:#?}");
    assert!(
        busy.error
            .as_deref()
            .unwrap_or_default()
            .contains("another sync is running"),
        "{busy:#?}"
    );

    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let resumed = sync::run_with_options(&t, &store, &options(ttl)).await;
    assert!(resumed.succeeded(), "{resumed:#?}");
    assert!(resumed.resumed, "{resumed:#?}");
    assert_eq!(
        resumed.run,
        Some(killed),
        "the crashed run itself is completed"
    );
    // The stored pages were not read again: 4 pages in all, plus at most the one in flight
    // when the sync was killed.
    let total_pages = calls(&sim, USERS_SEARCH);
    assert!(
        total_pages <= 5,
        "resumed sync re-read stored pages: {pages_before_kill} before the kill, {total_pages} in all"
    );
    assert!(resumed.counts.accounts < 400, "{:?}", resumed.counts);

    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    assert_eq!(Some(snapshot.run()), Some(killed));
    assert_same(&expected(&sim), &actual(&snapshot).await?);
    // Nothing changed in the org: the diff against the first run is empty.
    assert_eq!(resumed.changes, 0, "{resumed:#?}");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn last_activity_per_product_comes_with_the_users_search() -> anyhow::Result<()> {
    let sim = sandbox(Mode::Centralized, 150, 0).await?;
    let (store, _dir) = sqlite().await?;
    let report = sync::run(&target(&sim)?, &store).await;
    assert!(report.succeeded(), "{report:#?}");
    let snapshot = store
        .latest_snapshot()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot"))?;
    let rows = snapshot.last_active().await?;
    assert!(rows.len() > 50, "{} last-active rows", rows.len());
    assert_eq!(report.counts.last_active, rows.len() as u64);
    sim.app().read(|w| {
        for r in &rows {
            let ax = w
                .accounts
                .iter()
                .position(|a| a.id == r.account_id)
                .unwrap_or_else(|| panic!("unknown account {}", r.account_id));
            let rx = w
                .resources
                .iter()
                .position(|x| x.ari() == r.resource)
                .unwrap_or_else(|| panic!("unknown resource {}", r.resource));
            let want = w.accounts[ax].last_active.get(&(rx as _)).copied();
            assert_eq!(want, Some(r.at), "{} on {}", r.account_id, r.resource);
        }
    });
    sim.shutdown().await;
    Ok(())
}
