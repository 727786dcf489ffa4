//! Provisioning jobs and their step journal.

use axum::extract::State;
use serde::Deserialize;
use steward_store::{Job, JobDetail, JobId, JobQuery, JobStatus};
use utoipa::IntoParams;

use super::{Page, limit, numeric_cursor};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// Filters of `GET /api/v1/jobs`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    pub status: Option<String>,
    /// Whom the job concerns (email, any case).
    pub subject: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// Jobs, oldest first.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", params(JobsQuery),
    responses((status = 200, description = "a page of jobs", body = serde_json::Value),
              (status = 400, description = "invalid filter", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<JobsQuery>,
) -> ApiResult<axum::Json<Page<Job>>> {
    let size = limit(q.limit)?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            JobStatus::parse(s).map_err(|_| {
                ApiError::parameter(format!(
                    "status `{s}` is not one of queued, running, succeeded, failed, cancelled"
                ))
            })
        })
        .transpose()?;
    let after = numeric_cursor(q.cursor.as_deref())?;
    let items = state
        .store()
        .jobs()
        .list(&JobQuery {
            status,
            subject: q.subject,
            limit: Some(i64::from(size)),
            after_id: after.map(JobId),
        })
        .await?;
    let next_cursor = (items.len() == size as usize)
        .then(|| items.last().map(|j| j.id.to_string()))
        .flatten();
    Ok(axum::Json(Page { items, next_cursor }))
}

/// One job with its steps.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "the job id")),
    responses((status = 200, description = "the job and its steps", body = serde_json::Value),
              (status = 404, description = "no such job", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<JobDetail>> {
    match state.store().jobs().get(JobId(id)).await {
        Ok(detail) => Ok(axum::Json(detail)),
        Err(steward_store::Error::UnknownJob(_)) => Err(ApiError::not_found(format!("job {id}"))),
        Err(e) => Err(e.into()),
    }
}
