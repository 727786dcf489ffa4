//! The handlers, one module per resource.

pub mod admin;
pub mod audit;
pub mod changes;
pub mod jobs;
pub mod ops;
pub mod people;
pub mod requests;
pub mod session;
pub mod sync;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorCode};

/// A page of a list; pass `next_cursor` back as `cursor` for the next page (`null`: the last
/// page).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
}

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page size.
pub const MAX_LIMIT: u32 = 1000;

/// The page size asked for, checked.
///
/// # Errors
/// 400 outside 1..=[`MAX_LIMIT`].
pub fn limit(asked: Option<u32>) -> Result<u32, ApiError> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::parameter(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {n}"
        ))),
    }
}

/// A numeric cursor (`cursor=<id>`).
///
/// # Errors
/// 400 for anything but a non-negative integer.
pub fn numeric_cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    cursor
        .map(|c| {
            c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::parameter(format!(
                    "cursor `{c}` is not one this API gave out: pass next_cursor from the previous page"
                ))
            })
        })
        .transpose()
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "authentication required"))
    }
}

/// The latest completed snapshot, or 409 telling how to make one.
pub(crate) async fn latest_snapshot(
    store: &steward_store::Store,
) -> Result<steward_store::Snapshot, ApiError> {
    store.latest_snapshot().await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotSynced,
            "nothing has been synced yet: POST /api/v1/sync/runs (admin) or run `steward sync`",
        )
    })
}

/// Appends an audit entry; a failure is logged (the action itself already happened).
pub(crate) async fn audit(
    store: &steward_store::Store,
    actor: &Principal,
    action: &str,
    subject: Option<String>,
    detail: serde_json::Value,
) {
    let entry = steward_store::NewAuditEntry {
        actor: actor.name.clone(),
        action: action.to_owned(),
        subject,
        reason: None,
        detail,
        result: "ok".to_owned(),
        job: None,
    };
    if let Err(e) = store.audit().append(&entry).await {
        tracing::error!(error = %e, action, "cannot append the audit entry");
    }
}
