//! Test databases: a fresh SQLite file or a fresh PostgreSQL schema per test.

use std::path::PathBuf;

use anyhow::Context;
use rand::Rng;
use sqlx::Connection;
use steward_store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// One test's database and how to reach it again.
pub struct TestDb {
    pub store: Store,
    pub kind: Kind,
    /// URL that opens this very database (PostgreSQL: with the test schema as search_path).
    pub url: String,
    /// The SQLite file, for byte-level checks.
    pub sqlite_file: Option<PathBuf>,
    /// PostgreSQL: server URL and test schema.
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    async fn create(kind: Kind) -> anyhow::Result<Option<Self>> {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir()?;
                let file = dir.path().join("steward.db");
                let url = format!("sqlite://{}", file.display());
                let store = Store::open(&url).await?;
                Ok(Some(Self {
                    store,
                    kind,
                    url,
                    sqlite_file: Some(file),
                    pg: None,
                    _dir: Some(dir),
                }))
            }
            Kind::Postgres => {
                let Ok(server) = std::env::var("STEWARD_TEST_DATABASE_URL") else {
                    println!("SKIPPED: PostgreSQL test (set STEWARD_TEST_DATABASE_URL to run it)");
                    return Ok(None);
                };
                let schema = format!("t_{:016x}", rand::rng().random::<u64>());
                let mut admin = sqlx::PgConnection::connect(&server)
                    .await
                    .context("connect to STEWARD_TEST_DATABASE_URL")?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&mut admin)
                    .await?;
                admin.close().await?;
                let sep = if server.contains('?') { '&' } else { '?' };
                let url = format!("{server}{sep}options[search_path]={schema}");
                let store = Store::open(&url).await?;
                Ok(Some(Self {
                    store,
                    kind,
                    url,
                    sqlite_file: None,
                    pg: Some((server, schema)),
                    _dir: None,
                }))
            }
        }
    }

    /// Opens the same database again (a second process, or a restart).
    pub async fn reopen(&self) -> anyhow::Result<Store> {
        Ok(Store::open(&self.url).await?)
    }

    /// Rows in the migrations table of this database.
    pub async fn applied_migrations(&self) -> anyhow::Result<i64> {
        self.scalar_i64("SELECT count(*) FROM _sqlx_migrations")
            .await
    }

    /// Runs a one-value query on a separate connection to this database.
    pub async fn scalar_i64(&self, sql: &str) -> anyhow::Result<i64> {
        match (&self.sqlite_file, &self.pg) {
            (Some(file), _) => {
                let mut c =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
                        .await?;
                let v: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_one(&mut c)
                    .await?;
                c.close().await?;
                Ok(v)
            }
            (None, Some(_)) => {
                let mut c = sqlx::PgConnection::connect(&self.url).await?;
                let v: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_one(&mut c)
                    .await?;
                c.close().await?;
                Ok(v)
            }
            (None, None) => anyhow::bail!("no database"),
        }
    }

    /// Every stored secret ciphertext, read behind the store's back.
    pub async fn raw_ciphertexts(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        let sql = "SELECT ciphertext FROM secrets";
        match &self.sqlite_file {
            Some(file) => {
                let mut c =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
                        .await?;
                Ok(sqlx::query_scalar(sql).fetch_all(&mut c).await?)
            }
            None => {
                let mut c = sqlx::PgConnection::connect(&self.url).await?;
                Ok(sqlx::query_scalar(sql).fetch_all(&mut c).await?)
            }
        }
    }

    async fn drop(self) -> anyhow::Result<()> {
        self.store.close().await;
        if let Some((server, schema)) = &self.pg {
            let mut admin = sqlx::PgConnection::connect(server).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut admin)
                .await?;
            admin.close().await?;
        }
        Ok(())
    }
}

/// Runs one case on a fresh database of `kind`, then removes the database (even if the case
/// failed).
pub async fn run<F>(kind: Kind, case: F) -> anyhow::Result<()>
where
    F: AsyncFnOnce(&TestDb) -> anyhow::Result<()>,
{
    let Some(db) = TestDb::create(kind).await? else {
        return Ok(());
    };
    let outcome = case(&db).await;
    let cleanup = db.drop().await;
    outcome?;
    cleanup
}
