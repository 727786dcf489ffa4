//! Bad input to every endpoint is a 4xx with the error shape and a clear message, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use steward_server::{Access, ROUTES, Surface};
use steward_store::Role;

use crate::app::{TestApp, error_code, spawn_app};

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Option<Vec<u8>>,
) -> (StatusCode, Value) {
    let mut req = app.as_role(Role::Admin, method, path);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

fn concrete(path: &str) -> String {
    path.replace("{email}", "person1@acme.com")
        .replace("{id}", "1")
}

#[tokio::test]
async fn malformed_wrong_typed_unknown_and_oversized_bodies_get_4xx() {
    let app = spawn_app().await;
    let huge = format!(
        "{{\"name\": \"{}\", \"role\": \"viewer\"}}",
        "x".repeat(200 * 1024)
    );
    let cases: Vec<(&str, Option<&str>, Vec<u8>, &str)> = vec![
        ("malformed", Some("application/json"), b"{\"name\": ".to_vec(), "INVALID_JSON"),
        ("not an object", Some("application/json"), b"[1, 2]".to_vec(), "INVALID_JSON"),
        ("wrong type", Some("application/json"), br#"{"name": 5, "role": "viewer", "email": 5, "display_name": 5, "password": 5, "disabled": "yes"}"#.to_vec(), "INVALID_JSON"),
        ("unknown field", Some("application/json"), br#"{"bogus": true}"#.to_vec(), "INVALID_JSON"),
        ("trailing data", Some("application/json"), br#"{} {}"#.to_vec(), "INVALID_JSON"),
        ("not json", Some("text/plain"), b"hello".to_vec(), "UNSUPPORTED_MEDIA_TYPE"),
        ("no content type", None, b"{}".to_vec(), "UNSUPPORTED_MEDIA_TYPE"),
        ("invalid utf-8", Some("application/json"), vec![0xff, 0xfe, 0x7b], "INVALID_JSON"),
        ("oversized", Some("application/json"), huge.into_bytes(), "BODY_TOO_LARGE"),
    ];
    // The API's routes (the console's forms are tested in `console`).
    let with_bodies = ROUTES.iter().filter(|r| {
        r.surface == Surface::Api
            && matches!(r.method.as_str(), "POST" | "PATCH")
            && r.path != "/api/v1/sync/runs"
    });
    for route in with_bodies {
        for (what, ct, body, code) in &cases {
            let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
            let (status, body) =
                send(&app, method, &concrete(route.path), *ct, Some(body.clone())).await;
            assert!(
                status.is_client_error(),
                "{} {} {what}: {status} {body}",
                route.method,
                route.path
            );
            assert_eq!(
                error_code(&body),
                *code,
                "{} {} {what}: {body}",
                route.method,
                route.path
            );
        }
    }
    // A message names where the problem is.
    let (_, body) = send(
        &app,
        Method::POST,
        "/api/v1/tokens",
        Some("application/json"),
        Some(br#"{"name": "x", "role": "superuser"}"#.to_vec()),
    )
    .await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("role") && message.contains("viewer"),
        "{message}"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_values_are_refused_with_what_to_do() {
    let app = spawn_app().await;
    for (path, body, code) in [
        (
            "/api/v1/users",
            r#"{"email": "not-an-email", "display_name": "X", "role": "viewer"}"#,
            "INVALID_VALUE",
        ),
        (
            "/api/v1/users",
            r#"{"email": "a@b.co", "display_name": "", "role": "viewer"}"#,
            "INVALID_VALUE",
        ),
        (
            "/api/v1/users",
            r#"{"email": "a@b.co", "display_name": "X", "role": "viewer", "password": "short"}"#,
            "INVALID_VALUE",
        ),
        (
            "/api/v1/users",
            r#"{"email": "' OR 1=1 --@x.co", "display_name": "X", "role": "viewer"}"#,
            "INVALID_VALUE",
        ),
        (
            "/api/v1/tokens",
            r#"{"name": "", "role": "viewer"}"#,
            "INVALID_VALUE",
        ),
        ("/api/v1/session", r#"{"email": "a@b.co"}"#, "INVALID_JSON"),
    ] {
        let (status, b) = send(
            &app,
            Method::POST,
            path,
            Some("application/json"),
            Some(body.as_bytes().to_vec()),
        )
        .await;
        assert!(status.is_client_error(), "{path} {body}: {status}");
        assert_eq!(error_code(&b), code, "{path} {body}: {b}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_query_strings_and_path_segments_get_400() {
    let app = spawn_app().await;
    let gets = ROUTES
        .iter()
        .filter(|r| r.surface == Surface::Api)
        .filter(|r| {
            r.method.as_str() == "GET"
                && matches!(r.access, Access::Least(_))
                && r.path != "/metrics"
        });
    for route in gets {
        let path = concrete(route.path);
        let (status, body) = send(&app, Method::GET, &format!("{path}?limit=0"), None, None).await;
        if [
            "/api/v1/people",
            "/api/v1/jobs",
            "/api/v1/changes",
            "/api/v1/audit",
            "/api/v1/sync/runs",
        ]
        .contains(&route.path)
        {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
            assert_eq!(error_code(&body), "INVALID_PARAMETER");
            for q in [
                "limit=abc",
                "limit=-1",
                "cursor=%00",
                "bogus=1",
                "limit=99999999999",
            ] {
                let (status, body) =
                    send(&app, Method::GET, &format!("{path}?{q}"), None, None).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{path}?{q}: {body}");
                assert!(!body["error"]["message"].as_str().unwrap().is_empty());
            }
        }
    }
    for q in [
        "/api/v1/people?product=bitbucket",
        "/api/v1/people?inactive_for_days=-3",
        "/api/v1/changes?since=yesterday",
        "/api/v1/jobs?status=lost",
        "/api/v1/people?cursor=bm90LWpzb24",
    ] {
        let (status, body) = send(&app, Method::GET, q, None, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {body}");
    }
    for p in ["/api/v1/jobs/abc", "/api/v1/jobs/99999999999999999999999"] {
        let (status, body) = send(&app, Method::GET, p, None, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{p}: {body}");
        assert_eq!(error_code(&body), "INVALID_PARAMETER");
    }
    for (m, p) in [
        (Method::PATCH, "/api/v1/users/abc"),
        (Method::DELETE, "/api/v1/tokens/1.5"),
    ] {
        let (status, body) = send(&app, m, p, Some("application/json"), Some(b"{}".to_vec())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{p}: {body}");
        assert_eq!(error_code(&body), "INVALID_PARAMETER");
    }
    let (status, body) = send(&app, Method::PUT, "/api/v1/people", None, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(&body), "METHOD_NOT_ALLOWED");
    let (status, body) = send(&app, Method::GET, "/api/v1/nope", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "NOT_FOUND");
    app.stop().await;
}
