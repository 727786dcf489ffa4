//! The web console: server-rendered pages (askama templates under `templates/`, checked at
//! build time and escaped by default) with htmx for partial updates, served by the same router
//! as the API and listed in the same route table ([`crate::routes::ROUTES`], surface
//! [`crate::Surface::Console`]).
//!
//! Pages use the API's session (the cookie set by sign-in) and its roles. What differs is how
//! a refusal looks: without a valid session a page redirects to `/sign-in`; a role too low
//! gets an HTML 403 page. Every form carries the session's CSRF token as a `csrf_token`
//! field (htmx requests send it as `X-CSRF-Token`), so the pages work without JavaScript.
//! Actions a role may not take are not shown, and are refused by the guard anyway.

pub mod assets;
pub mod offboard;
pub mod pages;
pub mod requests;
pub mod session;

use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use steward_store::Role;

use crate::auth::{
    AuthRequest, CSRF_HEADER, Credential, Principal, authenticate, authorize, is_mutating,
};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// What a console route's guard needs: the state and the least role of the route.
#[derive(Debug, Clone)]
pub struct PageGuard {
    /// The application state.
    pub state: AppState,
    /// The least role the route needs.
    pub least: Role,
}

/// The guard of every non-public console route: authenticate (else redirect to the sign-in
/// form), check the CSRF token of a form sent with a session (from the `X-CSRF-Token` header
/// or the form's `csrf_token` field), check the role (else an HTML 403), then the handler.
pub async fn guard(State(g): State<PageGuard>, request: Request, next: Next) -> Response {
    let auth = AuthRequest {
        headers: request.headers(),
        store: g.state.store(),
        config: &g.state.config().auth,
    };
    let principal = match authenticate(g.state.authenticators(), auth).await {
        Ok(p) => p,
        Err(e) if e.code == ErrorCode::Unauthenticated => {
            return to_sign_in(request.headers(), request.uri().path());
        }
        Err(e) => return error_page(None, &e),
    };
    let (mut parts, body) = request.into_parts();
    let body = if is_mutating(&parts.method)
        && matches!(principal.credential, Credential::Session { .. })
        && !parts.headers.contains_key(CSRF_HEADER)
    {
        let bytes = match axum::body::to_bytes(body, g.state.config().body_limit).await {
            Ok(b) => b,
            Err(_) => return error_page(Some(&principal), &crate::extract::too_large()),
        };
        if let Some(token) = form_field(&bytes, "csrf_token")
            && let Ok(value) = HeaderValue::from_str(&token)
        {
            parts.headers.insert(CSRF_HEADER, value);
        }
        Body::from(bytes)
    } else {
        body
    };
    if let Err(e) = authorize(&principal, g.least, &parts.method, &parts.headers) {
        return error_page(Some(&principal), &e);
    }
    parts.extensions.insert(principal);
    next.run(Request::from_parts(parts, body)).await
}

/// The value of `name` in an `application/x-www-form-urlencoded` body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_html_form::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Whether the request was made by htmx (it then wants a fragment, and redirects through
/// `HX-Redirect`).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// A redirect to the sign-in form that comes back to `path` after signing in.
pub fn to_sign_in(headers: &HeaderMap, path: &str) -> Response {
    let next = if path == "/" || !path.starts_with('/') {
        "/sign-in".to_owned()
    } else {
        format!("/sign-in?next={}", encode_component(path))
    };
    redirect(headers, &next)
}

/// A 303 See Other to `location` (or, for htmx, a 200 with `HX-Redirect` so the whole page
/// changes rather than a fragment).
pub fn redirect(headers: &HeaderMap, location: &str) -> Response {
    let Ok(value) = HeaderValue::from_str(location) else {
        return error_page(None, &ApiError::parameter("invalid redirect target"));
    };
    let mut response = if is_htmx(headers) {
        let mut r = StatusCode::OK.into_response();
        r.headers_mut().insert("hx-redirect", value);
        r
    } else {
        let mut r = StatusCode::SEE_OTHER.into_response();
        r.headers_mut().insert(header::LOCATION, value);
        r
    };
    no_store(response.headers_mut());
    response
}

/// Percent-encodes everything but unreserved characters (for a query value or path segment).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whoever is looking at a page: what the layout shows and which actions a page offers.
#[derive(Debug, Clone)]
pub struct Me {
    /// Email, or the API token's name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The session's CSRF token (empty for an API token, which needs none).
    pub csrf: String,
}

impl Me {
    /// From the guard's principal.
    pub fn of(principal: &Principal) -> Me {
        let csrf = match &principal.credential {
            Credential::Session { csrf_token, .. } => csrf_token.clone(),
            Credential::Token { .. } => String::new(),
        };
        Me {
            name: principal.name.clone(),
            role: principal.role,
            csrf,
        }
    }

    /// Whether the role reaches `least`.
    pub fn can(&self, least: Role) -> bool {
        self.role >= least
    }

    /// The `hx-headers` attribute value that makes htmx send the CSRF token.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ "X-CSRF-Token": self.csrf }).to_string()
    }
}

/// Security headers of every console page: no caching of pages that show access data, no
/// framing, scripts and styles only from this origin.
fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// Renders `template` as an HTML response with `status`.
pub fn render_status(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// Renders `template` as a 200 HTML response.
pub fn render(template: &impl Template) -> Response {
    render_status(StatusCode::OK, template)
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The viewer, when signed in (the layout then shows the navigation).
    pub me: Option<Me>,
    /// The page title.
    pub title: String,
    /// What went wrong and what to do.
    pub message: String,
}

/// An API error as an HTML page with the error's status.
pub fn error_page(principal: Option<&Principal>, error: &ApiError) -> Response {
    let title = match error.code.status() {
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::UNAUTHORIZED => "Not signed in",
        StatusCode::CONFLICT => "Not possible now",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        s if s.is_server_error() => "Something failed",
        _ => "Bad request",
    };
    render_status(
        error.code.status(),
        &ErrorPage {
            me: principal.map(Me::of),
            title: title.to_owned(),
            message: error.message.clone(),
        },
    )
}

/// A short UTC timestamp for tables (`2026-11-27 10:59`).
pub fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// [`when`] of an optional instant, `never` without one.
pub fn when_or_never(at: Option<&chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(|| "never".to_owned(), when)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_percent_encoded() {
        assert_eq!(encode_component("a b@c.com/x"), "a%20b%40c.com%2Fx");
        assert_eq!(encode_component("plain-1.2_~"), "plain-1.2_~");
    }

    #[test]
    fn form_fields_are_found() {
        assert_eq!(
            form_field(b"a=1&csrf_token=x%2By&b=2", "csrf_token").as_deref(),
            Some("x+y")
        );
        assert_eq!(form_field(b"a=1", "csrf_token"), None);
    }
}
