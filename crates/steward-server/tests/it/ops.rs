//! Operations: `/metrics` figures, retries of a failed scheduled sync, one sync per slot
//! whatever started it, and housekeeping.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::json;
use steward_engine::SyncReport;
use steward_engine::requests::{ApprovalPolicy, Workflow};
use steward_server::state::SyncFuture;
use steward_server::{Scheduler, SchedulerConfig, SyncLauncher};
use steward_store::{NewJob, NewStep, Role, RunStatus, Store};

use crate::app::{FakeSync, spawn_app};

/// A launcher that fails its first `fail_first` launches (as a sync that could not reach
/// Atlassian does), then syncs like [`FakeSync`]; it counts its launches.
#[derive(Debug)]
struct Flaky {
    fail_first: usize,
    launches: Arc<AtomicUsize>,
}

impl SyncLauncher for Flaky {
    fn launch(&self, store: Store) -> SyncFuture {
        let n = self.launches.fetch_add(1, Ordering::SeqCst);
        if n >= self.fail_first {
            return FakeSync.launch(store);
        }
        Box::pin(async move {
            let run = store.runs().begin().await.ok();
            if let Some(run) = run {
                let _ = store
                    .runs()
                    .fail(run, &json!({}), "Atlassian answered 503")
                    .await;
            }
            SyncReport {
                run,
                resumed: false,
                status: RunStatus::Failed,
                counts: Default::default(),
                error: Some("Atlassian answered 503".to_owned()),
                changes: 0,
                attribution_error: None,
                product_status: Default::default(),
                products: Default::default(),
            }
        })
    }
}

async fn fresh_store(dir: &tempfile::TempDir) -> Store {
    Store::open(&format!("sqlite://{}", dir.path().join("ops.db").display()))
        .await
        .unwrap()
}

fn scheduler(store: &Store, launcher: Arc<dyn SyncLauncher>, config: SchedulerConfig) -> Scheduler {
    Scheduler {
        store: store.clone(),
        config,
        sync: Some(launcher),
        workflow: Workflow::new(store.clone(), ApprovalPolicy::default(), None),
        worker: None,
        owner: "ops-test".to_owned(),
    }
}

async fn completed_runs(store: &Store) -> usize {
    store
        .runs()
        .list(100)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.status == RunStatus::Completed)
        .count()
}

