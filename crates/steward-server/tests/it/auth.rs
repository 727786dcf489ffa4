//! Sign-in, sessions, CSRF, rate limiting, tokens.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use steward_server::auth::AuthConfig;
use steward_store::Role;

use crate::app::{PASSWORD, error_code, spawn_app, spawn_with, test_config};

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_returns_the_csrf_token() {
    let app = spawn_app().await;
    let r = app.sign_in("Approver@Steward.test", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("steward_session="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain-http loopback: {cookie}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["role"], "approver");
    assert_eq!(body["kind"], "session");
    assert!(body["csrf_token"].as_str().unwrap().len() >= 40);
    app.stop().await;

    // Anywhere but plain-http loopback the cookie is Secure with the __Host- prefix.
    let mut config = test_config();
    config.auth.secure_cookie = true;
    let app = spawn_with(config, false).await;
    let r = app.sign_in("viewer@steward.test", PASSWORD).await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-steward_session="), "{cookie}");
    assert!(cookie.contains("; Secure"), "{cookie}");
    app.stop().await;
}

#[tokio::test]
async fn wrong_password_unknown_email_and_disabled_user_get_the_same_answer() {
    let app = spawn_app().await;
    let (_, users) = app.get_json(Role::Admin, "/api/v1/users").await;
    let requester = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "requester")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = app
        .as_role(
            Role::Admin,
            Method::PATCH,
            &format!("/api/v1/users/{requester}"),
        )
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut answers = Vec::new();
    for (email, password) in [
        ("viewer@steward.test", "wrong password!"),
        ("nobody@steward.test", PASSWORD),
        ("requester@steward.test", PASSWORD),
    ] {
        let r = app.sign_in(email, password).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().get("set-cookie").is_none());
        let body: Value = r.json().await.unwrap();
        answers.push(body);
    }
    assert_eq!(error_code(&answers[0]), "INVALID_CREDENTIALS");
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    app.stop().await;
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_address_and_email() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let r = app.sign_in("viewer@steward.test", "wrong password!").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused now, and the answer says to wait.
    let r = app.sign_in("VIEWER@steward.test", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = r.json().await.unwrap();
    assert_eq!(error_code(&body), "RATE_LIMITED");
    // Another email from the same address is not affected.
    let r = app.sign_in("admin@steward.test", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn cookie_requests_that_change_something_need_the_csrf_token() {
    let app = spawn_app().await;
    let (cookie, csrf) = app.session(Role::Admin).await;
    let create = |csrf: Option<&str>, name: &str| {
        let mut req = app
            .client
            .post(app.url("/api/v1/tokens"))
            .header("cookie", &cookie)
            .json(&json!({"name": name, "role": "viewer"}));
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        req.send()
    };
    let r = create(None, "a").await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(&r.json().await.unwrap()), "CSRF_FAILED");
    let r = create(Some("forged"), "b").await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = create(Some(&csrf), "c").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Reads need no CSRF token.
    let r = app
        .client
        .get(app.url("/api/v1/tokens"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Nothing was created by the refused requests.
    let (_, tokens) = app.get_json(Role::Admin, "/api/v1/tokens").await;
    let names: Vec<&str> = tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"c") && !names.contains(&"a") && !names.contains(&"b"),
        "{names:?}"
    );
    // GET /session gives the CSRF token back to the session holder.
    let r = app
        .client
        .get(app.url("/api/v1/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["csrf_token"], csrf.as_str());
    app.stop().await;
}

#[tokio::test]
async fn sessions_expire_when_idle_and_absolutely() {
    let mut config = test_config();
    config.auth = AuthConfig {
        idle_timeout: Duration::from_millis(1500),
        absolute_timeout: Duration::from_secs(4),
        ..config.auth
    };
    let app = spawn_with(config, false).await;
    let me = |cookie: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/v1/session"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Idle: unused for longer than the idle timeout.
    let (idle, _) = app.session(Role::Viewer).await;
    assert_eq!(me(idle.clone()).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(me(idle.clone()).await, StatusCode::UNAUTHORIZED);
    // Absolute: used every second, it still ends after the absolute timeout.
    let (busy, _) = app.session(Role::Viewer).await;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(3500) {
        assert_eq!(me(busy.clone()).await, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(me(busy).await, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn sign_out_ends_the_session_and_clears_the_cookie() {
    let app = spawn_app().await;
    let (cookie, csrf) = app.session(Role::Viewer).await;
    let r = app
        .client
        .delete(app.url("/api/v1/session"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let r = app
        .client
        .get(app.url("/api/v1/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn revoked_tokens_and_disabled_users_lose_access_at_once() {
    let app = spawn_app().await;
    let r = app
        .as_role(Role::Admin, Method::POST, "/api/v1/tokens")
        .json(&json!({"name": "ci", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("stw_"));
    let whoami = |t: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/v1/session"))
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(whoami(token.clone()).await, StatusCode::OK);
    let r = app
        .as_role(
            Role::Admin,
            Method::DELETE,
            &format!("/api/v1/tokens/{}", created["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(whoami(token).await, StatusCode::UNAUTHORIZED);

    let (cookie, _) = app.session(Role::Approver).await;
    let (_, users) = app.get_json(Role::Admin, "/api/v1/users").await;
    let id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "approver")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = app
        .as_role(Role::Admin, Method::PATCH, &format!("/api/v1/users/{id}"))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .get(app.url("/api/v1/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}
