//! The one error type of the client.
//!
//! Every failure keeps what a caller needs to decide: the HTTP status, Atlassian's own error
//! code (`ADMIN-UAM-409-3`, `forbidden.targetUnverified`, a JSM i18n key, a Confluence code),
//! the message, and how long Atlassian asked us to wait. [`Error::is_retryable`] says whether
//! trying again later can help. No variant ever carries a credential.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::family::Family;

/// Errors of every client operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Atlassian answered with an error status.
    #[error(
        "{family} {method} {route} failed with {status}{}: {message}{}",
        code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(),
        retry_after.map(|w| format!(" (retry after {w:?})")).unwrap_or_default()
    )]
    Api {
        /// Which API.
        family: Family,
        /// HTTP method.
        method: String,
        /// Route template, e.g. `/v2/orgs/{orgId}/directories/{directoryId}/users/search`.
        route: &'static str,
        /// HTTP status.
        status: StatusCode,
        /// Atlassian's machine code, when the body carried one.
        code: Option<String>,
        /// Human message (from the body, or the status reason).
        message: String,
        /// How long Atlassian asked us to wait (`Retry-After` or `X-RateLimit-Reset`).
        retry_after: Option<Duration>,
        /// Field errors (Jira `errors` map) or other structured detail, when present.
        /// (Boxed: keeps [`Error`] small, so every `Result` of the crate stays cheap to move.)
        details: Option<Box<Value>>,
    },
    /// The request did not complete: connection refused or reset, timeout, or a truncated body.
    #[error("{family} {method} {route}: {kind}: {message}")]
    Transport {
        /// Which API.
        family: Family,
        /// HTTP method.
        method: String,
        /// Route template.
        route: &'static str,
        /// What went wrong.
        kind: TransportKind,
        /// Description from the HTTP stack (never contains credentials).
        message: String,
    },
    /// The response was not the JSON the operation expects.
    #[error("{family} {route}: unexpected response at {path}: {message}")]
    Decode {
        /// Which API.
        family: Family,
        /// Route template.
        route: &'static str,
        /// JSON path of the offending value, e.g. `data[3].status`.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// A paginated endpoint returned a cursor it had already returned: stopped instead of
    /// looping forever.
    #[error(
        "{family} {route}: the server repeated the page cursor {cursor:?}; stopped to avoid an endless loop"
    )]
    RepeatedCursor {
        /// Which API.
        family: Family,
        /// Route template.
        route: &'static str,
        /// The repeated cursor (cursors carry no secrets).
        cursor: String,
    },
    /// Retrying stopped: attempts or total time exhausted. Holds the last failure.
    #[error("gave up after {attempts} attempts over {elapsed:?}: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// The last failure.
        #[source]
        last: Box<Error>,
    },
    /// The client is not configured for this call (e.g. no Statuspage key, unknown site).
    #[error("client configuration: {0}")]
    Config(String),
    /// A caller-supplied value is invalid before any request is made.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// How a request failed to complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Could not connect; the request was certainly not processed.
    Connect,
    /// No answer in time; the request may or may not have been processed.
    Timeout,
    /// The connection broke (reset, closed early, truncated body) after the request was sent;
    /// it may or may not have been processed.
    Interrupted,
    /// Anything else from the HTTP stack (e.g. an invalid URL).
    Other,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connection failed",
            TransportKind::Timeout => "timed out",
            TransportKind::Interrupted => "connection interrupted",
            TransportKind::Other => "request failed",
        })
    }
}

