//! People and their access, and the entitlement catalog, from the latest sync.

use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use steward_engine::provision::{Catalog, CatalogConfig, CatalogError};
use steward_engine::{PeopleFilter, Person, Product};
use utoipa::IntoParams;

use super::{Page, latest_snapshot, limit};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// Filters of `GET /api/v1/people`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    /// `jira`, `confluence`, `jsm`, `jpd`, `statuspage` or `platform`.
    pub product: Option<String>,
    /// A role held (with `product`: on that product); `user` matches `atlassian/user`.
    pub role: Option<String>,
    /// Composite status (`active`, `suspended`, …).
    pub status: Option<String>,
    /// No activity in any product for this many days (or never).
    pub inactive_for_days: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size (1 to 1000, default 100).
    pub limit: Option<u32>,
}

type SortKey = (bool, String, String);

fn sort_key(p: &Person) -> SortKey {
    (
        p.email.is_none(),
        p.email.clone().unwrap_or_default(),
        p.account_id.clone(),
    )
}

fn decode_cursor(cursor: &str) -> Result<SortKey, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            ApiError::parameter(format!(
                "cursor `{cursor}` is not one this API gave out: pass next_cursor from the previous page"
            ))
        })
}

fn encode_cursor(key: &SortKey) -> Result<String, ApiError> {
    serde_json::to_vec(key)
        .map(|b| URL_SAFE_NO_PAD.encode(b))
        .map_err(|e| ApiError::internal(&e))
}

/// Every person of the latest sync with their access, sorted by email, filtered and paged.
#[utoipa::path(get, path = "/api/v1/people", tag = "people", params(PeopleQuery),
    responses((status = 200, description = "a page of people", body = serde_json::Value),
              (status = 400, description = "invalid filter", body = crate::error::ErrorBody),
              (status = 409, description = "nothing synced yet", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PeopleQuery>,
) -> ApiResult<axum::Json<Page<Person>>> {
    let size = limit(q.limit)? as usize;
    let product = q
        .product
        .as_deref()
        .map(|p| {
            Product::parse(p).ok_or_else(|| {
                ApiError::parameter(format!(
                    "product `{p}` is not one of {}",
                    Product::NAMES.join(", ")
                ))
            })
        })
        .transpose()?;
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let snapshot = latest_snapshot(state.store()).await?;
    let filter = PeopleFilter {
        product,
        role: q.role,
        status: q.status,
        inactive_for_days: q.inactive_for_days,
        now: None,
    };
    let people = steward_engine::people(&snapshot, &filter)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let mut items: Vec<Person> = people
        .into_iter()
        .filter(|p| after.as_ref().is_none_or(|a| sort_key(p) > *a))
        .take(size + 1)
        .collect();
    let next_cursor = if items.len() > size {
        items.truncate(size);
        items
            .last()
            .map(|p| encode_cursor(&sort_key(p)))
            .transpose()?
    } else {
        None
    };
    Ok(axum::Json(Page { items, next_cursor }))
}

/// One person by email (any case): every grant and where it comes from, groups, Statuspage,
/// JSM, last activity.
#[utoipa::path(get, path = "/api/v1/people/{email}", tag = "people",
    params(("email" = String, Path, description = "the person's email")),
    responses((status = 200, description = "the person", body = serde_json::Value),
              (status = 404, description = "no such person", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    ApiPath(email): ApiPath<String>,
) -> ApiResult<axum::Json<Person>> {
    let snapshot = latest_snapshot(state.store()).await?;
    steward_engine::person(&snapshot, &email)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found(format!("no account with email {email}")))
}

/// What can be granted: the entitlement catalog of the latest sync.
#[utoipa::path(get, path = "/api/v1/entitlements", tag = "people",
    responses((status = 200, description = "every entitlement", body = serde_json::Value),
              (status = 409, description = "nothing synced yet", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn entitlements(
    State(state): State<AppState>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let snapshot = latest_snapshot(state.store()).await?;
    let catalog = Catalog::from_snapshot(&snapshot, &CatalogConfig::default())
        .await
        .map_err(|e| match e {
            CatalogError::Store(e) => ApiError::from(e),
            other => ApiError::internal(&other),
        })?;
    Ok(axum::Json(
        serde_json::json!({ "items": catalog.entitlements() }),
    ))
}
