//! `api_body`: what clients send to `steward serve`, through the real router.
//!
//! One application per process (in-memory SQLite, an admin API token, an admin console
//! session, a synced snapshot to request access against) serves each input in process
//! (`tower::ServiceExt::oneshot`): every extractor, CSRF form-field parser, validation and
//! handler runs as in production, and a panic becomes the router's own 500.
//!
//! Input layout: byte 0 picks the route, byte 1 the variant (bit 0: console session cookie
//! instead of the API token, so the console's form-field CSRF parser reads the body; bits 1-2:
//! content type JSON / form / none / text; bits 3-5: which `{id}`), the rest is the body (for
//! the `GET` routes: the query string). Invariant: never a 5xx, and every API error has the
//! error shape with a message.

use std::num::NonZeroU32;
use std::sync::{Mutex, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use http_body_util::BodyExt;
use secrecy::SecretString;
use steward_server::auth::{AuthConfig, PasswordParams, new_api_token};
use steward_server::{AppState, ServerConfig};
use steward_store::{AccountRow, GroupRow, NewApiToken, Role, Store};
use tower::ServiceExt;

/// The routes fuzzed (method, path template, whether the body is a query string).
pub(crate) const ROUTES: &[(Method, &str, bool)] = &[
    (Method::POST, "/api/v1/session", false),
    (Method::POST, "/api/v1/requests", false),
    (Method::POST, "/api/v1/requests/{id}/approve", false),
    (Method::POST, "/api/v1/requests/{id}/deny", false),
    (Method::POST, "/api/v1/requests/{id}/cancel", false),
    (Method::POST, "/api/v1/requests/{id}/revoke", false),
    (Method::POST, "/api/v1/users", false),
    (Method::PATCH, "/api/v1/users/{id}", false),
    (Method::POST, "/api/v1/tokens", false),
    (Method::POST, "/sign-in", false),
    (Method::POST, "/people/{email}/offboard", false),
    (Method::POST, "/people/{email}/offboard/confirm", false),
    (Method::GET, "/api/v1/people", true),
    (Method::GET, "/api/v1/requests", true),
    (Method::GET, "/api/v1/jobs", true),
    (Method::GET, "/api/v1/changes", true),
    (Method::GET, "/api/v1/audit", true),
    (Method::GET, "/api/v1/entitlements", true),
    (Method::GET, "/people", true),
    (Method::GET, "/audit", true),
];

const IDS: [&str; 8] = [
    "1",
    "2",
    "3",
    "0",
    "-1",
    "99999999999999999999",
    "x",
    "%F0%9F%92%A5",
];

struct App {
    runtime: tokio::runtime::Runtime,
    router: Router,
    token: String,
    cookie: String,
}

const PASSWORD: &str = "fuzz horse battery staple";

#[allow(
    clippy::expect_used,
    reason = "the harness cannot run without its application"
)]
fn app() -> &'static Mutex<App> {
    static APP: OnceLock<Mutex<App>> = OnceLock::new();
    APP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let app = runtime.block_on(build()).expect("the application");
        Mutex::new(App {
            runtime,
            router: app.0,
            token: app.1,
            cookie: app.2,
        })
    })
}

fn account(id: &str, email: &str) -> AccountRow {
    AccountRow {
        account_id: id.to_owned(),
        email: Some(email.to_owned()),
        name: format!("Person {id}"),
        account_type: "atlassian".to_owned(),
        status: "active".to_owned(),
        account_status: "active".to_owned(),
        membership_status: Some("active".to_owned()),
        claim_status: "managed".to_owned(),
        management_source: None,
        added_to_org: None,
        mfa: Some(true),
    }
}

