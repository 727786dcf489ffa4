//! Realism and control between the client and the routes: latency, rate limits, injected faults,
//! per-route request counters, and recording of exchanges for conformance checks.
//!
//! Every request to an Atlassian family goes through [`layer`], in this order:
//!
//! 1. **Counting** per route template, per concrete path and per family (see [`Counters`]).
//! 2. **Latency**: `latency_ms` ± `jitter_ms` (uniform, drawn from a seeded generator).
//! 3. **Rate limits** per scope (see [`RateLimitConfig`]). A refused request never reaches the
//!    handler, so it has no side effect. The answer is 429 (Statuspage: 420 by default, as its
//!    documentation allows "420 or 429") with `Retry-After` (whole seconds, at least 1),
//!    `X-RateLimit-Limit`, `X-RateLimit-Remaining: 0`, `X-RateLimit-Reset` and, on Jira and JSM,
//!    `RateLimit-Reason: jira-burst-based`. Answers that pass carry `X-RateLimit-Limit` and
//!    `X-RateLimit-Remaining` of their scope.
//!    `X-RateLimit-Reset` is ISO-8601: on Jira, JSM and Confluence in the documented
//!    `yyyy-MM-ddTHH:mmZ` form (rounded up to the minute); on the Org, user-management and
//!    Statuspage APIs (whose header format is not documented) as `yyyy-MM-ddTHH:mm:ssZ`
//!    (rounded up to the second).
//! 4. **Faults**: the first scripted fault matching the request (see [`ScriptedFault`]), else
//!    the [`FaultProfile`]'s draw from a generator seeded with `seed` (the world's seed when
//!    unset), so a run is reproducible given the seed and the order of requests.
//! 5. **Recording** of the exchange (when `record` is on); injected and throttled exchanges are
//!    recorded with `fault_injected: true` so the conformance check skips them.
//!
//! The control API (`/_sim`) is never counted, delayed, rate limited, faulted or recorded.
//!
//! How the faults reach the client:
//! - `timeout` holds the request `hold_ms` without processing it, then closes the connection
//!   without an answer; `timeout_after_apply` processes it first (the change is made).
//! - `reset` closes the connection without an answer (the response head is never written: the
//!   body fails before its first byte, which makes the HTTP/1.1 server drop the connection;
//!   over HTTP/2 the client sees the head, then a reset stream); `reset_after_apply` processes
//!   the request first.
//! - `truncate` processes the request, sends the head with the full `Content-Length` and about
//!   half the body, then drops the connection. An empty answer (e.g. 204) cannot be truncated
//!   and is dropped like `reset_after_apply`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Timelike, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::{ApiError, proxy_error};
use crate::family::{Family, Route, SiteRef, classify};
use crate::record::Exchange;

/// A named fault profile (`--faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FaultProfile {
    /// No injected faults.
    #[default]
    None,
    /// Occasional faults: about 2% 503 and 1% 429.
    Flaky,
    /// Frequent faults: about 10% 5xx, 5% 429 with `Retry-After`, 2% timeouts, 1% connection
    /// resets and 1% truncated bodies. Half the timeouts and resets happen after the request
    /// was applied.
    Hostile,
}

/// How a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// Token bucket (GCRA): `requests` per `per_seconds` refill, `burst` capacity.
    TokenBucket,
    /// At most `requests` in any rolling window of `per_seconds` (`burst` is ignored).
    RollingWindow,
}

/// One rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// Whether this scope is limited at all.
    pub enabled: bool,
    /// How requests are counted.
    pub kind: LimitKind,
    /// Requests allowed per `per_seconds`.
    pub requests: u32,
    /// Length of the period, in seconds.
    pub per_seconds: u32,
    /// Token-bucket capacity (requests that may be sent at once).
    pub burst: u32,
}

impl LimitConfig {
    /// A token bucket refilling `requests` per `per_seconds`, holding at most `burst`.
    pub fn token_bucket(requests: u32, per_seconds: u32, burst: u32) -> LimitConfig {
        LimitConfig {
            enabled: true,
            kind: LimitKind::TokenBucket,
            requests,
            per_seconds,
            burst,
        }
    }

    /// At most `requests` in any rolling window of `per_seconds`.
    pub fn rolling_window(requests: u32, per_seconds: u32) -> LimitConfig {
        LimitConfig {
            enabled: true,
            kind: LimitKind::RollingWindow,
            requests,
            per_seconds,
            burst: requests,
        }
    }

    /// The number reported in `X-RateLimit-Limit`: the bucket capacity, or the window's maximum.
    pub fn capacity(&self) -> u32 {
        match self.kind {
            LimitKind::TokenBucket => self.burst,
            LimitKind::RollingWindow => self.requests,
        }
    }

    fn validate(&self, name: &str) -> Result<(), String> {
        if self.requests == 0 {
            return Err(format!("rate_limits.{name}.requests must be at least 1"));
        }
        if self.per_seconds == 0 {
            return Err(format!("rate_limits.{name}.per_seconds must be at least 1"));
        }
        if self.kind == LimitKind::TokenBucket && self.burst == 0 {
            return Err(format!("rate_limits.{name}.burst must be at least 1"));
        }
        Ok(())
    }
}

