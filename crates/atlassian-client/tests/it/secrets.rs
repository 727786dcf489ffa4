//! Credentials never leave the client except in the `Authorization` header: not in a log line
//! (every level, the HTTP stack's included), not in an error's `Display` or `Debug`, not in the
//! `Debug` of the client or its configuration.
//!
//! A client is configured with canary credentials, made to fail every way it can (401 from
//! wrong keys on each family, 404, a closed port, a timeout, 5xx until it gives up, a body it
//! cannot decode), and everything it printed is searched for the canary. Scripted servers
//! confirm the canary really was sent, so its absence elsewhere means something. The simulator
//! itself is not under test: its own log lines are left out of the capture.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlassian_client::config::{SiteAuth, SiteConfig, StatuspageConfig};
use atlassian_client::{Client, ClientBuilder, Error, Rate, RateLimits, RetryPolicy};
use base64::Engine;
use futures::TryStreamExt;
use secrecy::SecretString;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use url::Url;

use crate::resilience::{FakeServer, closed_port, http_response};
use crate::support::TestEnv;

const CANARY: &str = "canary-7f3a";
const ORG_KEY: &str = "canary-7f3a91c2-org-api-key";
const SITE_TOKEN: &str = "canary-7f3a55d0-site-api-token";
const GATEWAY_TOKEN: &str = "canary-7f3a0b7e-scoped-gateway-token";
const STATUSPAGE_KEY: &str = "canary-7f3ae4a8-statuspage-key";
const EMAIL: &str = "steward-integration@acme.com";

/// An in-memory sink for formatted log lines.
#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// Every log line at TRACE on this thread (spans opened and closed with their fields, and the
/// `log` records of the HTTP stack), except the simulator's own, until the guard drops.
/// Tests using it run on the current-thread runtime, so the client's tasks are on this thread.
pub(crate) fn capture_logs() -> (Capture, tracing::subscriber::DefaultGuard) {
    // `log` records (reqwest) become tracing events of whatever subscriber is current.
    let _ = tracing_log::LogTracer::init();
    let capture = Capture::default();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(capture.clone())
        .with_ansi(false)
        .with_span_events(FmtSpan::FULL);
    let not_the_simulator = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("atlassian_sim", LevelFilter::OFF)
        .with_target("axum", LevelFilter::OFF)
        .with_target("tower_http", LevelFilter::OFF);
    let subscriber = tracing_subscriber::registry()
        .with(fmt)
        .with(not_the_simulator);
    (capture, scoped_subscriber(subscriber))
}

/// Makes `subscriber` this thread's default until the guard drops.
///
/// tracing-core caches each callsite's interest process-wide; while only one dispatcher is
/// registered it asks the *current thread's* default, so a callsite first reached by a
/// parallel test without a subscriber would be disabled for ours too. A second dispatcher,
/// alive for the whole run, makes it ask every live dispatcher instead.
pub(crate) fn scoped_subscriber(
    subscriber: impl tracing::Subscriber + Send + Sync + 'static,
) -> tracing::subscriber::DefaultGuard {
    static KEEP_ALIVE: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    KEEP_ALIVE.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
    tracing::subscriber::set_default(subscriber)
}

/// Every form a credential could leak in: as is, and as Basic `email:token` in base64.
fn forbidden() -> Vec<String> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{SITE_TOKEN}"));
    vec![CANARY.to_owned(), basic]
}

/// Asserts that no credential appears in `text` (named `what` in the failure).
fn assert_clean(what: &str, text: &str) {
    for needle in forbidden() {
        assert!(
            !text.contains(&needle),
            "{what} leaks a credential ({needle}):\n{text}"
        );
    }
}

/// Asserts that neither the error nor anything it wraps shows a credential.
fn assert_error_clean(err: &Error) {
    assert_clean("an error's Display", &err.to_string());
    assert_clean("an error's Debug", &format!("{err:?}"));
    assert_clean("an error's pretty Debug", &format!("{err:#?}"));
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        assert_clean("an error's source", &cause.to_string());
        source = cause.source();
    }
}

