//! Request extractors that answer bad input in the family's own error shape (axum's built-in
//! rejections are plain text).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::family::{Family, Route};

/// Largest request body the simulator accepts (Atlassian's gateways refuse far smaller bodies
/// than this for the endpoints we serve; Confluence documents 5 MB for role assignments).
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

fn family_of(parts_ext: &axum::http::Extensions) -> Family {
    parts_ext
        .get::<Route>()
        .map_or(Family::Control, |r| r.family)
}

/// A JSON request body. Malformed JSON, a wrong content type, wrong field types and oversized
/// bodies give the family's 400/415/413 error naming the problem and, for type errors, the
/// JSON path of the offending field.
#[derive(Debug, Clone)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let family = family_of(req.extensions());
        let (content_type, bytes) = read_body(req, family).await?;
        if !is_json(&content_type) {
            return Err(unsupported_media_type(family));
        }
        parse_json(family, &bytes).map(Body)
    }
}

/// Reads a request's lower-cased `Content-Type` (empty when absent) and its body. A body larger
/// than [`MAX_BODY_BYTES`] gives the family's 413.
pub async fn read_body(req: Request, family: Family) -> Result<(String, Bytes), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::too_large(family))?;
    Ok((content_type, bytes))
}

/// Whether a lower-cased content type (as [`read_body`] gives it) declares JSON.
pub fn is_json(content_type: &str) -> bool {
    content_type.starts_with("application/json") || content_type.contains("+json")
}

/// The family's 415 for a body not declared as JSON (Atlassian answers 415 then).
pub fn unsupported_media_type(family: Family) -> ApiError {
    ApiError::new(
        family,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported.media.type",
        "Send the body as JSON with the header Content-Type: application/json.",
    )
}

/// Parses a JSON body, mapping errors to the family's 400 with the JSON path of the problem.
pub fn parse_json<T: DeserializeOwned>(family: Family, bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            family,
            "The request body is empty; a JSON object is required.",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("The request body is not valid JSON: {inner}")
        } else if path == "." {
            format!("Invalid request body: {inner}")
        } else {
            format!("Invalid value at {path}: {inner}")
        };
        let mut err = ApiError::bad_request(family, message);
        if path != "." {
            err = err.with_field(&path, &inner.to_string());
        }
        err
    })
}

/// Query parameters. Unparsable values give the family's 400 naming the parameter.
#[derive(Debug, Clone)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let family = family_of(&parts.extensions);
        let query = parts.uri.query().unwrap_or("");
        serde_html_form::from_str(query)
            .map(Params)
            .map_err(|e| ApiError::bad_request(family, format!("Invalid query parameters: {e}")))
    }
}
