//! Operations endpoints: liveness, readiness, metrics.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Probe {
    /// `ok` (alive) or `ready`.
    pub status: &'static str,
}

/// Liveness: the process answers. No authentication, no detail.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "alive", body = Probe)))]
pub async fn healthz() -> axum::Json<Probe> {
    axum::Json(Probe { status: "ok" })
}

/// Readiness: the database answers and its migrations are applied (the store applies them
/// when it opens). No authentication: probes carry no credentials, and the answer is one bit.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready", body = Probe),
              (status = 503, description = "not ready", body = crate::error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store().accounts().ping().await {
        Ok(()) => axum::Json(Probe { status: "ready" }).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::new(ErrorCode::Unavailable, "the database does not answer").into_response()
        }
    }
}

/// Prometheus metrics (text exposition format). Admin only.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain")),
    security(("bearer" = []), ("session" = [])))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.metrics().render();
    match crate::metrics::store_gauges(state.store()).await {
        Ok(gauges) => text.push_str(&gauges),
        // The process's own metrics are still worth serving; the scrape shows the store's
        // gauges as absent, which alerting can watch.
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the store's counts"),
    }
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