/// A client with canary credentials for every family, at the given URLs.
fn canary_client(api: &str, site: &str, statuspage: &str, cloud_id: &str) -> ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = |s: &str| Url::parse(s).unwrap();
    Client::builder()
        .api_url(url(api))
        .org_api_key(SecretString::from(ORG_KEY))
        .org_id("3b2a8c1e-7f44-4d2a-9c55-0e1f2a3b4c5d")
        .site("acme", url(site), EMAIL, SecretString::from(SITE_TOKEN))
        .gateway_site("gateway", cloud_id, SecretString::from(GATEWAY_TOKEN))
        .statuspage(
            url(statuspage),
            SecretString::from(STATUSPAGE_KEY),
            "sp-org",
        )
        .rate_limits(RateLimits {
            statuspage: Rate {
                per_second: 50.0,
                burst: 50,
            },
            ..RateLimits::default()
        })
        .retry(RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            ..RetryPolicy::default()
        })
}

/// Calls every family through `client` and returns the errors (a lenient model may accept
/// the scripted server's body on some routes).
async fn fail_everywhere(client: &Client) -> Vec<Error> {
    let mut results = vec![
        client.org().orgs().try_collect::<Vec<_>>().await.map(drop),
        client.org().get_org("missing").await.map(drop),
    ];
    for site in ["acme", "gateway"] {
        results.push(
            client
                .jira(site)
                .unwrap()
                .user("5b10ac8d82e05b22cc7d4ef5")
                .await
                .map(drop),
        );
        results.push(
            client
                .confluence(site)
                .unwrap()
                .user("5b10ac8d82e05b22cc7d4ef5")
                .await
                .map(drop),
        );
    }
    results.push(client.statuspage().unwrap().pages().await.map(drop));
    results.into_iter().filter_map(Result::err).collect()
}

