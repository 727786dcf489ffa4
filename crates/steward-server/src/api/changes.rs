//! Change events the syncs recorded.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use steward_store::{ChangeEvent, ChangeQuery};
use utoipa::IntoParams;

use super::{Page, limit, numeric_cursor};
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Filters of `GET /api/v1/changes`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Only events detected after this instant (RFC 3339, e.g. `2026-11-01T00:00:00Z`).
    #[param(value_type = Option<String>)]
    pub since: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// Change events, oldest first, out-of-band or not, with who made them when known.
#[utoipa::path(get, path = "/api/v1/changes", tag = "sync", params(ChangesQuery),
    responses((status = 200, description = "a page of change events", body = serde_json::Value),
              (status = 400, description = "invalid filter", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> ApiResult<axum::Json<Page<ChangeEvent>>> {
    let size = limit(q.limit)?;
    let items = state
        .store()
        .changes()
        .list(&ChangeQuery {
            since: q.since,
            after_id: numeric_cursor(q.cursor.as_deref())?,
            limit: Some(i64::from(size)),
            ..ChangeQuery::default()
        })
        .await?;
    let next_cursor = (items.len() == size as usize)
        .then(|| items.last().map(|c| c.id.to_string()))
        .flatten();
    Ok(axum::Json(Page { items, next_cursor }))
}
