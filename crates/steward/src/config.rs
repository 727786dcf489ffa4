//! Steward's configuration: defaults ← TOML file ← `STEWARD_*` environment, secrets inline or
//! from `*_file`, resolved into the engine's [`Target`].
//!
//! Every error is one message that names the key and how to set it; none ever holds a secret
//! (figment errors quote values, so those of secret keys are replaced before they are shown).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use steward_engine::{SiteTarget, StatuspageTarget, Target};
use url::Url;

/// Default Org API URL.
pub const ATLASSIAN_API: &str = "https://api.atlassian.com";
/// Default Statuspage API URL.
pub const STATUSPAGE_API: &str = "https://api.statuspage.io";
/// Default database.
pub const DATABASE_URL: &str = "sqlite://steward.db";
/// The file read when `--config` is not given (only if it exists).
pub const DEFAULT_FILE: &str = "steward.toml";

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[atlassian]`.
    pub atlassian: Option<AtlassianConfig>,
    /// `[statuspage]`.
    pub statuspage: Option<StatuspageConfig>,
    /// `[database]`.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// `[service]`: the scheduler and workers of `steward serve`.
    #[serde(default)]
    pub service: ServiceConfig,
    /// `[approvals]`: who approves access requests (`[[approvals.rules]]`).
    #[serde(default)]
    pub approvals: steward_engine::requests::ApprovalPolicy,
    /// `[guard]`: the mass-change guard rail.
    #[serde(default)]
    pub guard: GuardConfig,
}

/// `[guard]`: `mass_change_share` (default `0.1`: a change or the jobs of the last
/// `mass_change_window` may take access from at most 10% of the people without confirmation)
/// and `mass_change_window` (default `1h`), the circuit breaker's sliding window.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    pub mass_change_share: Option<f64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub mass_change_window: Option<String>,
}

impl GuardConfig {
    /// The guard policy, defaults filled in.
    pub fn policy(&self) -> anyhow::Result<steward_engine::provision::GuardPolicy> {
        let mut out = steward_engine::provision::GuardPolicy::default();
        if let Some(share) = self.mass_change_share {
            out.mass_change_share = share;
        }
        if let Some(window) = &self.mass_change_window {
            out.mass_change_window = crate::cli::parse_duration(window)
                .map_err(|e| anyhow::anyhow!("`guard.mass_change_window`: {e}"))?;
        }
        out.validate()
            .map_err(|e| anyhow::anyhow!("`[guard]`: {e}"))?;
        Ok(out)
    }
}

/// `[atlassian]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtlassianConfig {
    #[serde(default, deserialize_with = "opt_text")]
    pub org_id: Option<String>,
    #[serde(default = "default_api_url", deserialize_with = "text")]
    pub api_url: String,
    #[serde(default, deserialize_with = "opt_secret")]
    pub org_api_key: Option<SecretString>,
    pub org_api_key_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "opt_text")]
    pub integration_email: Option<String>,
    #[serde(default)]
    pub sites: Vec<SiteConfig>,
}

/// `[[atlassian.sites]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "opt_secret")]
    pub api_token: Option<SecretString>,
    pub api_token_file: Option<PathBuf>,
}

/// `[statuspage]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatuspageConfig {
    #[serde(default = "default_statuspage_url", deserialize_with = "text")]
    pub url: String,
    #[serde(default, deserialize_with = "opt_secret")]
    pub api_key: Option<SecretString>,
    pub api_key_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "opt_text")]
    pub organization_id: Option<String>,
}

/// `[database]`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    #[serde(default = "default_database_url", deserialize_with = "text")]
    pub url: String,
    /// Completed sync runs whose snapshots are kept (default 24, at least 2); older
    /// snapshots are deleted after each sync. Change events are history and stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_sync_runs: Option<u32>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: default_database_url(),
            keep_sync_runs: None,
        }
    }
}

