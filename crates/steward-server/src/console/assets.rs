//! The console's static assets, compiled into the binary: its stylesheet and htmx (2.0.11,
//! from the npm package `htmx.org`, `dist/htmx.min.js`), so no page depends on a CDN.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../../static/console.css");
const HTMX: &str = include_str!("../../static/htmx.min.js");

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `GET /static/console.css`.
pub async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

/// `GET /static/htmx.min.js`.
pub async fn htmx() -> Response {
    asset(HTMX, "text/javascript; charset=utf-8")
}
