//! `Idempotency-Key` on mutating calls: the same key with the same body replays the stored
//! response (header `Idempotency-Replayed: true`); with another body it is refused (422);
//! while the first request still runs, a second gets 409. Keys are scoped per principal and
//! path and kept 24 hours. Server errors are not stored (a retry runs again). A secret in a
//! response (the `token` of a new API token) is never stored: its replay carries `null`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use steward_store::IdempotencyBegin;

use crate::auth::{Principal, sha256_hex};
use crate::error::{ApiError, ErrorCode};
use crate::extract::too_large;
use crate::state::AppState;

/// The request header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The response header marking a replay.
pub const IDEMPOTENCY_REPLAYED: &str = "idempotency-replayed";

/// Runs `request` through `next` under its idempotency key, if it has one.
pub(crate) async fn run(
    state: &AppState,
    principal: &Principal,
    request: Request,
    next: Next,
) -> Response {
    let Some(key) = request.headers().get(IDEMPOTENCY_KEY) else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_owned()
        }
        _ => {
            return ApiError::parameter(
                "Idempotency-Key must be 1 to 255 visible ASCII characters (e.g. a UUID)",
            )
            .into_response();
        }
    };
    let route = format!("{} {}", request.method(), request.uri().path());
    let (parts, body) = request.into_parts();
    let bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return too_large().into_response(),
    };
    let mut hashed = route.clone().into_bytes();
    hashed.push(0);
    hashed.extend_from_slice(&bytes);
    let request_hash = sha256_hex(&hashed);
    let accounts = state.store().accounts();
    let begin = accounts
        .idempotency_begin(&principal.name, &route, &key, &request_hash)
        .await;
    match begin {
        Err(e) => ApiError::from(e).into_response(),
        Ok(IdempotencyBegin::Mismatch) => ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was already used with a different request body: use a new key for a new request",
        )
        .into_response(),
        Ok(IdempotencyBegin::InProgress) => ApiError::new(
            ErrorCode::IdempotencyKeyInProgress,
            "a request with this Idempotency-Key is still being handled: retry in a moment",
        )
        .into_response(),
        Ok(IdempotencyBegin::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(IDEMPOTENCY_REPLAYED, HeaderValue::from_static("true"));
            response
        }
        Ok(IdempotencyBegin::New) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (parts, body) = response.into_parts();
            let body = match body.collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    let _ = accounts
                        .idempotency_release(&principal.name, &route, &key)
                        .await;
                    return ApiError::internal(&*e.into_inner()).into_response();
                }
            };
            let outcome = if parts.status.is_server_error() {
                accounts
                    .idempotency_release(&principal.name, &route, &key)
                    .await
            } else {
                let stored = without_secrets(&body);
                accounts
                    .idempotency_complete(
                        &principal.name,
                        &route,
                        &key,
                        parts.status.as_u16(),
                        &stored,
                    )
                    .await
            };
            if let Err(e) = outcome {
                tracing::error!(error = %e, "cannot record the idempotency key's response");
            }
            Response::from_parts(parts, Body::from(body))
        }
    }
}

/// The body to store: JSON with a top-level `token` nulled, anything else as text.
fn without_secrets(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut map)) => {
            if map.contains_key("token") {
                map.insert("token".to_owned(), serde_json::Value::Null);
            }
            serde_json::Value::Object(map).to_string()
        }
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}