impl DatabaseConfig {
    /// Completed sync runs to keep, checked.
    pub fn keep_sync_runs(&self) -> anyhow::Result<u32> {
        match self.keep_sync_runs {
            None => Ok(steward_server::SchedulerConfig::default().keep_sync_runs),
            Some(n @ 2..) => Ok(n),
            Some(n) => bail!(
                "`database.keep_sync_runs` is {n}: keep at least 2 completed sync runs (the \
                 newest is what Steward shows, the one before it is what changes are found against)"
            ),
        }
    }
}

/// `[service]`: `sync_interval` (default `1h`), `sync_retry` (default `1m`), `sweep_interval`
/// (default `30s`), `workers` (default 2), `prune_interval` (default `1h`),
/// `session_idle_timeout` (default `30m`), `session_lifetime` (default `12h`),
/// `sign_in_per_minute` (default 5), `worker_lease` (default `60s`: how long a killed
/// process's job stays claimed).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    #[serde(default, deserialize_with = "opt_text")]
    pub sync_interval: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub sync_retry: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub sweep_interval: Option<String>,
    pub workers: Option<usize>,
    #[serde(default, deserialize_with = "opt_text")]
    pub prune_interval: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub session_idle_timeout: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub session_lifetime: Option<String>,
    pub sign_in_per_minute: Option<u32>,
    #[serde(default, deserialize_with = "opt_text")]
    pub worker_lease: Option<String>,
}

impl ServiceConfig {
    /// The scheduler settings, defaults filled in.
    pub fn scheduler(&self) -> anyhow::Result<steward_server::SchedulerConfig> {
        let mut out = steward_server::SchedulerConfig::default();
        let interval = |key: &str, value: &str| {
            crate::cli::parse_duration(value).map_err(|e| anyhow::anyhow!("`service.{key}`: {e}"))
        };
        if let Some(v) = &self.sync_interval {
            out.sync_interval = interval("sync_interval", v)?;
        }
        if let Some(v) = &self.sync_retry {
            out.sync_retry = interval("sync_retry", v)?;
        }
        if let Some(v) = &self.sweep_interval {
            out.sweep_interval = interval("sweep_interval", v)?;
        }
        if let Some(v) = &self.prune_interval {
            out.prune_interval = interval("prune_interval", v)?;
        }
        if let Some(n) = self.workers {
            if n > 64 {
                bail!("`service.workers` is {n}: at most 64 job workers per process");
            }
            out.workers = n;
        }
        Ok(out)
    }

    /// Session timeouts and the sign-in rate applied to `auth` (the rest of it kept).
    pub fn apply_auth(&self, auth: &mut steward_server::auth::AuthConfig) -> anyhow::Result<()> {
        let duration = |key: &str, value: &str| -> anyhow::Result<std::time::Duration> {
            let d = crate::cli::parse_duration(value)
                .map_err(|e| anyhow::anyhow!("`service.{key}`: {e}"))?;
            if d < std::time::Duration::from_secs(60) {
                bail!("`service.{key}` is {value}: give at least one minute, e.g. \"30m\"");
            }
            Ok(d)
        };
        if let Some(v) = &self.session_idle_timeout {
            auth.idle_timeout = duration("session_idle_timeout", v)?;
        }
        if let Some(v) = &self.session_lifetime {
            auth.absolute_timeout = duration("session_lifetime", v)?;
        }
        if auth.idle_timeout > auth.absolute_timeout {
            bail!(
                "`service.session_idle_timeout` ({}s) is longer than `service.session_lifetime` \
                 ({}s): a session ends at its lifetime whatever its use, so make the idle \
                 timeout shorter",
                auth.idle_timeout.as_secs(),
                auth.absolute_timeout.as_secs()
            );
        }
        if let Some(n) = self.sign_in_per_minute {
            auth.sign_in_per_minute = std::num::NonZeroU32::new(n)
                .filter(|n| n.get() <= 1000)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "`service.sign_in_per_minute` is {n}: give 1 to 1000 attempts per \
                         minute per client address and email"
                    )
                })?;
        }
        Ok(())
    }

    /// The job workers' lease (`None`: the engine's default).
    pub fn worker_lease(&self) -> anyhow::Result<Option<std::time::Duration>> {
        let Some(v) = &self.worker_lease else {
            return Ok(None);
        };
        let lease = crate::cli::parse_duration(v)
            .map_err(|e| anyhow::anyhow!("`service.worker_lease`: {e}"))?;
        if lease < std::time::Duration::from_secs(1) {
            bail!("`service.worker_lease` is {v}: at least 1s (it is renewed every third of it)");
        }
        Ok(Some(lease))
    }
}