/// Rate limits per scope. Defaults are realistic but far above what functional tests send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Master switch: when off, nothing is limited and no `X-RateLimit-*` headers are sent.
    pub enabled: bool,
    /// `api.atlassian.com`: the Org API and the user management API together, one scope.
    /// Default 100 requests/s, burst 200.
    pub org: LimitConfig,
    /// `GET /admin/v1/orgs/{orgId}/events`, in addition to `org`: documented 10 requests per
    /// minute (rolling window).
    pub org_events: LimitConfig,
    /// Each site's Jira and JSM together (the site's own host and the gateway count as one).
    /// Default 100 requests/s, burst 200 (the documented burst limits are per tenant).
    pub jira: LimitConfig,
    /// Each site's Confluence (v1 and v2 together). Default 100 requests/s, burst 200.
    pub confluence: LimitConfig,
    /// Statuspage: documented "1 request/second measured on a 60-second rolling window",
    /// i.e. 60 per rolling minute.
    pub statuspage: LimitConfig,
    /// The status Statuspage answers when throttled: 420 (default) or 429.
    pub statuspage_status: u16,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            org: LimitConfig::token_bucket(100, 1, 200),
            org_events: LimitConfig::rolling_window(10, 60),
            jira: LimitConfig::token_bucket(100, 1, 200),
            confluence: LimitConfig::token_bucket(100, 1, 200),
            statuspage: LimitConfig::rolling_window(60, 60),
            statuspage_status: 420,
        }
    }
}

impl RateLimitConfig {
    fn limit(&self, scope: &Scope) -> LimitConfig {
        match scope {
            Scope::Org => self.org,
            Scope::OrgEvents => self.org_events,
            Scope::Jira(_) => self.jira,
            Scope::Confluence(_) => self.confluence,
            Scope::Statuspage => self.statuspage,
        }
    }
}

fn default_timeout_ms() -> u64 {
    30_000
}

/// Latency, rate-limit and fault settings. Changeable at runtime through `PUT /_sim/config`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Fixed latency added to every Atlassian request, in milliseconds.
    pub latency_ms: u64,
    /// Uniform jitter, ± milliseconds.
    pub jitter_ms: u64,
    /// Named fault profile.
    pub profile: FaultProfile,
    /// Record every exchange (for conformance tests).
    pub record: bool,
    /// Seed of the fault and jitter generators; `None` uses the world's seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// How long a profile `timeout` holds the request before dropping it (also the default
    /// `hold_ms` of scripted timeouts), in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Rate limits.
    #[serde(default)]
    pub rate_limits: RateLimitConfig,
    /// Caps the `Retry-After` of the profile's injected 429s, in whole seconds (at least 1,
    /// as Atlassian sends). `None`: the profile's own (1 to 3 s flaky, 1 to 5 s hostile).
    /// Long chaos runs set 1 to spend their time on faults rather than on waiting.
    #[serde(default)]
    pub max_retry_after_secs: Option<u64>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            latency_ms: 0,
            jitter_ms: 0,
            profile: FaultProfile::None,
            record: true,
            seed: None,
            timeout_ms: default_timeout_ms(),
            rate_limits: RateLimitConfig::default(),
            max_retry_after_secs: None,
        }
    }
}

/// Upper bound of latency, jitter and hold times (10 minutes).
pub const MAX_DELAY_MS: u64 = 600_000;

impl FaultConfig {
    /// Checks the numbers; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("latency_ms", self.latency_ms),
            ("jitter_ms", self.jitter_ms),
            ("timeout_ms", self.timeout_ms),
        ] {
            if value > MAX_DELAY_MS {
                return Err(format!("{name} must be at most {MAX_DELAY_MS}"));
            }
        }
        let r = &self.rate_limits;
        r.org.validate("org")?;
        r.org_events.validate("org_events")?;
        r.jira.validate("jira")?;
        r.confluence.validate("confluence")?;
        r.statuspage.validate("statuspage")?;
        if r.statuspage_status != 420 && r.statuspage_status != 429 {
            return Err("rate_limits.statuspage_status must be 420 or 429".to_owned());
        }
        Ok(())
    }
}

// ---- scripted faults ----------------------------------------------------------------------------

/// What a scripted fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer `status` with the family's error body, without processing the request.
    Status {
        /// HTTP status (200–599).
        status: u16,
        /// `Retry-After` seconds to send, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
        /// Error message, if not the default.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Answer as the family's rate limiter does, with this `Retry-After`.
    RateLimit {
        /// Seconds (at least 1).
        retry_after: u64,
    },
    /// Hold the request without processing it, then drop the connection.
    Timeout {
        /// How long to hold, in milliseconds.
        hold_ms: u64,
    },
    /// Process the request, then hold and drop the connection instead of answering.
    TimeoutAfterApply {
        /// How long to hold, in milliseconds.
        hold_ms: u64,
    },
    /// Drop the connection without processing the request or answering.
    Reset,
    /// Process the request, then drop the connection without answering.
    ResetAfterApply,
    /// Process the request, then send the head with the full `Content-Length` and only part of
    /// the body.
    Truncate,
}

/// Which requests a scripted fault applies to. Every given criterion must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultMatch {
    /// The API family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// The HTTP method (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A path pattern on the spec path (relative to the family's OpenAPI server URL, e.g.
    /// `/v2/orgs/{orgId}/directories/{directoryId}/groups`): `{name}` or `*` matches one
    /// segment, a final `**` matches any rest; other segments match literally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A literal prefix of the spec path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
}

impl FaultMatch {
    fn matches(&self, route: &Route, method: &Method) -> bool {
        self.family.is_none_or(|f| f == route.family)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
            && self
                .path
                .as_deref()
                .is_none_or(|p| path_matches(p, &route.spec_path))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| route.spec_path.starts_with(p))
    }
}

