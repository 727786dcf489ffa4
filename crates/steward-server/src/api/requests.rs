//! Access requests: create, list, show, approve, deny, cancel, revoke, and retry a failed
//! revocation. The workflow (policy, state machine, jobs) is `steward_engine::requests`; this
//! maps it to HTTP.
//!
//! A request's `revocation` (`{job, status, error}`, `null` until a revocation job is queued)
//! follows its revocation job like `state` follows the grant job: `in_progress`, then
//! `succeeded` or `failed` with the job's error. A failed one stays visible on the request
//! (and in `GET /api/v1/requests?revocation=failed`) until an admin queues it again.

use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use steward_engine::requests::{Actor, RequestError, RequestInput};
use steward_store::{AccessRequest, RequestId, RequestQuery, RequestState, RevocationStatus};
use utoipa::{IntoParams, ToSchema};

use super::{Page, limit, numeric_cursor};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery, too_large};
use crate::state::AppState;

/// The body of `POST /api/v1/requests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Whom the access is for (an email).
    pub subject: String,
    /// Entitlement ids (`GET /api/v1/entitlements` lists them), 1 to 50.
    pub entitlements: Vec<String>,
    /// Why (required, at most 2000 characters).
    pub justification: String,
    /// Time-bound access: how long it lasts once provisioned, in seconds (1 to a year).
    #[serde(default)]
    pub duration_secs: Option<i64>,
}

/// The body of a decision (`approve`, `deny`, `cancel`, `revoke`); may be empty for all but
/// `deny`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// What the decider says (required to deny; at most 2000 characters).
    #[serde(default)]
    pub comment: Option<String>,
}

/// Filters of `GET /api/v1/requests`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// `pending`, `approved`, `provisioning`, `provisioned`, `failed`, `denied`,
    /// `cancelled`, `expired` or `revoked`.
    pub state: Option<String>,
    /// Whom the access is for (email, any case).
    pub subject: Option<String>,
    /// Who asked (any case).
    pub requester: Option<String>,
    /// Only requests whose revocation is `in_progress`, `succeeded` or `failed` (`failed`:
    /// access that may still be there and needs an admin's retry).
    pub revocation: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// A JSON body that may be absent (no bytes at all): then `T::default()`.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        if has_type {
            return ApiJson::<T>::from_request(req, state)
                .await
                .map(|j| OptionalJson(j.0));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::new(ErrorCode::InvalidJson, format!("cannot read the body: {e}"))
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            Ok(OptionalJson(T::default()))
        } else {
            Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON with `Content-Type: application/json`",
            ))
        }
    }
}

/// The workflow's actor for a principal.
pub(crate) fn actor(principal: &Principal) -> Actor {
    Actor {
        name: principal.name.clone(),
        role: principal.role,
    }
}

/// The one mapping of workflow errors to the API's stable codes.
impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        let message = e.to_string();
        match e {
            RequestError::Invalid { .. } => ApiError::new(ErrorCode::InvalidValue, message),
            RequestError::UnknownEntitlement(_) => {
                ApiError::new(ErrorCode::UnknownEntitlement, message)
            }
            RequestError::NotSynced => ApiError::new(ErrorCode::NotSynced, message),
            RequestError::NotFound(_) => ApiError::new(ErrorCode::NotFound, message),
            RequestError::WrongState { .. } => {
                ApiError::new(ErrorCode::RequestStateConflict, message)
            }
            RequestError::SelfApproval { .. } => ApiError::new(ErrorCode::SelfApproval, message),
            RequestError::NotAnApprover { .. } => ApiError::new(ErrorCode::NotAnApprover, message),
            RequestError::NotRequester { .. } | RequestError::AdminOnly { .. } => {
                ApiError::new(ErrorCode::Forbidden, message)
            }
            RequestError::RevocationNotFailed { .. } => {
                ApiError::new(ErrorCode::RequestStateConflict, message)
            }
            RequestError::Refused(_) => ApiError::new(ErrorCode::PlanRefused, message),
            RequestError::Store(e) => ApiError::from(e),
            RequestError::Worker(e) => ApiError::internal(&e),
        }
    }
}

