//! The [`Client`], its builder, and the one send path every operation goes through: pacing
//! per scope, retries with backoff that honour `Retry-After`, tracing and metrics, error
//! parsing, and decoding that names the JSON path of a bad value.
//!
//! What it reports, through `tracing` and the `metrics` facade:
//!
//! | name | kind | labels |
//! |---|---|---|
//! | span `atlassian.request` (DEBUG), one per attempt | span | `family`, `method`, `route`, `attempt`, `backoff_ms`, `wait_ms`, `status` or `error` |
//! | `atlassian_client_requests_total` | counter | `family`, `route`, `status` (HTTP status, or `error` when no answer came) |
//! | `atlassian_client_request_duration_seconds` | histogram | `family`, `route`, `status` |
//! | `atlassian_client_retries_total` | counter | `family`, `route`, `reason` (status, `timeout`, `interrupted`, `connect`) |
//! | `atlassian_client_retry_wait_seconds` | histogram | `family`, `route` |
//! | `atlassian_client_rate_limit_wait_seconds` | histogram | `scope`, `family`, `route` |
//!
//! `route` is always the route template (`/v2/orgs/{orgId}/users/invite`), never a concrete
//! path, so label sets stay bounded and carry no ids.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use backon::BackoffBuilder;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

use crate::config::{RateLimits, RetryPolicy, SiteAuth, SiteConfig, StatuspageConfig};
use crate::error::{
    Error, Result, TransportKind, is_retryable_status, is_throttle_status, parse_error_body,
};
use crate::family::{Family, Scope};
use crate::rate_limit::{ScopeLimiter, limiter_for};

/// A client for every Atlassian API Steward uses. Cheap to clone; clones share connections and
/// rate limiters. Build one with [`Client::builder`].
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    pub(crate) api_url: Url,
    org_key: Option<SecretString>,
    pub(crate) org_id: Option<String>,
    pub(crate) sites: HashMap<String, SiteConfig>,
    pub(crate) statuspage: Option<StatuspageConfig>,
    retry: RetryPolicy,
    limits: RateLimits,
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    api_url: Url,
    org_key: Option<SecretString>,
    org_id: Option<String>,
    sites: HashMap<String, SiteConfig>,
    statuspage: Option<StatuspageConfig>,
    retry: RetryPolicy,
    limits: RateLimits,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
}