/// A scalar read as text. Environment values are parsed by type (`STEWARD_ATLASSIAN__ORG_ID=123`
/// arrives as a number), but every value Steward reads is text.
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Text::deserialize(d).map(|t| t.0)
}

fn opt_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<Text>::deserialize(d).map(|t| t.map(|t| t.0))
}

fn opt_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Option::<Text>::deserialize(d).map(|t| t.map(|t| SecretString::from(t.0)))
}

fn default_api_url() -> String {
    ATLASSIAN_API.to_owned()
}
fn default_statuspage_url() -> String {
    STATUSPAGE_API.to_owned()
}
fn default_database_url() -> String {
    DATABASE_URL.to_owned()
}

/// The keys whose values are secrets: never quoted in an error.
const SECRET_KEYS: [&str; 3] = ["org_api_key", "api_token", "api_key"];

/// The sections `STEWARD_*` variables may set; other `STEWARD_*` variables (`STEWARD_CONFIG`,
/// test settings) are not configuration keys.
const SECTIONS: [&str; 5] = [
    "atlassian__",
    "statuspage__",
    "database__",
    "service__",
    "approvals__",
];

/// The configuration file in effect: `--config`, else `steward.toml` if it exists.
pub fn file_in_effect(explicit: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    match explicit {
        Some(path) => {
            if !path.exists() {
                bail!(
                    "the configuration file {} does not exist: create it with `steward init --path {}`",
                    path.display(),
                    path.display()
                );
            }
            Ok(Some(path.to_owned()))
        }
        None => {
            let default = PathBuf::from(DEFAULT_FILE);
            Ok(default.exists().then_some(default))
        }
    }
}

/// Loads defaults ← `file` ← environment.
pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
    let mut figment = Figment::new();
    if let Some(file) = file {
        // Parse it ourselves first: the TOML error then names line and column.
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the configuration file {}", file.display()))?;
        check_toml(&text, &file.display().to_string())?;
        figment = figment.merge(Toml::file_exact(file));
    }
    let env = Env::prefixed("STEWARD_")
        .filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            SECTIONS.iter().any(|s| key.starts_with(s))
        })
        .split("__");
    extract(figment.merge(env))
}

/// Parses configuration text the way [`load`] parses the file, without the environment (the
/// fuzz target `config` drives this).
pub fn parse_toml(text: &str) -> anyhow::Result<Config> {
    check_toml(text, "the configuration")?;
    extract(Figment::new().merge(Toml::string(text)))
}

/// Refuses text that is not TOML, naming line and column (not the line: it may hold a secret).
fn check_toml(text: &str, what: &str) -> anyhow::Result<()> {
    if let Err(e) = toml::from_str::<toml::Table>(text) {
        bail!("{what} is not valid TOML: {}", redact_toml_error(&e));
    }
    Ok(())
}

fn extract(figment: Figment) -> anyhow::Result<Config> {
    figment.extract::<Config>().map_err(|e| {
        let messages: Vec<String> = e.into_iter().map(|e| describe_figment(&e)).collect();
        anyhow::anyhow!("invalid configuration: {}", messages.join("; "))
    })
}

/// A TOML syntax error with line and column, without quoting the offending line (it may hold a
/// secret).
fn redact_toml_error(e: &toml::de::Error) -> String {
    // The Display's first line is "TOML parse error at line L, column C"; the lines after it
    // quote the source, which may hold a secret.
    let display = e.to_string();
    let position = display.lines().next().unwrap_or_default().trim().to_owned();
    format!("{position} ({})", e.message().trim())
}

