//! What the benchmark reports, the lower bounds it compares against, and the table and JSON it
//! writes.
//!
//! ## Lower bound of a scenario
//! For each rate-limit scope the scenario uses, with `n` the calls it needs:
//!
//! ```text
//! rate term        = max(0, n − burst) ÷ rate          (the simulator's documented limits)
//! concurrency term = n × latency ÷ C                    (C = requests in flight per scope)
//! chain term       = calls of one dependent chain × lowest latency (latency − jitter)
//! bound            = max over scopes of the largest term
//! ```
//!
//! Scopes run in parallel, so the bound is the slowest one. Atlassian documents no concurrency
//! limit; `C` is the client's in-flight maximum per scope ([`CLIENT_MAX_CONCURRENCY`]).
//! The latency is the simulated mean ([`crate::profile::LATENCY_MS`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

/// Requests in flight per scope the client allows at most (`RateLimits::max_concurrency`).
pub const CLIENT_MAX_CONCURRENCY: f64 = 16.0;

/// One rate-limit scope's documented limit, as the simulator enforces it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed at once above it.
    pub burst: f64,
}

/// The Org API (and user management): 100 req/s, burst 200.
pub const ORG: Limit = Limit {
    per_second: 100.0,
    burst: 200.0,
};
/// Each site's Jira + JSM, and each site's Confluence: 100 req/s, burst 200.
pub const SITE: Limit = Limit {
    per_second: 100.0,
    burst: 200.0,
};
/// Statuspage: 60 per rolling minute (1 req/s).
pub const STATUSPAGE: Limit = Limit {
    per_second: 1.0,
    burst: 60.0,
};

/// One scope's share of a scenario's bound.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeBound {
    /// The scope (`org`, `jira+jsm`, `confluence`, `statuspage`).
    pub scope: String,
    /// Calls needed in it.
    pub calls: u64,
    /// Its limit (a site scope's is multiplied by the number of sites).
    pub limit: Limit,
    /// The rate term (s).
    pub rate_s: f64,
    /// The concurrency term (s).
    pub concurrency_s: f64,
}

impl ScopeBound {
    /// The bound of `calls` in a scope with `limit`, at `latency_s` per call.
    pub fn new(scope: &str, calls: u64, limit: Limit, latency_s: f64) -> ScopeBound {
        let n = calls as f64;
        ScopeBound {
            scope: scope.to_owned(),
            calls,
            limit,
            rate_s: ((n - limit.burst).max(0.0)) / limit.per_second,
            concurrency_s: n * latency_s / CLIENT_MAX_CONCURRENCY,
        }
    }

    /// The larger term.
    pub fn seconds(&self) -> f64 {
        self.rate_s.max(self.concurrency_s)
    }
}

/// One measured scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// `full_sync`, `sync_after_1pct_change`, `onboard`, `offboard`, `grant`.
    pub name: String,
    /// What ran and how it ended (jobs succeeded/failed, changes recorded…).
    pub detail: String,
    /// Whether everything it ran succeeded.
    pub ok: bool,
    /// Wall time (s).
    pub wall_s: f64,
    /// CPU time of this process (user + system, s).
    pub cpu_s: Option<f64>,
    /// CPU time ÷ wall time.
    pub cpu_share: Option<f64>,
    /// Resident-set high-water mark during the scenario (MiB).
    pub peak_rss_mib: Option<f64>,
    /// SQLite database size after it (MiB, with its WAL).
    pub db_mib: f64,
    /// API calls per family, from the simulator's counters.
    pub calls: BTreeMap<String, u64>,
    /// All API calls.
    pub calls_total: u64,
    /// Requests the simulator refused for rate limiting (each retried by the client).
    pub rate_limited: u64,
    /// The minimum number of calls the API design permits for this work (see the README).
    pub min_calls: u64,
    /// `calls_total ÷ min_calls`.
    pub call_ratio: f64,
    /// The lower bound on wall time (s).
    pub bound_s: f64,
    /// `wall_s ÷ bound_s`.
    pub bound_ratio: f64,
    /// Each scope's terms.
    pub scopes: Vec<ScopeBound>,
    /// The longest dependent chain's term, when the work is a chain of calls (s).
    pub chain_s: Option<f64>,
    /// The issue's target for this scenario, in words.
    pub target: String,
    /// Whether the target is met.
    pub met: bool,
}

impl Scenario {
    /// A scenario that could not run, with why.
    pub fn failed(name: &str, why: &anyhow::Error) -> Scenario {
        Scenario {
            name: name.to_owned(),
            detail: format!("could not run: {why:#}"),
            ok: false,
            wall_s: 0.0,
            cpu_s: None,
            cpu_share: None,
            peak_rss_mib: None,
            db_mib: 0.0,
            calls: BTreeMap::new(),
            calls_total: 0,
            rate_limited: 0,
            min_calls: 0,
            call_ratio: 0.0,
            bound_s: 0.0,
            bound_ratio: 0.0,
            scopes: vec![],
            chain_s: None,
            target: String::new(),
            met: false,
        }
    }
}

