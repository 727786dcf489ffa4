//! Helpers the parts of the Org API share: the org and list checks, the optional JSON body,
//! and the opaque cursors of the groups, directories and audit-log lists.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::{is_json, parse_json, read_body, unsupported_media_type};
use crate::family::Family;
use crate::paging::Cursor;
use crate::state::World;

/// An optional JSON request body (the spec marks the body of the search and workspaces
/// operations `required: false`): an empty body is `None`; anything else must be JSON, with the
/// same error answers as [`crate::extract::Body`].
pub(super) struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (content_type, bytes) = read_body(req, Family::Org).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        if !is_json(&content_type) {
            return Err(unsupported_media_type(Family::Org));
        }
        parse_json(Family::Org, &bytes).map(|v| OptionalJson(Some(v)))
    }
}

/// 404 `ADMIN-404-2` when `org_id` is not the simulated org.
pub(super) fn check_org(w: &World, org_id: &str) -> ApiResult<()> {
    check_org_with(w, org_id, "ADMIN-404-2")
}

/// 404 with error `code` when `org_id` is not the simulated org.
pub(super) fn check_org_with(w: &World, org_id: &str, code: &str) -> ApiResult<()> {
    if w.org.id == org_id {
        Ok(())
    } else {
        Err(ApiError::new(
            Family::Org,
            StatusCode::NOT_FOUND,
            code,
            format!("Organization {org_id} was not found."),
        ))
    }
}

/// 400: the list parameter `name` holds more than `max` items.
pub(super) fn too_many(name: &str, max: usize) -> ApiError {
    ApiError::bad_request(Family::Org, format!("{name} can have at most {max} items."))
}

/// 400 `ADMIN-400-1`: the cursor is not one this endpoint issued.
pub(super) fn invalid_cursor() -> ApiError {
    ApiError::new(
        Family::Org,
        StatusCode::BAD_REQUEST,
        "ADMIN-400-1",
        "The page cursor is invalid.",
    )
}

/// Encodes an opaque cursor for `kind` (the endpoint) and `scope` (its path parameters), whose
/// `filters` reproduce the query.
pub(super) fn encode_cursor(
    kind: &str,
    scope: &str,
    offset: usize,
    limit: usize,
    filters: &impl Serialize,
) -> String {
    let query =
        json!({"k": kind, "s": scope, "f": serde_json::to_value(filters).unwrap_or(Value::Null)});
    Cursor {
        offset,
        limit,
        query: Some(query),
    }
    .encode()
}

/// Decodes a cursor made by [`encode_cursor`] for the same `kind` and `scope`.
pub(super) fn decode_cursor<T: DeserializeOwned>(
    token: &str,
    kind: &str,
    scope: &str,
) -> Result<(usize, usize, T), ApiError> {
    let cursor = Cursor::decode(token).ok_or_else(invalid_cursor)?;
    let query = cursor.query.ok_or_else(invalid_cursor)?;
    if query.get("k").and_then(Value::as_str) != Some(kind)
        || query.get("s").and_then(Value::as_str) != Some(scope)
    {
        return Err(invalid_cursor());
    }
    let filters = serde_json::from_value(query.get("f").cloned().unwrap_or(Value::Null))
        .map_err(|_| invalid_cursor())?;
    Ok((cursor.offset, cursor.limit.max(1), filters))
}

/// `links` of a v2 cursor page: `self`, and `prev`/`next` only when such a page exists (the
/// spec's `LinkPageCursor` does not allow `null`).
pub(super) fn page_links(
    kind: &str,
    scope: &str,
    offset: usize,
    limit: usize,
    total: usize,
    filters: &impl Serialize,
) -> Value {
    let mut links = serde_json::Map::new();
    links.insert(
        "self".into(),
        Value::String(encode_cursor(kind, scope, offset, limit, filters)),
    );
    if offset > 0 {
        let prev = offset.saturating_sub(limit);
        links.insert(
            "prev".into(),
            Value::String(encode_cursor(kind, scope, prev, limit, filters)),
        );
    }
    if offset.saturating_add(limit) < total {
        links.insert(
            "next".into(),
            Value::String(encode_cursor(kind, scope, offset + limit, limit, filters)),
        );
    }
    Value::Object(links)
}

/// Validates a page size: absent → `default`, above `max` → `max`, below 1 → 400.
pub(super) fn page_size(
    requested: Option<i64>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match requested {
        None => Ok(default),
        Some(n) if n < 1 => Err(ApiError::bad_request(
            Family::Org,
            format!("limit must be between 1 and {max}."),
        )),
        Some(n) => Ok((n as usize).min(max)),
    }
}