impl Client {
    /// A builder with Atlassian's production URLs, default retries and rate limits.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            api_url: Url::parse(crate::config::ATLASSIAN_API).unwrap_or_else(|_| unreachable_url()),
            org_key: None,
            org_id: None,
            sites: HashMap::new(),
            statuspage: None,
            retry: RetryPolicy::default(),
            limits: RateLimits::default(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            user_agent: format!("steward-atlassian-client/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// The configured org id (see [`ClientBuilder::org_id`]).
    pub fn org_id(&self) -> Result<&str> {
        self.inner
            .org_id
            .as_deref()
            .ok_or_else(|| Error::Config("no org id configured".into()))
    }

    /// Names of the configured sites.
    pub fn site_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.sites.keys().cloned().collect();
        names.sort();
        names
    }

    /// The limiter of a scope (for tests and metrics).
    pub fn limiter(&self, scope: &Scope) -> Result<Arc<ScopeLimiter>> {
        let (endpoint, credential) = self.scope_identity(scope)?;
        let rate = match scope {
            Scope::Org => self.inner.limits.org,
            Scope::Jira(_) => self.inner.limits.jira,
            Scope::Confluence(_) => self.inner.limits.confluence,
            Scope::Statuspage => self.inner.limits.statuspage,
        };
        Ok(limiter_for(
            scope.label(),
            &endpoint,
            &credential,
            rate,
            self.inner.limits.initial_concurrency,
            self.inner.limits.max_concurrency,
        ))
    }

    fn scope_identity(&self, scope: &Scope) -> Result<(String, String)> {
        match scope {
            Scope::Org => {
                let key = self
                    .inner
                    .org_key
                    .as_ref()
                    .ok_or_else(|| Error::Config("no org API key configured".into()))?;
                Ok((
                    self.inner.api_url.to_string(),
                    key.expose_secret().to_owned(),
                ))
            }
            Scope::Jira(site) | Scope::Confluence(site) => {
                let config = self.site(site)?;
                Ok(match &config.auth {
                    SiteAuth::Basic {
                        base_url,
                        email,
                        token,
                    } => (
                        base_url.to_string(),
                        format!("{email}:{}", token.expose_secret()),
                    ),
                    SiteAuth::Gateway {
                        api_url,
                        cloud_id,
                        token,
                    } => (
                        format!("{api_url}{cloud_id}"),
                        token.expose_secret().to_owned(),
                    ),
                })
            }
            Scope::Statuspage => {
                let sp = self.statuspage_config()?;
                Ok((
                    sp.base_url.to_string(),
                    sp.api_key.expose_secret().to_owned(),
                ))
            }
        }
    }

    pub(crate) fn site(&self, name: &str) -> Result<&SiteConfig> {
        self.inner.sites.get(name).ok_or_else(|| {
            Error::Config(format!(
                "no credentials for site {name:?}; configured sites: {:?}",
                self.site_names()
            ))
        })
    }

    pub(crate) fn statuspage_config(&self) -> Result<&StatuspageConfig> {
        self.inner
            .statuspage
            .as_ref()
            .ok_or_else(|| Error::Config("no Statuspage key configured".into()))
    }

    /// The URL of `path` (which starts with `/`) on a site's product host, e.g.
    /// `https://acme.atlassian.net/rest/api/3/user` or, through the gateway,
    /// `https://api.atlassian.com/ex/jira/<cloudId>/rest/api/3/user`.
    pub(crate) fn site_url(&self, site: &str, product: SiteProduct, path: &str) -> Result<Url> {
        let config = self.site(site)?;
        let base = match &config.auth {
            SiteAuth::Basic { base_url, .. } => base_url.to_string(),
            SiteAuth::Gateway {
                api_url, cloud_id, ..
            } => {
                let product = match product {
                    SiteProduct::Jira => "jira",
                    SiteProduct::Confluence => "confluence",
                };
                format!(
                    "{}/ex/{product}/{cloud_id}",
                    api_url.as_str().trim_end_matches('/')
                )
            }
        };
        join(&base, path)
    }

    /// The URL of `path` on `https://api.atlassian.com`.
    pub(crate) fn api_url(&self, path: &str) -> Result<Url> {
        join(self.inner.api_url.as_str(), path)
    }

    /// The URL of `path` on `https://api.statuspage.io`.
    pub(crate) fn statuspage_url(&self, path: &str) -> Result<Url> {
        join(self.statuspage_config()?.base_url.as_str(), path)
    }

    fn authorize(
        &self,
        scope: &Scope,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder> {
        Ok(match scope {
            Scope::Org => {
                let key = self
                    .inner
                    .org_key
                    .as_ref()
                    .ok_or_else(|| Error::Config("no org API key configured".into()))?;
                request.bearer_auth(key.expose_secret())
            }
            Scope::Jira(site) | Scope::Confluence(site) => match &self.site(site)?.auth {
                SiteAuth::Basic { email, token, .. } => {
                    request.basic_auth(email, Some(token.expose_secret()))
                }
                SiteAuth::Gateway { token, .. } => request.bearer_auth(token.expose_secret()),
            },
            Scope::Statuspage => {
                let key = &self.statuspage_config()?.api_key;
                let mut value = HeaderValue::from_str(&format!("OAuth {}", key.expose_secret()))
                    .map_err(|_| {
                        Error::Config("the Statuspage key contains invalid characters".into())
                    })?;
                value.set_sensitive(true);
                request.header(reqwest::header::AUTHORIZATION, value)
            }
        })
    }

    /// Sends a call and decodes a JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        let (family, route) = (call.family, call.route);
        let response = self.send(call).await?;
        decode(family, route, &response.body)
    }

    /// Sends a call whose answer body is ignored (204s and the like).
    pub(crate) async fn empty(&self, call: Call) -> Result<()> {
        self.send(call).await.map(|_| ())
    }

    /// The one send path: pacing, retries, tracing, metrics and error parsing.
    ///
    /// Each attempt runs in an `atlassian.request` span (`family`, `method`, `route`,
    /// `attempt`, `backoff_ms`: the sleep before it, `wait_ms`: the time it waited for the
    /// scope's limiter, then `status` or `error`). A `Retry-After` (or `X-RateLimit-Reset`) is
    /// honoured to the letter: the next attempt starts no earlier, and the whole scope pauses
    /// with it; one above [`RetryPolicy::max_retry_after`] fails at once with the wait in the
    /// error.
    pub(crate) async fn send(&self, call: Call) -> Result<Response> {
        let limiter = self.limiter(&call.scope)?;
        let policy = &self.inner.retry;
        let mut backoff = backon::ExponentialBuilder::default()
            .with_min_delay(policy.initial_backoff)
            .with_max_delay(policy.max_backoff)
            .with_jitter()
            .without_max_times()
            .build();
        let start = Instant::now();
        let mut attempt: u32 = 0;
        let mut pending = Duration::ZERO;
        loop {
            attempt += 1;
            let span = tracing::debug_span!(
                "atlassian.request",
                family = call.family.name(),
                method = %call.method,
                route = call.route,
                attempt,
                backoff_ms = pending.as_millis() as u64,
                wait_ms = tracing::field::Empty,
                status = tracing::field::Empty,
                error = tracing::field::Empty,
            );
            let outcome = async {
                if !pending.is_zero() {
                    tokio::time::sleep(pending).await;
                }
                self.attempt(&call, &limiter).await
            }
            .instrument(span.clone())
            .await;
            let err = match outcome {
                Ok(response) => {
                    limiter.on_success();
                    return Ok(response);
                }
                Err(err) => err,
            };
            span.record("error", tracing::field::display(error_label(&err)));
            let asked = err.retry_after();
            if err.is_rate_limited() {
                // A pause longer than we would honour is not imposed on the other callers of
                // the scope: each fails at once instead of hanging.
                limiter.on_throttled(asked.filter(|wait| *wait <= policy.max_retry_after));
            }
            if !self.may_retry(&call, &err) {
                return Err(err);
            }
            let wait = match asked {
                Some(wait) if wait > policy.max_retry_after => return Err(err),
                Some(wait) if !wait.is_zero() => wait,
                // No wait given, or "retry now" (a reset already past, e.g. clock skew): back
                // off. Jitter may add up to the delay itself: keep the documented ceiling.
                _ => backoff
                    .next()
                    .unwrap_or(policy.max_backoff)
                    .min(policy.max_backoff),
            };
            let elapsed = start.elapsed();
            if attempt >= policy.max_attempts || elapsed + wait > policy.max_elapsed {
                return Err(Error::RetriesExhausted {
                    attempts: attempt,
                    elapsed,
                    last: Box::new(err),
                });
            }
            let family = call.family.name();
            metrics::counter!(
                "atlassian_client_retries_total",
                "family" => family,
                "route" => call.route,
                "reason" => error_label(&err)
            )
            .increment(1);
            metrics::histogram!("atlassian_client_retry_wait_seconds", "family" => family, "route" => call.route)
                .record(wait.as_secs_f64());
            tracing::debug!(family, route = call.route, attempt, backoff_ms = wait.as_millis() as u64, error = %err, "retrying");
            pending = wait;
        }
    }

    /// Whether a failed attempt may be repeated: anything retryable for idempotent calls; for
    /// non-idempotent ones only failures that prove the request was not processed (throttled,
    /// or no connection made). Ambiguous failures of writes are left to the operation, which
    /// verifies with a read first.
    fn may_retry(&self, call: &Call, err: &Error) -> bool {
        if !err.is_retryable() {
            return false;
        }
        call.idempotent
            || err.is_rate_limited()
            || matches!(
                err,
                Error::Transport {
                    kind: TransportKind::Connect,
                    ..
                }
            )
    }

    async fn attempt(&self, call: &Call, limiter: &ScopeLimiter) -> Result<Response> {
        let slot = limiter.acquire().await;
        let span = tracing::Span::current();
        span.record("wait_ms", slot.waited.as_millis() as u64);
        metrics::histogram!(
            "atlassian_client_rate_limit_wait_seconds",
            "scope" => limiter.label().to_owned(),
            "family" => call.family.name(),
            "route" => call.route
        )
        .record(slot.waited.as_secs_f64());
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone());
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        for (name, value) in &call.headers {
            request = request.header(*name, *value);
        }
        request = match &call.body {
            Some(CallBody::Json(value)) => request.json(value),
            Some(CallBody::Form(pairs)) => request.form(pairs),
            None => request,
        };
        request = self.authorize(&call.scope, request)?;
        let sent = Instant::now();
        let result = request.send().await;
        let transport = |e: reqwest::Error| transport_error(call, &e);
        let response = match result {
            Ok(response) => response,
            Err(e) => {
                record_metrics(call, "error", sent.elapsed());
                return Err(transport(e));
            }
        };
        let status = response.status();
        span.record("status", status.as_u16());
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| {
            record_metrics(call, "error", sent.elapsed());
            transport(e)
        })?;
        record_metrics(call, status.as_str(), sent.elapsed());
        if status.is_success() {
            return Ok(Response {
                status,
                headers,
                body: body.to_vec(),
            });
        }
        let (code, message, details) = parse_error_body(&body);
        let retry_after = if is_retryable_status(status) || is_throttle_status(status) {
            retry_after(&headers)
        } else {
            None
        };
        Err(Error::Api {
            family: call.family,
            method: call.method.to_string(),
            route: call.route,
            status,
            code,
            message: message
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
            retry_after,
            details: details.map(Box::new),
        })
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_url", &self.inner.api_url.as_str())
            .field(
                "org_key",
                &self.inner.org_key.as_ref().map(|_| "[REDACTED]"),
            )
            .field("org_id", &self.inner.org_id)
            .field("sites", &self.site_names())
            .field("statuspage", &self.inner.statuspage)
            .finish()
    }
}