/// A fault injected into the next `remaining` matching requests (`POST /_sim/faults`).
#[derive(Debug, Clone, Serialize)]
pub struct ScriptedFault {
    /// Id (`fault-1`, ...).
    pub id: String,
    /// Which requests.
    #[serde(rename = "match")]
    pub matcher: FaultMatch,
    /// What happens.
    pub fault: FaultKind,
    /// How many more matching requests get it.
    pub remaining: u32,
    /// How many requests got it so far.
    pub injected: u32,
}

/// Whether `pattern` (see [`FaultMatch::path`]) matches a spec path.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    for (i, p) in pat.iter().enumerate() {
        if *p == "**" || p.starts_with("{*") {
            return i + 1 == pat.len() && segs.len() >= i;
        }
        let Some(s) = segs.get(i) else { return false };
        let wildcard = *p == "*" || (p.starts_with('{') && p.ends_with('}'));
        if !(wildcard && !s.is_empty() || p == s) {
            return false;
        }
    }
    pat.len() == segs.len()
}

// ---- counters -----------------------------------------------------------------------------------

/// Requests per family and per status the client saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FamilyCounters {
    /// All requests.
    pub total: u64,
    /// Per status (`"200"`, `"429"`, ...); `"dropped"` when the connection was dropped without
    /// an answer.
    pub statuses: BTreeMap<String, u64>,
}

/// Request counters (`GET /_sim/counters`). Control API traffic is not counted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    /// Per `METHOD family template`, e.g. `GET org /v2/orgs/{orgId}/directories/{directoryId}/users`
    /// (the registered route template; the concrete spec path when no route matched).
    pub routes: BTreeMap<String, u64>,
    /// Per `METHOD wire-path`, e.g. `GET /site/acme/rest/api/3/group/bulk`.
    pub paths: BTreeMap<String, u64>,
    /// Per family name.
    pub families: BTreeMap<String, FamilyCounters>,
    /// Mutations whose handler answered 2xx (i.e. were applied, even when the client then saw a
    /// fault), per `METHOD wire-path[?query]` (`api_key` removed from the query). Read-only
    /// POSTs (`.../search`, `.../workspaces`) are not mutations.
    pub applied_mutations: BTreeMap<String, u64>,
    /// Requests refused by a rate limiter.
    pub rate_limited: u64,
    /// Requests that got an injected fault (scripted or profile).
    pub faults_injected: u64,
}

// ---- limiters -----------------------------------------------------------------------------------

/// A rate-limit scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Scope {
    Org,
    OrgEvents,
    Jira(String),
    Confluence(String),
    Statuspage,
}

type Bucket = DefaultDirectRateLimiter<StateInformationMiddleware>;

enum Limiter {
    Bucket(Box<Bucket>),
    Window {
        hits: VecDeque<Instant>,
        max: u32,
        window: Duration,
    },
}

impl Limiter {
    fn new(config: &LimitConfig) -> Limiter {
        match config.kind {
            LimitKind::TokenBucket => {
                let period =
                    Duration::from_secs(u64::from(config.per_seconds)) / config.requests.max(1);
                let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                    .allow_burst(NonZeroU32::new(config.burst).unwrap_or(NonZeroU32::MIN));
                Limiter::Bucket(Box::new(
                    RateLimiter::direct(quota).with_middleware::<StateInformationMiddleware>(),
                ))
            }
            LimitKind::RollingWindow => Limiter::Window {
                hits: VecDeque::new(),
                max: config.requests,
                window: Duration::from_secs(u64::from(config.per_seconds)),
            },
        }
    }

    /// `Ok(remaining)` or `Err(wait)`.
    fn check(&mut self) -> Result<u32, Duration> {
        match self {
            Limiter::Bucket(bucket) => match bucket.check() {
                Ok(snapshot) => Ok(snapshot.remaining_burst_capacity()),
                Err(not_until) => Err(not_until.wait_time_from(DefaultClock::default().now())),
            },
            Limiter::Window { hits, max, window } => {
                let now = Instant::now();
                while hits.front().is_some_and(|t| *t + *window <= now) {
                    hits.pop_front();
                }
                if (hits.len() as u32) < *max {
                    hits.push_back(now);
                    Ok(*max - hits.len() as u32)
                } else {
                    let oldest = hits.front().copied().unwrap_or(now);
                    Err((oldest + *window).saturating_duration_since(now))
                }
            }
        }
    }
}

/// The limiter's verdict for one request.
enum RateVerdict {
    /// Rate limits are off for this request.
    Off,
    /// Allowed; headers to add.
    Allowed { limit: u32, remaining: u32 },
    /// Refused.
    Refused { limit: u32, wait: Duration },
}

// ---- live state ---------------------------------------------------------------------------------

/// What happens to one request.
#[derive(Debug, Clone)]
enum Action {
    Status {
        status: u16,
        retry_after: Option<u64>,
        message: Option<String>,
    },
    RateLimit {
        retry_after: u64,
    },
    Timeout {
        hold_ms: u64,
        after_apply: bool,
    },
    Reset {
        after_apply: bool,
    },
    Truncate,
}

impl From<&FaultKind> for Action {
    fn from(kind: &FaultKind) -> Action {
        match kind.clone() {
            FaultKind::Status {
                status,
                retry_after,
                message,
            } => Action::Status {
                status,
                retry_after,
                message,
            },
            FaultKind::RateLimit { retry_after } => Action::RateLimit { retry_after },
            FaultKind::Timeout { hold_ms } => Action::Timeout {
                hold_ms,
                after_apply: false,
            },
            FaultKind::TimeoutAfterApply { hold_ms } => Action::Timeout {
                hold_ms,
                after_apply: true,
            },
            FaultKind::Reset => Action::Reset { after_apply: false },
            FaultKind::ResetAfterApply => Action::Reset { after_apply: true },
            FaultKind::Truncate => Action::Truncate,
        }
    }
}

