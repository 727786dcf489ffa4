//! Signing in and out from the console. Sign-in reuses the API's (`POST /api/v1/session`:
//! the same checks, rate limit, cookie and session); its form is protected against login CSRF
//! by a double-submit token in a short-lived cookie of its own.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{Me, error_page, redirect, render_status};
use crate::api::session::{ClientIp, SignIn};
use crate::auth::{Principal, cookie, random_token};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::state::AppState;

/// The sign-in form's CSRF cookie when it is `Secure`.
pub const SIGN_IN_COOKIE: &str = "__Host-steward_sign_in";
/// The sign-in form's CSRF cookie on plain-http loopback.
pub const SIGN_IN_COOKIE_INSECURE: &str = "steward_sign_in";

fn sign_in_cookie_name(state: &AppState) -> &'static str {
    if state.config().auth.secure_cookie {
        SIGN_IN_COOKIE
    } else {
        SIGN_IN_COOKIE_INSECURE
    }
}

fn sign_in_cookie(state: &AppState, value: &str, max_age: u64) -> Option<HeaderValue> {
    let secure = if state.config().auth.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        sign_in_cookie_name(state)
    ))
    .ok()
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    /// Always `None` (the layout shows no navigation before sign-in).
    pub me: Option<Me>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// The email typed last.
    pub email: String,
    /// Where to go after signing in.
    pub next: String,
    /// The form's CSRF token (also in the sign-in cookie).
    pub csrf: String,
}

/// Query of `GET /sign-in`.
#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    /// A console path to return to.
    pub next: Option<String>,
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// The form's CSRF token.
    pub csrf_token: String,
    /// Where to go after signing in.
    #[serde(default)]
    pub next: String,
}

/// Only a path of this site (no scheme, no `//host`) is followed after sign-in.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(char::is_control);
    if local { next } else { "/" }
}

fn form_page(
    state: &AppState,
    status: StatusCode,
    error: Option<String>,
    email: String,
    next: &str,
) -> Response {
    let csrf = random_token(24);
    let mut response = render_status(
        status,
        &SignInPage {
            me: None,
            error,
            email,
            next: safe_next(next).to_owned(),
            csrf: csrf.clone(),
        },
    );
    if let Some(c) = sign_in_cookie(state, &csrf, 3600) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// `GET /sign-in`: the form.
pub async fn form(State(state): State<AppState>, Query(q): Query<SignInQuery>) -> Response {
    form_page(
        &state,
        StatusCode::OK,
        None,
        String::new(),
        q.next.as_deref().unwrap_or("/"),
    )
}

/// `POST /sign-in`: checks the form's CSRF token, signs in as `POST /api/v1/session` does,
/// and redirects to `next` with the session cookie set; a failure shows the form again with
/// the same single answer the API gives.
pub async fn sign_in(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    let expected = cookie(&headers, sign_in_cookie_name(&state)).unwrap_or_default();
    let same: bool = expected.as_bytes().ct_eq(f.csrf_token.as_bytes()).into();
    if expected.is_empty() || !same {
        return form_page(
            &state,
            StatusCode::FORBIDDEN,
            Some("The form expired: sign in again.".to_owned()),
            f.email,
            &f.next,
        );
    }
    let signed_in = crate::api::session::sign_in(
        State(state.clone()),
        ip,
        ApiJson(SignIn {
            email: f.email.clone(),
            password: f.password,
        }),
    )
    .await;
    match signed_in {
        Ok(api) => {
            let mut response = redirect(&headers, safe_next(&f.next));
            for c in api.headers().get_all(header::SET_COOKIE) {
                response.headers_mut().append(header::SET_COOKIE, c.clone());
            }
            if let Some(c) = sign_in_cookie(&state, "", 0) {
                response.headers_mut().append(header::SET_COOKIE, c);
            }
            response
        }
        Err(e) => {
            let status = e.code.status();
            form_page(&state, status, Some(e.message), f.email, &f.next)
        }
    }
}

/// `POST /sign-out`: ends the session, clears the cookie, back to the sign-in form.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
) -> Response {
    match crate::api::session::sign_out(State(state), principal.clone()).await {
        Ok(api) => {
            let mut response = redirect(&headers, "/sign-in");
            for c in api.headers().get_all(header::SET_COOKIE) {
                response.headers_mut().append(header::SET_COOKIE, c.clone());
            }
            response
        }
        Err(e) => error_page(Some(&principal), &e),
    }
}

/// A 400 for a form that does not parse (kept here so every console refusal is a page).
pub fn bad_form(principal: &Principal, message: impl Into<String>) -> Response {
    error_page(
        Some(principal),
        &ApiError::new(ErrorCode::InvalidParameter, message),
    )
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/people?x=1"), "/people?x=1");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next(""), "/");
    }
}
