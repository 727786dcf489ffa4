//! The transport under faults the simulator scripts: throttling, 5xx bursts, resets, truncated
//! bodies, timeouts, writes that may or may not have happened, and pacing of many callers.
//!
//! Faults are scripted on the Org API's `GET /v1/orgs` and `GET /v1/orgs/{orgId}` (any route
//! goes through the same send path). Where the simulator cannot produce an answer on its own
//! (a 429 with only `X-RateLimit-Reset`), a tiny scripted HTTP server stands in.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use atlassian_client::api::org::ALL_DIRECTORIES;
use atlassian_client::{Client, Error, Rate, RateLimits, RetryPolicy, Scope, TransportKind};
use atlassian_sim::SimConfig;
use atlassian_sim::faults::{Counters, LimitConfig};
use futures::TryStreamExt;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use crate::support::{TestEnv, builder_for};

/// Scripts a fault through the control API.
pub(crate) async fn script(env: &TestEnv, fault: Value) {
    let response = env
        .control(Method::POST, "/faults")
        .json(&fault)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, 201, "{fault}: {}", response.text().await.unwrap());
}

/// Removes every scripted fault still waiting.
pub(crate) async fn clear_faults(env: &TestEnv) {
    let response = env.control(Method::DELETE, "/faults").send().await.unwrap();
    assert!(response.status().is_success());
}

/// The simulator's request counters.
pub(crate) fn counters(env: &TestEnv) -> Counters {
    env.sim.app().faults().counters()
}

/// Requests the simulator saw on one Org API route template (e.g. `GET org /v1/orgs`).
fn route_hits(env: &TestEnv, key: &str) -> u64 {
    counters(env).routes.get(key).copied().unwrap_or(0)
}

/// Answers of one status (`"200"`, `"dropped"`, …) the simulator gave on the Org API.
fn org_statuses(env: &TestEnv, status: &str) -> u64 {
    counters(env)
        .families
        .get("org")
        .and_then(|f| f.statuses.get(status).copied())
        .unwrap_or(0)
}

/// A fast retry policy for tests.
fn quick(policy: RetryPolicy) -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        ..policy
    }
}

// ---- throttling ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_429_is_retried_no_earlier_than_its_retry_after_and_halves_concurrency() {
    let env = TestEnv::start().await;
    let limiter = env.client.limiter(&Scope::Org).unwrap();
    let before = limiter.concurrency();
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": "/v1/orgs", "kind": "rate_limit", "retry_after": 1}),
    )
    .await;
    let start = Instant::now();
    let orgs: Vec<_> = env.client.org().orgs().try_collect().await.unwrap();
    let took = start.elapsed();
    assert_eq!(orgs.len(), 1);
    assert!(
        took >= Duration::from_secs(1),
        "the retry came {took:?} after the first attempt, before Retry-After: 1"
    );
    assert!(
        took < Duration::from_secs(3),
        "waited far too long: {took:?}"
    );
    assert_eq!(route_hits(&env, "GET org /v1/orgs"), 2);
    assert_eq!(org_statuses(&env, "429"), 1);
    assert_eq!(
        limiter.concurrency(),
        (before / 2).max(1),
        "a 429 halves the scope's concurrency"
    );
    env.finish().await;
}

#[tokio::test]
async fn a_429_pauses_every_caller_of_the_scope_not_only_the_throttled_one() {
    let env = TestEnv::start().await;
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": "/v1/orgs", "kind": "rate_limit", "retry_after": 1}),
    )
    .await;
    let start = Instant::now();
    let throttled = env.client.org().orgs().try_collect::<Vec<_>>();
    let other = async {
        // Starts after the 429 came back (the first request takes milliseconds).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let org_id = env.client.org_id().unwrap().to_owned();
        env.client.org().get_org(&org_id).await.unwrap();
        start.elapsed()
    };
    let (orgs, other_done) = tokio::join!(throttled, other);
    orgs.unwrap();
    assert!(
        other_done >= Duration::from_secs(1),
        "another caller went ahead during the pause ({other_done:?})"
    );
    assert_eq!(org_statuses(&env, "429"), 1, "nobody was throttled twice");
    env.finish().await;
}

