//! Client configuration: credentials, base URLs, retry and rate-limit policy.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// `https://api.atlassian.com`.
pub const ATLASSIAN_API: &str = "https://api.atlassian.com";
/// `https://api.statuspage.io`.
pub const STATUSPAGE_API: &str = "https://api.statuspage.io";

/// How to reach one site's Jira, JSM and Confluence.
#[derive(Clone)]
pub struct SiteConfig {
    /// Site name (`acme` for `acme.atlassian.net`); the handle callers use.
    pub name: String,
    /// How to authenticate.
    pub auth: SiteAuth,
}

/// Site credentials.
#[derive(Clone)]
pub enum SiteAuth {
    /// An unscoped API token, sent as Basic `email:token` to the site's own URL.
    Basic {
        /// `https://<site>.atlassian.net` (or a simulator URL).
        base_url: Url,
        /// The account's email.
        email: String,
        /// The account's API token.
        token: SecretString,
    },
    /// A scoped API token, sent as Bearer through the `https://api.atlassian.com/ex/{product}/{cloudId}`
    /// gateway.
    Gateway {
        /// `https://api.atlassian.com` (or a simulator URL).
        api_url: Url,
        /// The site's cloud id.
        cloud_id: String,
        /// The scoped token.
        token: SecretString,
    },
}

impl std::fmt::Debug for SiteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.auth {
            SiteAuth::Basic {
                base_url, email, ..
            } => format!("Basic {email} @ {base_url}"),
            SiteAuth::Gateway { cloud_id, .. } => format!("Gateway cloud {cloud_id}"),
        };
        f.debug_struct("SiteConfig")
            .field("name", &self.name)
            .field("auth", &kind)
            .finish()
    }
}

impl std::fmt::Debug for SiteAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SiteAuth::Basic {
                base_url, email, ..
            } => f
                .debug_struct("Basic")
                .field("base_url", &base_url.as_str())
                .field("email", email)
                .field("token", &"[REDACTED]")
                .finish(),
            SiteAuth::Gateway {
                api_url, cloud_id, ..
            } => f
                .debug_struct("Gateway")
                .field("api_url", &api_url.as_str())
                .field("cloud_id", cloud_id)
                .field("token", &"[REDACTED]")
                .finish(),
        }
    }
}

/// Statuspage credentials.
#[derive(Clone)]
pub struct StatuspageConfig {
    /// `https://api.statuspage.io` (or a simulator URL).
    pub base_url: Url,
    /// API key (`Authorization: OAuth <key>`).
    pub api_key: SecretString,
    /// The Statuspage organization id.
    pub organization_id: String,
}

impl std::fmt::Debug for StatuspageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatuspageConfig")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &"[REDACTED]")
            .field("organization_id", &self.organization_id)
            .finish()
    }
}

/// When and how long to retry.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Most attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff delay (exponential, with full jitter).
    pub initial_backoff: Duration,
    /// Largest backoff delay.
    pub max_backoff: Duration,
    /// Give up when the next wait would end after this much time since the first attempt.
    pub max_elapsed: Duration,
    /// Longest `Retry-After` honoured; a longer one fails at once with the wait in the error.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// A request rate: `per_second` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Sustained requests per second (may be fractional, e.g. 1.0 for Statuspage).
    pub per_second: f64,
    /// Requests allowed at once above the sustained rate.
    pub burst: u32,
}

/// Client-side pacing per scope, so we slow down before Atlassian answers 429.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Org API and user management (one org key).
    pub org: Rate,
    /// Each site's Jira + JSM.
    pub jira: Rate,
    /// Each site's Confluence.
    pub confluence: Rate,
    /// Each Statuspage key (documented: 1 request per second).
    pub statuspage: Rate,
    /// Most requests in flight per scope; the adaptive limit never goes above it.
    pub max_concurrency: usize,
    /// Requests in flight per scope at start; grows while not throttled, halves on 429.
    pub initial_concurrency: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            org: Rate {
                per_second: 50.0,
                burst: 50,
            },
            jira: Rate {
                per_second: 50.0,
                burst: 50,
            },
            confluence: Rate {
                per_second: 50.0,
                burst: 50,
            },
            statuspage: Rate {
                per_second: 1.0,
                burst: 1,
            },
            max_concurrency: 16,
            initial_concurrency: 4,
        }
    }
}