async fn build() -> Result<(Router, String, String), Box<dyn std::error::Error>> {
    let store = Store::open_in_memory().await?;
    let config = ServerConfig {
        auth: AuthConfig {
            secure_cookie: false,
            // The cheapest hashing argon2 allows: sign-ins and new users are fuzzed too.
            password: PasswordParams {
                m_cost: 256,
                t_cost: 1,
                p_cost: 1,
            },
            sign_in_per_minute: NonZeroU32::MAX,
            ..AuthConfig::default()
        },
        ..ServerConfig::default()
    };
    let state = AppState::new(store.clone(), config, None)?;
    let (token, prefix, token_hash) = new_api_token();
    store
        .accounts()
        .create_token(&NewApiToken {
            prefix,
            name: "fuzz-admin".to_owned(),
            role: Role::Admin,
            token_hash,
            created_by: "fuzz".to_owned(),
        })
        .await?;
    for (email, role) in [
        ("admin@steward.test", Role::Admin),
        ("approver@steward.test", Role::Approver),
    ] {
        steward_server::bootstrap::create_user(
            &state,
            email,
            "Fuzz",
            role,
            &SecretString::from(PASSWORD),
        )
        .await?;
    }
    let run = store.runs().begin().await?;
    let people: Vec<AccountRow> = (0..5)
        .map(|i| account(&format!("acc-{i}"), &format!("person{i}@acme.com")))
        .collect();
    store.writer(run).write_accounts(&people).await?;
    store
        .writer(run)
        .write_groups(&[GroupRow {
            group_id: "grp-team-a".to_owned(),
            name: "team-a".to_owned(),
            directory_id: Some("dir-1".to_owned()),
            external_synced: false,
            managed_by: None,
        }])
        .await?;
    store
        .runs()
        .complete(run, &serde_json::json!({}), &[])
        .await?;
    let router = steward_server::router(state);
    // A console session for the form routes.
    let sign_in = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/session")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            serde_json::json!({"email": "admin@steward.test", "password": PASSWORD}).to_string(),
        ))?;
    let response = router.clone().oneshot(sign_in).await?;
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("sign-in set no cookie")?
        .to_owned();
    // Two requests to act on.
    for subject in ["person1@acme.com", "person2@acme.com"] {
        let create = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/requests")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                serde_json::json!({"subject": subject, "entitlements": ["group:team-a"], "justification": "fuzz"})
                    .to_string(),
            ))?;
        let status = router.clone().oneshot(create).await?.status();
        if !status.is_success() {
            return Err(format!("creating a request answered {status}").into());
        }
    }
    Ok((router, token, cookie))
}

/// The target. Panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let (variant, body) = rest.split_first().map_or((0, rest), |(v, r)| (*v, r));
    let (method, template, query) = &ROUTES[usize::from(which) % ROUTES.len()];
    let path = template
        .replace("{id}", IDS[usize::from(variant >> 3) % IDS.len()])
        .replace("{email}", "person1%40acme.com");
    let session = variant & 1 == 1;
    let content_type = match (variant >> 1) & 3 {
        0 => Some("application/json"),
        1 => Some("application/x-www-form-urlencoded"),
        2 => None,
        _ => Some("text/plain; charset=utf-8"),
    };
    let uri = if *query {
        // Bytes a URI may not hold are percent-encoded, the rest kept as they are.
        let mut q = String::with_capacity(body.len());
        for &b in body {
            if b.is_ascii_graphic() && b != b'#' {
                q.push(char::from(b));
            } else {
                q.push_str(&format!("%{b:02X}"));
            }
        }
        format!("{path}?{q}")
    } else {
        path
    };
    let app = app().lock().unwrap_or_else(|e| e.into_inner());
    let mut request = Request::builder().method(method.clone()).uri(&uri);
    request = if session {
        request.header(header::COOKIE, &app.cookie)
    } else {
        request.header(header::AUTHORIZATION, format!("Bearer {}", app.token))
    };
    if let Some(ct) = content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    let body = if *query {
        Body::empty()
    } else {
        Body::from(body.to_vec())
    };
    let Ok(request) = request.body(body) else {
        // Not a valid URI even percent-encoded: nothing reaches the server.
        return;
    };
    let (status, response_body, is_json) = app.runtime.block_on(async {
        #[allow(clippy::expect_used, reason = "the router is infallible")]
        let response = app
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let is_json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        (status, bytes, is_json)
    });
    let text = String::from_utf8_lossy(&response_body);
    assert!(
        !status.is_server_error(),
        "{method} {uri}: {status}: {text}"
    );
    if status.is_client_error() && uri.starts_with("/api/") {
        assert!(
            is_json,
            "{method} {uri}: a {status} that is not JSON: {text}"
        );
        let value: serde_json::Value = serde_json::from_slice(&response_body).unwrap_or_default();
        let message = value["error"]["message"].as_str().unwrap_or_default();
        let code = value["error"]["code"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty() && !code.is_empty(),
            "{method} {uri}: a {status} without the error shape: {text}"
        );
    }
    assert!(
        !text.contains(&app.token),
        "{method} {uri}: the API token in a response"
    );
}
