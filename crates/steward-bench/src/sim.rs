//! The simulator as a child process: `steward-bench serve-sim` seeds and serves it, the
//! benchmark talks to it over HTTP. A child, so that the benchmark's own CPU time and memory
//! high-water mark are Steward's alone (the simulator holds the whole org in memory and does
//! real work per request).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use atlassian_sim::faults::FaultConfig;
use atlassian_sim::{SimConfig, Simulator};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;
use steward_engine::{SiteTarget, StatuspageTarget, Target};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use url::Url;

use crate::profile::ProfileSpec;

/// Seats added to every licensed product, so onboarding measures Steward and the API rather
/// than the seeded org's free seats (the seed leaves about 10% free).
const EXTRA_SEATS: u32 = 100_000;

/// Seeds the profile's org, prints the simulator's ready line on stdout and serves until stdin
/// closes (the parent exiting or dropping it).
///
/// # Errors
/// The simulator cannot start.
pub async fn serve(spec: ProfileSpec) -> anyhow::Result<()> {
    let config = SimConfig {
        profile: spec.size,
        users: spec.users,
        faults: FaultConfig {
            latency_ms: spec.latency_ms,
            jitter_ms: spec.jitter_ms,
            // Recording keeps every exchange in memory: not for a benchmark.
            record: false,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    };
    let sim = Simulator::spawn(config).await?;
    sim.app().write(|w| {
        for resource in &mut w.resources {
            if let Some(seats) = resource.seats {
                resource.seats = Some(seats.saturating_add(EXTRA_SEATS));
            }
        }
    });
    println!("{}", serde_json::to_string(sim.info())?);
    // Stdin closes when the parent stops us or exits: then stop serving.
    let _ = tokio::task::spawn_blocking(|| {
        use std::io::Read;
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
    sim.shutdown().await;
    Ok(())
}

/// The part of the simulator's ready line the benchmark uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Ready {
    /// Org id.
    pub org_id: String,
    /// Org API base URL.
    pub admin_base_url: String,
    /// Sites.
    pub sites: Vec<ReadySite>,
    /// The org API key.
    pub admin_api_key: String,
    /// Statuspage.
    pub statuspage: ReadyStatuspage,
    /// Control API base URL.
    pub control_url: String,
    /// Control API token.
    pub control_token: String,
}

/// One site of the ready line.
#[derive(Debug, Clone, Deserialize)]
pub struct ReadySite {
    /// Site name.
    pub name: String,
    /// Base URL.
    pub base_url: String,
    /// The integration account's email.
    pub email: String,
    /// Its API token.
    pub api_token: String,
}

/// Statuspage of the ready line.
#[derive(Debug, Clone, Deserialize)]
pub struct ReadyStatuspage {
    /// Base URL.
    pub base_url: String,
    /// API key.
    pub api_key: String,
    /// Organization id.
    pub organization_id: String,
}

/// A running simulator child and how to reach it.
pub struct SimProcess {
    child: Child,
    /// Its ready line.
    pub ready: Ready,
    http: reqwest::Client,
}

impl SimProcess {
    /// Starts `exe serve-sim --profile <name>` and waits for its ready line.
    ///
    /// # Errors
    /// The child cannot start or prints no ready line.
    pub async fn start(exe: &Path, spec: &ProfileSpec) -> anyhow::Result<SimProcess> {
        let mut child = Command::new(exe)
            .args(["serve-sim", "--profile", spec.name.as_str()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {} serve-sim", exe.display()))?;
        let stdout = child
            .stdout
            .take()
            .context("the simulator's stdout is not piped")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .context("cannot read the simulator's ready line")?;
        let ready: Ready = serde_json::from_str(line.trim())
            .with_context(|| format!("the simulator's ready line does not parse: {line:?}"))?;
        Ok(SimProcess {
            child,
            ready,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()?,
        })
    }

    /// Steward's connection settings for this org, as a configured Steward would have them.
    ///
    /// # Errors
    /// A URL in the ready line does not parse.
    pub fn target(&self) -> anyhow::Result<Target> {
        let r = &self.ready;
        Ok(Target {
            api_url: Url::parse(&r.admin_base_url)?,
            org_id: r.org_id.clone(),
            org_api_key: SecretString::from(r.admin_api_key.clone()),
            integration_email: r.sites.first().map(|s| s.email.clone()).unwrap_or_default(),
            sites: r
                .sites
                .iter()
                .map(|s| {
                    Ok(SiteTarget {
                        name: s.name.clone(),
                        url: Url::parse(&s.base_url)?,
                        api_token: SecretString::from(s.api_token.clone()),
                    })
                })
                .collect::<anyhow::Result<_>>()?,
            statuspage: Some(StatuspageTarget {
                url: Url::parse(&r.statuspage.base_url)?,
                api_key: SecretString::from(r.statuspage.api_key.clone()),
                organization_id: r.statuspage.organization_id.clone(),
            }),
        })
    }

    /// Calls the control API (`GET` when `body` is `None`, else `POST` with it).
    ///
    /// # Errors
    /// Transport failures and non-2xx answers.
    pub async fn control(&self, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.ready.control_url);
        let req = match body {
            None => self.http.get(url),
            Some(body) => self.http.post(url).json(&body),
        };
        let resp = req.bearer_auth(&self.ready.control_token).send().await?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(
            status.is_success(),
            "control API {path} answered {status}: {body}"
        );
        Ok(body)
    }

    /// Zeroes the request counters.
    ///
    /// # Errors
    /// As [`SimProcess::control`].
    pub async fn reset_counters(&self) -> anyhow::Result<()> {
        self.control("/counters/reset", Some(Value::Null)).await?;
        Ok(())
    }

    /// The request counters since the last reset.
    ///
    /// # Errors
    /// As [`SimProcess::control`].
    pub async fn counters(&self) -> anyhow::Result<Counters> {
        let value = self.control("/counters", None).await?;
        Ok(serde_json::from_value(value)?)
    }

    /// Stops the child: closes its stdin, then kills it if it has not exited within 5 s.
    pub async fn stop(mut self) {
        drop(self.child.stdin.take());
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// The simulator's counters, as far as the benchmark reads them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Counters {
    /// Per family: total requests.
    pub families: std::collections::BTreeMap<String, FamilyCount>,
    /// Per route template.
    pub routes: std::collections::BTreeMap<String, u64>,
    /// Requests refused by a rate limiter.
    pub rate_limited: u64,
}

/// One family's count.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FamilyCount {
    /// Every request of the family.
    pub total: u64,
}