#[tokio::test]
async fn no_credential_shows_in_logs_errors_or_debug_output() {
    let (logs, _guard) = capture_logs();
    let env = TestEnv::start().await;
    let info = env.sim.info().clone();
    let site = &info.sites[0];
    let mut errors = vec![];

    // 401 from every family: the simulator does not know the canary keys.
    let wrong_keys = canary_client(
        &info.admin_base_url,
        &site.base_url,
        &info.statuspage.base_url,
        &site.cloud_id,
    )
    .build()
    .unwrap();
    let failures = fail_everywhere(&wrong_keys).await;
    assert_eq!(failures.len(), 7, "{failures:#?}");
    assert!(
        failures
            .iter()
            .all(|e| e.status().map(|s| s.as_u16()) == Some(401)),
        "{failures:#?}"
    );
    errors.extend(failures);

    // 404: the right host, a path that serves nothing.
    let base = env.sim.base_url();
    let nowhere = canary_client(
        &format!("{base}/nowhere"),
        &format!("{base}/nowhere"),
        &format!("{base}/nowhere"),
        &site.cloud_id,
    )
    .build()
    .unwrap();
    let failures = fail_everywhere(&nowhere).await;
    assert!(
        failures
            .iter()
            .any(|e| e.status().map(|s| s.as_u16()) == Some(404)),
        "{failures:#?}"
    );
    errors.extend(failures);

    // Transport errors: nothing listens.
    let closed = format!("http://127.0.0.1:{}", closed_port().await);
    let unreachable = canary_client(&closed, &closed, &closed, &site.cloud_id)
        .build()
        .unwrap();
    let failures = fail_everywhere(&unreachable).await;
    assert_eq!(failures.len(), 7, "{failures:#?}");
    assert!(
        failures
            .iter()
            .all(|e| !e.is_ambiguous() && e.status().is_none()),
        "{failures:#?}"
    );
    errors.extend(failures);

    // A body that does not decode, 5xx until the client gives up, and a server that never
    // answers, each on a scripted server that also shows the canary was really sent.
    let bad_body = FakeServer::start(vec![Some(http_response(
        "200 OK",
        &[],
        r#"{"data":[{"id":7}],"links":{}}"#,
    ))])
    .await;
    let failing = FakeServer::start(vec![Some(http_response(
        "503 Service Unavailable",
        &[],
        r#"{"code":503,"message":"down"}"#,
    ))])
    .await;
    let silent = FakeServer::start(vec![None]).await;
    for (server, expect) in [
        (&bad_body, "decode"),
        (&failing, "503"),
        (&silent, "timeout"),
    ] {
        let client = canary_client(&server.url, &server.url, &server.url, &site.cloud_id)
            .timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        let failures = fail_everywhere(&client).await;
        let first = &failures[0];
        match expect {
            "decode" => assert!(matches!(first, Error::Decode { .. }), "{first:?}"),
            "503" => assert!(
                matches!(first, Error::RetriesExhausted { .. }) && first.is_ambiguous(),
                "{first:?}"
            ),
            _ => assert!(
                first.is_ambiguous() && first.status().is_none(),
                "{first:?}"
            ),
        }
        errors.extend(failures);
        let heads: Vec<String> = server.seen().into_iter().map(|s| s.head).collect();
        for sent in [
            format!("bearer {ORG_KEY}"),
            format!("bearer {GATEWAY_TOKEN}"),
            format!("oauth {STATUSPAGE_KEY}"),
            format!("basic {}", forbidden()[1]),
        ] {
            assert!(
                heads
                    .iter()
                    .any(|h| h.to_lowercase().contains(&sent.to_lowercase())),
                "the canary {sent:?} was never sent, so its absence proves nothing"
            );
        }
        assert_clean("the client's Debug", &format!("{client:?}"));
    }

    for err in &errors {
        assert_error_clean(err);
    }
    for client in [&wrong_keys, &nowhere, &unreachable] {
        assert_clean("the client's Debug", &format!("{client:?}"));
        assert_clean("the client's pretty Debug", &format!("{client:#?}"));
    }

    let logged = logs.text();
    assert!(
        logged.contains("atlassian.request") && logged.contains("401"),
        "the capture saw the client's requests:\n{logged}"
    );
    assert!(
        logged.contains("starting new connection"),
        "the capture saw the HTTP stack's own log records:\n{logged}"
    );
    assert_clean("the log", &logged);
    env.finish().await;
}

#[test]
fn configuration_debug_output_never_shows_a_credential() {
    let url = |s: &str| Url::parse(s).unwrap();
    let basic = SiteConfig {
        name: "acme".into(),
        auth: SiteAuth::Basic {
            base_url: url("https://acme.atlassian.net"),
            email: EMAIL.into(),
            token: SecretString::from(SITE_TOKEN),
        },
    };
    let gateway = SiteConfig {
        name: "acme".into(),
        auth: SiteAuth::Gateway {
            api_url: url("https://api.atlassian.com"),
            cloud_id: "cloud".into(),
            token: SecretString::from(GATEWAY_TOKEN),
        },
    };
    let statuspage = StatuspageConfig {
        base_url: url("https://api.statuspage.io"),
        api_key: SecretString::from(STATUSPAGE_KEY),
        organization_id: "sp-org".into(),
    };
    for config in [&basic, &gateway] {
        assert_clean("a site's Debug", &format!("{config:?} {config:#?}"));
        assert_clean(
            "a site's credentials' Debug",
            &format!("{:?} {:#?}", config.auth, config.auth),
        );
    }
    assert_clean(
        "Statuspage's Debug",
        &format!("{statuspage:?} {statuspage:#?}"),
    );
    let client = canary_client(
        "https://api.atlassian.com",
        "https://acme.atlassian.net",
        "https://api.statuspage.io",
        "cloud",
    )
    .build()
    .unwrap();
    let shown = format!("{client:?}");
    assert!(
        shown.contains("acme") && shown.contains("REDACTED"),
        "{shown}"
    );
    assert_clean("the client's Debug", &format!("{client:?} {client:#?}"));
}