#[derive(Default)]
struct Live {
    fault_rng: Option<ChaCha8Rng>,
    jitter_rng: Option<ChaCha8Rng>,
    limiters: HashMap<Scope, Limiter>,
    scripts: Vec<ScriptedFault>,
    next_script: u64,
    counters: Counters,
}

/// Live fault settings, limiters, scripted faults and counters.
pub struct Faults {
    config: Mutex<FaultConfig>,
    live: Mutex<Live>,
}

impl Faults {
    /// New settings.
    pub fn new(config: FaultConfig) -> Faults {
        Faults {
            config: Mutex::new(config),
            live: Mutex::new(Live::default()),
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Current settings.
    pub fn config(&self) -> FaultConfig {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the settings. Changed rate limits start afresh (full buckets, empty windows);
    /// a changed seed restarts the fault and jitter generators.
    pub fn set_config(&self, config: FaultConfig) {
        let mut current = self.config.lock().unwrap_or_else(|e| e.into_inner());
        let mut live = self.live();
        if current.rate_limits != config.rate_limits {
            live.limiters.clear();
        }
        if current.seed != config.seed {
            live.fault_rng = None;
            live.jitter_rng = None;
        }
        *current = config;
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.live().counters.clone()
    }

    /// Sets every counter to zero.
    pub fn reset_counters(&self) {
        self.live().counters = Counters::default();
    }

    /// Adds a scripted fault for the next `count` matching requests.
    pub fn add_script(&self, matcher: FaultMatch, fault: FaultKind, count: u32) -> ScriptedFault {
        let mut live = self.live();
        live.next_script += 1;
        let script = ScriptedFault {
            id: format!("fault-{}", live.next_script),
            matcher,
            fault,
            remaining: count,
            injected: 0,
        };
        live.scripts.push(script.clone());
        script
    }

    /// Scripted faults still waiting for matching requests, oldest first.
    pub fn scripts(&self) -> Vec<ScriptedFault> {
        self.live().scripts.clone()
    }

    /// Removes every scripted fault; returns how many there were.
    pub fn clear_scripts(&self) -> usize {
        std::mem::take(&mut self.live().scripts).len()
    }

    /// Removes one scripted fault; returns whether it existed.
    pub fn remove_script(&self, id: &str) -> bool {
        let mut live = self.live();
        let before = live.scripts.len();
        live.scripts.retain(|s| s.id != id);
        live.scripts.len() != before
    }

    fn latency(&self, config: &FaultConfig, world_seed: impl FnOnce() -> u64) -> Duration {
        let jitter = if config.jitter_ms > 0 {
            let mut live = self.live();
            let rng = live.jitter_rng.get_or_insert_with(|| {
                ChaCha8Rng::seed_from_u64(config.seed.unwrap_or_else(world_seed) ^ 0x6a69_7474_6572)
            });
            rng.random_range(0..=2 * config.jitter_ms) as i64 - config.jitter_ms as i64
        } else {
            0
        };
        Duration::from_millis((config.latency_ms as i64 + jitter).max(0) as u64)
    }

    fn check_rate(&self, config: &RateLimitConfig, scopes: &[Scope]) -> RateVerdict {
        if !config.enabled {
            return RateVerdict::Off;
        }
        let mut live = self.live();
        let mut verdict = RateVerdict::Off;
        for scope in scopes {
            let limit = config.limit(scope);
            if !limit.enabled {
                continue;
            }
            let limiter = live
                .limiters
                .entry(scope.clone())
                .or_insert_with(|| Limiter::new(&limit));
            match limiter.check() {
                Err(wait) => {
                    live.counters.rate_limited += 1;
                    return RateVerdict::Refused {
                        limit: limit.capacity(),
                        wait,
                    };
                }
                Ok(remaining) => {
                    // Report the scope closest to its limit.
                    let tighter = match verdict {
                        RateVerdict::Allowed { remaining: r, .. } => remaining < r,
                        _ => true,
                    };
                    if tighter {
                        verdict = RateVerdict::Allowed {
                            limit: limit.capacity(),
                            remaining,
                        };
                    }
                }
            }
        }
        verdict
    }

    /// The scripted fault for this request, else the profile's draw.
    fn pick(
        &self,
        config: &FaultConfig,
        route: &Route,
        method: &Method,
        world_seed: impl FnOnce() -> u64,
    ) -> Option<Action> {
        let mut live = self.live();
        if let Some(ix) = live
            .scripts
            .iter()
            .position(|s| s.remaining > 0 && s.matcher.matches(route, method))
        {
            let script = &mut live.scripts[ix];
            script.remaining -= 1;
            script.injected += 1;
            let action = Action::from(&script.fault);
            if script.remaining == 0 {
                live.scripts.remove(ix);
            }
            live.counters.faults_injected += 1;
            return Some(action);
        }
        if config.profile == FaultProfile::None {
            return None;
        }
        let rng = live.fault_rng.get_or_insert_with(|| {
            ChaCha8Rng::seed_from_u64(config.seed.unwrap_or_else(world_seed))
        });
        let roll: f64 = rng.random();
        let second: f64 = rng.random();
        let action = profile_action(config.profile, roll, second, config.timeout_ms)
            .map(|action| cap_retry_after(action, config.max_retry_after_secs));
        if action.is_some() {
            live.counters.faults_injected += 1;
        }
        action
    }

    fn count(&self, family: Family, template: String, path: String, status: Option<StatusCode>) {
        let mut live = self.live();
        let c = &mut live.counters;
        *c.routes.entry(template).or_default() += 1;
        *c.paths.entry(path).or_default() += 1;
        let fam = c.families.entry(family.name().to_owned()).or_default();
        fam.total += 1;
        let key = status.map_or_else(|| "dropped".to_owned(), |s| s.as_u16().to_string());
        *fam.statuses.entry(key).or_default() += 1;
    }

    fn count_applied(&self, key: String) {
        *self
            .live()
            .counters
            .applied_mutations
            .entry(key)
            .or_default() += 1;
    }
}

/// A profile's 429 with its `Retry-After` capped at `cap` seconds (at least 1).
fn cap_retry_after(action: Action, cap: Option<u64>) -> Action {
    match (action, cap) {
        (Action::RateLimit { retry_after }, Some(cap)) => Action::RateLimit {
            retry_after: retry_after.min(cap.max(1)),
        },
        (action, _) => action,
    }
}

fn profile_action(
    profile: FaultProfile,
    roll: f64,
    second: f64,
    timeout_ms: u64,
) -> Option<Action> {
    match profile {
        FaultProfile::None => None,
        FaultProfile::Flaky => {
            if roll < 0.02 {
                Some(Action::Status {
                    status: 503,
                    retry_after: None,
                    message: None,
                })
            } else if roll < 0.03 {
                Some(Action::RateLimit {
                    retry_after: 1 + (second * 3.0) as u64,
                })
            } else {
                None
            }
        }
        FaultProfile::Hostile => {
            let after_apply = second < 0.5;
            if roll < 0.10 {
                let status = [500, 502, 503, 504][((second * 4.0) as usize).min(3)];
                Some(Action::Status {
                    status,
                    retry_after: None,
                    message: None,
                })
            } else if roll < 0.15 {
                Some(Action::RateLimit {
                    retry_after: 1 + (second * 5.0) as u64,
                })
            } else if roll < 0.17 {
                Some(Action::Timeout {
                    hold_ms: timeout_ms,
                    after_apply,
                })
            } else if roll < 0.18 {
                Some(Action::Reset { after_apply })
            } else if roll < 0.19 {
                Some(Action::Truncate)
            } else {
                None
            }
        }
    }
}

// ---- route templates (for counters) -------------------------------------------------------------

type Templates = Vec<(Family, &'static str, &'static str)>;

/// Every registered (family, method, template), templates relative to the family's spec server.
fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        use crate::routes;
        let mut out = vec![];
        let all = [
            routes::org::tables(),
            routes::um::tables(),
            routes::jira::tables(),
            routes::jsm::tables(),
            routes::confluence::tables(),
            routes::statuspage::tables(),
        ];
        for tables in all {
            for table in tables {
                for entry in table.finish().1 {
                    let template = match entry.family {
                        Family::ConfluenceV2 => entry
                            .template
                            .strip_prefix("/wiki/api/v2")
                            .unwrap_or(entry.template),
                        _ => entry.template,
                    };
                    out.push((entry.family, entry.method, template));
                }
            }
        }
        out
    })
}

