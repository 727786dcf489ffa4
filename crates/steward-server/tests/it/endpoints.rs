//! Every endpoint does what it says.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use steward_store::{NewJob, NewStep, Role};

use crate::app::{error_code, spawn_app};

#[tokio::test]
async fn people_are_filtered_and_paged_with_a_cursor() {
    let app = spawn_app().await;
    let (status, page) = app.get_json(Role::Viewer, "/api/v1/people?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut emails: Vec<String> = Vec::new();
    let mut page = page;
    loop {
        for p in page["items"].as_array().unwrap() {
            emails.push(p["email"].as_str().unwrap().to_owned());
        }
        let Some(cursor) = page["next_cursor"].as_str() else {
            break;
        };
        let (_, next) = app
            .get_json(
                Role::Viewer,
                &format!("/api/v1/people?limit=2&cursor={cursor}"),
            )
            .await;
        page = next;
    }
    assert_eq!(
        emails,
        (0..5)
            .map(|i| format!("person{i}@acme.com"))
            .collect::<Vec<_>>()
    );
    let (_, active) = app
        .get_json(
            Role::Viewer,
            "/api/v1/people?status=active&inactive_for_days=30",
        )
        .await;
    assert_eq!(active["items"].as_array().unwrap().len(), 5);
    let (_, none) = app
        .get_json(Role::Viewer, "/api/v1/people?product=jira")
        .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    let (status, person) = app
        .get_json(Role::Viewer, "/api/v1/people/PERSON3@acme.com")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(person["account_id"], "acc-3");
    let (status, missing) = app
        .get_json(Role::Viewer, "/api/v1/people/nobody@acme.com")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let (status, ents) = app.get_json(Role::Viewer, "/api/v1/entitlements").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ents["items"].is_array());
    app.stop().await;
}