/// One figment error as a sentence naming the key and its source, never the value of a secret.
fn describe_figment(e: &figment::Error) -> String {
    use figment::error::Kind;
    let key = e.path.join(".");
    let source = e
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(figment::Source::File(path)) => format!(" (in {})", path.display()),
            _ => format!(" (from {})", m.name),
        })
        .unwrap_or_default();
    let secret = e
        .path
        .last()
        .is_some_and(|k| SECRET_KEYS.contains(&k.as_str()));
    match &e.kind {
        Kind::UnknownField(field, expected) => {
            let at = if key.is_empty() {
                field.clone()
            } else if e.path.last() == Some(field) {
                key.clone()
            } else {
                format!("{key}.{field}")
            };
            format!(
                "unknown key `{at}`{source}; expected one of: {}",
                expected.join(", ")
            )
        }
        Kind::InvalidType(_, expected) if secret => {
            format!("`{key}`{source} has the wrong type: expected {expected}")
        }
        Kind::InvalidValue(_, expected) if secret => {
            format!("`{key}`{source} is invalid: expected {expected}")
        }
        Kind::InvalidType(actual, expected) => {
            format!("`{key}`{source} has the wrong type: found {actual}, expected {expected}")
        }
        _ if secret => format!("`{key}`{source} is invalid"),
        other => {
            if key.is_empty() {
                format!("{other}{source}")
            } else {
                format!("`{key}`{source}: {other}")
            }
        }
    }
}

/// How to set a key, for "missing" messages.
fn how_to_set(section: &str, key: &str) -> String {
    format!(
        "set `{key}` in the [{section}] section of the configuration file, or the environment variable STEWARD_{}__{}, or run `steward init`",
        section.to_ascii_uppercase(),
        key.to_ascii_uppercase()
    )
}

