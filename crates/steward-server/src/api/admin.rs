//! Console users and API tokens (admin only).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use steward_store::{ApiToken, NewApiToken, NewUser, Role, TokenId, User, UserId, UserUpdate};
use utoipa::ToSchema;

use crate::auth::{Principal, new_api_token};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;
/// Longest password accepted (argon2 hashes any length; this bounds the work per attempt).
pub const MAX_PASSWORD: usize = 1024;

/// A new console user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Email (stored lowercased; unique).
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// `viewer`, `requester`, `approver` or `admin`.
    #[schema(value_type = String)]
    pub role: Role,
    /// Initial password (12 to 1024 characters); omit for a user who can't sign in yet.
    pub password: Option<String>,
}

/// Changes to a console user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    /// New display name.
    pub display_name: Option<String>,
    /// New role.
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    /// Disable (ends their sessions) or enable.
    pub disabled: Option<bool>,
    /// New password.
    pub password: Option<String>,
}

/// A new API token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What uses it (e.g. `ci`, `prometheus`).
    pub name: String,
    /// Its role.
    #[schema(value_type = String)]
    pub role: Role,
}

/// A created token: the only time `token` is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The token, `stw_…`: keep it now, it is not shown again (a replay of this request
    /// through its Idempotency-Key answers `null`).
    pub token: Option<String>,
    /// The token's metadata.
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub meta: ApiToken,
}

/// Checks an email's shape.
///
/// # Errors
/// 422 naming what is wrong.
pub fn check_email(email: &str) -> Result<(), ApiError> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::value(format!(
            "`{email}` is not an email address (expected name@example.com)"
        )))
    }
}

fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::value(format!(
            "{what} must be 1 to 200 printable characters"
        )));
    }
    Ok(())
}

fn check_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(ApiError::value(format!(
            "the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long"
        )));
    }
    Ok(())
}

/// Every console user.
#[utoipa::path(get, path = "/api/v1/users", tag = "admin",
    responses((status = 200, description = "users", body = serde_json::Value)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list_users(State(state): State<AppState>) -> ApiResult<axum::Json<serde_json::Value>> {
    let users = state.store().accounts().users().await?;
    Ok(axum::Json(serde_json::json!({ "items": users })))
}

/// Creates a console user.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = CreateUser,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first answer for a repeated request")),
    responses((status = 201, description = "created", body = serde_json::Value),
              (status = 409, description = "the email is taken", body = crate::error::ErrorBody),
              (status = 422, description = "invalid value", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, axum::Json<User>)> {
    check_email(&body.email)?;
    check_name("display_name", &body.display_name)?;
    let password_hash = match &body.password {
        Some(p) => {
            check_password(p)?;
            Some(state.passwords().hash(p)?)
        }
        None => None,
    };
    let user = state
        .store()
        .accounts()
        .create_user(&NewUser {
            email: body.email,
            display_name: body.display_name,
            role: body.role,
            password_hash,
        })
        .await?;
    super::audit(
        state.store(),
        &principal,
        "console_user.created",
        Some(user.email.clone()),
        serde_json::json!({ "role": user.role }),
    )
    .await;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// Changes a console user. The last enabled admin can't be demoted or disabled.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "admin", request_body = PatchUser,
    params(("id" = i64, Path, description = "the user id"),
           ("Idempotency-Key" = Option<String>, Header, description = "replays the first answer for a repeated request")),
    responses((status = 200, description = "the user", body = serde_json::Value),
              (status = 404, description = "no such user", body = crate::error::ErrorBody),
              (status = 409, description = "would leave no admin", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn update_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PatchUser>,
) -> ApiResult<axum::Json<User>> {
    if let Some(name) = &body.display_name {
        check_name("display_name", name)?;
    }
    let password_hash = match &body.password {
        Some(p) => {
            check_password(p)?;
            Some(state.passwords().hash(p)?)
        }
        None => None,
    };
    let accounts = state.store().accounts();
    let current = accounts
        .user(UserId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("console user {id}")))?;
    let loses_admin = current.role == Role::Admin
        && !current.disabled
        && (body.role.is_some_and(|r| r != Role::Admin) || body.disabled == Some(true));
    if loses_admin && accounts.enabled_admins().await? <= 1 {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this is the last enabled admin: make another user admin first",
        ));
    }
    let user = accounts
        .update_user(
            UserId(id),
            &UserUpdate {
                display_name: body.display_name,
                role: body.role,
                disabled: body.disabled,
                password_hash,
            },
        )
        .await?
        .ok_or_else(|| ApiError::not_found(format!("console user {id}")))?;
    super::audit(
        state.store(),
        &principal,
        "console_user.updated",
        Some(user.email.clone()),
        serde_json::json!({
            "role": body.role,
            "disabled": body.disabled,
            "password_changed": body.password.is_some(),
        }),
    )
    .await;
    Ok(axum::Json(user))
}

/// Every API token (never the tokens themselves).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin",
    responses((status = 200, description = "tokens", body = serde_json::Value)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list_tokens(
    State(state): State<AppState>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let tokens = state.store().accounts().tokens().await?;
    Ok(axum::Json(serde_json::json!({ "items": tokens })))
}

/// Creates an API token and shows it once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = CreateToken,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first answer (without the token) for a repeated request")),
    responses((status = 201, description = "created", body = CreatedToken),
              (status = 422, description = "invalid value", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, axum::Json<CreatedToken>)> {
    check_name("name", &body.name)?;
    let (token, prefix, token_hash) = new_api_token();
    let meta = state
        .store()
        .accounts()
        .create_token(&NewApiToken {
            prefix,
            name: body.name,
            role: body.role,
            token_hash,
            created_by: principal.name.clone(),
        })
        .await?;
    super::audit(
        state.store(),
        &principal,
        "api_token.created",
        None,
        serde_json::json!({ "id": meta.id, "name": meta.name, "role": meta.role, "prefix": meta.prefix }),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token: Some(token),
            meta,
        }),
    ))
}

/// Revokes an API token (idempotent).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "admin",
    params(("id" = i64, Path, description = "the token id"),
           ("Idempotency-Key" = Option<String>, Header, description = "replays the first answer for a repeated request")),
    responses((status = 200, description = "the revoked token", body = serde_json::Value),
              (status = 404, description = "no such token", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("session" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<ApiToken>> {
    let token = state
        .store()
        .accounts()
        .revoke_token(TokenId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("API token {id}")))?;
    super::audit(
        state.store(),
        &principal,
        "api_token.revoked",
        None,
        serde_json::json!({ "id": token.id, "name": token.name }),
    )
    .await;
    Ok(axum::Json(token))
}
