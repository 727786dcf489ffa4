//! One module per subcommand.

mod audit;
mod changes;
mod demo;
mod entitlements;
mod init;
mod jobs;
mod provision;
mod sandbox;
mod serve;
mod sync;
mod users;
mod verify;

use anyhow::Context;

use crate::cli::{Cli, Command};

/// Exit status of a verify that found a failing check, or of a failed sync.
pub const EXIT_FAILED: u8 = 1;
/// Exit status of a configuration or usage error.
pub const EXIT_ERROR: u8 = 2;

/// Runs the subcommand; the exit status on success.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Init(args) => init::run(&cli, args),
        Command::Verify(args) => verify::run(&cli, args).await,
        Command::Sandbox(args) => sandbox::run(&cli, args).await,
        Command::Sync(args) => sync::run(&cli, args).await,
        Command::Changes(args) => changes::run(&cli, args).await,
        Command::Demo(args) => demo::run(&cli, args).await,
        Command::Audit(args) => audit::run(&cli, args).await,
        Command::Jobs(args) => jobs::run(&cli, args).await,
        Command::Grant(args) => provision::grant(&cli, args).await,
        Command::Revoke(args) => provision::revoke(&cli, args).await,
        Command::Offboard(args) => provision::offboard(&cli, args).await,
        Command::Restore(args) => provision::restore(&cli, args).await,
        Command::Worker(args) => provision::worker(&cli, args).await,
        Command::Users(args) => users::list(&cli, args).await,
        Command::User(args) => users::show(&cli, args).await,
        Command::Entitlements(args) => entitlements::list(&cli, args).await,
        Command::Plan(args) => entitlements::plan(&cli, args).await,
        Command::Serve(args) => serve::run(&cli, args).await,
    }
}

/// The database URL: `explicit` (the `--database-url` flag), else the configuration's.
pub(crate) fn database_url(cli: &Cli, explicit: Option<&str>) -> anyhow::Result<String> {
    match explicit {
        Some(url) => Ok(url.to_owned()),
        None => {
            let file = crate::config::file_in_effect(cli.config.as_deref())?;
            Ok(crate::config::load(file.as_deref())?.database.url)
        }
    }
}

/// The store and its latest completed snapshot; `None` (after saying why, and what to do) when
/// there is no store yet or no sync has completed. A missing SQLite file is not created.
pub(crate) async fn open_snapshot(
    cli: &Cli,
    explicit: Option<&str>,
) -> anyhow::Result<Option<(steward_store::Store, steward_store::Snapshot)>> {
    let url = database_url(cli, explicit)?;
    let no_sync = || {
        eprintln!(
            "nothing synced yet in {}: run `steward sync` first (or `steward sync --sandbox \
             --database-url URL` to try the sandbox)",
            steward_store::redact_url(&url)
        );
    };
    let Some(store) = open_existing(&url).await? else {
        no_sync();
        return Ok(None);
    };
    let snapshot = store.latest_snapshot().await;
    let Some(snapshot) = snapshot.context("cannot read the latest sync")? else {
        store.close().await;
        no_sync();
        return Ok(None);
    };
    Ok(Some((store, snapshot)))
}

/// Opens the store at `url` for reading; `None` when it is a SQLite file that does not exist
/// (it is not created: a reader has nothing to read).
pub(crate) async fn open_existing(url: &str) -> anyhow::Result<Option<steward_store::Store>> {
    if let Some(path) = sqlite_path(url)
        && !std::path::Path::new(path).exists()
    {
        return Ok(None);
    }
    let store = steward_store::Store::open(url)
        .await
        .context("cannot open the database")?;
    Ok(Some(store))
}

/// The file of a `sqlite://path` / `sqlite:path` URL (`None` for in-memory and other back ends).
pub(crate) fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

    #[test]
    fn sqlite_paths_are_read_from_both_url_forms() {
        assert_eq!(sqlite_path("sqlite://a/b.db"), Some("a/b.db"));
        assert_eq!(
            sqlite_path("sqlite:///tmp/b.db?mode=rwc"),
            Some("/tmp/b.db")
        );
        assert_eq!(sqlite_path("sqlite:b.db"), Some("b.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://h/db"), None);
    }
}
