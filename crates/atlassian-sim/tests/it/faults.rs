//! Realism: rate limits per scope, scripted faults (status, rate limit, timeout, reset,
//! truncation, before and after the change is applied), seeded fault profiles and latency.

// Test helpers outside #[test] functions unwrap freely too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use atlassian_sim::SimConfig;
use atlassian_sim::conformance;
use atlassian_sim::faults::{FaultConfig, FaultProfile};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestEnv;

async fn truth(env: &TestEnv) -> Value {
    env.control(Method::GET, "/ground-truth")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn configure(env: &TestEnv, patch: Value) {
    let resp = env
        .control(Method::PUT, "/config")
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
}

async fn script(env: &TestEnv, fault: Value) -> Value {
    let resp = env
        .control(Method::POST, "/faults")
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );
    resp.json().await.unwrap()
}

async fn counters(env: &TestEnv) -> Value {
    env.control(Method::GET, "/counters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn group_exists(truth: &Value, name: &str) -> bool {
    truth["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == name)
}

fn create_group(env: &TestEnv, name: &str) -> reqwest::RequestBuilder {
    env.org(
        Method::POST,
        &format!("/admin/v2/orgs/{}/directories/-/groups", env.org_id()),
    )
    .json(&json!({"name": name}))
}

const GROUPS_PATH: &str = "/v2/orgs/{orgId}/directories/{directoryId}/groups";

#[tokio::test]
async fn statuspage_burst_beyond_the_limit_gets_420_with_retry_after_and_no_side_effect() {
    let env = TestEnv::start().await;
    let sp_org = env.sim.info().statuspage.organization_id.clone();
    // The documented limit: 60 requests in a rolling minute.
    for i in 0..60 {
        let resp = env
            .statuspage(Method::GET, "/v1/pages")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "request {i}");
        assert_eq!(header(&resp, "x-ratelimit-limit"), "60");
        assert_eq!(header(&resp, "x-ratelimit-remaining"), (59 - i).to_string());
    }
    let members_before = truth(&env).await["statuspage"]["members"].clone();
    let resp = env
        .statuspage(Method::POST, &format!("/v1/organizations/{sp_org}/users"))
        .json(&json!({"user": {"email": "burst@acme.com", "first_name": "Burst", "last_name": "Test"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 420);
    let retry_after: u64 = header(&resp, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&resp, "x-ratelimit-limit"), "60");
    assert_eq!(header(&resp, "x-ratelimit-remaining"), "0");
    assert!(chrono::DateTime::parse_from_rfc3339(header(&resp, "x-ratelimit-reset")).is_ok());
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("Rate limit"),
        "{body}"
    );
    // The refused request never reached the handler.
    let after = truth(&env).await;
    assert_eq!(after["statuspage"]["members"], members_before);
    assert!(
        !after["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["email"] == "burst@acme.com")
    );
    assert_eq!(counters(&env).await["rate_limited"], 1);
    // 429 instead of 420 when configured; the control API itself is never limited.
    configure(
        &env,
        json!({"rate_limits": {"statuspage_status": 429, "statuspage": {"requests": 1}}}),
    )
    .await;
    let resp = env
        .statuspage(Method::GET, "/v1/pages")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = env
        .statuspage(Method::GET, "/v1/pages")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        env.sim
            .exchanges()
            .iter()
            .filter(|e| e.status == 429 || e.status == 420)
            .all(|e| e.fault_injected)
    );
    env.finish().await;
}

#[tokio::test]
async fn org_limit_answers_429_with_headers_and_the_gateway_body() {
    let env = TestEnv::start().await;
    configure(
        &env,
        json!({"rate_limits": {"org": {"kind": "token_bucket", "requests": 1, "per_seconds": 60, "burst": 2}}}),
    )
    .await;
    let org = env.org_id();
    for remaining in ["1", "0"] {
        let resp = env
            .org(Method::GET, &format!("/admin/v1/orgs/{org}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header(&resp, "x-ratelimit-limit"), "2");
        assert_eq!(header(&resp, "x-ratelimit-remaining"), remaining);
    }
    let resp = create_group(&env, "throttled-group").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = header(&resp, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&resp, "x-ratelimit-remaining"), "0");
    assert!(chrono::DateTime::parse_from_rfc3339(header(&resp, "x-ratelimit-reset")).is_ok());
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"code": 429, "message": "Rate limit exceeded"})
    );
    assert!(!group_exists(&truth(&env).await, "throttled-group"));
    // The user management API shares the api.atlassian.com scope.
    let someone = env.sim.info().integration_account_id.clone();
    let resp = env
        .org(Method::GET, &format!("/users/{someone}/manage/profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    // The throttled Org answer is what the spec declares for 429 (ProxyError).
    let mut throttled: Vec<_> = env
        .sim
        .exchanges()
        .into_iter()
        .filter(|e| e.status == 429 && e.spec_path.starts_with("/v2/"))
        .collect();
    assert_eq!(throttled.len(), 1);
    assert!(throttled[0].fault_injected);
    throttled[0].fault_injected = false;
    assert_eq!(conformance::check_all(&throttled), vec![]);
    env.finish().await;
}

#[tokio::test]
async fn jira_limit_names_the_burst_limiter_and_a_minute_reset_time() {
    let env = TestEnv::start().await;
    configure(
        &env,
        json!({"rate_limits": {"jira": {"requests": 1, "per_seconds": 30, "burst": 1}}}),
    )
    .await;
    let site = env.site_name();
    let resp = env
        .site(Method::GET, &site, "/rest/api/3/group/bulk")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // JSM shares the site's Jira scope.
    let resp = env
        .site(Method::GET, &site, "/rest/servicedeskapi/servicedesk")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let resp = env
        .site(Method::GET, &site, "/rest/api/3/group/bulk")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&resp, "ratelimit-reason"), "jira-burst-based");
    let reset = header(&resp, "x-ratelimit-reset");
    assert!(
        chrono::NaiveDateTime::parse_from_str(reset, "%Y-%m-%dT%H:%MZ").is_ok(),
        "{reset}"
    );
    let retry_after: u64 = header(&resp, "retry-after").parse().unwrap();
    assert!(retry_after >= 1);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["errorMessages"][0]
            .as_str()
            .unwrap()
            .contains("Rate limit"),
        "{body}"
    );
    // Confluence on the same site has its own scope.
    let resp = env
        .site(Method::GET, &site, "/wiki/rest/api/group")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Rate limits can be switched off.
    configure(&env, json!({"rate_limits": {"enabled": false}})).await;
    let resp = env
        .site(Method::GET, &site, "/rest/api/3/group/bulk")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("x-ratelimit-limit").is_none());
    env.finish().await;
}

