//! `spawn_app()`: a fresh database (SQLite file, or a PostgreSQL schema), seeded with one
//! console user and one API token per role and a completed sync, served on a random port.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use steward_engine::SyncReport;
use steward_server::auth::{AuthConfig, PasswordParams, new_api_token};
use steward_server::state::SyncFuture;
use steward_server::{AppState, Server, ServerConfig, SyncLauncher};
use steward_store::{AccountRow, NewApiToken, Role, Store};

pub const PASSWORD: &str = "correct horse battery staple";

/// A "sync" that writes a two-person snapshot (the engine's real sync is tested in
/// steward-engine against the simulator).
#[derive(Debug)]
pub struct FakeSync;

pub fn account(id: &str, email: &str) -> AccountRow {
    AccountRow {
        account_id: id.to_owned(),
        email: Some(email.to_owned()),
        name: format!("Person {id}"),
        account_type: "atlassian".to_owned(),
        status: "active".to_owned(),
        account_status: "active".to_owned(),
        membership_status: Some("active".to_owned()),
        claim_status: "managed".to_owned(),
        management_source: None,
        added_to_org: None,
        mfa: Some(true),
    }
}

pub async fn write_snapshot(store: &Store) -> anyhow::Result<()> {
    let run = store.runs().begin().await?;
    let people: Vec<AccountRow> = (0..5)
        .map(|i| account(&format!("acc-{i}"), &format!("person{i}@acme.com")))
        .collect();
    store.writer(run).write_accounts(&people).await?;
    // One plain group: something to request access to.
    store
        .writer(run)
        .write_groups(&[steward_store::GroupRow {
            group_id: "grp-team-a".to_owned(),
            name: "team-a".to_owned(),
            directory_id: Some("dir-1".to_owned()),
            external_synced: false,
            managed_by: None,
        }])
        .await?;
    store
        .runs()
        .complete(run, &serde_json::json!({}), &[])
        .await?;
    Ok(())
}

impl SyncLauncher for FakeSync {
    fn launch(&self, store: Store) -> SyncFuture {
        Box::pin(async move {
            let ok = write_snapshot(&store).await;
            let run = store
                .runs()
                .list(1)
                .await
                .ok()
                .and_then(|r| r.first().map(|r| r.id));
            SyncReport {
                run,
                resumed: false,
                status: steward_store::RunStatus::Completed,
                counts: Default::default(),
                error: ok.err().map(|e| e.to_string()),
                changes: 0,
                attribution_error: None,
                product_status: BTreeMap::new(),
                products: Default::default(),
            }
        })
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    /// One API token per role.
    pub tokens: BTreeMap<Role, String>,
    /// `<role>@steward.test` users with [`PASSWORD`].
    pub db_file: Option<PathBuf>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

pub fn test_config() -> ServerConfig {
    ServerConfig {
        auth: AuthConfig {
            secure_cookie: false,
            password: PasswordParams {
                m_cost: 256,
                t_cost: 1,
                p_cost: 1,
            },
            sign_in_per_minute: NonZeroU32::new(5).unwrap(),
            ..AuthConfig::default()
        },
        ..ServerConfig::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(test_config(), false).await
}

/// A fresh app; `postgres`: on a fresh schema of `STEWARD_TEST_DATABASE_URL` (`None` when
/// unset).
pub async fn spawn_with(config: ServerConfig, postgres: bool) -> TestApp {
    try_spawn(config, postgres).await.unwrap().unwrap()
}

pub async fn try_spawn(config: ServerConfig, postgres: bool) -> anyhow::Result<Option<TestApp>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir()?;
    let (url, db_file, pg) = if postgres {
        let Ok(server) = std::env::var("STEWARD_TEST_DATABASE_URL") else {
            println!("SKIPPED: PostgreSQL test (set STEWARD_TEST_DATABASE_URL to run it)");
            return Ok(None);
        };
        let schema = format!("srv_{}", uuid_like());
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&server).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut c)
            .await?;
        c.close().await?;
        let sep = if server.contains('?') { '&' } else { '?' };
        (
            format!("{server}{sep}options[search_path]={schema}"),
            None,
            Some((server, schema)),
        )
    } else {
        let file = dir.path().join("steward.db");
        (format!("sqlite://{}", file.display()), Some(file), None)
    };
    let store = Store::open(&url).await?;
    let state = AppState::new(store.clone(), config, Some(Arc::new(FakeSync)))?;
    let mut tokens = BTreeMap::new();
    for role in Role::ALL {
        let (token, prefix, token_hash) = new_api_token();
        store
            .accounts()
            .create_token(&NewApiToken {
                prefix,
                name: format!("{role}-token"),
                role,
                token_hash,
                created_by: "test".to_owned(),
            })
            .await?;
        tokens.insert(role, token);
        steward_server::bootstrap::create_user(
            &state,
            &format!("{role}@steward.test"),
            &format!("The {role}"),
            role,
            &SecretString::from(PASSWORD),
        )
        .await?;
    }
    write_snapshot(&store).await?;
    let server = Server::bind("127.0.0.1:0".parse()?, state.clone()).await?;
    let addr = server.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    Ok(Some(TestApp {
        base: format!("http://{addr}"),
        client,
        store,
        tokens,
        db_file,
        shutdown: Some(tx),
        pg,
        _dir: dir,
    }))
}

fn uuid_like() -> String {
    let (t, _, _) = new_api_token();
    t.chars()
        .filter(char::is_ascii_hexdigit)
        .take(16)
        .collect::<String>()
        .to_lowercase()
}

impl TestApp {
    /// A URL that opens this app's database again (a second "process" on it).
    pub fn database_url(&self) -> String {
        match (&self.pg, &self.db_file) {
            (Some((server, schema)), _) => {
                let sep = if server.contains('?') { '&' } else { '?' };
                format!("{server}{sep}options[search_path]={schema}")
            }
            (None, Some(file)) => format!("sqlite://{}", file.display()),
            (None, None) => unreachable!("every test app has a database"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }

    /// A request with `role`'s token.
    pub fn as_role(&self, role: Role, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(self.token(role))
    }

    pub async fn get_json(&self, role: Role, path: &str) -> (StatusCode, Value) {
        let r = self.as_role(role, Method::GET, path).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Signs in; the session cookie value and the CSRF token.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/session"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn session(&self, role: Role) -> (String, String) {
        let r = self
            .sign_in(&format!("{role}@steward.test"), PASSWORD)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = r
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let body: Value = r.json().await.unwrap();
        (cookie, body["csrf_token"].as_str().unwrap().to_owned())
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.store.close().await;
        if let Some((server, schema)) = self.pg.take() {
            use sqlx::Connection;
            if let Ok(mut c) = sqlx::PgConnection::connect(&server).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(&mut c)
                    .await;
                let _ = c.close().await;
            }
        }
    }
}

/// Asserts the error shape and returns the code.
pub fn error_code(body: &Value) -> String {
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error shape: {body}"));
    let message = body["error"]["message"].as_str().unwrap();
    assert!(!message.is_empty());
    code.to_owned()
}