#[tokio::test]
async fn a_retry_after_above_max_retry_after_fails_at_once_with_the_wait_in_the_error() {
    let env = TestEnv::start_with(SimConfig::default(), |b| {
        b.retry(quick(RetryPolicy {
            max_retry_after: Duration::from_secs(5),
            ..RetryPolicy::default()
        }))
    })
    .await;
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": "/v1/orgs", "kind": "rate_limit", "retry_after": 30}),
    )
    .await;
    let start = Instant::now();
    let err = env
        .client
        .org()
        .orgs()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(err.is_rate_limited(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert!(err.to_string().contains("retry after 30s"), "{err}");
    assert_eq!(route_hits(&env, "GET org /v1/orgs"), 1, "no retry at all");
    // The long wait is not imposed on the scope's other callers: they fail or pass on their own.
    let start = Instant::now();
    env.client
        .org()
        .orgs()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(1));
    env.finish().await;
}

#[tokio::test]
async fn x_ratelimit_reset_is_honoured_when_retry_after_is_absent() {
    // The simulator always sends Retry-After with its 429s; a scripted server sends only the reset.
    let reset = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let reset_text = reset.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    // Whole seconds: the server means the start of that second, rounded up.
    let reset_at = chrono::DateTime::parse_from_rfc3339(&reset_text)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let server = FakeServer::start(vec![
        Some(http_response(
            "429 Too Many Requests",
            &[("X-RateLimit-Reset", &reset_text)],
            r#"{"code":429,"message":"Rate limit exceeded"}"#,
        )),
        Some(http_response("200 OK", &[], r#"{"data":[],"links":{}}"#)),
    ])
    .await;
    let client = fake_client(&server, |b| b);
    let orgs: Vec<_> = client.org().orgs().try_collect().await.unwrap();
    assert!(orgs.is_empty());
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let retried_at: chrono::DateTime<chrono::Utc> = seen[1].at.into();
    assert!(
        retried_at >= reset_at,
        "retried at {retried_at}, before X-RateLimit-Reset {reset_at}"
    );
}

#[tokio::test]
async fn a_zero_retry_after_still_backs_off() {
    // "Retry now" (or a reset already past through clock skew) must not become a tight loop.
    let server = FakeServer::start(vec![
        Some(http_response(
            "429 Too Many Requests",
            &[("Retry-After", "0")],
            r#"{"code":429,"message":"Rate limit exceeded"}"#,
        )),
        Some(http_response("200 OK", &[], r#"{"data":[],"links":{}}"#)),
    ])
    .await;
    let client = fake_client(&server, |b| {
        b.retry(RetryPolicy {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_millis(200),
            ..RetryPolicy::default()
        })
    });
    client.org().orgs().try_collect::<Vec<_>>().await.unwrap();
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at.duration_since(seen[0].at).unwrap();
    assert!(gap >= Duration::from_millis(190), "retried after {gap:?}");
}

// ---- 5xx ----------------------------------------------------------------------------------------

#[tokio::test]
async fn a_burst_of_503s_is_retried_until_the_read_succeeds() {
    let env = TestEnv::start().await;
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": "/v1/orgs", "kind": "status", "status": 503, "count": 3}),
    )
    .await;
    let orgs: Vec<_> = env.client.org().orgs().try_collect().await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(route_hits(&env, "GET org /v1/orgs"), 4);
    assert_eq!(org_statuses(&env, "503"), 3);
    env.finish().await;
}

#[tokio::test]
async fn retries_stop_at_max_attempts_with_the_last_error_inside() {
    let env = TestEnv::start_with(SimConfig::default(), |b| {
        b.retry(quick(RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        }))
    })
    .await;
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": "/v1/orgs", "kind": "status", "status": 502, "count": 10}),
    )
    .await;
    let err = env
        .client
        .org()
        .orgs()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    let Error::RetriesExhausted { attempts, last, .. } = &err else {
        panic!("expected RetriesExhausted, got {err:?}");
    };
    assert_eq!(*attempts, 3);
    assert!(
        matches!(**last, Error::Api { status, .. } if status == 502),
        "{last:?}"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert!(err.is_ambiguous() && !err.is_retryable(), "{err}");
    assert!(
        err.to_string().contains("gave up after 3 attempts"),
        "{err}"
    );
    assert_eq!(route_hits(&env, "GET org /v1/orgs"), 3);
    clear_faults(&env).await;
    env.finish().await;
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    let env = TestEnv::start().await;
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": "/v1/orgs", "kind": "status", "status": 400}),
    )
    .await;
    let err = env
        .client
        .org()
        .orgs()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    assert_eq!(route_hits(&env, "GET org /v1/orgs"), 1);
    env.finish().await;
}

// ---- broken connections -------------------------------------------------------------------------

#[tokio::test]
async fn connection_resets_are_retried_for_reads() {
    let env = TestEnv::start().await;
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": "/v1/orgs", "kind": "reset", "count": 2}),
    )
    .await;
    let orgs: Vec<_> = env.client.org().orgs().try_collect().await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(route_hits(&env, "GET org /v1/orgs"), 3);
    assert_eq!(org_statuses(&env, "dropped"), 2);
    env.finish().await;
}

