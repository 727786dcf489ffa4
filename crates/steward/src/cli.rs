//! The command line.

use std::path::PathBuf;

use atlassian_sim::seed::SizeProfile;
use atlassian_sim::state::Mode;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Steward: access lifecycle for Atlassian Cloud, connected once at the organization level.
///
/// Configuration comes from defaults, then the TOML file (`--config`), then `STEWARD_*`
/// environment variables (`STEWARD_ATLASSIAN__ORG_ID`, `STEWARD_STATUSPAGE__API_KEY_FILE`, …).
#[derive(Debug, Parser)]
#[command(name = "steward", version, about, long_about = None)]
pub struct Cli {
    /// The configuration file (TOML). Default: `steward.toml` in the current directory, if it
    /// exists.
    #[arg(long, global = true, env = "STEWARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How to print what a command lists.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable (a checklist for `verify`).
    Table,
    /// JSON.
    Json,
    /// CSV with a header row.
    Csv,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The audit log of every change Steward made or was asked to make; `audit verify` checks
    /// that nobody tampered with it.
    Audit(AuditArgs),
    /// The provisioning jobs, oldest first; `jobs ID` shows one with its step journal.
    Jobs(JobsArgs),
    /// Give a person entitlements: plan, then run it as a journaled job (creating the account
    /// if needed).
    ///
    /// Exits 0 when the job succeeded (or there was nothing to do), 1 when it failed or a guard
    /// rail refused, 2 on a usage error.
    Grant(ChangeArgs),
    /// Take entitlements away (a restore bundle is saved first).
    Revoke(ChangeArgs),
    /// Take everything away from a person, up to `--level`: revoke-roles, suspend, remove or
    /// deactivate (a restore bundle is saved first).
    Offboard(OffboardArgs),
    /// Give back what the person's latest restore bundle holds.
    Restore(RestoreArgs),
    /// Run queued jobs until Ctrl-C (several workers may share a PostgreSQL database).
    Worker(WorkerArgs),
    /// Try Steward with nothing to set up: verify, sync, a change made by another admin in a
    /// built-in sandbox organization, and a second sync that flags it as out-of-band.
    ///
    /// Exits 0 when every step did what it should.
    Demo(DemoArgs),
    /// Write a configuration file, from flags or interactively on a terminal.
    Init(InitArgs),
    /// Check every prerequisite of the connection and say how to fix what fails.
    ///
    /// Exits 0 when no check fails, 1 when one does, 2 on a configuration error.
    Verify(VerifyArgs),
    /// Run a simulated Atlassian organization in-process and configure Steward for it.
    Sandbox(SandboxArgs),
    /// Read the organization (accounts, groups, memberships, role assignments) into the store.
    ///
    /// Exits 0 when the run completes, 1 when it fails (the previous snapshot stays), 2 on a
    /// configuration error.
    Sync(SyncArgs),
    /// List the change events the syncs recorded (oldest first): who got or lost which
    /// account, group or role, out-of-band or not, and who did it when the org's events say.
    Changes(ChangesArgs),
    /// List every account of the latest sync with its products, roles and last activity.
    ///
    /// Exits 1 when nothing has been synced yet.
    Users(UsersArgs),
    /// Everything about one person: each grant and where it comes from, groups, Statuspage,
    /// JSM.
    ///
    /// Exits 1 when nothing has been synced yet or no account has that email.
    User(UserArgs),
    /// Lists what can be granted (the entitlement catalog of the latest sync)
    Entitlements(EntitlementsArgs),
    /// Prints the plan of a grant, revoke or offboarding without applying it (a dry run)
    Plan(PlanArgs),
    /// Serve the HTTP API (`/api/v1`, OpenAPI at `/api/v1/openapi.json`) until Ctrl-C or
    /// SIGTERM; creates the first console admin when there is none.
    Serve(ServeArgs),
}

/// `steward serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen. The session cookie is `Secure` unless this is a loopback address.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub addr: std::net::SocketAddr,
    /// The database (default: the configuration's; with `--sandbox`, a temporary SQLite file).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Start the sandbox in-process, sync it once and create demo people (an admin, an
    /// approver, a requester) whose credentials are printed.
    #[arg(long)]
    pub sandbox: bool,
    /// Sandbox options (with `--sandbox`).
    #[command(flatten)]
    pub sim: SandboxOptions,
    /// The first admin's email, used when no console admin exists.
    #[arg(long, env = "STEWARD_ADMIN_EMAIL", value_name = "EMAIL")]
    pub admin_email: Option<String>,
    /// A file holding the first admin's password (else `STEWARD_ADMIN_PASSWORD`, else one is
    /// generated and printed once).
    #[arg(long, value_name = "FILE")]
    pub admin_password_file: Option<PathBuf>,
}