/// The org a profile seeded, as the first sync read it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrgSize {
    /// Directory users.
    pub users: u64,
    /// Users with access (role assignments read).
    pub users_with_access: u64,
    /// Groups.
    pub groups: u64,
    /// Groups holding a role.
    pub groups_with_roles: u64,
    /// Group memberships.
    pub memberships: u64,
    /// Account role assignments (one per source).
    pub role_assignments: u64,
    /// Sites.
    pub sites: u64,
    /// Statuspage team members.
    pub statuspage_members: u64,
    /// JSM customer rows.
    pub jsm_customers: u64,
}

/// A profile's whole report.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileReport {
    /// `s`, `m`, `l` or `tiny`.
    pub profile: String,
    /// The client's pacing: `shipped` or `documented`.
    pub pace: String,
    /// The org.
    pub org: OrgSize,
    /// Simulated latency (ms) and jitter (± ms).
    pub latency_ms: u64,
    /// Jitter (± ms).
    pub jitter_ms: u64,
    /// The scenarios, in the order they ran.
    pub scenarios: Vec<Scenario>,
    /// Full sync wall time ÷ the sync-after-change wall time (the issue's target: ≥ 10).
    pub incremental_speedup: Option<f64>,
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

/// The report as one plain-text table (plus a line about the org).
pub fn table(r: &ProfileReport) -> String {
    let mut s = String::new();
    let o = &r.org;
    let _ = writeln!(
        s,
        "\nprofile {} (client pace {}): {} users ({} with access), {} groups ({} with roles), {} memberships, {} \
         sites, {} Statuspage members; latency {} ms ± {}",
        r.profile,
        r.pace,
        o.users,
        o.users_with_access,
        o.groups,
        o.groups_with_roles,
        o.memberships,
        o.sites,
        o.statuspage_members,
        r.latency_ms,
        r.jitter_ms
    );
    let _ = writeln!(
        s,
        "{:<24} {:>9} {:>9} {:>7} {:>8} {:>8} {:>6} {:>5} {:>7} {:>6} {:>8} {:>7}  {:<4} target",
        "scenario",
        "wall s",
        "bound s",
        "×bound",
        "calls",
        "min",
        "×min",
        "429",
        "CPU s",
        "CPU %",
        "peak MiB",
        "DB MiB",
        "met"
    );
    for c in &r.scenarios {
        let _ = writeln!(
            s,
            "{:<24} {:>9.2} {:>9.2} {:>7.2} {:>8} {:>8} {:>6.3} {:>5} {:>7} {:>6} {:>8} {:>7.1}  {:<4} {}",
            c.name,
            c.wall_s,
            c.bound_s,
            c.bound_ratio,
            c.calls_total,
            c.min_calls,
            c.call_ratio,
            c.rate_limited,
            opt(c.cpu_s, 2),
            opt(c.cpu_share.map(|x| x * 100.0), 1),
            opt(c.peak_rss_mib, 0),
            c.db_mib,
            if c.met { "yes" } else { "NO" },
            c.target
        );
    }
    if let Some(x) = r.incremental_speedup {
        let _ = writeln!(
            s,
            "incremental speed-up (full ÷ after-change sync): {x:.2}× (target ≥ 10×)"
        );
    }
    for c in &r.scenarios {
        if !c.ok {
            let _ = writeln!(s, "{}: {}", c.name, c.detail);
        }
    }
    s
}

/// Writes the report as `<dir>/<profile>.json` and returns the path.
///
/// # Errors
/// The directory or the file cannot be written.
pub fn write_json(r: &ProfileReport, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = match r.pace.as_str() {
        "shipped" => r.profile.clone(),
        pace => format!("{}-{pace}", r.profile),
    };
    let path = dir.join(format!("{name}.json"));
    let json = serde_json::to_string_pretty(r)?;
    std::fs::write(&path, json + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_term_dominates_a_large_scope_and_the_burst_is_free() {
        let b = ScopeBound::new("org", 10_200, ORG, 0.03);
        assert!((b.rate_s - 100.0).abs() < 1e-9);
        assert!((b.concurrency_s - 10_200.0 * 0.03 / 16.0).abs() < 1e-9);
        assert!((b.seconds() - 100.0).abs() < 1e-9);
        let small = ScopeBound::new("org", 100, ORG, 0.03);
        assert_eq!(small.rate_s, 0.0);
        assert!(small.seconds() > 0.0);
    }
}
