//! The service error: a stable machine code and a message saying what was wrong and what to
//! do, mapped to HTTP in exactly one place ([`ApiError`]'s `IntoResponse`). Internal detail
//! (a database error's cause) is logged, never returned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Stable error codes. Clients may match on them; they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// No or invalid credentials (401).
    Unauthenticated,
    /// Authenticated, but the role is too low (403).
    Forbidden,
    /// A cookie-authenticated mutating request without the right `X-CSRF-Token` (403).
    CsrfFailed,
    /// Wrong email or password, or a disabled user (401). Deliberately one answer.
    InvalidCredentials,
    /// Too many sign-in attempts (429).
    RateLimited,
    /// No such resource (404).
    NotFound,
    /// The method is not allowed on this path (405).
    MethodNotAllowed,
    /// The body is not valid JSON or has the wrong shape (400).
    InvalidJson,
    /// A query parameter or path segment is invalid (400).
    InvalidParameter,
    /// The body is larger than the limit (413).
    BodyTooLarge,
    /// The body is not `application/json` (415).
    UnsupportedMediaType,
    /// A value is well formed but not acceptable (422).
    InvalidValue,
    /// The thing already exists (409).
    Conflict,
    /// A sync is already running (409).
    SyncRunning,
    /// The service has no Atlassian connection to sync (409).
    SyncNotConfigured,
    /// Nothing has been synced yet (409).
    NotSynced,
    /// An `Idempotency-Key` reused with another body (422).
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still being handled (409).
    IdempotencyKeyInProgress,
    /// An entitlement id is malformed or not in the catalog of the latest sync (422).
    UnknownEntitlement,
    /// The requester, or the person the access is for, tried to approve (403).
    SelfApproval,
    /// The approval policy names other approvers for this request (403).
    NotAnApprover,
    /// The access request is not in a state this action applies to, e.g. another approver
    /// decided first (409).
    RequestStateConflict,
    /// The planner refused the change (a guard rail) (422).
    PlanRefused,
    /// Something failed on our side (500); details are in the server log.
    Internal,
    /// The service is not ready (503).
    Unavailable,
}

impl ErrorCode {
    /// The HTTP status of this code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::Unauthenticated | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden
            | ErrorCode::CsrfFailed
            | ErrorCode::SelfApproval
            | ErrorCode::NotAnApprover => StatusCode::FORBIDDEN,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::InvalidJson | ErrorCode::InvalidParameter => StatusCode::BAD_REQUEST,
            ErrorCode::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidValue
            | ErrorCode::IdempotencyKeyReused
            | ErrorCode::UnknownEntitlement
            | ErrorCode::PlanRefused => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Conflict
            | ErrorCode::SyncRunning
            | ErrorCode::SyncNotConfigured
            | ErrorCode::NotSynced
            | ErrorCode::RequestStateConflict
            | ErrorCode::IdempotencyKeyInProgress => StatusCode::CONFLICT,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// An API error: what every non-2xx answer of the API carries, as
/// `{"error": {"code": "STABLE_CODE", "message": "…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// What was wrong and what to do.
    pub message: String,
}

/// The JSON body of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code.
    pub code: ErrorCode,
    /// What was wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// 404 for `what`.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        ApiError::new(ErrorCode::NotFound, format!("{what} does not exist"))
    }

    /// A 400 about one parameter.
    pub fn parameter(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidParameter, message)
    }

    /// A 422 about one value.
    pub fn value(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidValue, message)
    }

    /// A 500 whose cause is logged here and not returned.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(error = %chain, "internal error");
        ApiError::new(
            ErrorCode::Internal,
            "something failed on the server; the server log has the details",
        )
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
            },
        }
    }
}

impl From<steward_store::Error> for ApiError {
    fn from(e: steward_store::Error) -> Self {
        match &e {
            steward_store::Error::AlreadyExists { what, value } => ApiError::new(
                ErrorCode::Conflict,
                format!("{what} `{value}` already exists"),
            ),
            _ => ApiError::internal(&e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let mut response = (status, axum::Json(self.body())).into_response();
        if self.code == ErrorCode::Unauthenticated {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"steward\""),
            );
        }
        response
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
