//! Strict extractors: JSON bodies, query strings and path segments whose every failure is a
//! 4xx with the stable error shape and a message naming what was wrong (never axum's plain
//! text rejections).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};

/// A JSON body: `Content-Type: application/json`, within the body limit, the right shape
/// (unknown fields are refused by the types themselves).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::new(ErrorCode::InvalidJson, format!("cannot read the body: {e}"))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The 413 error.
pub fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::BodyTooLarge,
        "the request body is larger than the server accepts (64 KiB by default)",
    )
}

/// Decodes `bytes` as `T`, naming the JSON path of the first problem.
///
/// # Errors
/// [`ErrorCode::InvalidJson`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if has_escaped_nul(bytes) {
        // PostgreSQL can't store or compare a NUL in text; no value Steward takes holds one.
        return Err(ApiError::new(
            ErrorCode::InvalidJson,
            "invalid JSON body: a string holds a NUL character (\\u0000), which no value may contain",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." || path.is_empty() {
            format!("invalid JSON body: {inner}")
        } else {
            format!("invalid JSON body at `{path}`: {inner}")
        };
        ApiError::new(ErrorCode::InvalidJson, message)
    })?;
    de.end().map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!("invalid JSON body: trailing data after the value ({e})"),
        )
    })?;
    Ok(value)
}

/// Whether a JSON text holds the escape `\u0000` in a string (an unescaped NUL is not JSON
/// and fails to parse anyway).
fn has_escaped_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) == Some(&b'u') && bytes.get(i + 2..i + 6) == Some(&b"0000"[..]) {
                return true;
            }
            // Skip the escaped character (`\\` included).
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Query parameters (the types refuse unknown ones).
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_html_form::from_str(query)
            .map(ApiQuery)
            .map_err(|e| ApiError::parameter(format!("invalid query string: {e}")))
    }
}

/// Path parameters.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::parameter(format!("invalid path: {}", e.body_text())))
    }
}

#[cfg(test)]
mod tests {
    use super::has_escaped_nul;

    #[test]
    fn escaped_nuls_are_found_and_escaped_backslashes_are_not_nuls() {
        assert!(has_escaped_nul(br#"{"a": "x\u0000y"}"#));
        assert!(has_escaped_nul(br#"["\\\u0000"]"#));
        assert!(!has_escaped_nul(br#"{"a": "x\\u0000y"}"#));
        assert!(!has_escaped_nul(br#"{"a": "\u0001 \\"}"#));
        assert!(!has_escaped_nul(b"\\"));
    }
}