/// Asks for access. Requester or more. Approved at once (and provisioned) when the policy
/// auto-approves every entitlement.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", request_body = CreateRequest,
    responses((status = 201, description = "the request (pending, or provisioning when auto-approved)", body = serde_json::Value),
              (status = 422, description = "bad email, justification, duration or unknown entitlement", body = crate::error::ErrorBody),
              (status = 409, description = "nothing synced yet", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateRequest>,
) -> ApiResult<(StatusCode, axum::Json<AccessRequest>)> {
    let input = RequestInput {
        subject: body.subject,
        entitlements: body.entitlements,
        justification: body.justification,
        duration_secs: body.duration_secs,
    };
    let created = state.workflow().create(&actor(&principal), &input).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Access requests, oldest first.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", params(RequestsQuery),
    responses((status = 200, description = "a page of requests (each as `GET /api/v1/requests/{id}` shows it)", body = serde_json::Value),
              (status = 400, description = "invalid filter", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RequestsQuery>,
) -> ApiResult<axum::Json<Page<AccessRequest>>> {
    let size = limit(q.limit)?;
    let wanted = q
        .state
        .as_deref()
        .map(|s| {
            RequestState::parse(s).map_err(|_| {
                ApiError::parameter(format!(
                    "state `{s}` is not one of {}",
                    RequestState::ALL.map(RequestState::as_str).join(", ")
                ))
            })
        })
        .transpose()?;
    let revocation = q
        .revocation
        .as_deref()
        .map(|s| {
            RevocationStatus::parse(s).map_err(|_| {
                ApiError::parameter(format!(
                    "revocation `{s}` is not one of {}",
                    RevocationStatus::ALL
                        .map(RevocationStatus::as_str)
                        .join(", ")
                ))
            })
        })
        .transpose()?;
    let after = numeric_cursor(q.cursor.as_deref())?;
    let items = state
        .store()
        .requests()
        .list(&RequestQuery {
            state: wanted,
            subject: q.subject,
            requested_by: q.requester,
            revocation,
            after_id: after.map(RequestId),
            limit: Some(i64::from(size)),
        })
        .await?;
    let next_cursor = (items.len() == size as usize)
        .then(|| items.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(axum::Json(Page { items, next_cursor }))
}

/// One request with its approvals, jobs and expiry.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests",
    params(("id" = i64, Path, description = "the request id")),
    responses((status = 200, description = "the request: `state`, `approvals`, `grant_job`, `expires_at`, and `revocation` (`{job, status: in_progress|succeeded|failed, error}`, null until a revocation job is queued)", body = serde_json::Value),
              (status = 404, description = "no such request", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<AccessRequest>> {
    state
        .store()
        .requests()
        .get(RequestId(id))
        .await
        .map(axum::Json)
        .map_err(|e| RequestError::from(e).into())
}

/// Approves a pending request (approver or more; not the requester nor the person; as the
/// policy says). When every entitlement's rule is met, its grant job is queued.
#[utoipa::path(post, path = "/api/v1/requests/{id}/approve", tag = "requests",
    params(("id" = i64, Path, description = "the request id")), request_body = Decision,
    responses((status = 200, description = "the request after the approval", body = serde_json::Value),
              (status = 403, description = "self-approval, or not an approver under the policy", body = crate::error::ErrorBody),
              (status = 409, description = "not pending (REQUEST_STATE_CONFLICT)", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    OptionalJson(body): OptionalJson<Decision>,
) -> ApiResult<axum::Json<AccessRequest>> {
    Ok(axum::Json(
        state
            .workflow()
            .approve(&actor(&principal), RequestId(id), body.comment.as_deref())
            .await?,
    ))
}

/// Denies a pending request, with a comment (approver or more).
#[utoipa::path(post, path = "/api/v1/requests/{id}/deny", tag = "requests",
    params(("id" = i64, Path, description = "the request id")), request_body = Decision,
    responses((status = 200, description = "the denied request", body = serde_json::Value),
              (status = 422, description = "no comment", body = crate::error::ErrorBody),
              (status = 409, description = "not pending (REQUEST_STATE_CONFLICT)", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn deny(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    OptionalJson(body): OptionalJson<Decision>,
) -> ApiResult<axum::Json<AccessRequest>> {
    let Some(comment) = body.comment.filter(|c| !c.trim().is_empty()) else {
        return Err(ApiError::value(
            "comment: say why the request is denied (`{\"comment\": \"…\"}`)",
        ));
    };
    Ok(axum::Json(
        state
            .workflow()
            .deny(&actor(&principal), RequestId(id), Some(&comment))
            .await?,
    ))
}

/// Cancels a pending request: its requester, or an admin.
#[utoipa::path(post, path = "/api/v1/requests/{id}/cancel", tag = "requests",
    params(("id" = i64, Path, description = "the request id")), request_body = Decision,
    responses((status = 200, description = "the cancelled request", body = serde_json::Value),
              (status = 403, description = "not the requester", body = crate::error::ErrorBody),
              (status = 409, description = "not pending (REQUEST_STATE_CONFLICT)", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    OptionalJson(body): OptionalJson<Decision>,
) -> ApiResult<axum::Json<AccessRequest>> {
    Ok(axum::Json(
        state
            .workflow()
            .cancel(&actor(&principal), RequestId(id), body.comment.as_deref())
            .await?,
    ))
}

/// Revokes provisioned access on demand (approver or more): queues a revocation job.
#[utoipa::path(post, path = "/api/v1/requests/{id}/revoke", tag = "requests",
    params(("id" = i64, Path, description = "the request id")), request_body = Decision,
    responses((status = 200, description = "the revoked request, with its revocation job", body = serde_json::Value),
              (status = 409, description = "not provisioned (REQUEST_STATE_CONFLICT)", body = crate::error::ErrorBody),
              (status = 422, description = "the planner refused the revocation", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    OptionalJson(body): OptionalJson<Decision>,
) -> ApiResult<axum::Json<AccessRequest>> {
    Ok(axum::Json(
        state
            .workflow()
            .revoke(&actor(&principal), RequestId(id), body.comment.as_deref())
            .await?,
    ))
}

/// Queues a failed revocation again (admins): a new revocation job, planned anew, audited.
/// The request keeps its state (`expired` or `revoked`); its `revocation` is `in_progress`
/// again with the new job. Retrying the same failed job twice queues one job.
#[utoipa::path(post, path = "/api/v1/requests/{id}/revocation/retry", tag = "requests",
    params(("id" = i64, Path, description = "the request id")), request_body = Decision,
    responses((status = 200, description = "the request, with its new revocation job in `revocation`", body = serde_json::Value),
              (status = 403, description = "not an admin", body = crate::error::ErrorBody),
              (status = 404, description = "no such request", body = crate::error::ErrorBody),
              (status = 409, description = "its revocation has not failed (REQUEST_STATE_CONFLICT)", body = crate::error::ErrorBody),
              (status = 422, description = "the planner refused the revocation", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn retry_revocation(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    OptionalJson(body): OptionalJson<Decision>,
) -> ApiResult<axum::Json<AccessRequest>> {
    Ok(axum::Json(
        state
            .workflow()
            .retry_revocation(&actor(&principal), RequestId(id), body.comment.as_deref())
            .await?,
    ))
}