impl Error {
    /// Whether trying the same request again later can succeed: throttling (429, Statuspage's
    /// 420), 5xx, timeouts and broken connections. Client errors (4xx) are not retryable.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => is_retryable_status(*status),
            Error::Transport { kind, .. } => *kind != TransportKind::Other,
            Error::Decode { .. }
            | Error::RepeatedCursor { .. }
            | Error::RetriesExhausted { .. }
            | Error::Config(_)
            | Error::InvalidInput(_) => false,
        }
    }

    /// Whether Atlassian throttled the request (429 or 420): it was not processed (also
    /// through [`Error::RetriesExhausted`]).
    pub fn is_rate_limited(&self) -> bool {
        match self {
            Error::Api { status, .. } => is_throttle_status(*status),
            Error::RetriesExhausted { last, .. } => last.is_rate_limited(),
            _ => false,
        }
    }

    /// The HTTP status, for API errors (also through [`Error::RetriesExhausted`]).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// Atlassian's error code, for API errors (also through [`Error::RetriesExhausted`]).
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => code.as_deref(),
            Error::RetriesExhausted { last, .. } => last.code(),
            _ => None,
        }
    }

    /// How long Atlassian asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            Error::RetriesExhausted { last, .. } => last.retry_after(),
            _ => None,
        }
    }

    /// Whether this is a 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// Whether the failure leaves it unknown if a write was applied (timeout or interrupted
    /// connection after sending, or a 5xx). Callers verify with a read before retrying a
    /// non-idempotent write.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Error::Transport { kind, .. } => {
                matches!(kind, TransportKind::Timeout | TransportKind::Interrupted)
            }
            Error::Api { status, .. } => status.is_server_error(),
            Error::RetriesExhausted { last, .. } => last.is_ambiguous(),
            _ => false,
        }
    }
}

/// 420 (Statuspage's "enhance your calm") and 429.
pub(crate) fn is_throttle_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.as_u16() == 420
}

pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    is_throttle_status(status) || status.is_server_error()
}