/// Counts one attempt (`status` is the HTTP status, or `error` when none came back) and records
/// its latency.
fn record_metrics(call: &Call, status: &str, latency: Duration) {
    metrics::counter!(
        "atlassian_client_requests_total",
        "family" => call.family.name(),
        "route" => call.route,
        "status" => status.to_owned()
    )
    .increment(1);
    metrics::histogram!(
        "atlassian_client_request_duration_seconds",
        "family" => call.family.name(),
        "route" => call.route,
        "status" => status.to_owned()
    )
    .record(latency.as_secs_f64());
}

/// A short label of a failure for spans and metrics: the HTTP status, or what went wrong.
fn error_label(err: &Error) -> String {
    match err {
        Error::Api { status, .. } => status.as_str().to_owned(),
        Error::Transport { kind, .. } => match kind {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            TransportKind::Interrupted => "interrupted",
            TransportKind::Other => "transport",
        }
        .to_owned(),
        Error::Decode { .. } => "decode".to_owned(),
        Error::RepeatedCursor { .. } => "repeated-cursor".to_owned(),
        Error::RetriesExhausted { last, .. } => error_label(last),
        Error::Config(_) => "config".to_owned(),
        Error::InvalidInput(_) => "invalid-input".to_owned(),
    }
}

fn transport_error(call: &Call, e: &reqwest::Error) -> Error {
    let kind = if e.is_connect() {
        TransportKind::Connect
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_request() || e.is_body() || e.is_decode() {
        TransportKind::Interrupted
    } else if e.is_builder() {
        TransportKind::Other
    } else {
        TransportKind::Interrupted
    };
    // reqwest's Display includes the URL; ours never carry credentials (keys go in headers).
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Transport {
        family: call.family,
        method: call.method.to_string(),
        route: call.route,
        kind,
        message,
    }
}

/// `Retry-After` (seconds or an HTTP date), else `X-RateLimit-Reset` (ISO-8601 or epoch seconds).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(value) = text("retry-after") {
        if let Ok(seconds) = value.parse::<f64>() {
            // `1e999`, `inf` or any wait too long for a Duration: longer than any we honour
            // (found by the `atlassian_response` fuzz target; `from_secs_f64` panicked).
            return Some(Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(
                at.duration_since(std::time::SystemTime::now())
                    .unwrap_or_default(),
            );
        }
    }
    let reset = text("x-ratelimit-reset")?;
    let now = chrono::Utc::now();
    let at = chrono::DateTime::parse_from_rfc3339(reset)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(reset, "%Y-%m-%dT%H:%MZ").map(|t| t.and_utc())
        })
        .ok()
        .or_else(|| {
            reset
                .parse::<i64>()
                .ok()
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        })?;
    Some((at - now).to_std().unwrap_or_default())
}

