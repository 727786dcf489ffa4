//! Canary secrets (a password, an API token) never appear in responses other than the one
//! that shows the token once, in the logs, or in the database file.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::{Method, StatusCode};
use serde_json::json;
use steward_store::Role;

use crate::app::spawn_app;

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        logs
    })
    .clone()
}

#[tokio::test]
async fn canary_secrets_never_reach_responses_logs_or_the_database_file() {
    let logs = capture_logs();
    let app = spawn_app().await;
    let password = "canary-password-7f3a9c2e";
    let mut seen = String::new();
    let r = app.as_role(Role::Admin, Method::POST, "/api/v1/users")
        .json(&json!({"email": "canary@acme.com", "display_name": "Canary", "role": "viewer", "password": password}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    seen.push_str(&r.text().await.unwrap());
    let r = app.sign_in("canary@acme.com", password).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    seen.push_str(&r.text().await.unwrap());
    let r = app
        .sign_in("canary@acme.com", "canary-wrong-password")
        .await;
    seen.push_str(&r.text().await.unwrap());
    let r = app
        .as_role(Role::Admin, Method::POST, "/api/v1/tokens")
        .header("idempotency-key", "canary")
        .json(&json!({"name": "canary", "role": "admin"}))
        .send()
        .await
        .unwrap();
    let created: serde_json::Value = r.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    // Use the token, list tokens and users, replay the creation.
    for path in [
        "/api/v1/tokens",
        "/api/v1/users",
        "/api/v1/session",
        "/api/v1/audit",
        "/metrics",
    ] {
        let r = app
            .client
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        seen.push_str(&r.text().await.unwrap());
    }
    let r = app
        .as_role(Role::Admin, Method::POST, "/api/v1/tokens")
        .header("idempotency-key", "canary")
        .json(&json!({"name": "canary", "role": "admin"}))
        .send()
        .await
        .unwrap();
    seen.push_str(&r.text().await.unwrap());
    let secrets = [
        password,
        token.as_str(),
        cookie.as_str(),
        "canary-wrong-password",
    ];
    for s in secrets {
        assert!(!seen.contains(s), "a response carries a secret");
    }
    let db_file = app.db_file.clone().unwrap();
    app.store.close().await;
    let mut files = vec![std::fs::read(&db_file).unwrap()];
    for ext in ["-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{}{ext}", db_file.display())) {
            files.push(b);
        }
    }
    app.stop().await;
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(logged.contains("request"), "the log capture works");
    for s in secrets {
        assert!(!logged.contains(s), "the log carries a secret");
        for bytes in &files {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "the database file carries a secret"
            );
        }
    }
}