#[tokio::test]
async fn scripted_503_hits_the_next_two_matching_requests_then_success() {
    let env = TestEnv::start().await;
    let org = env.org_id();
    script(&env, json!({"family": "org", "method": "GET", "path": "/v1/orgs/{orgId}", "kind": "status", "status": 503, "retry_after": 2, "count": 2})).await;
    // Not matching: another path.
    let resp = env.org(Method::GET, "/admin/v1/orgs").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    for _ in 0..2 {
        let resp = env
            .org(Method::GET, &format!("/admin/v1/orgs/{org}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&resp, "retry-after"), "2");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], 503, "{body}");
    }
    let resp = env
        .org(Method::GET, &format!("/admin/v1/orgs/{org}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let list: Value = env
        .control(Method::GET, "/faults")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["faults"], json!([]));
    // A scripted status uses the family's own error shape; a scripted rate limit the limiter's.
    let site = env.site_name();
    script(&env, json!({"family": "jira", "path_prefix": "/rest/api/3/group", "kind": "status", "status": 500})).await;
    let resp = env
        .site(Method::GET, &site, "/rest/api/3/group/bulk")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(resp.json::<Value>().await.unwrap()["errorMessages"].is_array());
    script(
        &env,
        json!({"family": "statuspage", "kind": "rate_limit", "retry_after": 7}),
    )
    .await;
    let resp = env
        .statuspage(Method::GET, "/v1/pages")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 420);
    assert_eq!(header(&resp, "retry-after"), "7");
    assert_eq!(header(&resp, "x-ratelimit-remaining"), "0");
    let injected = env
        .sim
        .exchanges()
        .iter()
        .filter(|e| e.fault_injected)
        .count();
    assert_eq!(injected, 4);
    assert_eq!(counters(&env).await["faults_injected"], 4);
    env.finish().await;
}

#[tokio::test]
async fn truncate_and_reset_after_apply_fail_the_client_but_apply_the_write() {
    let env = TestEnv::start().await;
    script(
        &env,
        json!({"method": "POST", "path": GROUPS_PATH, "kind": "truncate"}),
    )
    .await;
    let resp = create_group(&env, "truncated-group").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let announced: usize = header(&resp, "content-length").parse().unwrap();
    let body = resp.bytes().await;
    assert!(
        body.is_err(),
        "a truncated body of {announced} bytes was read: {body:?}"
    );
    assert!(group_exists(&truth(&env).await, "truncated-group"));

    script(
        &env,
        json!({"method": "POST", "path": GROUPS_PATH, "kind": "reset_after_apply"}),
    )
    .await;
    let result = create_group(&env, "reset-after-apply-group").send().await;
    assert!(result.is_err(), "{result:?}");
    assert!(group_exists(&truth(&env).await, "reset-after-apply-group"));

    // The writes were applied exactly once each, although the client saw failures.
    let c = counters(&env).await;
    let key = format!(
        "POST /api/admin/v2/orgs/{}/directories/-/groups",
        env.org_id()
    );
    assert_eq!(c["applied_mutations"][key.as_str()], 2, "{c}");
    assert_eq!(c["families"]["org"]["statuses"]["dropped"], 1, "{c}");
    env.finish().await;
}

#[tokio::test]
async fn reset_and_timeout_drop_the_request_without_applying_it() {
    let env = TestEnv::start().await;
    script(
        &env,
        json!({"method": "POST", "path": GROUPS_PATH, "kind": "reset"}),
    )
    .await;
    let result = create_group(&env, "reset-group").send().await;
    assert!(result.is_err(), "{result:?}");

    script(
        &env,
        json!({"method": "POST", "path": GROUPS_PATH, "kind": "timeout", "hold_ms": 400}),
    )
    .await;
    let started = Instant::now();
    let result = create_group(&env, "timeout-group").send().await;
    assert!(result.is_err(), "{result:?}");
    assert!(started.elapsed() >= Duration::from_millis(400));

    let t = truth(&env).await;
    assert!(!group_exists(&t, "reset-group"));
    assert!(!group_exists(&t, "timeout-group"));
    assert_eq!(counters(&env).await["applied_mutations"], json!({}));

    // timeout_after_apply: held, dropped, but applied.
    script(&env, json!({"method": "POST", "path": GROUPS_PATH, "kind": "timeout_after_apply", "hold_ms": 300})).await;
    let started = Instant::now();
    let result = create_group(&env, "late-group").send().await;
    assert!(result.is_err(), "{result:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(group_exists(&truth(&env).await, "late-group"));
    // The next request is served normally.
    let resp = create_group(&env, "normal-group").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    env.finish().await;
}

/// What the client saw for each of `n` requests: a status, or `err`.
async fn outcomes(env: &TestEnv, n: usize) -> Vec<String> {
    let mut out = vec![];
    for _ in 0..n {
        let result = env.org(Method::GET, "/admin/v1/orgs").send().await;
        let seen = match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.bytes().await {
                    Ok(_) => status.to_string(),
                    Err(_) => format!("{status}-truncated"),
                }
            }
            Err(_) => "err".to_owned(),
        };
        out.push(seen);
    }
    out
}

#[tokio::test]
async fn hostile_profile_is_deterministic_for_a_seed() {
    let hostile = |seed: Option<u64>| SimConfig {
        faults: FaultConfig {
            profile: FaultProfile::Hostile,
            seed,
            timeout_ms: 20,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    };
    let a = TestEnv::start_with(hostile(Some(1))).await;
    let b = TestEnv::start_with(hostile(Some(1))).await;
    let c = TestEnv::start_with(hostile(Some(2))).await;
    let (oa, ob, oc) = (
        outcomes(&a, 120).await,
        outcomes(&b, 120).await,
        outcomes(&c, 120).await,
    );
    assert_eq!(oa, ob);
    assert_ne!(oa, oc);
    assert!(oa.iter().any(|o| o != "200"), "{oa:?}");
    assert!(oa.iter().filter(|o| *o == "200").count() > 60, "{oa:?}");
    // Every injected exchange is flagged, so the conformance check below skips it.
    assert!(
        a.sim
            .exchanges()
            .iter()
            .filter(|e| e.status != 200)
            .all(|e| e.fault_injected)
    );
    for env in [a, b, c] {
        env.finish().await;
    }
}

#[tokio::test]
async fn latency_delays_atlassian_requests() {
    let env = TestEnv::start().await;
    configure(&env, json!({"latency_ms": 150, "jitter_ms": 20})).await;
    let started = Instant::now();
    let resp = env.org(Method::GET, "/admin/v1/orgs").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(130));
    env.finish().await;
}