/// `steward init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the configuration (default: `--config`, else `steward.toml`).
    #[arg(long, value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
    /// The organization id (admin.atlassian.com/o/<org id>/overview).
    #[arg(long)]
    pub org_id: Option<String>,
    /// The Org API URL.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// A file holding the org API key (the key is never passed on the command line).
    #[arg(long, value_name = "FILE")]
    pub org_api_key_file: Option<PathBuf>,
    /// The integration account's email.
    #[arg(long, value_name = "EMAIL")]
    pub integration_email: Option<String>,
    /// A site, as NAME=URL (repeatable), e.g. `acme=https://acme.atlassian.net`.
    #[arg(long = "site", value_name = "NAME=URL")]
    pub sites: Vec<String>,
    /// The file holding a site's API token, as NAME=FILE (repeatable).
    #[arg(long = "site-token-file", value_name = "NAME=FILE")]
    pub site_token_files: Vec<String>,
    /// The Statuspage API URL.
    #[arg(long, value_name = "URL")]
    pub statuspage_url: Option<String>,
    /// A file holding the Statuspage API key.
    #[arg(long, value_name = "FILE")]
    pub statuspage_api_key_file: Option<PathBuf>,
    /// The Statuspage organization id.
    #[arg(long)]
    pub statuspage_organization_id: Option<String>,
    /// The database URL.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Never prompt, even on a terminal.
    #[arg(long)]
    pub no_input: bool,
}

/// Options of the built-in sandbox.
#[derive(Debug, Clone, Args)]
pub struct SandboxOptions {
    /// Seed of the generated organization (same seed, same org).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Size of the generated organization.
    #[arg(long, value_enum, default_value_t = SizeProfile::Small)]
    pub profile: SizeProfile,
    /// User-management experience of the generated organization.
    #[arg(long, value_enum, default_value_t = Mode::Centralized)]
    pub mode: Mode,
}

/// `steward verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Start the sandbox in-process and verify against it (ignores the configuration).
    #[arg(long)]
    pub sandbox: bool,
    /// Sandbox options (with `--sandbox`).
    #[command(flatten)]
    pub sim: SandboxOptions,
}

/// `steward sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Start the sandbox in-process and sync it (ignores the configuration).
    #[arg(long)]
    pub sandbox: bool,
    /// Sandbox options (with `--sandbox`).
    #[command(flatten)]
    pub sim: SandboxOptions,
    /// The database (default: the configuration's; with `--sandbox`, a temporary SQLite file).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Sync again every DURATION (e.g. `15m`, `1h`, `90s`) until interrupted (Ctrl-C); a
    /// failed run is reported and the next one still happens.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub every: Option<std::time::Duration>,
    /// No progress display (it goes to stderr, as bars on a terminal, else as plain lines).
    #[arg(long)]
    pub quiet: bool,
}

/// Parses `90s`, `15m`, `1h`, `1h30m` or a bare number of seconds; at least one second.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let wrong = || {
        format!(
            "`{text}` is not a duration: write a number with a unit, e.g. `90s`, `15m`, `1h`, `1h30m`"
        )
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(wrong());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return (secs > 0)
            .then(|| std::time::Duration::from_secs(secs))
            .ok_or_else(|| "the interval must be at least one second".to_owned());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(wrong()),
        };
        let n: u64 = number.parse().map_err(|_| wrong())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(wrong)?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(wrong());
    }
    if total == 0 {
        return Err("the interval must be at least one second".to_owned());
    }
    Ok(std::time::Duration::from_secs(total))
}

/// `steward audit`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    /// `verify`: check the whole chain instead of listing entries.
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Only entries at or after this instant (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,
    /// Only entries by this actor.
    #[arg(long)]
    pub actor: Option<String>,
    /// Only entries about this subject (an email).
    #[arg(long)]
    pub subject: Option<String>,
    /// Only entries of this job.
    #[arg(long, value_name = "ID")]
    pub job: Option<i64>,
    /// At most this many entries (oldest first).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub limit: i64,
    /// The database (default: the configuration's).
    #[arg(long, value_name = "URL", global = true)]
    pub database_url: Option<String>,
}

/// `steward audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every entry's hash and the chain through the recorded head; exits 1 when the log
    /// was edited, reordered, or had entries deleted or inserted.
    Verify,
}

/// `steward jobs`.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// One job to show with its step journal.
    pub id: Option<i64>,
    /// Only jobs in this status (queued, running, succeeded, failed, cancelled).
    #[arg(long)]
    pub status: Option<String>,
    /// Only jobs about this person (email).
    #[arg(long)]
    pub subject: Option<String>,
    /// At most this many jobs.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub limit: i64,
    /// The database (default: the configuration's).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// What every applying command (grant, revoke, offboard, restore) takes.