/// Result of client operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reads Atlassian's code and message out of any error body shape the APIs use:
/// Org `{"errors":[{code,title,detail}]}`, workspaces' unwrapped `{code,title,detail}`,
/// the gateway's `{"code":429,"message":…}`, Spring-style `{status,error,message}`,
/// user management `{"key":…,"context":{…}}`, Jira `{"errorMessages":[…],"errors":{…}}`,
/// JSM `{"errorMessage":…,"i18nErrorMessage":{"i18nKey":…}}`, Confluence v1
/// `{"statusCode":…,"message":…}`, Confluence v2 `{"errors":[{status,code,title,detail}]}`,
/// Statuspage `{"message":…}` or `{"error":…}`. Returns (code, message, details).
pub(crate) fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>, Option<Value>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body)
            .trim()
            .chars()
            .take(300)
            .collect::<String>();
        return (None, (!text.is_empty()).then_some(text), None);
    };
    let s = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    // {"errors":[{...}]} (Org, Confluence v2)
    if let Some(first) = value
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        let code = first.get("code").and_then(s);
        let message = first
            .get("detail")
            .and_then(s)
            .or_else(|| first.get("title").and_then(s));
        return (code, message, Some(value.clone()));
    }
    // Jira ErrorCollection
    if value.get("errorMessages").is_some() || value.get("errors").is_some_and(Value::is_object) {
        let mut parts: Vec<String> = value
            .get("errorMessages")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(s).collect())
            .unwrap_or_default();
        if let Some(fields) = value.get("errors").and_then(Value::as_object) {
            parts.extend(
                fields
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", s(v).unwrap_or_default())),
            );
        }
        let details = value
            .get("errors")
            .filter(|e| e.as_object().is_some_and(|m| !m.is_empty()))
            .cloned();
        return (None, (!parts.is_empty()).then(|| parts.join("; ")), details);
    }
    // JSM
    if let Some(message) = value.get("errorMessage").and_then(s) {
        let code = value.pointer("/i18nErrorMessage/i18nKey").and_then(s);
        return (code, Some(message), None);
    }
    // User management
    if let Some(key) = value.get("key").and_then(s) {
        let message = value
            .pointer("/context/message")
            .and_then(s)
            .or_else(|| Some(key.clone()));
        return (Some(key), message, value.get("context").cloned());
    }
    // Gateway {code,message}, ApplicationError {code,title,detail}, Spring, Confluence v1,
    // Statuspage, SCIM `ScimError {status, scimType, detail}` and `Failure {error, traceId}`.
    let code = value
        .get("code")
        .and_then(s)
        .or_else(|| value.get("scimType").and_then(s));
    let message = value
        .get("detail")
        .and_then(s)
        .or_else(|| value.get("message").and_then(s))
        .or_else(|| value.get("title").and_then(s))
        .or_else(|| value.get("error").and_then(s));
    (code, message, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_error_shape_is_parsed() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            (
                r#"{"errors":[{"id":"1","status":"409","code":"ADMIN-UAM-409-3","title":"Product License Limit Exceeded","detail":"The user limit for jira-software has been reached."}]}"#,
                Some("ADMIN-UAM-409-3"),
                "The user limit for jira-software has been reached.",
            ),
            (
                r#"{"id":"1","status":400,"code":"ADMIN-400-24","title":"Bad","detail":"cursor alone"}"#,
                Some("ADMIN-400-24"),
                "cursor alone",
            ),
            (
                r#"{"code":429,"message":"Rate limit exceeded"}"#,
                Some("429"),
                "Rate limit exceeded",
            ),
            (
                r#"{"timestamp":"2025-06-06T06:03:27.122+00:00","path":"/x","status":403,"error":"Forbidden","message":"User has no permission to access resource.","requestId":"b4"}"#,
                None,
                "User has no permission to access resource.",
            ),
            (
                r#"{"key":"forbidden.targetUnverified"}"#,
                Some("forbidden.targetUnverified"),
                "forbidden.targetUnverified",
            ),
            (
                r#"{"key":"conflict.lifecycleErrors","context":{"message":"Account cannot be deleted","accountId":"a","errorCodes":[]}}"#,
                Some("conflict.lifecycleErrors"),
                "Account cannot be deleted",
            ),
            (
                r#"{"errorMessages":["Licence limit"],"errors":{"emailAddress":"taken"}}"#,
                None,
                "Licence limit; emailAddress: taken",
            ),
            (
                r#"{"errorMessage":"Customer exists","i18nErrorMessage":{"i18nKey":"sd.customer.exists","parameters":[]}}"#,
                Some("sd.customer.exists"),
                "Customer exists",
            ),
            (
                r#"{"statusCode":404,"data":{"authorized":true},"message":"No group"}"#,
                None,
                "No group",
            ),
            (
                r#"{"errors":[{"status":404,"code":"NOT_FOUND","title":"Not Found","detail":null}]}"#,
                Some("NOT_FOUND"),
                "Not Found",
            ),
            (
                r#"{"message":"Could not authenticate"}"#,
                None,
                "Could not authenticate",
            ),
            (r#"{"error":"Rate limited"}"#, None, "Rate limited"),
            (
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"User exists"}"#,
                Some("uniqueness"),
                "User exists",
            ),
            (
                r#"{"error":"Unauthorized","traceId":"abc"}"#,
                None,
                "Unauthorized",
            ),
        ];
        for (body, code, message) in cases {
            let (c, m, _) = parse_error_body(body.as_bytes());
            assert_eq!(c.as_deref(), *code, "code of {body}");
            assert_eq!(m.as_deref(), Some(*message), "message of {body}");
        }
        assert_eq!(
            parse_error_body(b"<html>Bad Gateway</html>").1.as_deref(),
            Some("<html>Bad Gateway</html>")
        );
        assert_eq!(parse_error_body(b"").1, None);
    }

    #[test]
    fn retryability_follows_status_and_transport_kind() {
        let api = |status: u16| Error::Api {
            family: Family::Org,
            method: "GET".into(),
            route: "/x",
            status: StatusCode::from_u16(status).unwrap(),
            code: None,
            message: String::new(),
            retry_after: None,
            details: None,
        };
        assert!(api(429).is_retryable() && api(429).is_rate_limited());
        assert!(api(420).is_retryable() && api(420).is_rate_limited());
        assert!(api(503).is_retryable() && api(503).is_ambiguous());
        assert!(!api(409).is_retryable() && !api(404).is_retryable());
        let transport = |kind| Error::Transport {
            family: Family::Jira,
            method: "POST".into(),
            route: "/x",
            kind,
            message: String::new(),
        };
        assert!(transport(TransportKind::Connect).is_retryable());
        assert!(!transport(TransportKind::Connect).is_ambiguous());
        assert!(transport(TransportKind::Interrupted).is_ambiguous());
        assert!(!transport(TransportKind::Other).is_retryable());
    }
}