#[tokio::test]
async fn jobs_list_and_show_with_their_steps() {
    let app = spawn_app().await;
    for subject in ["a@acme.com", "b@acme.com", "c@acme.com"] {
        app.store
            .jobs()
            .enqueue(
                &NewJob {
                    kind: "grant".to_owned(),
                    subject: subject.to_owned(),
                    requested_by: "test".to_owned(),
                    reason: "because".to_owned(),
                    idempotency_key: None,
                    plan: json!({}),
                    steps: vec![NewStep {
                        name: "add".to_owned(),
                        api_call: "POST /x".to_owned(),
                        op: json!({}),
                    }],
                    not_before: None,
                },
                None,
            )
            .await
            .unwrap();
    }
    let (_, first) = app.get_json(Role::Viewer, "/api/v1/jobs?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app
        .get_json(
            Role::Viewer,
            &format!("/api/v1/jobs?limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(second["items"][0]["subject"], "c@acme.com");
    let (_, queued) = app
        .get_json(
            Role::Viewer,
            "/api/v1/jobs?status=queued&subject=B@acme.com",
        )
        .await;
    assert_eq!(queued["items"].as_array().unwrap().len(), 1);
    let id = queued["items"][0]["id"].as_i64().unwrap();
    let (status, job) = app
        .get_json(Role::Viewer, &format!("/api/v1/jobs/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["steps"][0]["name"], "add");
    assert_eq!(job["steps"][0]["status"], "pending");
    app.stop().await;
}

#[tokio::test]
async fn an_on_demand_sync_runs_in_the_background_and_shows_in_the_runs() {
    let app = spawn_app().await;
    let (_, before) = app.get_json(Role::Viewer, "/api/v1/sync/runs").await;
    let count = before["items"].as_array().unwrap().len();
    let r = app
        .as_role(Role::Admin, Method::POST, "/api/v1/sync/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let mut after = count;
    for _ in 0..50 {
        let (_, runs) = app.get_json(Role::Viewer, "/api/v1/sync/runs").await;
        after = runs["items"].as_array().unwrap().len();
        if after > count && runs["items"][0]["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(after, count + 1);
    // While another process holds the sync lease, a new one is refused.
    app.store
        .leases()
        .acquire(
            steward_engine::sync::SYNC_LEASE,
            "other-host:1",
            Duration::from_secs(60),
            |_| false,
        )
        .await
        .unwrap();
    let r = app
        .as_role(Role::Admin, Method::POST, "/api/v1/sync/runs")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(&r.json().await.unwrap()), "SYNC_RUNNING");
    // The request is audited.
    let (_, audit) = app.get_json(Role::Viewer, "/api/v1/audit").await;
    assert!(audit["items"].as_array().unwrap().iter().any(|e| {
        e["action"] == "sync.requested"
            && e["actor"]
                .as_str()
                .unwrap()
                .starts_with("token:admin-token")
    }));
    app.stop().await;
}

#[tokio::test]
async fn a_service_without_an_atlassian_connection_says_so() {
    let app = spawn_app().await;
    let state =
        steward_server::AppState::new(app.store.clone(), crate::app::test_config(), None).unwrap();
    let server = steward_server::Server::bind("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run_until(std::future::pending()));
    let r = app
        .client
        .post(format!("http://{addr}/api/v1/sync/runs"))
        .bearer_auth(app.token(Role::Admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(&r.json().await.unwrap()), "SYNC_NOT_CONFIGURED");
    app.stop().await;
}

#[tokio::test]
async fn changes_and_audit_page_and_the_chain_verifies() {
    let app = spawn_app().await;
    let (status, changes) = app
        .get_json(Role::Viewer, "/api/v1/changes?since=2020-01-01T00:00:00Z")
        .await;
    assert_eq!(status, StatusCode::OK, "{changes}");
    assert!(changes["items"].is_array());
    for i in 0..3 {
        let r = app
            .as_role(Role::Admin, Method::POST, "/api/v1/tokens")
            .json(&json!({"name": format!("t{i}"), "role": "viewer"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let (_, page) = app.get_json(Role::Viewer, "/api/v1/audit?limit=2").await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = app
        .get_json(
            Role::Viewer,
            &format!("/api/v1/audit?limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(
        page["items"].as_array().unwrap().len() + rest["items"].as_array().unwrap().len(),
        3
    );
    let (status, verify) = app.get_json(Role::Admin, "/api/v1/audit/verify").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verify["ok"], true);
    assert_eq!(verify["entries"], 3);
    app.stop().await;
}

#[tokio::test]
async fn admins_manage_users_and_the_last_admin_stays() {
    let app = spawn_app().await;
    let r = app.as_role(Role::Admin, Method::POST, "/api/v1/users")
        .json(&json!({"email": "Grace@Acme.com", "display_name": "Grace", "role": "approver", "password": "a long enough password"}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let grace: Value = r.json().await.unwrap();
    assert_eq!(grace["email"], "grace@acme.com");
    assert_eq!(grace["has_password"], true);
    assert!(grace.get("password_hash").is_none());
    let r = app
        .sign_in("grace@acme.com", "a long enough password")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .as_role(Role::Admin, Method::POST, "/api/v1/users")
        .json(&json!({"email": "grace@acme.com", "display_name": "Again", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let (_, users) = app.get_json(Role::Admin, "/api/v1/users").await;
    let admin_id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "admin")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = app
        .as_role(
            Role::Admin,
            Method::PATCH,
            &format!("/api/v1/users/{admin_id}"),
        )
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("last enabled admin"));
    let r = app
        .as_role(
            Role::Admin,
            Method::PATCH,
            &format!("/api/v1/users/{}", grace["id"]),
        )
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .as_role(
            Role::Admin,
            Method::PATCH,
            &format!("/api/v1/users/{admin_id}"),
        )
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .as_role(Role::Admin, Method::PATCH, "/api/v1/users/424242")
        .json(&json!({"display_name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let app = spawn_app().await;
    let post = |key: &str, name: &str| {
        app.as_role(Role::Admin, Method::POST, "/api/v1/tokens")
            .header("idempotency-key", key)
            .json(&json!({"name": name, "role": "viewer"}))
            .send()
    };
    let first = post("key-1", "ci").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    assert!(first["token"].as_str().unwrap().starts_with("stw_"));
    let again = post("key-1", "ci").await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotency-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(
        again["token"],
        Value::Null,
        "the secret is shown once, never replayed"
    );
    let other = post("key-1", "other").await.unwrap();
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_code(&other.json().await.unwrap()),
        "IDEMPOTENCY_KEY_REUSED"
    );
    let (_, tokens) = app.get_json(Role::Admin, "/api/v1/tokens").await;
    assert_eq!(
        tokens["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["name"] == "ci")
            .count(),
        1
    );
    // Another principal has its own keys.
    let r = app
        .as_role(Role::Admin, Method::POST, "/api/v1/tokens")
        .header("idempotency-key", "key-2")
        .json(&json!({"name": "x", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_probes_answer() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert!(!r.headers()["x-request-id"].to_str().unwrap().is_empty());
    let r = app
        .client
        .get(app.url("/api/v1/people"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.store.close().await;
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&r.json().await.unwrap()), "UNAVAILABLE");
    app.stop().await;
}

#[tokio::test]
async fn reads_of_the_snapshot_before_any_sync_say_how_to_sync() {
    let app = spawn_app().await;
    let store = steward_store::Store::open_in_memory().await.unwrap();
    let (token, prefix, token_hash) = steward_server::auth::new_api_token();
    store
        .accounts()
        .create_token(&steward_store::NewApiToken {
            prefix,
            name: "t".to_owned(),
            role: Role::Viewer,
            token_hash,
            created_by: "test".to_owned(),
        })
        .await
        .unwrap();
    let state = steward_server::AppState::new(store, crate::app::test_config(), None).unwrap();
    let server = steward_server::Server::bind("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run_until(std::future::pending()));
    for path in [
        "/api/v1/people",
        "/api/v1/people/a@acme.com",
        "/api/v1/entitlements",
    ] {
        let r = app
            .client
            .get(format!("http://{addr}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(error_code(&body), "NOT_SYNCED");
        assert!(body["error"]["message"].as_str().unwrap().contains("sync"));
    }
    app.stop().await;
}