#[derive(Debug, Args)]
pub struct ApplyFlags {
    /// Why (recorded in the audit log with the job).
    #[arg(long)]
    pub reason: Option<String>,
    /// Who asks (default: `cli:<your OS user>`), recorded in the audit log.
    #[arg(long, value_name = "WHO")]
    pub requested_by: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm a change the mass-change guard rail holds back (it touches more than 10% of
    /// the people, or the jobs of the last hour already took access from that many).
    #[arg(long)]
    pub yes: bool,
    /// Queue the job and return; `steward worker` runs it.
    #[arg(long)]
    pub no_wait: bool,
    /// The database (default: the configuration's).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// `steward grant` / `steward revoke`.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// The person (email, any case).
    pub email: String,
    /// Entitlement ids (`steward entitlements` lists them), e.g. `jira:acme/user`.
    #[arg(required = true)]
    pub entitlements: Vec<String>,
    /// Allow platform roles (site admin, org admin) as entitlements.
    #[arg(long)]
    pub platform_roles: bool,
    /// Options shared by every applying command.
    #[command(flatten)]
    pub flags: ApplyFlags,
}

/// `steward offboard`.
#[derive(Debug, Args)]
pub struct OffboardArgs {
    /// The person (email, any case).
    pub email: String,
    /// How far: revoke-roles (alias roles), suspend, remove, deactivate.
    #[arg(long, value_name = "LEVEL", value_parser = level_parser())]
    pub level: steward_engine::provision::OffboardLevel,
    /// Options shared by every applying command.
    #[command(flatten)]
    pub flags: ApplyFlags,
}

/// `steward restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The person (email, any case).
    pub email: String,
    /// Options shared by every applying command.
    #[command(flatten)]
    pub flags: ApplyFlags,
}

/// `steward worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Run what is claimable now, then exit.
    #[arg(long)]
    pub once: bool,
    /// How long a claim on a job lasts unless renewed (every third of it): a job whose worker
    /// died is taken over after this.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub lease: std::time::Duration,
    /// The database (default: the configuration's).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// `steward demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Sandbox options.
    #[command(flatten)]
    pub sim: SandboxOptions,
    /// Keep the demo's database (default: a temporary SQLite file, deleted at the end).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// No progress display.
    #[arg(long)]
    pub quiet: bool,
}

/// `steward changes`.
#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// Only changes detected after this instant (RFC 3339, e.g. `2026-01-31T09:00:00Z`).
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,
    /// The database (default: the configuration's).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// `steward users`.
#[derive(Debug, Args)]
pub struct UsersArgs {
    /// Only people holding a role on this product.
    #[arg(long, value_name = "PRODUCT", value_parser = product_parser())]
    pub product: Option<steward_engine::Product>,
    /// Only people holding this role (`user` and `atlassian/user` are the same); with
    /// `--product`, on that product.
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// Only people with this status (`active`, `suspended`, `deactivated`, …).
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Only people not active in any product for this many days (or never active).
    #[arg(long, value_name = "DAYS")]
    pub inactive_for: Option<u32>,
    /// The database (default: the configuration's).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// Accepts the product names of [`steward_engine::Product`], listing them on a bad value.
fn product_parser() -> impl clap::builder::TypedValueParser<Value = steward_engine::Product> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(steward_engine::Product::NAMES).try_map(|name| {
        steward_engine::Product::parse(&name).ok_or_else(|| format!("unknown product {name:?}"))
    })
}

/// `steward user`.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// The person's email (any case).
    pub email: String,
    /// The database (default: the configuration's).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// `steward sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Sandbox options.
    #[command(flatten)]
    pub sim: SandboxOptions,
    /// Address to serve on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: std::net::SocketAddr,
    /// Where to write the configuration that points Steward at the sandbox.
    #[arg(long, value_name = "FILE", default_value = "steward-sandbox.toml")]
    pub write_config: PathBuf,
    /// Overwrite an existing configuration file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct EntitlementsArgs {
    /// Only this product's entitlements (groups belong to no product)
    #[arg(long, value_name = "PRODUCT", value_parser = product_parser())]
    pub product: Option<steward_engine::Product>,
    /// Also list platform roles (site admin, org admin)
    #[arg(long)]
    pub platform_roles: bool,
    /// The database to read (default: the configured one)
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// What `steward plan` plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanAction {
    /// Give the person the entitlements
    Grant,
    /// Take the entitlements away
    Revoke,
    /// Offboard the person at `--level`
    Offboard,
    /// Give back what the person's latest restore bundle holds
    Restore,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// grant, revoke or offboard
    #[arg(value_enum)]
    pub action: PlanAction,
    /// The person (email, any case)
    pub email: String,
    /// Entitlement ids (`steward entitlements` lists them); none for offboard
    pub entitlements: Vec<String>,
    /// How far an offboarding goes: revoke-roles, suspend, remove, deactivate
    #[arg(long, value_name = "LEVEL", value_parser = level_parser())]
    pub level: Option<steward_engine::provision::OffboardLevel>,
    /// Allow platform roles (site admin, org admin) as entitlements
    #[arg(long)]
    pub platform_roles: bool,
    /// The integration account to protect (default: the configured `integration_email`)
    #[arg(long, value_name = "EMAIL")]
    pub integration_email: Option<String>,
    /// The database to read (default: the configured one)
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

fn level_parser()
-> impl clap::builder::TypedValueParser<Value = steward_engine::provision::OffboardLevel> {
    |s: &str| s.parse::<steward_engine::provision::OffboardLevel>()
}
