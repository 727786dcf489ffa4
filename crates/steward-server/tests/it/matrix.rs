//! The role × route matrix, driven by the one route table (`steward_server::ROUTES`).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use steward_server::{Access, ROUTES, Route, Surface};
use steward_store::Role;

use crate::app::{TestApp, error_code, spawn_app, spawn_with, test_config};

/// A concrete path and body for a route of the table. Panics on a route the test does not
/// know, so a new route can't slip past the matrix.
fn sample(app_viewer_id: i64, route: &Route, n: usize) -> (String, Option<Value>) {
    let path = route.path.replace("{email}", "person1@acme.com").replace(
        "{id}",
        &match route.path {
            "/api/v1/users/{id}" => app_viewer_id.to_string(),
            _ => "999999".to_owned(),
        },
    );
    let body = match (route.method.as_str(), route.path) {
        ("POST", "/api/v1/users") => Some(json!({
            "email": format!("new{n}@acme.com"), "display_name": "New", "role": "viewer"
        })),
        ("PATCH", "/api/v1/users/{id}") => Some(json!({"display_name": format!("Renamed {n}")})),
        ("POST", "/api/v1/tokens") => Some(json!({"name": format!("t{n}"), "role": "viewer"})),
        ("POST", "/api/v1/session") => Some(json!({"email": "x@acme.com", "password": "x"})),
        // The console's forms (sent form-encoded, see `call`).
        ("POST", "/sign-in") => {
            Some(json!({"email": "x@acme.com", "password": "x", "csrf_token": "x"}))
        }
        ("POST", "/people/{email}/offboard") => Some(json!({"level": "deactivate"})),
        ("POST", "/people/{email}/offboard/confirm") => Some(
            // A run that is not the latest: the plan is shown again, nothing is queued.
            json!({"level": "deactivate", "run": "0", "nonce": format!("n{n}"), "reason": "matrix"}),
        ),
        ("POST", "/requests") => Some(json!({
            "subject": "person1@acme.com", "entitlements": "group:team-a",
            "justification": format!("matrix {n}"), "csrf_token": "x"
        })),
        ("POST", path) if path.starts_with("/requests/{id}/") => {
            Some(json!({"comment": format!("matrix {n}")}))
        }
        ("POST", "/api/v1/requests") => Some(json!({
            "subject": "person1@acme.com", "entitlements": ["group:team-a"],
            "justification": format!("matrix {n}")
        })),
        ("POST", path) if path.starts_with("/api/v1/requests/{id}/") => {
            Some(json!({"comment": format!("matrix {n}")}))
        }
        ("POST", "/api/v1/sync/runs") | ("POST", "/sign-out") | ("DELETE", _) | ("GET", _) => None,
        other => panic!("the matrix has no sample for {other:?}: add one"),
    };
    (path, body)
}

fn method(route: &Route) -> Method {
    Method::from_bytes(route.method.as_str().as_bytes()).unwrap()
}