/// Decodes JSON, naming the path of the first bad value.
pub(crate) fn decode<T: DeserializeOwned>(
    family: Family,
    route: &'static str,
    body: &[u8],
) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| Error::Decode {
        family,
        route,
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })
}

fn join(base: &str, path: &str) -> Result<Url> {
    check_segments(path)?;
    Url::parse(&format!("{}{path}", base.trim_end_matches('/')))
        .map_err(|e| Error::InvalidInput(format!("cannot build a URL from {path:?}: {e}")))
}

/// Refuses a path with an empty, `.` or `..` segment. Every id is percent-encoded by
/// [`segment`], so it can't add a `/`, `?` or `#`; but URL parsing (WHATWG, as the `url` crate
/// and every HTTP stack does) resolves `.` and `..`, and their encoded forms `%2e`, so an id
/// such as `..` would address the parent resource (`/groups/..` is `/`), and an empty id
/// another route (`/groups//memberships`). No Atlassian id is empty or dots alone: such an id
/// is a caller's mistake or an attack, and the request is not sent.
fn check_segments(path: &str) -> Result<()> {
    let route = path.split(['?', '#']).next().unwrap_or_default();
    let Some(rest) = route.strip_prefix('/') else {
        return Ok(());
    };
    for s in rest.split('/') {
        let dots = s.to_ascii_lowercase().replace("%2e", ".");
        if s.is_empty() || dots == "." || dots == ".." {
            return Err(Error::InvalidInput(format!(
                "an id in {path:?} is empty or only dots: it would address another resource"
            )));
        }
    }
    Ok(())
}

