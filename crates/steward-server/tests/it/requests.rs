//! `/api/v1/requests`: create, list, show, approve, deny, cancel, revoke over HTTP with their
//! stable error codes; and two schedulers sharing one database (PostgreSQL when
//! `STEWARD_TEST_DATABASE_URL` is set): one sync per interval, one job per approved request.
//! (Provisioning against the simulator, expiry and revocation are tested end to end in
//! `steward-engine`'s `requests` tests.)

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use steward_engine::requests::{ApprovalPolicy, Workflow};
use steward_server::state::SyncFuture;
use steward_server::{Scheduler, SchedulerConfig, SyncLauncher};
use steward_store::{JobQuery, NewAuditEntry, NewRequest, RequestState, Role, Store};

use crate::app::{FakeSync, TestApp, error_code, spawn_app, test_config, try_spawn};

async fn post(app: &TestApp, role: Role, path: &str, body: Value) -> (StatusCode, Value) {
    let r = app
        .as_role(role, Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn ask(subject: &str) -> Value {
    json!({
        "subject": subject,
        "entitlements": ["group:team-a"],
        "justification": "joins team A",
    })
}

#[tokio::test]
async fn a_request_is_created_listed_shown_approved_once_and_then_conflicts() {
    let app = spawn_app().await;
    let (status, created) = post(
        &app,
        Role::Requester,
        "/api/v1/requests",
        ask("person1@acme.com"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["state"], "pending");
    assert_eq!(created["entitlements"], json!(["group:team-a"]));
    let id = created["id"].as_i64().unwrap();

    let (status, page) = app
        .get_json(Role::Viewer, "/api/v1/requests?state=pending")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, none) = app
        .get_json(Role::Viewer, "/api/v1/requests?subject=person2@acme.com")
        .await;
    assert_eq!(none["items"], json!([]));
    let (status, bad) = app
        .get_json(Role::Viewer, "/api/v1/requests?state=granted")
        .await;
    assert_eq!(
        (status, error_code(&bad).as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_PARAMETER")
    );
    let (status, shown) = app
        .get_json(Role::Viewer, &format!("/api/v1/requests/{id}"))
        .await;
    assert_eq!((status, shown["id"].as_i64()), (StatusCode::OK, Some(id)));
    let (status, missing) = app.get_json(Role::Viewer, "/api/v1/requests/424242").await;
    assert_eq!(
        (status, error_code(&missing).as_str()),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );

    // A requester can't approve; an approver can, once; after that it is a 409.
    let path = format!("/api/v1/requests/{id}/approve");
    let (status, _) = post(&app, Role::Requester, &path, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, approved) = post(&app, Role::Approver, &path, json!({"comment": "ok"})).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_ne!(approved["state"], "pending");
    assert_eq!(approved["approvals"][0]["comment"], "ok");
    let (status, late) = post(&app, Role::Admin, &path, json!({})).await;
    assert_eq!(
        (status, error_code(&late).as_str()),
        (StatusCode::CONFLICT, "REQUEST_STATE_CONFLICT"),
        "{late}"
    );
    let (status, late) = post(
        &app,
        Role::Admin,
        &format!("/api/v1/requests/{id}/deny"),
        json!({"comment": "no"}),
    )
    .await;
    assert_eq!(
        (status, error_code(&late).as_str()),
        (StatusCode::CONFLICT, "REQUEST_STATE_CONFLICT")
    );
    let (status, early) = post(
        &app,
        Role::Admin,
        &format!("/api/v1/requests/{id}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{early}");

    // Every step is in the audit log, and it verifies.
    let (_, audit) = app.get_json(Role::Viewer, "/api/v1/audit").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"request.created"), "{actions:?}");
    assert!(actions.contains(&"request.approval"), "{actions:?}");
    let (_, verify) = app.get_json(Role::Admin, "/api/v1/audit/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
    app.stop().await;
}

#[tokio::test]
async fn bad_requests_get_clear_4xx_codes() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"subject": "person1@acme.com", "entitlements": ["group:nope"], "justification": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNKNOWN_ENTITLEMENT",
        ),
        (
            json!({"subject": "person1@acme.com", "entitlements": ["not an id"], "justification": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNKNOWN_ENTITLEMENT",
        ),
        (
            json!({"subject": "person1", "entitlements": ["group:team-a"], "justification": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_VALUE",
        ),
        (
            json!({"subject": "person1@acme.com", "entitlements": ["group:team-a"], "justification": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_VALUE",
        ),
        (
            json!({"subject": "person1@acme.com", "entitlements": [], "justification": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_VALUE",
        ),
        (
            json!({"subject": "person1@acme.com", "entitlements": ["group:team-a"], "justification": "x", "duration_secs": -5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_VALUE",
        ),
        (
            json!({"subject": "person1@acme.com", "entitlements": ["group:team-a"]}),
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
        ),
        (
            json!({"subject": "person1@acme.com", "entitlements": "group:team-a", "justification": "x"}),
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
        ),
        (
            json!({"subject": "person1@acme.com", "entitlements": ["group:team-a"], "justification": "x", "extra": 1}),
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
        ),
    ];
    for (body, status, code) in cases {
        let (got, answer) = post(&app, Role::Requester, "/api/v1/requests", body.clone()).await;
        assert_eq!(
            (got, error_code(&answer).as_str()),
            (status, code),
            "{body}: {answer}"
        );
    }
    let (_, created) = post(
        &app,
        Role::Requester,
        "/api/v1/requests",
        ask("person2@acme.com"),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let (status, answer) = post(
        &app,
        Role::Approver,
        &format!("/api/v1/requests/{id}/deny"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "INVALID_VALUE")
    );
    let (status, answer) = post(
        &app,
        Role::Approver,
        &format!("/api/v1/requests/{id}/approve"),
        json!({"comment": 5}),
    )
    .await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_JSON")
    );
    // An empty body is fine for approve, cancel and revoke.
    let r = app
        .as_role(
            Role::Requester,
            Method::POST,
            &format!("/api/v1/requests/{id}/cancel"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn self_approval_deny_cancel_revoke_and_idempotency_keys() {
    let app = spawn_app().await;
    // An approver asks; they can't approve their own request.
    let (_, own) = post(
        &app,
        Role::Approver,
        "/api/v1/requests",
        ask("person1@acme.com"),
    )
    .await;
    let own_id = own["id"].as_i64().unwrap();
    let (status, answer) = post(
        &app,
        Role::Approver,
        &format!("/api/v1/requests/{own_id}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (StatusCode::FORBIDDEN, "SELF_APPROVAL"),
        "{answer}"
    );
    // Someone else's request can't be cancelled by a requester; the requester cancels it.
    let (status, answer) = post(
        &app,
        Role::Requester,
        &format!("/api/v1/requests/{own_id}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (StatusCode::FORBIDDEN, "FORBIDDEN")
    );
    let (status, cancelled) = post(
        &app,
        Role::Approver,
        &format!("/api/v1/requests/{own_id}/cancel"),
        json!({"comment": "not needed"}),
    )
    .await;
    assert_eq!(
        (status, cancelled["state"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );

    // Deny with a comment.
    let (_, asked) = post(
        &app,
        Role::Requester,
        "/api/v1/requests",
        ask("person2@acme.com"),
    )
    .await;
    let id = asked["id"].as_i64().unwrap();
    let (status, denied) = post(
        &app,
        Role::Approver,
        &format!("/api/v1/requests/{id}/deny"),
        json!({"comment": "use team B"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (denied["state"].as_str(), denied["reason"].as_str()),
        (Some("denied"), Some("use team B"))
    );
    // Revoking what was never provisioned is a 409.
    let (status, answer) = post(
        &app,
        Role::Approver,
        &format!("/api/v1/requests/{id}/revoke"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (StatusCode::CONFLICT, "REQUEST_STATE_CONFLICT")
    );

    // The same Idempotency-Key and body: one request, the first answer replayed.
    let send = || {
        app.as_role(Role::Requester, Method::POST, "/api/v1/requests")
            .header("Idempotency-Key", "req-1")
            .json(&ask("person3@acme.com"))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["idempotency-replayed"], "true");
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    let (_, mine) = app
        .get_json(Role::Viewer, "/api/v1/requests?subject=person3@acme.com")
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

/// A sync launcher that counts its runs, by the slot they ran in.
#[derive(Debug)]
struct Counting {
    interval: Duration,
    slots: Arc<Mutex<Vec<i64>>>,
}

impl SyncLauncher for Counting {
    fn launch(&self, store: Store) -> SyncFuture {
        let millis = i64::try_from(self.interval.as_millis()).unwrap();
        self.slots
            .lock()
            .unwrap()
            .push(Utc::now().timestamp_millis().div_euclid(millis));
        FakeSync.launch(store)
    }
}

async fn two_schedulers_run_one_sync_per_interval_and_queue_each_job_once(postgres: bool) {
    let Some(app) = try_spawn(test_config(), postgres).await.unwrap() else {
        return;
    };
    let interval = Duration::from_millis(300);
    let slots = Arc::new(Mutex::new(Vec::new()));
    let launcher = Arc::new(Counting {
        interval,
        slots: Arc::clone(&slots),
    });
    // Approved requests waiting for their grant job.
    for i in 0..4 {
        let audit = NewAuditEntry {
            actor: "req@acme.test".to_owned(),
            action: "request.created".to_owned(),
            subject: Some(format!("person{i}@acme.com")),
            reason: None,
            detail: json!({}),
            result: "approved".to_owned(),
            job: None,
        };
        app.store
            .requests()
            .create(
                &NewRequest {
                    subject: format!("person{i}@acme.com"),
                    entitlements: vec!["group:team-a".to_owned()],
                    justification: "x".to_owned(),
                    duration_secs: None,
                    requested_by: "req@acme.test".to_owned(),
                },
                RequestState::Approved,
                &audit,
            )
            .await
            .unwrap();
    }
    let started = Utc::now();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut handles = Vec::new();
    let mut stores = Vec::new();
    for p in 0..2 {
        // Each "process" has its own connection pool.
        let store = Store::open(&app.database_url()).await.unwrap();
        let scheduler = Scheduler {
            store: store.clone(),
            config: SchedulerConfig {
                sync_interval: interval,
                sweep_interval: Duration::from_millis(50),
                workers: 0,
                ..SchedulerConfig::default()
            },
            sync: Some(launcher.clone()),
            workflow: Workflow::new(store.clone(), ApprovalPolicy::default(), None),
            worker: None,
            owner: format!("process-{p}"),
        };
        handles.push(scheduler.spawn(stopped.clone()));
        stores.push(store);
    }
    tokio::time::sleep(Duration::from_millis(1600)).await;
    stop.send(true).unwrap();
    for h in handles {
        tokio::time::timeout(Duration::from_secs(10), h.join())
            .await
            .expect("the schedulers stop");
    }
    let ended = Utc::now();

    // Each launch records the slot it *started* in, a moment after claiming one (so a claim
    // at the very end of a slot shows in the next): the count is what proves one sync per
    // slot, never two (the claim itself is tested in the store's suite).
    let ran = slots.lock().unwrap().clone();
    let millis = i64::try_from(interval.as_millis()).unwrap();
    let first = started.timestamp_millis().div_euclid(millis);
    let last = ended.timestamp_millis().div_euclid(millis);
    let spanned = usize::try_from(last - first + 1).unwrap();
    assert!(
        ran.len() <= spanned,
        "more syncs than slots: {ran:?} in {first}..={last}"
    );
    assert!(
        ran.len() + 2 >= spanned,
        "slots without a sync: {ran:?} in {first}..={last}"
    );
    let (runs_status, runs) = app.get_json(Role::Viewer, "/api/v1/sync/runs").await;
    assert_eq!(runs_status, StatusCode::OK);
    // The test app's own first snapshot, then one run per sync.
    assert_eq!(runs["items"].as_array().unwrap().len(), ran.len() + 1);

    // Each approved request got exactly one grant job, whichever sweep queued it.
    let jobs = app.store.jobs().list(&JobQuery::default()).await.unwrap();
    assert_eq!(jobs.len(), 4, "{jobs:#?}");
    let keys: BTreeSet<_> = jobs
        .iter()
        .filter_map(|j| j.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 4);
    for r in app
        .store
        .requests()
        .list(&Default::default())
        .await
        .unwrap()
    {
        assert_eq!(r.state, RequestState::Provisioning, "{r:?}");
    }
    let (_, verify) = app.get_json(Role::Admin, "/api/v1/audit/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
    for s in stores {
        s.close().await;
    }
    app.stop().await;
}

#[tokio::test]
async fn two_schedulers_on_sqlite_run_one_sync_per_interval_and_queue_each_job_once() {
    two_schedulers_run_one_sync_per_interval_and_queue_each_job_once(false).await;
}

#[tokio::test]
async fn two_schedulers_on_postgres_run_one_sync_per_interval_and_queue_each_job_once() {
    two_schedulers_run_one_sync_per_interval_and_queue_each_job_once(true).await;
}

/// Where and how to reach a simulator, as a configured Steward would.
fn sim_target(sim: &atlassian_sim::SimHandle) -> steward_engine::Target {
    steward_engine::Target {
        statuspage: None,
        ..steward_engine::Target::from_sim(sim.info()).unwrap()
    }
}

async fn two_services_provision_each_approved_request_once(postgres: bool) {
    let Some(app) = try_spawn(test_config(), postgres).await.unwrap() else {
        return;
    };
    let sim = atlassian_sim::Simulator::spawn(atlassian_sim::SimConfig {
        users: Some(120),
        ..atlassian_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let target = sim_target(&sim);
    let client = target
        .client(steward_engine::sync::sync_retry(), Duration::from_secs(10))
        .unwrap();
    let report = steward_engine::sync::run_with(&client, &target, &app.store).await;
    assert!(report.succeeded(), "{:?}", report.error);

    // Six people without Jira, each with an approved request for it.
    let site = &target.sites[0].name;
    let jira = format!("jira:{site}/user");
    let snap = app.store.latest_snapshot().await.unwrap().unwrap();
    let catalog = steward_engine::provision::Catalog::from_snapshot(&snap, &Default::default())
        .await
        .unwrap();
    let wanted = catalog.resolve(&jira).unwrap().clone();
    let facts =
        steward_engine::provision::OrgFacts::from_snapshot(&snap, Some(&target.integration_email))
            .await
            .unwrap();
    let mut people = Vec::new();
    for account in snap.accounts(&Default::default()).await.unwrap() {
        let Some(email) = account.email.clone() else {
            continue;
        };
        if account.status != "active" || account.account_type != "atlassian" {
            continue;
        }
        let state = steward_engine::provision::person_state(&snap, &email, &facts)
            .await
            .unwrap();
        let plan =
            steward_engine::provision::plan_grant(&state, std::slice::from_ref(&wanted), &facts);
        if plan.is_ok_and(|p| p.ops.len() == 2) && email != target.integration_email {
            people.push(email);
        }
        if people.len() == 6 {
            break;
        }
    }
    assert_eq!(people.len(), 6, "six people without Jira");
    for email in &people {
        let audit = NewAuditEntry {
            actor: "req@acme.test".to_owned(),
            action: "request.created".to_owned(),
            subject: Some(email.clone()),
            reason: None,
            detail: json!({}),
            result: "approved".to_owned(),
            job: None,
        };
        let request = NewRequest {
            subject: email.clone(),
            entitlements: vec![jira.clone()],
            justification: "x".to_owned(),
            duration_secs: None,
            requested_by: "req@acme.test".to_owned(),
        };
        app.store
            .requests()
            .create(&request, RequestState::Approved, &audit)
            .await
            .unwrap();
    }

    // Two "processes", two workers each, sweeping every 50 ms.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut handles = Vec::new();
    let mut stores = Vec::new();
    for p in 0..2 {
        let store = Store::open(&app.database_url()).await.unwrap();
        let mut worker = steward_engine::provision::Worker::new(
            store.clone(),
            client.clone(),
            target.clone(),
            String::new(),
        );
        worker.policy.idle = Duration::from_millis(20);
        worker.policy.max_idle = Duration::from_millis(100);
        worker.policy.backoff = Duration::from_millis(50);
        worker.policy.verify_backoff = Duration::from_millis(50);
        let scheduler = Scheduler {
            store: store.clone(),
            config: SchedulerConfig {
                sync_interval: Duration::ZERO,
                sweep_interval: Duration::from_millis(50),
                workers: 2,
                ..SchedulerConfig::default()
            },
            sync: None,
            workflow: Workflow::new(
                store.clone(),
                ApprovalPolicy::default(),
                Some(target.integration_email.clone()),
            ),
            worker: Some(worker),
            owner: format!("process-{p}"),
        };
        handles.push(scheduler.spawn(stopped.clone()));
        stores.push(store);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let requests = app
            .store
            .requests()
            .list(&Default::default())
            .await
            .unwrap();
        if requests
            .iter()
            .all(|r| r.state == RequestState::Provisioned)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all provisioned: {:?}",
            requests
                .iter()
                .map(|r| (r.id, r.state, r.reason.clone()))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    for h in handles {
        tokio::time::timeout(Duration::from_secs(30), h.join())
            .await
            .expect("the schedulers stop");
    }

    // One grant job per request, each claimed once, each step run once.
    let jobs = app.store.jobs().list(&JobQuery::default()).await.unwrap();
    assert_eq!(jobs.len(), 6, "{jobs:#?}");
    for job in jobs {
        assert_eq!(job.attempts, 1, "{job:?}");
        let detail = app.store.jobs().get(job.id).await.unwrap();
        for step in detail.steps {
            assert_eq!(step.attempts, 1, "job {} step {}", job.id, step.seq);
        }
    }
    let (_, verify) = app.get_json(Role::Admin, "/api/v1/audit/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
    for s in stores {
        s.close().await;
    }
    app.stop().await;
}

#[tokio::test]
async fn two_services_on_sqlite_provision_each_approved_request_once() {
    two_services_provision_each_approved_request_once(false).await;
}

#[tokio::test]
async fn two_services_on_postgres_provision_each_approved_request_once() {
    two_services_provision_each_approved_request_once(true).await;
}

#[tokio::test]
async fn revocations_are_listed_by_status_and_only_a_failed_one_is_retried_by_an_admin() {
    let app = spawn_app().await;
    let (_, created) = post(
        &app,
        Role::Requester,
        "/api/v1/requests",
        ask("person4@acme.com"),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    // No revocation yet: `null`, and the filter finds nothing.
    assert!(created["revocation"].is_null(), "{created}");
    let (status, page) = app
        .get_json(Role::Viewer, "/api/v1/requests?revocation=failed")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page["items"].as_array().unwrap().is_empty(), "{page}");
    // A bad filter is a 400 naming the accepted values.
    let (status, body) = app
        .get_json(Role::Viewer, "/api/v1/requests?revocation=broken")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in_progress, succeeded, failed"),
        "{body}"
    );
    // Retrying is for admins, and only for a failed revocation.
    let path = format!("/api/v1/requests/{id}/revocation/retry");
    let (status, body) = post(&app, Role::Approver, &path, json!({})).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "FORBIDDEN")
    );
    let (status, body) = post(&app, Role::Admin, &path, json!({})).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "REQUEST_STATE_CONFLICT"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was never queued"),
        "{body}"
    );
    let (status, body) = post(
        &app,
        Role::Admin,
        "/api/v1/requests/999999/revocation/retry",
        json!({}),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );
    app.stop().await;
}