#[tokio::test]
async fn metrics_show_syncs_jobs_and_pending_approvals() {
    let app = spawn_app().await;
    // A request that needs an approver (the default policy): pending.
    let r = app
        .as_role(Role::Requester, Method::POST, "/api/v1/requests")
        .json(&json!({
            "subject": "person1@acme.com",
            "entitlements": ["group:team-a"],
            "justification": "joins team A"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    // A queued job.
    app.store
        .jobs()
        .enqueue(
            &NewJob {
                kind: "grant".to_owned(),
                subject: "person2@acme.com".to_owned(),
                requested_by: "admin@steward.test".to_owned(),
                reason: "metrics".to_owned(),
                idempotency_key: None,
                plan: json!({}),
                steps: vec![NewStep {
                    name: "step".to_owned(),
                    api_call: "POST /step".to_owned(),
                    op: json!({}),
                }],
                not_before: None,
            },
            None,
        )
        .await
        .unwrap();
    // An on-demand sync, to its end.
    let before = completed_runs(&app.store).await;
    let r = app
        .as_role(Role::Admin, Method::POST, "/api/v1/sync/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    for _ in 0..200 {
        if completed_runs(&app.store).await > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        completed_runs(&app.store).await > before,
        "the sync completes"
    );
    // The counter is recorded after the run completes: give it a moment.
    let mut text = String::new();
    for _ in 0..100 {
        let r = app
            .as_role(Role::Admin, Method::GET, "/metrics")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        text = r.text().await.unwrap();
        if text.contains("steward_sync_runs_total{trigger=\"on_demand\",status=\"completed\"}") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    for expected in [
        "steward_sync_runs_total{trigger=\"on_demand\",status=\"completed\"}",
        "steward_sync_duration_seconds_count{trigger=\"on_demand\",status=\"completed\"}",
        "steward_pending_approvals 1\n",
        "steward_failed_revocations 0\n",
        "steward_access_requests{state=\"pending\"} 1\n",
        "steward_access_requests{state=\"denied\"} 0\n",
        "steward_jobs{kind=\"grant\",status=\"queued\"} 1\n",
        "steward_jobs{kind=\"grant\",status=\"failed\"} 0\n",
        "# TYPE steward_sync_last_completed_timestamp_seconds gauge\n",
        "steward_sync_last_completed_duration_seconds ",
        "steward_http_requests_total{",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_failed_scheduled_sync_is_tried_again_until_it_completes() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let launches = Arc::new(AtomicUsize::new(0));
    let launcher = Arc::new(Flaky {
        fail_first: 2,
        launches: Arc::clone(&launches),
    });
    let config = SchedulerConfig {
        sync_interval: Duration::from_secs(3600),
        sync_retry: Duration::from_millis(50),
        sweep_interval: Duration::ZERO,
        workers: 0,
        prune_interval: Duration::ZERO,
        ..SchedulerConfig::default()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handle = scheduler(&store, launcher, config).spawn(stopped);
    for _ in 0..400 {
        if completed_runs(&store).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        completed_runs(&store).await,
        1,
        "the third attempt completes"
    );
    // Completed: no more attempts in this slot.
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), handle.join())
        .await
        .expect("the scheduler stops");
    assert_eq!(
        launches.load(Ordering::SeqCst),
        3,
        "two failures, then one success"
    );
    store.close().await;
}

#[tokio::test]
async fn a_sync_completed_earlier_in_the_slot_counts_as_the_slots_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let launches = Arc::new(AtomicUsize::new(0));
    let launcher = Arc::new(Flaky {
        fail_first: 0,
        launches: Arc::clone(&launches),
    });
    let interval = Duration::from_secs(3600);
    let s = scheduler(
        &store,
        launcher.clone(),
        SchedulerConfig {
            sync_interval: interval,
            ..SchedulerConfig::default()
        },
    );
    // A sync at start (the sandbox's) or on demand, now.
    let now = Utc::now();
    launcher.launch(store.clone()).await;
    assert_eq!(launches.load(Ordering::SeqCst), 1);
    assert!(
        s.sync_tick(now).await.unwrap().is_none(),
        "nothing runs again"
    );
    assert_eq!(launches.load(Ordering::SeqCst), 1);
    // The next slot has no sync yet: it runs.
    let next = now + chrono::Duration::from_std(interval).unwrap();
    let report = s
        .sync_tick(next)
        .await
        .unwrap()
        .expect("the next slot syncs");
    assert_eq!(report.status, RunStatus::Completed);
    assert_eq!(launches.load(Ordering::SeqCst), 2);
    // Once per slot.
    assert!(s.sync_tick(next).await.unwrap().is_none());
    store.close().await;
}

#[tokio::test]
async fn housekeeping_keeps_the_two_newest_snapshots_at_least() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let launches = Arc::new(AtomicUsize::new(0));
    let runs = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..5 {
        let report = FakeSync.launch(store.clone()).await;
        runs.lock().unwrap().push(report.run.unwrap());
    }
    let s = scheduler(
        &store,
        Arc::new(Flaky {
            fail_first: 0,
            launches,
        }),
        SchedulerConfig {
            keep_sync_runs: 1,
            ..SchedulerConfig::default()
        },
    );
    // At least two are kept whatever is configured: the newest and the one changes are
    // found against.
    let report = s.prune_tick(Utc::now()).await.unwrap();
    assert_eq!(report.sync_runs, 3);
    let left: Vec<_> = store
        .runs()
        .list(10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let all = runs.lock().unwrap().clone();
    assert_eq!(left, vec![all[4], all[3]]);
    // The visible snapshot is the newest.
    assert_eq!(
        store.runs().latest_completed().await.unwrap().map(|r| r.id),
        Some(all[4])
    );
    // Idempotent.
    assert_eq!(s.prune_tick(Utc::now()).await.unwrap().sync_runs, 0);
    store.close().await;
}
