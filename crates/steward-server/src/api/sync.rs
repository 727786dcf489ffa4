//! Sync runs: history, and starting one on demand.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use steward_engine::sync::SYNC_LEASE;
use steward_store::SyncRun;
use utoipa::{IntoParams, ToSchema};

use super::limit;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Filters of `GET /api/v1/sync/runs`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// How many of the newest runs (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// The newest sync runs, newest first, with per-product status.
#[utoipa::path(get, path = "/api/v1/sync/runs", tag = "sync", params(RunsQuery),
    responses((status = 200, description = "runs, newest first", body = serde_json::Value)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RunsQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let runs: Vec<SyncRun> = state
        .store()
        .runs()
        .list(i64::from(limit(q.limit)?))
        .await?;
    Ok(axum::Json(serde_json::json!({ "items": runs })))
}

/// The answer to `POST /api/v1/sync/runs`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncStarted {
    /// Always `started`: the sync runs in the background; `GET /api/v1/sync/runs` shows it.
    pub status: &'static str,
}

/// Starts a sync in the background unless one is running (here or in another process
/// sharing the database). Admin only.
#[utoipa::path(post, path = "/api/v1/sync/runs", tag = "sync",
    responses((status = 202, description = "started", body = SyncStarted),
              (status = 409, description = "a sync is running, or no Atlassian connection is configured", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn start(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<(StatusCode, axum::Json<SyncStarted>)> {
    let Some(launcher) = state.sync_launcher().cloned() else {
        return Err(ApiError::new(
            ErrorCode::SyncNotConfigured,
            "this service has no Atlassian connection to sync: start it with a configuration (or --sandbox)",
        ));
    };
    // A holder of this host that was killed holds nothing: the sync takes its run over at
    // once (as `steward sync` does), so it is not a reason to refuse.
    if let Some(lease) = state.store().leases().get(SYNC_LEASE).await?
        && !lease.expired_at(chrono::Utc::now())
        && !steward_engine::sync::holder_is_gone(&lease)
    {
        return Err(ApiError::new(
            ErrorCode::SyncRunning,
            format!(
                "a sync is already running (held by {} until {}): wait for it, GET /api/v1/sync/runs shows it",
                lease.owner, lease.expires_at
            ),
        ));
    }
    let running = state.sync_running().clone();
    if running
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return Err(ApiError::new(
            ErrorCode::SyncRunning,
            "a sync started by this service is already running: wait for it, GET /api/v1/sync/runs shows it",
        ));
    }
    super::audit(
        state.store(),
        &principal,
        "sync.requested",
        None,
        serde_json::json!({}),
    )
    .await;
    let store = state.store().clone();
    tokio::spawn(async move {
        let report = crate::metrics::timed_sync(launcher.as_ref(), store, "on_demand").await;
        running.store(false, Ordering::SeqCst);
        tracing::info!(run = ?report.run, status = ?report.status, error = ?report.error, "on-demand sync finished");
    });
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(SyncStarted { status: "started" }),
    ))
}