/// Reads a secret inline or from its `_file` twin (trailing newline trimmed).
fn secret(
    inline: Option<&SecretString>,
    file: Option<&PathBuf>,
    name: &str,
    missing: &mut Vec<String>,
    how: impl FnOnce() -> String,
) -> anyhow::Result<Option<SecretString>> {
    match (inline, file) {
        (Some(_), Some(_)) => bail!("set either `{name}` or `{name}_file`, not both"),
        (Some(s), None) => Ok(Some(s.clone())),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{name}_file` {}", path.display()))?;
            let value = text.trim_end_matches(['\r', '\n']).to_owned();
            if value.is_empty() {
                bail!("`{name}_file` {} is empty", path.display());
            }
            Ok(Some(SecretString::from(value)))
        }
        (None, None) => {
            missing.push(format!("`{name}` (or `{name}_file`): {}", how()));
            Ok(None)
        }
    }
}

fn parse_url(value: &str, key: &str) -> anyhow::Result<Url> {
    Url::parse(value).map_err(|e| anyhow::anyhow!("`{key}` is not a valid URL ({value:?}): {e}"))
}

/// Resolves the configuration into what `verify` (and later sync) needs; every missing key is
/// named in one message.
pub fn target(config: &Config) -> anyhow::Result<Target> {
    let mut missing = vec![];
    let Some(a) = &config.atlassian else {
        bail!(
            "the configuration has no [atlassian] section: run `steward init`, or set `org_id`, `org_api_key` and `integration_email` under [atlassian] (or STEWARD_ATLASSIAN__ORG_ID, …)"
        );
    };
    if a.org_id.is_none() {
        missing.push(format!(
            "`atlassian.org_id`: {}",
            how_to_set("atlassian", "org_id")
        ));
    }
    if a.integration_email.is_none() {
        missing.push(format!(
            "`atlassian.integration_email`: {}",
            how_to_set("atlassian", "integration_email")
        ));
    }
    let org_key = secret(
        a.org_api_key.as_ref(),
        a.org_api_key_file.as_ref(),
        "atlassian.org_api_key",
        &mut missing,
        || how_to_set("atlassian", "org_api_key"),
    )?;
    let api_url = parse_url(&a.api_url, "atlassian.api_url")?;
    let mut sites = vec![];
    for (i, s) in a.sites.iter().enumerate() {
        let label = s.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
        let how =
            || format!("set it in the [[atlassian.sites]] entry {label} of the configuration file");
        if s.name.is_none() {
            missing.push(format!("`atlassian.sites[{i}].name`: {}", how()));
        }
        if s.url.is_none() {
            missing.push(format!("`atlassian.sites[{i}].url`: {}", how()));
        }
        let token = secret(
            s.api_token.as_ref(),
            s.api_token_file.as_ref(),
            &format!("atlassian.sites[{i}].api_token"),
            &mut missing,
            how,
        )?;
        if let (Some(name), Some(url), Some(token)) = (&s.name, &s.url, token) {
            sites.push(SiteTarget {
                name: name.clone(),
                url: parse_url(url, &format!("atlassian.sites[{i}].url"))?,
                api_token: token,
            });
        }
    }
    let statuspage = match &config.statuspage {
        None => None,
        Some(sp) => {
            let key = secret(
                sp.api_key.as_ref(),
                sp.api_key_file.as_ref(),
                "statuspage.api_key",
                &mut missing,
                || how_to_set("statuspage", "api_key"),
            )?;
            if sp.organization_id.is_none() {
                missing.push(format!(
                    "`statuspage.organization_id`: {}",
                    how_to_set("statuspage", "organization_id")
                ));
            }
            match (key, &sp.organization_id) {
                (Some(api_key), Some(org)) => Some(StatuspageTarget {
                    url: parse_url(&sp.url, "statuspage.url")?,
                    api_key,
                    organization_id: org.clone(),
                }),
                _ => None,
            }
        }
    };
    if !missing.is_empty() {
        bail!("missing configuration: {}", missing.join("; "));
    }
    match (&a.org_id, &a.integration_email, org_key) {
        (Some(org_id), Some(email), Some(key)) => Ok(Target {
            api_url,
            org_id: org_id.clone(),
            org_api_key: key,
            integration_email: email.clone(),
            sites,
            statuspage,
        }),
        _ => bail!("missing configuration"),
    }
}

/// A configuration file as `init` and `sandbox` write it. Secrets are written inline only when
/// they were typed in (the file is then created readable by its owner only).
#[derive(Debug, Serialize)]
pub struct FileOut {
    pub atlassian: AtlassianOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statuspage: Option<StatuspageOut>,
    pub database: DatabaseConfig,
}

/// `[atlassian]` as written.
#[derive(Debug, Serialize)]
pub struct AtlassianOut {
    pub org_id: String,
    pub api_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_api_key: Option<Exposed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_api_key_file: Option<PathBuf>,
    pub integration_email: String,
    pub sites: Vec<SiteOut>,
}

/// `[[atlassian.sites]]` as written.
#[derive(Debug, Serialize)]
pub struct SiteOut {
    pub name: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_token: Option<Exposed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_token_file: Option<PathBuf>,
}

/// `[statuspage]` as written.
#[derive(Debug, Serialize)]
pub struct StatuspageOut {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Exposed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_file: Option<PathBuf>,
    pub organization_id: String,
}

/// A secret that is serialized (into the config file only); its `Debug` stays redacted.
pub struct Exposed(pub SecretString);

impl std::fmt::Debug for Exposed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl Serialize for Exposed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose_secret())
    }
}

/// Writes `file` as TOML at `path`, owner-only, refusing to overwrite unless `force`.
pub fn write(path: &Path, file: &FileOut, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        bail!(
            "{} already exists: pass --force to overwrite it",
            path.display()
        );
    }
    let text = toml::to_string_pretty(file).context("cannot render the configuration")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut f = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(
        format!("# Steward configuration (see the configuration reference in the README)\n{text}")
            .as_bytes(),
    )
    .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_and_approvals_sections_are_read_with_defaults() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("steward.toml");
        std::fs::write(
            &path,
            r#"
[service]
sync_interval = "15m"
workers = 4

[[approvals.rules]]
entitlements = ["jira:*/admin", "group:finance*"]
approvers = ["cfo@acme.com", "cto@acme.com"]
approvals = 2

[[approvals.rules]]
risk = "low"
auto_approve = true
"#,
        )?;
        let cfg = load(Some(&path))?;
        let scheduler = cfg.service.scheduler()?;
        assert_eq!(scheduler.sync_interval, std::time::Duration::from_secs(900));
        assert_eq!(scheduler.sweep_interval, std::time::Duration::from_secs(30));
        assert_eq!(scheduler.workers, 4);
        assert_eq!(cfg.approvals.rules.len(), 2);
        cfg.approvals.validate()?;
        assert!(cfg.approvals.rules[1].auto_approve);
        let defaults = load(None)?;
        assert_eq!(
            defaults.service.scheduler()?,
            steward_server::SchedulerConfig::default()
        );
        std::fs::write(
            &path,
            "[approvals]
rules = [{ who = \"x\" }]
",
        )?;
        assert!(load(Some(&path)).is_err());
        std::fs::write(
            &path,
            "[service]
sync_interval = \"soon\"
",
        )?;
        assert!(load(Some(&path))?.service.scheduler().is_err());
        Ok(())
    }

    #[test]
    fn session_sign_in_housekeeping_and_retention_keys_are_read_and_checked() -> anyhow::Result<()>
    {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("steward.toml");
        std::fs::write(
            &path,
            r#"
[database]
keep_sync_runs = 48

[service]
sync_retry = "30s"
prune_interval = "10m"
session_idle_timeout = "15m"
session_lifetime = "8h"
sign_in_per_minute = 10
"#,
        )?;
        let cfg = load(Some(&path))?;
        assert_eq!(cfg.database.keep_sync_runs()?, 48);
        let scheduler = cfg.service.scheduler()?;
        assert_eq!(scheduler.sync_retry, std::time::Duration::from_secs(30));
        assert_eq!(
            scheduler.prune_interval,
            std::time::Duration::from_secs(600)
        );
        let mut auth = steward_server::auth::AuthConfig::default();
        cfg.service.apply_auth(&mut auth)?;
        assert_eq!(auth.idle_timeout, std::time::Duration::from_secs(900));
        assert_eq!(
            auth.absolute_timeout,
            std::time::Duration::from_secs(8 * 3600)
        );
        assert_eq!(auth.sign_in_per_minute.get(), 10);
        assert_eq!(load(None)?.database.keep_sync_runs()?, 24);

        let refused = |toml: &str, needle: &str| -> anyhow::Result<()> {
            std::fs::write(&path, toml)?;
            let cfg = load(Some(&path))?;
            let mut auth = steward_server::auth::AuthConfig::default();
            let err = cfg
                .service
                .apply_auth(&mut auth)
                .and_then(|()| cfg.database.keep_sync_runs().map(|_| ()))
                .and_then(|()| cfg.service.scheduler().map(|_| ()))
                .expect_err(toml);
            assert!(format!("{err:#}").contains(needle), "{err:#}");
            Ok(())
        };
        refused(
            "[service]\nsession_idle_timeout = \"2h\"\nsession_lifetime = \"1h\"\n",
            "`service.session_idle_timeout` (7200s) is longer than `service.session_lifetime`",
        )?;
        refused(
            "[service]\nsign_in_per_minute = 0\n",
            "`service.sign_in_per_minute` is 0",
        )?;
        refused(
            "[service]\nsession_lifetime = \"5s\"\n",
            "at least one minute",
        )?;
        refused(
            "[database]\nkeep_sync_runs = 1\n",
            "keep at least 2 completed sync runs",
        )?;
        refused("[service]\nsync_retry = \"0s\"\n", "`service.sync_retry`: ")?;
        Ok(())
    }

    #[test]
    fn a_secret_file_is_read_without_its_trailing_newline() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("key");
        std::fs::write(&path, "s3cret\n")?;
        let mut missing = vec![];
        let s = secret(None, Some(&path), "k", &mut missing, String::new)?;
        assert_eq!(
            s.map(|s| s.expose_secret().to_owned()),
            Some("s3cret".to_owned())
        );
        assert!(missing.is_empty());
        Ok(())
    }

    #[test]
    fn both_a_secret_and_its_file_is_an_error() {
        let mut missing = vec![];
        let inline = SecretString::from("x".to_owned());
        let r = secret(
            Some(&inline),
            Some(&PathBuf::from("f")),
            "k",
            &mut missing,
            String::new,
        );
        assert!(r.is_err());
    }
}