#[tokio::test]
async fn truncated_bodies_are_retried_for_reads() {
    let env = TestEnv::start().await;
    let org_id = env.sim.info().org_id.clone();
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": "/v1/orgs/{orgId}", "kind": "truncate", "count": 2}),
    )
    .await;
    let org = env.client.org().get_org(&org_id).await.unwrap();
    assert_eq!(org.id, org_id);
    assert_eq!(route_hits(&env, "GET org /v1/orgs/{org_id}"), 3);
    env.finish().await;
}

#[tokio::test]
async fn timeouts_are_retried_for_reads() {
    let env = TestEnv::start_with(SimConfig::default(), |b| {
        b.timeout(Duration::from_millis(300))
            .retry(quick(RetryPolicy::default()))
    })
    .await;
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": "/v1/orgs", "kind": "timeout", "hold_ms": 2000}),
    )
    .await;
    let start = Instant::now();
    let orgs: Vec<_> = env.client.org().orgs().try_collect().await.unwrap();
    let took = start.elapsed();
    assert_eq!(orgs.len(), 1);
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1500),
        "gave up on the held request after its own timeout, not the server's hold: {took:?}"
    );
    assert_eq!(route_hits(&env, "GET org /v1/orgs"), 2);
    env.finish().await;
}

#[tokio::test]
async fn a_read_that_keeps_timing_out_fails_as_a_timeout() {
    let env = TestEnv::start_with(SimConfig::default(), |b| {
        b.timeout(Duration::from_millis(200))
            .retry(quick(RetryPolicy {
                max_attempts: 2,
                ..RetryPolicy::default()
            }))
    })
    .await;
    script(
        &env,
        json!({"family": "org", "method": "GET", "path": "/v1/orgs", "kind": "timeout", "hold_ms": 1000, "count": 2}),
    )
    .await;
    let err = env
        .client
        .org()
        .orgs()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    let Error::RetriesExhausted {
        attempts: 2, last, ..
    } = &err
    else {
        panic!("expected two attempts, got {err:?}");
    };
    assert!(
        matches!(
            **last,
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{last:?}"
    );
    assert!(err.is_ambiguous());
    env.finish().await;
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_as_a_connect_failure() {
    let closed = closed_port().await;
    let client = Client::builder()
        .api_url(Url::parse(&format!("http://127.0.0.1:{closed}")).unwrap())
        .org_api_key(SecretString::from("key"))
        .org_id("org")
        .retry(quick(RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        }))
        .build()
        .unwrap();
    let err = client.org().get_org("org").await.unwrap_err();
    let Error::RetriesExhausted {
        attempts: 3, last, ..
    } = &err
    else {
        panic!("expected three attempts, got {err:?}");
    };
    assert!(
        matches!(
            **last,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{last:?}"
    );
    assert!(
        !err.is_ambiguous(),
        "nothing reached a server: certainly not applied"
    );
}

// ---- writes -------------------------------------------------------------------------------------

const GROUPS: &str = "/v2/orgs/{orgId}/directories/{directoryId}/groups";

/// Successful group creations the simulator applied (whatever the client then saw).
fn groups_created(env: &TestEnv) -> u64 {
    counters(env)
        .applied_mutations
        .iter()
        .filter(|(key, _)| key.starts_with("POST ") && key.ends_with("/groups"))
        .map(|(_, n)| n)
        .sum()
}

/// Groups with this name in the simulator's ground truth.
async fn groups_named(env: &TestEnv, name: &str) -> usize {
    let truth: Value = env
        .control(Method::GET, "/ground-truth")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    truth["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["name"] == name)
        .count()
}

#[tokio::test]
async fn a_write_whose_connection_drops_after_it_was_applied_is_not_resent_by_the_transport() {
    let env = TestEnv::start().await;
    script(
        &env,
        json!({"family": "org", "method": "POST", "path": GROUPS, "kind": "reset_after_apply"}),
    )
    .await;
    let group = env
        .client
        .org()
        .create_group(ALL_DIRECTORIES, "resilience-applied", None)
        .await
        .unwrap();
    assert_eq!(group.name.as_deref(), Some("resilience-applied"));
    assert_eq!(
        route_hits(
            &env,
            "POST org /v2/orgs/{org_id}/directories/{directory_id}/groups"
        ),
        1,
        "the create was sent once: the operation found it by reading instead of resending"
    );
    assert_eq!(groups_created(&env), 1);
    assert_eq!(groups_named(&env, "resilience-applied").await, 1);
    env.finish().await;
}

#[tokio::test]
async fn an_ambiguous_write_that_cannot_be_verified_surfaces_as_ambiguous() {
    let env = TestEnv::start().await;
    script(
        &env,
        json!({"family": "org", "method": "POST", "path": GROUPS, "kind": "reset_after_apply"}),
    )
    .await;
    // The verifying read fails too, so the operation hands the transport's verdict back.
    script(
        &env,
        json!({"family": "org", "method": "POST", "path": format!("{GROUPS}/search"), "kind": "status", "status": 400, "count": 5}),
    )
    .await;
    let err = env
        .client
        .org()
        .create_group(ALL_DIRECTORIES, "resilience-unverified", None)
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err:?}");
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Interrupted,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        route_hits(
            &env,
            "POST org /v2/orgs/{org_id}/directories/{directory_id}/groups"
        ),
        1,
        "the transport never resends a non-idempotent write after an ambiguous failure"
    );
    assert_eq!(groups_created(&env), 1, "applied exactly once");
    assert_eq!(groups_named(&env, "resilience-unverified").await, 1);
    clear_faults(&env).await;
    env.finish().await;
}

/// `reset` drops the connection before the simulator processes the request, but after the client
/// sent it: the client cannot tell this from `reset_after_apply` (both are an interrupted
/// connection, [`Error::is_ambiguous`]). Only the operation's verifying read shows that nothing
/// happened and makes sending it again safe.
#[tokio::test]
async fn a_write_dropped_before_it_was_applied_is_still_ambiguous_and_sent_again_only_after_a_read()
{
    let env = TestEnv::start().await;
    script(
        &env,
        json!({"family": "org", "method": "POST", "path": GROUPS, "kind": "reset"}),
    )
    .await;
    script(
        &env,
        json!({"family": "org", "method": "POST", "path": format!("{GROUPS}/search"), "kind": "status", "status": 400}),
    )
    .await;
    let err = env
        .client
        .org()
        .create_group(ALL_DIRECTORIES, "resilience-dropped", None)
        .await
        .unwrap_err();
    assert!(
        err.is_ambiguous(),
        "not applied, yet ambiguous to the client: {err:?}"
    );
    assert_eq!(groups_created(&env), 0);
    // With the read working, the operation sees nothing happened and creates it.
    script(
        &env,
        json!({"family": "org", "method": "POST", "path": GROUPS, "kind": "reset"}),
    )
    .await;
    env.client
        .org()
        .create_group(ALL_DIRECTORIES, "resilience-dropped", None)
        .await
        .unwrap();
    assert_eq!(
        route_hits(
            &env,
            "POST org /v2/orgs/{org_id}/directories/{directory_id}/groups"
        ),
        3,
        "dropped, dropped, then sent again after the read found nothing"
    );
    assert_eq!(groups_created(&env), 1);
    assert_eq!(groups_named(&env, "resilience-dropped").await, 1);
    env.finish().await;
}

#[tokio::test]
async fn a_5xx_on_a_write_is_not_retried_by_the_transport() {
    let env = TestEnv::start().await;
    script(
        &env,
        json!({"family": "org", "method": "POST", "path": GROUPS, "kind": "status", "status": 503}),
    )
    .await;
    script(
        &env,
        json!({"family": "org", "method": "POST", "path": format!("{GROUPS}/search"), "kind": "status", "status": 400}),
    )
    .await;
    let err = env
        .client
        .org()
        .create_group(ALL_DIRECTORIES, "resilience-503", None)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err}");
    assert!(err.is_ambiguous());
    assert_eq!(
        route_hits(
            &env,
            "POST org /v2/orgs/{org_id}/directories/{directory_id}/groups"
        ),
        1
    );
    assert_eq!(groups_created(&env), 0);
    env.finish().await;
}

