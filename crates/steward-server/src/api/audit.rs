//! The hash-chained audit log.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use steward_store::{AuditEntry, AuditQuery, AuditVerification};
use utoipa::IntoParams;

use super::{Page, limit, numeric_cursor};
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Filters of `GET /api/v1/audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    /// Only entries after this instant (RFC 3339).
    #[param(value_type = Option<String>)]
    pub since: Option<DateTime<Utc>>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this subject (any case).
    pub subject: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// Audit entries in chain order.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditListQuery),
    responses((status = 200, description = "a page of entries", body = serde_json::Value),
              (status = 400, description = "invalid filter", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AuditListQuery>,
) -> ApiResult<axum::Json<Page<AuditEntry>>> {
    let size = limit(q.limit)?;
    let items = state
        .store()
        .audit()
        .list(&AuditQuery {
            since: q.since,
            actor: q.actor,
            subject: q.subject,
            job: None,
            limit: Some(i64::from(size)),
            after_seq: numeric_cursor(q.cursor.as_deref())?,
        })
        .await?;
    let next_cursor = (items.len() == size as usize)
        .then(|| items.last().map(|e| e.seq.to_string()))
        .flatten();
    Ok(axum::Json(Page { items, next_cursor }))
}

/// Verifies the whole chain; `ok: false` names the first bad entry. Admin only.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, description = "the verification", body = serde_json::Value)),
    security(("bearer" = []), ("session" = [])))]
pub async fn verify(State(state): State<AppState>) -> ApiResult<axum::Json<AuditVerification>> {
    Ok(axum::Json(state.store().audit().verify().await?))
}
