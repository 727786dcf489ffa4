//! Steward's HTTP service: the JSON API under `/api/v1` (people, entitlements, access
//! requests, jobs, sync runs, changes, audit, console users and API tokens), its OpenAPI 3.1
//! document, the operations endpoints (`/healthz`, `/readyz`, `/metrics`), the scheduler
//! ([`scheduler`]: scheduled sync, access-request sweep, job workers) and the web console
//! ([`console`]: server-rendered pages for people).
//!
//! It exists so that Steward can run as a service that people and machines reach over HTTP,
//! with authentication (API tokens, console sessions with CSRF protection; an
//! [`auth::Authenticator`] seam for OIDC) and roles (viewer < requester < approver < admin).
//! Every route and the least role it needs are in one table, [`routes::ROUTES`], from which
//! [`router`] is built and which the tests enumerate.
//!
//! Entry points: [`AppState::new`], then [`router`] (in-process) or [`Server::bind`] +
//! [`Server::run_until`] (a listener; bind `127.0.0.1:0` in tests). [`bootstrap`] creates the
//! first admin. [`Scheduler`] runs the background work: the scheduled sync (once per interval
//! across processes), the access-request sweep and the job workers.

pub mod api;
pub mod auth;
pub mod bootstrap;
pub mod console;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod scheduler;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::{
    SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer,
};
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ErrorCode};
pub use routes::{Access, ROUTES, Route, Surface};
pub use scheduler::{Scheduler, SchedulerConfig, SchedulerHandle};
pub use state::{AppState, ServerConfig, SyncLauncher, TargetSync};

/// The request id header, set on every request that lacks one and echoed on every response.
pub const REQUEST_ID: &str = "x-request-id";

/// The whole application as an axum router (the state is inside).
pub fn router(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for route in ROUTES {
        router = router.route(route.path, route.method_router(&state));
    }
    let request_id = HeaderName::from_static(REQUEST_ID);
    let body_limit = state.config().body_limit;
    router
        .fallback(routes::fallback)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            ApiError::new(
                ErrorCode::Internal,
                "something failed on the server; the server log has the details",
            )
            .into_response()
        }))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn(no_nul_in_uri))
        .layer(SetSensitiveResponseHeadersLayer::new([header::SET_COOKIE]))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let id = request
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            HeaderName::from_static(auth::CSRF_HEADER),
        ]))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Refuses a path or query string with an encoded NUL (`%00`). No value Steward takes can
/// hold one, and PostgreSQL can't store or even compare one in text: such a value reached
/// the database as a 500 (found by the injection tests). Bodies are checked by
/// [`extract::ApiJson`] and the console's forms.
async fn no_nul_in_uri(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let has_nul = |s: &str| s.contains("%00");
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        return ApiError::parameter(
            "the path or query string holds a NUL character (%00), which no value may contain",
        )
        .into_response();
    }
    next.run(request).await
}

/// Gives the error shape to the few answers axum and tower produce themselves (405, 413, a
/// body read failing), so every error of the API looks the same. The console's HTML pages
/// (its refusals and "not found") are left as they are.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            ErrorCode::MethodNotAllowed,
            "this method is not allowed on this path; GET /api/v1/openapi.json lists the routes",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => extract::too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with `Content-Type: application/json`",
        ),
        StatusCode::NOT_FOUND => ApiError::new(ErrorCode::NotFound, "no such resource"),
        s if s.is_client_error() => {
            ApiError::new(ErrorCode::InvalidParameter, format!("bad request ({s})"))
        }
        _ => ApiError::new(
            ErrorCode::Internal,
            "something failed on the server; the server log has the details",
        ),
    };
    let mut out = error.into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

/// A bound listener and the application, ready to serve.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    app: Router,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port; read it with [`Server::local_addr`]).
    ///
    /// # Errors
    /// When the address can't be bound.
    pub async fn bind(addr: SocketAddr, state: AppState) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Ok(Server {
            listener,
            app: router(state),
        })
    }

    /// The bound address.
    ///
    /// # Errors
    /// From the socket.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish (graceful shutdown).
    ///
    /// # Errors
    /// When accepting fails fatally.
    pub async fn run_until<F>(self, shutdown: F) -> std::io::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        axum::serve(
            self.listener,
            self.app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