/// The registered template a request matched (most literal segments win), else its spec path.
fn template_of(route: &Route, method: &Method) -> String {
    let literal = |t: &str| {
        t.split('/')
            .filter(|s| !s.starts_with('{') && *s != "*" && *s != "**")
            .count()
    };
    templates()
        .iter()
        .filter(|(f, m, t)| {
            *f == route.family && *m == method.as_str() && path_matches(t, &route.spec_path)
        })
        .max_by_key(|(_, _, t)| literal(t))
        .map_or_else(|| route.spec_path.clone(), |(_, _, t)| (*t).to_owned())
}

fn scopes_of(app: &AppState, route: &Route, method: &Method) -> Vec<Scope> {
    let site_key = || {
        let site = route.site.as_ref();
        app.read(|w| {
            let ix = match site {
                Some(SiteRef::Name(name)) => w.site_by_name(name),
                Some(SiteRef::Gateway(cloud_id)) => w.site_by_cloud_id(cloud_id),
                None => None,
            };
            match (ix, site) {
                (Some(ix), _) => format!("site:{ix}"),
                (None, Some(SiteRef::Name(n) | SiteRef::Gateway(n))) => format!("unknown:{n}"),
                (None, None) => "unknown".to_owned(),
            }
        })
    };
    match route.family {
        Family::Org
            if method == Method::GET
                && path_matches("/v1/orgs/{orgId}/events", &route.spec_path) =>
        {
            vec![Scope::OrgEvents, Scope::Org]
        }
        Family::Org | Family::UserManagement => vec![Scope::Org],
        Family::Jira | Family::Jsm => vec![Scope::Jira(site_key())],
        Family::ConfluenceV1 | Family::ConfluenceV2 => vec![Scope::Confluence(site_key())],
        Family::Statuspage => vec![Scope::Statuspage],
        Family::Control => vec![],
    }
}

// ---- responses ----------------------------------------------------------------------------------

fn header_value(value: impl ToString) -> HeaderValue {
    HeaderValue::from_str(&value.to_string()).unwrap_or_else(|_| HeaderValue::from_static("0"))
}

fn set_limit_headers(headers: &mut HeaderMap, limit: u32, remaining: u32) {
    headers.insert("x-ratelimit-limit", header_value(limit));
    headers.insert("x-ratelimit-remaining", header_value(remaining));
}