/// Percent-encodes one path segment (account ids contain `:`, group names spaces).
pub(crate) fn segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[allow(clippy::panic)]
fn unreachable_url() -> Url {
    // The constant above is a valid URL; this is never reached.
    panic!("invalid built-in URL")
}

/// Which product host of a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SiteProduct {
    /// Jira and JSM.
    Jira,
    /// Confluence.
    Confluence,
}

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum CallBody {
    /// JSON.
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded`.
    #[allow(dead_code)] // part of the `Call` API; no operation sends a form yet
    Form(Vec<(String, String)>),
}

/// One request, described before it is sent (so it can be sent again).
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) family: Family,
    pub(crate) scope: Scope,
    pub(crate) method: Method,
    /// Route template for logs and metrics.
    pub(crate) route: &'static str,
    pub(crate) url: Url,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(&'static str, &'static str)>,
    pub(crate) body: Option<CallBody>,
    /// Whether sending it twice has the same effect as once.
    pub(crate) idempotent: bool,
}

impl Call {
    /// A call; GET, PUT and DELETE are idempotent, POST is not unless marked.
    pub(crate) fn new(
        family: Family,
        scope: Scope,
        method: Method,
        route: &'static str,
        url: Url,
    ) -> Call {
        let idempotent = method != Method::POST && method != Method::PATCH;
        Call {
            family,
            scope,
            method,
            route,
            url,
            query: vec![],
            headers: vec![],
            body: None,
            idempotent,
        }
    }

    /// Adds a query parameter.
    pub(crate) fn query(mut self, name: &str, value: impl ToString) -> Call {
        self.query.push((name.to_owned(), value.to_string()));
        self
    }

    /// Adds a query parameter when present.
    pub(crate) fn query_opt(self, name: &str, value: Option<impl ToString>) -> Call {
        match value {
            Some(v) => self.query(name, v),
            None => self,
        }
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &'static str, value: &'static str) -> Call {
        self.headers.push((name, value));
        self
    }

    /// Sets a JSON body.
    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Call> {
        let value = serde_json::to_value(body)
            .map_err(|e| Error::InvalidInput(format!("cannot encode the request body: {e}")))?;
        self.body = Some(CallBody::Json(value));
        Ok(self)
    }

    /// Sets a form body.
    #[allow(dead_code)] // part of the `Call` API; no operation sends a form yet
    pub(crate) fn form(mut self, pairs: Vec<(String, String)>) -> Call {
        self.body = Some(CallBody::Form(pairs));
        self
    }

    /// Marks the call idempotent (e.g. a POST search, or an assign that is a no-op when repeated).
    pub(crate) fn idempotent(mut self) -> Call {
        self.idempotent = true;
        self
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    #[allow(dead_code)]
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl ClientBuilder {
    /// Where `https://api.atlassian.com` is (Org API, user management, scoped-token gateway).
    pub fn api_url(mut self, url: Url) -> ClientBuilder {
        self.api_url = url;
        self
    }

    /// The org API key (`Authorization: Bearer`).
    pub fn org_api_key(mut self, key: SecretString) -> ClientBuilder {
        self.org_key = Some(key);
        self
    }

    /// The org id the Org API calls address.
    pub fn org_id(mut self, org_id: impl Into<String>) -> ClientBuilder {
        self.org_id = Some(org_id.into());
        self
    }

    /// A site reached with an unscoped API token (Basic `email:token`) at `base_url`
    /// (`https://<site>.atlassian.net`).
    pub fn site(
        mut self,
        name: impl Into<String>,
        base_url: Url,
        email: impl Into<String>,
        token: SecretString,
    ) -> ClientBuilder {
        let name = name.into();
        self.sites.insert(
            name.clone(),
            SiteConfig {
                name,
                auth: SiteAuth::Basic {
                    base_url,
                    email: email.into(),
                    token,
                },
            },
        );
        self
    }

    /// A site reached with a scoped API token (Bearer) through the `api_url` gateway.
    pub fn gateway_site(
        mut self,
        name: impl Into<String>,
        cloud_id: impl Into<String>,
        token: SecretString,
    ) -> ClientBuilder {
        let name = name.into();
        let auth = SiteAuth::Gateway {
            api_url: self.api_url.clone(),
            cloud_id: cloud_id.into(),
            token,
        };
        self.sites.insert(name.clone(), SiteConfig { name, auth });
        self
    }

    /// Statuspage: base URL (`https://api.statuspage.io`), key and organization id.
    pub fn statuspage(
        mut self,
        base_url: Url,
        api_key: SecretString,
        organization_id: impl Into<String>,
    ) -> ClientBuilder {
        self.statuspage = Some(StatuspageConfig {
            base_url,
            api_key,
            organization_id: organization_id.into(),
        });
        self
    }

    /// Retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> ClientBuilder {
        self.retry = policy;
        self
    }

    /// Pacing and concurrency per scope.
    pub fn rate_limits(mut self, limits: RateLimits) -> ClientBuilder {
        self.limits = limits;
        self
    }

    /// Timeout of one attempt (connect + answer).
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = timeout;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout.min(self.timeout))
            .user_agent(self.user_agent)
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                api_url: self.api_url,
                org_key: self.org_key,
                org_id: self.org_id,
                sites: self.sites,
                statuspage: self.statuspage,
                retry: self.retry,
                limits: self.limits,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_dates_and_rate_limit_reset() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let mut h = HeaderMap::new();
        let later = chrono::Utc::now() + chrono::Duration::seconds(90);
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&later.to_rfc3339()).unwrap(),
        );
        let wait = retry_after(&h).unwrap();
        assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
        let mut h = HeaderMap::new();
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_static("2020-01-01T00:00Z"),
        );
        assert_eq!(
            retry_after(&h),
            Some(Duration::ZERO),
            "a reset in the past means no wait"
        );
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn a_retry_after_too_long_for_a_duration_is_the_longest_wait_not_a_panic() {
        for (value, expected) in [
            ("1e999", Duration::MAX),
            ("inf", Duration::MAX),
            ("18446744073709551616", Duration::MAX),
            ("-inf", Duration::ZERO),
            ("NaN", Duration::ZERO),
            ("-3", Duration::ZERO),
        ] {
            let mut h = HeaderMap::new();
            h.insert("retry-after", HeaderValue::from_static(value));
            assert_eq!(retry_after(&h), Some(expected), "Retry-After: {value}");
        }
    }

    #[test]
    fn decode_errors_name_the_json_path() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Page {
            data: Vec<Item>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Item {
            id: String,
        }
        let err =
            decode::<Page>(Family::Org, "/x", br#"{"data":[{"id":"a"},{"id":3}]}"#).unwrap_err();
        assert!(
            matches!(&err, Error::Decode { path, .. } if path == "data[1].id"),
            "{err}"
        );
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("712020:abc"), "712020%3Aabc");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn hostile_ids_stay_inside_their_segment() {
        // `/`, `?`, `#`, `%` and `\` are encoded: the id can't leave its segment.
        let base = "https://api.example.test";
        for (id, wire) in [
            ("../../v1/orgs", "..%2F..%2Fv1%2Forgs"),
            ("a/b", "a%2Fb"),
            ("a?b=c", "a%3Fb%3Dc"),
            ("a#b", "a%23b"),
            ("a%2Fb", "a%252Fb"),
            ("a\\b", "a%5Cb"),
            ("a\r\nX-Injected: 1", "a%0D%0AX-Injected%3A%201"),
            ("evil.com@x", "evil.com%40x"),
            ("%2e%2e", "%252e%252e"),
        ] {
            let url = join(base, &format!("/v1/groups/{}/memberships", segment(id))).unwrap();
            assert_eq!(
                url.path(),
                format!("/v1/groups/{wire}/memberships"),
                "{id:?}"
            );
            assert_eq!(url.host_str(), Some("api.example.test"), "{id:?}");
            assert_eq!(url.query(), None, "{id:?}");
            assert_eq!(url.fragment(), None, "{id:?}");
        }
    }

    #[test]
    fn empty_and_dot_ids_are_refused_before_sending() {
        let base = "https://api.example.test";
        let paths = ["", ".", ".."]
            .map(|id| format!("/v1/groups/{}/memberships", segment(id)))
            .into_iter()
            .chain(["%2e", "%2E%2e", ".%2E"].map(|raw| format!("/v1/groups/{raw}/memberships")));
        for path in paths {
            let err = join(base, &path).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput(m) if m.contains("only dots")),
                "{path:?}: {err}"
            );
        }
        // Dots inside an id are fine.
        assert!(join(base, &format!("/v1/users/{}", segment("a..b"))).is_ok());
        assert!(join(base, "/v1/orgs?cursor=..").is_ok());
    }
}
