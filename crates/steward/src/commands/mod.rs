//! One module per subcommand.

mod changes;
mod entitlements;
mod init;
mod sandbox;
mod sync;
mod users;
mod verify;

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
        Command::Users(args) => users::list(&cli, args).await,
        Command::User(args) => users::show(&cli, args).await,
        Command::Entitlements(args) => entitlements::list(&cli, args).await,
        Command::Plan(args) => entitlements::plan(&cli, args).await,
    }
}