/// `X-RateLimit-Reset` for a wait: minute precision on Jira/JSM/Confluence, seconds elsewhere.
fn reset_header(family: Family, wait: Duration) -> String {
    let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
    match family {
        Family::Jira | Family::Jsm | Family::ConfluenceV1 | Family::ConfluenceV2 => {
            let up = if at.second() > 0 || at.nanosecond() > 0 {
                at + chrono::Duration::minutes(1)
            } else {
                at
            };
            up.format("%Y-%m-%dT%H:%MZ").to_string()
        }
        _ => {
            let up: DateTime<Utc> = if at.nanosecond() > 0 {
                at + chrono::Duration::seconds(1)
            } else {
                at
            };
            up.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        }
    }
}

/// The family's throttled answer.
fn throttled(family: Family, statuspage_status: u16, limit: u32, wait: Duration) -> Response {
    let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let retry_after = retry_after.max(1);
    let message = "Rate limit exceeded";
    let mut response = match family {
        Family::Org => proxy_error(StatusCode::TOO_MANY_REQUESTS, message),
        Family::Statuspage => {
            let status =
                StatusCode::from_u16(statuspage_status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
            ApiError::new(
                family,
                status,
                "rate_limited",
                "Rate limit exceeded. Retry after the time in Retry-After.",
            )
            .into_response()
        }
        Family::UserManagement => ApiError::new(
            family,
            StatusCode::TOO_MANY_REQUESTS,
            "tooManyRequests",
            message,
        )
        .into_response(),
        _ => ApiError::new(
            family,
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_REQUESTS",
            "Rate limit exceeded.",
        )
        .into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, header_value(retry_after));
    set_limit_headers(headers, limit, 0);
    headers.insert(
        "x-ratelimit-reset",
        header_value(reset_header(family, Duration::from_secs(retry_after))),
    );
    if matches!(family, Family::Jira | Family::Jsm) {
        headers.insert(
            "ratelimit-reason",
            HeaderValue::from_static("jira-burst-based"),
        );
    }
    response
}

/// The error code an injected status carries in the family's body.
fn fault_code(family: Family, status: StatusCode) -> String {
    let reason = status.canonical_reason().unwrap_or("Error");
    match family {
        Family::Org => format!("ADMIN-{}-1", status.as_u16()),
        Family::UserManagement => {
            let mut words = reason.split(' ');
            let first = words.next().unwrap_or_default().to_lowercase();
            words.fold(first, |acc, w| acc + w)
        }
        _ => reason.to_uppercase().replace(' ', "_"),
    }
}

fn injected_status(
    family: Family,
    status: u16,
    retry_after: Option<u64>,
    message: Option<&str>,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let default_message = match status {
        StatusCode::SERVICE_UNAVAILABLE => {
            "The service is temporarily unavailable. Try again later."
        }
        StatusCode::BAD_GATEWAY => "Bad gateway.",
        StatusCode::GATEWAY_TIMEOUT => "The upstream service did not answer in time.",
        StatusCode::INTERNAL_SERVER_ERROR => "An internal error occurred.",
        StatusCode::TOO_MANY_REQUESTS => "Rate limit exceeded",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    let message = message.unwrap_or(default_message);
    let gateway = matches!(status.as_u16(), 429 | 502 | 503 | 504);
    let mut response = if family == Family::Org && gateway {
        proxy_error(status, message)
    } else {
        ApiError::new(family, status, &fault_code(family, status), message).into_response()
    };
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header_value(secs.max(1)));
    }
    response
}

/// A response whose body fails before its first byte: the server drops the connection without
/// writing the head.
fn dropped() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected reset",
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// The head with the full `Content-Length`, about half the body, then a dropped connection.
fn truncated(mut parts: axum::http::response::Parts, bytes: Bytes) -> Response {
    let cut = (bytes.len() / 2).max(1).min(bytes.len().saturating_sub(1));
    let head = bytes.slice(..cut);
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, header_value(bytes.len()));
    let first = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(head) });
    let fail = futures::stream::once(async {
        // Let the server flush the head and the first part before the connection drops.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected truncation",
        ))
    });
    Response::from_parts(
        parts,
        Body::from_stream(futures::StreamExt::chain(first, fail)),
    )
}

// ---- the middleware -----------------------------------------------------------------------------

const RECORD_LIMIT: usize = crate::extract::MAX_BODY_BYTES;

/// What is known about the request being served.
struct Ctx {
    route: Route,
    method: Method,
    wire_path: String,
    query: String,
    request_content_type: Option<String>,
    request_body: Option<Bytes>,
}

impl Ctx {
    fn is_mutation(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD | Method::OPTIONS)
            && !(self.method == Method::POST
                && (self.route.spec_path.ends_with("/search")
                    || self.route.spec_path.ends_with("/workspaces")))
    }

    fn mutation_key(&self) -> String {
        let query: Vec<&str> = self
            .query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("api_key="))
            .collect();
        if query.is_empty() {
            format!("{} {}", self.method, self.wire_path)
        } else {
            format!("{} {}?{}", self.method, self.wire_path, query.join("&"))
        }
    }
}

fn record(
    app: &AppState,
    ctx: &Ctx,
    status: u16,
    headers: Option<&HeaderMap>,
    body: &[u8],
    injected: bool,
) {
    let (request_body, request_text) = split_body(ctx.request_body.as_deref().unwrap_or_default());
    let (response_body, _) = split_body(body);
    app.recorder().push(Exchange {
        family: ctx.route.family,
        method: ctx.method.as_str().to_owned(),
        spec_path: ctx.route.spec_path.clone(),
        query: ctx.query.clone(),
        request_content_type: ctx.request_content_type.clone(),
        request_body,
        request_text,
        status,
        response_content_type: headers.and_then(content_type),
        response_body,
        fault_injected: injected,
    });
}