#[tokio::test]
async fn a_throttled_write_is_retried_by_the_transport_because_it_was_not_processed() {
    let env = TestEnv::start().await;
    script(
        &env,
        json!({"family": "org", "method": "POST", "path": GROUPS, "kind": "rate_limit", "retry_after": 1}),
    )
    .await;
    let start = Instant::now();
    env.client
        .org()
        .create_group(ALL_DIRECTORIES, "resilience-throttled", None)
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert_eq!(
        route_hits(
            &env,
            "POST org /v2/orgs/{org_id}/directories/{directory_id}/groups"
        ),
        2
    );
    assert_eq!(groups_created(&env), 1);
    assert_eq!(
        route_hits(
            &env,
            "POST org /v2/orgs/{org_id}/directories/{directory_id}/groups/search"
        ),
        0,
        "no verifying read was needed"
    );
    env.finish().await;
}

// ---- pacing -------------------------------------------------------------------------------------

/// 100 requests per second, burst 5, on the client; the simulator allows a little more burst
/// (arrival jitter) at the same rate, so any client burst above its budget would be refused.
fn paced(limits: RateLimits) -> RateLimits {
    RateLimits {
        org: Rate {
            per_second: 100.0,
            burst: 5,
        },
        max_concurrency: 16,
        initial_concurrency: 16,
        ..limits
    }
}

