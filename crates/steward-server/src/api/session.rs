//! Sign-in, the current principal, sign-out.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use steward_store::{NewSession, Role};
use utoipa::ToSchema;

use crate::auth::{Credential, Principal, random_token, session_cookie_name, sha256_hex};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiJson;
use crate::state::AppState;

/// Sign-in request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// Email (any case).
    pub email: String,
    /// Password.
    pub password: String,
}

/// Who is signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// The user's email, or `token:<name>#<id>` for an API token.
    pub name: String,
    /// The role.
    #[schema(value_type = String, example = "viewer")]
    pub role: Role,
    /// `session` or `token`.
    pub kind: &'static str,
    /// The CSRF token to send as `X-CSRF-Token` on mutating requests (sessions only).
    pub csrf_token: Option<String>,
    /// When the session ends at the latest (sessions only, on sign-in).
    pub expires_at: Option<DateTime<Utc>>,
}

/// The client's address as the listener saw it (proxies' headers are not trusted).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

fn set_cookie(state: &AppState, value: &str, max_age: u64) -> Result<HeaderValue, ApiError> {
    let auth = &state.config().auth;
    let secure = if auth.secure_cookie { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        session_cookie_name(auth)
    ))
    .map_err(|e| ApiError::internal(&e))
}

/// Signs in with email and password: sets the session cookie and returns the CSRF token.
/// Wrong email, wrong password and a disabled user get the same answer in the same time.
/// Attempts are limited per client address and email.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = SignIn,
    responses((status = 200, description = "signed in; the session cookie is set", body = SessionInfo),
              (status = 401, description = "wrong email or password", body = crate::error::ErrorBody),
              (status = 429, description = "too many attempts", body = crate::error::ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<SignIn>,
) -> ApiResult<Response> {
    state.sign_in_limiter().check(ip, &body.email)?;
    let accounts = state.store().accounts();
    // No account's email holds a NUL, and PostgreSQL can't compare one (the console's form
    // gets here without the JSON check): no such account, the same single answer.
    let found = if body.email.contains('\0') {
        None
    } else {
        accounts.credentials(&body.email).await?
    };
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let password_ok = state.passwords().verify(&body.password, hash.as_deref());
    let user = match user {
        Some(u) if password_ok && !u.disabled => u,
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidCredentials,
                "wrong email or password, or the account is disabled",
            ));
        }
    };
    let id = random_token(32);
    let csrf = random_token(32);
    let absolute = state.config().auth.absolute_timeout;
    let now = Utc::now();
    let expires_at = chrono::Duration::from_std(absolute)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    accounts
        .create_session(&NewSession {
            id_hash: sha256_hex(id.as_bytes()),
            user: user.id,
            csrf_token: csrf.clone(),
            expires_at,
        })
        .await?;
    let cookie = set_cookie(&state, &id, absolute.as_secs())?;
    let mut response = (
        StatusCode::OK,
        axum::Json(SessionInfo {
            name: user.email,
            role: user.role,
            kind: "session",
            csrf_token: Some(csrf),
            expires_at: Some(expires_at),
        }),
    )
        .into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Who is calling (and, for a session, its CSRF token).
#[utoipa::path(get, path = "/api/v1/session", tag = "session",
    responses((status = 200, description = "the caller", body = SessionInfo)),
    security(("bearer" = []), ("session" = [])))]
pub async fn current(principal: Principal) -> axum::Json<SessionInfo> {
    let (kind, csrf_token) = match principal.credential {
        Credential::Session { csrf_token, .. } => ("session", Some(csrf_token)),
        Credential::Token { .. } => ("token", None),
    };
    axum::Json(SessionInfo {
        name: principal.name,
        role: principal.role,
        kind,
        csrf_token,
        expires_at: None,
    })
}

/// Signs out: ends the session and clears the cookie (with an API token: nothing to end).
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "signed out")),
    security(("bearer" = []), ("session" = [])))]
pub async fn sign_out(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    if let Credential::Session { id_hash, .. } = &principal.credential {
        state.store().accounts().delete_session(id_hash).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, "", 0)?);
    Ok(response)
}