/// Runs the handler; returns its answer's head and body, counting it as applied when it is a
/// successful mutation.
async fn apply(
    app: &AppState,
    ctx: &Ctx,
    req: Request,
    next: Next,
) -> (axum::http::response::Parts, Bytes) {
    let response = next.run(req).await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if parts.status.is_success() && ctx.is_mutation() {
        app.faults().count_applied(ctx.mutation_key());
    }
    (parts, bytes)
}

/// The middleware: counting, latency, rate limits, faults and recording.
pub async fn layer(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = match classify(req.uri().path()) {
        Some(route) if route.family != Family::Control => route,
        _ => return next.run(req).await,
    };
    let faults = app.faults();
    let config = faults.config();
    let method = req.method().clone();
    let template = format!(
        "{method} {} {}",
        route.family.name(),
        template_of(&route, &method)
    );
    let path_key = format!("{method} {}", req.uri().path());
    let world_seed = || app.read(|w| w.seed);

    if config.latency_ms + config.jitter_ms > 0 {
        tokio::time::sleep(faults.latency(&config, world_seed)).await;
    }

    let mut ctx = Ctx {
        method,
        wire_path: req.uri().path().to_owned(),
        query: req.uri().query().unwrap_or("").to_owned(),
        request_content_type: content_type(req.headers()),
        request_body: None,
        route,
    };
    let family = ctx.route.family;
    let count = |status: Option<StatusCode>| {
        faults.count(family, template.clone(), path_key.clone(), status)
    };

    // Rate limits.
    let limits = &config.rate_limits;
    let verdict = if limits.enabled {
        faults.check_rate(limits, &scopes_of(&app, &ctx.route, &ctx.method))
    } else {
        RateVerdict::Off
    };
    let limit_headers = match verdict {
        RateVerdict::Refused { limit, wait } => {
            let response = throttled(family, limits.statuspage_status, limit, wait);
            count(Some(response.status()));
            return finish_injected(&app, &config, ctx, req, response).await;
        }
        RateVerdict::Allowed { limit, remaining } => Some((limit, remaining)),
        RateVerdict::Off => None,
    };
    let with_limits = |mut response: Response| {
        if let Some((limit, remaining)) = limit_headers {
            set_limit_headers(response.headers_mut(), limit, remaining);
        }
        response
    };

    // Buffer the request body when recording (refusing what the handler would refuse anyway).
    let req = if config.record {
        let (parts, body) = req.into_parts();
        match http_body_util::BodyExt::collect(http_body_util::Limited::new(body, RECORD_LIMIT))
            .await
        {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                ctx.request_body = Some(bytes.clone());
                Request::from_parts(parts, Body::from(bytes))
            }
            Err(err) => {
                let error = if err.is::<http_body_util::LengthLimitError>() {
                    ApiError::too_large(family)
                } else {
                    ApiError::bad_request(family, "The request body could not be read.")
                };
                let response = with_limits(error.into_response());
                count(Some(response.status()));
                let (parts, body) = response.into_parts();
                let bytes = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                record(
                    &app,
                    &ctx,
                    parts.status.as_u16(),
                    Some(&parts.headers),
                    &bytes,
                    false,
                );
                return Response::from_parts(parts, Body::from(bytes));
            }
        }
    } else {
        req
    };

    let Some(action) = faults.pick(&config, &ctx.route, &ctx.method, world_seed) else {
        // The ordinary path.
        let (parts, bytes) = apply(&app, &ctx, req, next).await;
        count(Some(parts.status));
        if config.record {
            record(
                &app,
                &ctx,
                parts.status.as_u16(),
                Some(&parts.headers),
                &bytes,
                false,
            );
        }
        return with_limits(Response::from_parts(parts, Body::from(bytes)));
    };

    match action {
        Action::Status {
            status,
            retry_after,
            message,
        } => {
            let response = with_limits(injected_status(
                family,
                status,
                retry_after,
                message.as_deref(),
            ));
            count(Some(response.status()));
            finish_injected(&app, &config, ctx, req, response).await
        }
        Action::RateLimit { retry_after } => {
            let limit = scopes_of(&app, &ctx.route, &ctx.method)
                .first()
                .map_or(0, |scope| limits.limit(scope).capacity());
            let response = throttled(
                family,
                limits.statuspage_status,
                limit,
                Duration::from_secs(retry_after.max(1)),
            );
            count(Some(response.status()));
            finish_injected(&app, &config, ctx, req, response).await
        }
        Action::Timeout {
            hold_ms,
            after_apply,
        } => {
            let answered = if after_apply {
                Some(apply(&app, &ctx, req, next).await)
            } else {
                None
            };
            // Counted and recorded before the hold: the client may give up and disconnect,
            // which ends this future.
            count(None);
            if config.record {
                record(
                    &app,
                    &ctx,
                    0,
                    answered.as_ref().map(|(p, _)| &p.headers),
                    &[],
                    true,
                );
            }
            tokio::time::sleep(Duration::from_millis(hold_ms)).await;
            dropped()
        }
        Action::Reset { after_apply } => {
            if after_apply {
                apply(&app, &ctx, req, next).await;
            }
            count(None);
            if config.record {
                record(&app, &ctx, 0, None, &[], true);
            }
            dropped()
        }
        Action::Truncate => {
            let (parts, bytes) = apply(&app, &ctx, req, next).await;
            count(Some(parts.status));
            if config.record {
                record(
                    &app,
                    &ctx,
                    parts.status.as_u16(),
                    Some(&parts.headers),
                    &[],
                    true,
                );
            }
            if bytes.len() < 2 {
                return dropped();
            }
            with_limits(truncated(parts, bytes))
        }
    }
}

