//! Shared helpers of the engine's integration tests: a sandbox's target, the simulator's control
//! API, and a fresh SQLite or PostgreSQL store.

use atlassian_sim::SimHandle;
use serde_json::Value;
use steward_engine::Target;
use steward_store::Store;

/// Where and how to reach the sandbox, as a configured Steward would.
pub fn target(sim: &SimHandle) -> anyhow::Result<Target> {
    Ok(Target::from_sim(sim.info())?)
}

/// POSTs `body` to the simulator's control API at `path` and returns its answer.
pub async fn control(sim: &SimHandle, path: &str, body: Value) -> anyhow::Result<Value> {
    let info = sim.info();
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", info.control_url))
        .bearer_auth(&info.control_token)
        .json(&body)
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "control API answered {status}: {body}");
    Ok(body)
}

/// A store in a temp SQLite file (the dir lives as long as the guard).
pub async fn sqlite() -> anyhow::Result<(Store, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("steward.db").display());
    Ok((Store::open(&url).await?, dir))
}

/// A store in a fresh schema of `STEWARD_TEST_DATABASE_URL` (and the server URL and schema, to
/// drop it), or `None` (skipped).
pub async fn postgres(what: &str) -> anyhow::Result<Option<(Store, String, String)>> {
    use sqlx::Connection;
    let Ok(server) = std::env::var("STEWARD_TEST_DATABASE_URL") else {
        println!("SKIPPED: PostgreSQL {what} test (set STEWARD_TEST_DATABASE_URL to run it)");
        return Ok(None);
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let schema = format!(
        "{}_{}_{nanos}",
        what.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
        std::process::id()
    );
    let mut admin = sqlx::PgConnection::connect(&server).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let sep = if server.contains('?') { '&' } else { '?' };
    let store = Store::open(&format!("{server}{sep}options[search_path]={schema}")).await?;
    Ok(Some((store, server, schema)))
}

/// Closes the store and drops its PostgreSQL schema.
pub async fn drop_schema(store: Store, server: &str, schema: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    store.close().await;
    let mut admin = sqlx::PgConnection::connect(server).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(())
}