fn sim_limited_to_100_per_second() -> SimConfig {
    let mut config = SimConfig::default();
    config.faults.rate_limits.org = LimitConfig::token_bucket(100, 1, 10);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_callers_on_one_scope_never_exceed_its_rate() {
    let env = TestEnv::start_with(sim_limited_to_100_per_second(), |b| {
        b.rate_limits(paced(RateLimits::default()))
    })
    .await;
    let org_id = env.sim.info().org_id.clone();
    let (tasks, each) = (40, 5);
    let start = Instant::now();
    let mut joins = vec![];
    for _ in 0..tasks {
        let (client, org_id) = (env.client.clone(), org_id.clone());
        joins.push(tokio::spawn(async move {
            for _ in 0..each {
                client.org().get_org(&org_id).await.unwrap();
            }
        }));
    }
    for join in joins {
        join.await.unwrap();
    }
    let took = start.elapsed();
    let n = tasks * each;
    // GCRA: the burst goes at once, then one request every 10 ms.
    let floor = Duration::from_secs_f64((n - 5) as f64 / 100.0);
    assert!(
        took + Duration::from_millis(20) >= floor,
        "{n} requests took {took:?}, faster than {floor:?}"
    );
    let c = counters(&env);
    assert_eq!(
        c.rate_limited, 0,
        "the simulator refused requests: the client exceeded its rate"
    );
    assert_eq!(route_hits(&env, "GET org /v1/orgs/{org_id}"), n as u64);
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_clients_with_the_same_credentials_share_one_limiter() {
    let env = TestEnv::start_with(sim_limited_to_100_per_second(), |b| {
        b.rate_limits(paced(RateLimits::default()))
    })
    .await;
    let second = builder_for(&env.sim)
        .rate_limits(paced(RateLimits::default()))
        .build()
        .unwrap();
    assert!(Arc::ptr_eq(
        &env.client.limiter(&Scope::Org).unwrap(),
        &second.limiter(&Scope::Org).unwrap()
    ));
    let other_key = builder_for(&env.sim)
        .org_api_key(SecretString::from(
            env.sim.info().scoped_admin_api_key.clone(),
        ))
        .build()
        .unwrap();
    assert!(
        !Arc::ptr_eq(
            &env.client.limiter(&Scope::Org).unwrap(),
            &other_key.limiter(&Scope::Org).unwrap()
        ),
        "another key is another scope"
    );
    let org_id = env.sim.info().org_id.clone();
    let start = Instant::now();
    let mut joins = vec![];
    for i in 0..20 {
        let client = if i % 2 == 0 {
            env.client.clone()
        } else {
            second.clone()
        };
        let org_id = org_id.clone();
        joins.push(tokio::spawn(async move {
            for _ in 0..5 {
                client.org().get_org(&org_id).await.unwrap();
            }
        }));
    }
    for join in joins {
        join.await.unwrap();
    }
    let took = start.elapsed();
    let floor = Duration::from_secs_f64(95.0 / 100.0);
    assert!(
        took + Duration::from_millis(20) >= floor,
        "two clients together went faster than one scope allows: {took:?}"
    );
    assert_eq!(counters(&env).rate_limited, 0);
    env.finish().await;
}

// ---- a scripted HTTP server ---------------------------------------------------------------------

/// One request a [`FakeServer`] received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// When its head arrived.
    pub at: SystemTime,
    /// The request line and headers.
    pub head: String,
}

/// A minimal HTTP/1.1 server answering each request with the next scripted answer (the last
/// repeats); `None` holds the connection open without answering. Every answer closes the
/// connection.
pub(crate) struct FakeServer {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeServer {
    pub(crate) async fn start(answers: Vec<Option<String>>) -> FakeServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(vec![]));
        let log = seen.clone();
        tokio::spawn(async move {
            let mut served = 0usize;
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let answer = answers[served.min(answers.len() - 1)].clone();
                served += 1;
                let log = log.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    log.lock().unwrap().push(Seen {
                        at: SystemTime::now(),
                        head: String::from_utf8_lossy(&head).into_owned(),
                    });
                    match answer {
                        Some(answer) => {
                            let _ = socket.write_all(answer.as_bytes()).await;
                            let _ = socket.shutdown().await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(30)).await,
                    }
                });
            }
        });
        FakeServer { url, seen }
    }

    /// Every request received so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A complete HTTP/1.1 answer with a JSON body that closes the connection.
pub(crate) fn http_response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

/// A client whose Org API is the fake server.
pub(crate) fn fake_client(
    server: &FakeServer,
    customize: impl FnOnce(atlassian_client::ClientBuilder) -> atlassian_client::ClientBuilder,
) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = Client::builder()
        .api_url(Url::parse(&server.url).unwrap())
        .org_api_key(SecretString::from("fake-key"))
        .org_id("fake-org")
        .retry(quick(RetryPolicy::default()));
    customize(builder).build().unwrap()
}

/// A local port nothing listens on.
pub(crate) async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}