/// Records an answer made without the handler (throttled or injected status) and returns it.
async fn finish_injected(
    app: &AppState,
    config: &FaultConfig,
    mut ctx: Ctx,
    req: Request,
    response: Response,
) -> Response {
    if !config.record {
        return response;
    }
    if ctx.request_body.is_none() {
        let bytes = axum::body::to_bytes(req.into_body(), RECORD_LIMIT)
            .await
            .unwrap_or_default();
        ctx.request_body = Some(bytes);
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    record(
        app,
        &ctx,
        parts.status.as_u16(),
        Some(&parts.headers),
        &bytes,
        true,
    );
    Response::from_parts(parts, Body::from(bytes))
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn split_body(bytes: &[u8]) -> (Option<serde_json::Value>, Option<String>) {
    if bytes.is_empty() {
        return (None, None);
    }
    match serde_json::from_slice(bytes) {
        Ok(v) => (Some(v), None),
        Err(_) => (None, Some(String::from_utf8_lossy(bytes).into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns_match_segments() {
        assert!(path_matches(
            "/v2/orgs/{orgId}/directories/*/groups",
            "/v2/orgs/o1/directories/d1/groups"
        ));
        assert!(!path_matches(
            "/v2/orgs/{orgId}/directories",
            "/v2/orgs/o1/directories/d1"
        ));
        assert!(path_matches("/v2/orgs/**", "/v2/orgs/o1/directories/d1"));
        assert!(path_matches("/pages", "/pages/"));
        assert!(!path_matches("/pages/{id}", "/pages"));
        assert!(path_matches(
            "/v1/orgs/{orgId}/events",
            "/v1/orgs/abc/events"
        ));
        assert!(!path_matches(
            "/v1/orgs/{orgId}/events",
            "/v1/orgs/abc/events-stream"
        ));
    }

    #[test]
    fn rolling_window_refuses_until_the_oldest_hit_expires() {
        let mut limiter = Limiter::new(&LimitConfig::rolling_window(2, 60));
        assert_eq!(limiter.check(), Ok(1));
        assert_eq!(limiter.check(), Ok(0));
        let wait = limiter.check().unwrap_err();
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(60));
    }

    #[test]
    fn token_bucket_allows_the_burst_then_refuses() {
        let mut limiter = Limiter::new(&LimitConfig::token_bucket(1, 10, 3));
        assert_eq!(limiter.check(), Ok(2));
        assert_eq!(limiter.check(), Ok(1));
        assert_eq!(limiter.check(), Ok(0));
        assert!(limiter.check().unwrap_err() > Duration::from_secs(5));
    }

    #[test]
    fn a_retry_after_cap_shortens_injected_429s_only() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut capped = 0;
        for _ in 0..10_000 {
            let (a, b): (f64, f64) = (rng.random(), rng.random());
            let Some(action) = profile_action(FaultProfile::Hostile, a, b, 1) else {
                continue;
            };
            let uncapped = matches!(action, Action::RateLimit { retry_after } if retry_after > 1);
            match (cap_retry_after(action, Some(1)), uncapped) {
                (Action::RateLimit { retry_after }, was_longer) => {
                    assert_eq!(retry_after, 1);
                    capped += usize::from(was_longer);
                }
                (Action::Status { .. } | Action::Timeout { .. }, _)
                | (Action::Reset { .. } | Action::Truncate, _) => {}
            }
        }
        assert!(
            capped > 100,
            "the hostile profile sends longer waits to cap"
        );
        // A cap of 0 still sends the 1 s Atlassian never goes under; no cap keeps the wait.
        let long = Action::RateLimit { retry_after: 4 };
        assert!(matches!(
            cap_retry_after(long.clone(), Some(0)),
            Action::RateLimit { retry_after: 1 }
        ));
        assert!(matches!(
            cap_retry_after(long, None),
            Action::RateLimit { retry_after: 4 }
        ));
    }

    #[test]
    fn profiles_draw_the_documented_mix() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for _ in 0..100_000 {
            let (a, b): (f64, f64) = (rng.random(), rng.random());
            let label = match profile_action(FaultProfile::Hostile, a, b, 1) {
                None => "none",
                Some(Action::Status { .. }) => "5xx",
                Some(Action::RateLimit { .. }) => "429",
                Some(Action::Timeout { .. }) => "timeout",
                Some(Action::Reset { .. }) => "reset",
                Some(Action::Truncate) => "truncate",
            };
            *counts.entry(label).or_default() += 1;
        }
        let share = |k: &str| f64::from(counts.get(k).copied().unwrap_or(0)) / 100_000.0;
        assert!((share("5xx") - 0.10).abs() < 0.01);
        assert!((share("429") - 0.05).abs() < 0.01);
        assert!((share("timeout") - 0.02).abs() < 0.005);
        assert!((share("reset") - 0.01).abs() < 0.005);
        assert!((share("truncate") - 0.01).abs() < 0.005);
    }

    #[test]
    fn reset_header_uses_minutes_on_jira() {
        let jira = reset_header(Family::Jira, Duration::from_secs(1));
        assert_eq!(jira.len(), "2026-01-01T00:00Z".len(), "{jira}");
        let org = reset_header(Family::Org, Duration::from_secs(1));
        assert_eq!(org.len(), "2026-01-01T00:00:00Z".len(), "{org}");
    }

    #[test]
    fn default_config_is_valid() {
        assert_eq!(FaultConfig::default().validate(), Ok(()));
        let mut bad = FaultConfig::default();
        bad.rate_limits.statuspage_status = 503;
        assert!(bad.validate().unwrap_err().contains("statuspage_status"));
    }
}