async fn viewer_id(app: &TestApp) -> i64 {
    let (_, body) = app.get_json(Role::Admin, "/api/v1/users").await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "viewer")
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn call(
    app: &TestApp,
    role: Option<Role>,
    route: &Route,
    n: usize,
    viewer: i64,
) -> (StatusCode, Value) {
    let (path, body) = sample(viewer, route, n);
    let mut req = app.client.request(method(route), app.url(&path));
    if let Some(role) = role {
        req = req.bearer_auth(app.token(role));
    }
    match (body, route.surface) {
        (Some(body), Surface::Api) => req = req.json(&body),
        (Some(body), Surface::Console) => req = req.form(&body),
        (None, _) => {}
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn role_matrix_on(app: &TestApp) {
    let viewer = viewer_id(app).await;
    let mut n = 0;
    for route in ROUTES {
        let Access::Least(least) = route.access else {
            continue;
        };
        for role in Role::ALL {
            n += 1;
            let (status, body) = call(app, Some(role), route, n, viewer).await;
            let what = format!("{} {} as {role}: {status} {body}", route.method, route.path);
            if role >= least {
                assert!(
                    status.is_success() || status == StatusCode::NOT_FOUND,
                    "allowed: {what}"
                );
                if status == StatusCode::NOT_FOUND && route.surface == Surface::Console {
                    assert!(body.to_string().contains("does not exist"), "{what}");
                } else if status == StatusCode::NOT_FOUND {
                    assert_eq!(error_code(&body), "NOT_FOUND", "{what}");
                    assert!(
                        !body["error"]["message"]
                            .as_str()
                            .unwrap()
                            .starts_with("no route"),
                        "{what}"
                    );
                }
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "refused: {what}");
                match route.surface {
                    Surface::Api => assert_eq!(error_code(&body), "FORBIDDEN", "{what}"),
                    Surface::Console => {
                        assert!(body.to_string().contains("Forbidden"), "{what}");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn each_role_reaches_exactly_the_routes_its_rank_allows() {
    let app = spawn_app().await;
    role_matrix_on(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn role_matrix_holds_on_postgres() {
    let Some(app) = crate::app::try_spawn(test_config(), true).await.unwrap() else {
        return;
    };
    role_matrix_on(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn every_route_but_the_probes_and_sign_in_requires_authentication() {
    let app = spawn_app().await;
    let viewer = viewer_id(&app).await;
    let public: Vec<(String, &str)> = ROUTES
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| (r.method.to_string(), r.path))
        .collect();
    assert_eq!(
        public,
        vec![
            ("GET".to_owned(), "/healthz"),
            ("GET".to_owned(), "/readyz"),
            ("POST".to_owned(), "/api/v1/session"),
            // The console's stylesheet and htmx, and its sign-in form.
            ("GET".to_owned(), "/static/console.css"),
            ("GET".to_owned(), "/static/htmx.min.js"),
            ("GET".to_owned(), "/sign-in"),
            ("POST".to_owned(), "/sign-in"),
        ]
    );
    // Console pages send whoever has no valid credential to the sign-in form.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (n, route) in ROUTES.iter().enumerate() {
        if route.access == Access::Public || route.surface != Surface::Console {
            continue;
        }
        let (path, body) = sample(viewer, route, n);
        for token in [None, Some("stw_0123456789ab_not-a-real-token")] {
            let mut req = no_redirects.request(method(route), app.url(&path));
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            if let Some(body) = &body {
                req = req.form(body);
            }
            let r = req.send().await.unwrap();
            let what = format!("{} {} with {token:?}", route.method, route.path);
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{what}");
            let location = r.headers()["location"].to_str().unwrap();
            assert!(location.starts_with("/sign-in"), "{what}: {location}");
        }
    }
    for (n, route) in ROUTES.iter().enumerate() {
        if route.access == Access::Public || route.surface == Surface::Console {
            continue;
        }
        let (status, body) = call(&app, None, route, n, viewer).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{} {}: {body}",
            route.method,
            route.path
        );
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
        // A wrong token is refused the same way.
        let (path, _) = sample(viewer, route, n);
        let r = app
            .client
            .request(method(route), app.url(&path))
            .bearer_auth("stw_0123456789ab_not-a-real-token")
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{} {}",
            route.method,
            route.path
        );
    }
    // Unknown paths and wrong methods reveal nothing without credentials either.
    for (m, path) in [
        (Method::GET, "/api/v1/nope"),
        (Method::GET, "/admin"),
        (Method::PUT, "/api/v1/people"),
    ] {
        let r = app
            .client
            .request(m.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{m} {path}");
    }
    // The probes answer without credentials, and say nothing but their status.
    for path in ["/healthz", "/readyz"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_route_table() {
    let app = spawn_app().await;
    let (status, doc) = app.get_json(Role::Viewer, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let mut table: Vec<(String, String)> = ROUTES
        .iter()
        .filter(|r| r.surface == Surface::Api)
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    documented.sort();
    table.sort();
    assert_eq!(documented, table);
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_prometheus_text_for_admins() {
    let app = spawn_with(test_config(), false).await;
    let _ = app.get_json(Role::Viewer, "/api/v1/people").await;
    let r = app
        .as_role(Role::Admin, Method::GET, "/metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    assert!(text.contains("steward_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/v1/people\""), "{text}");
    app.stop().await;
}
