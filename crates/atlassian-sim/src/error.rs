//! Error responses in each family's own shape, and the mapping from model errors to them.
//!
//! | family | body |
//! |---|---|
//! | Org API | `{"errors":[{"id","status","code","title","detail"}]}`; gateway 401/429: `{"code":401,"message":"…"}` |
//! | User management | `{"key":"…"}` (403/409 may add `context`) |
//! | Jira | `{"errorMessages":["…"],"errors":{}}` |
//! | JSM | `{"errorMessage":"…","i18nErrorMessage":{"i18nKey":"…","parameters":[]}}` |
//! | Confluence v1 | `{"statusCode":400,"data":{"authorized":true,"valid":false,"errors":[],"successful":false},"message":"…"}` |
//! | Confluence v2 | `{"errors":[{"status":404,"code":"NOT_FOUND","title":"…","detail":null}]}` |
//! | Statuspage | `{"message":"…"}` (the spec's `ErrorEntity`) |
//! | Control | `{"error":"…"}` |

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::family::Family;
use crate::state::ModelError;

/// An error answer in one family's shape.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Whose shape to use.
    pub family: Family,
    /// HTTP status.
    pub status: StatusCode,
    /// Machine code: Org `ADMIN-UAM-409-3`, user-management key `forbidden.action`, JSM i18n
    /// key, Confluence v2 code. Families without codes ignore it.
    pub code: String,
    /// Human message.
    pub message: String,
    /// Jira field errors (`errors` map).
    pub fields: Vec<(String, String)>,
    /// Extra `context` for user-management errors.
    pub context: Option<Value>,
}

impl ApiError {
    /// A new error with a status, code and message.
    pub fn new(
        family: Family,
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            family,
            status,
            code: code.to_owned(),
            message: message.into(),
            fields: vec![],
            context: None,
        }
    }

    /// 400 with the family's generic bad-request code.
    pub fn bad_request(family: Family, message: impl Into<String>) -> ApiError {
        let code = match family {
            Family::Org => "ADMIN-400-1",
            Family::UserManagement => "badRequest",
            Family::ConfluenceV2 => "INVALID_REQUEST_PARAMETER",
            _ => "bad.request",
        };
        ApiError::new(family, StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 with the family's generic not-found code.
    pub fn not_found(family: Family, message: impl Into<String>) -> ApiError {
        let code = match family {
            Family::Org => "ADMIN-404-1",
            Family::UserManagement => "notFound",
            Family::ConfluenceV2 => "NOT_FOUND",
            _ => "not.found",
        };
        ApiError::new(family, StatusCode::NOT_FOUND, code, message)
    }

    /// 401: missing or wrong credentials.
    pub fn unauthorized(family: Family, message: impl Into<String>) -> ApiError {
        let code = match family {
            Family::UserManagement => "unauthorized",
            Family::ConfluenceV2 => "UNAUTHORIZED",
            _ => "unauthorized",
        };
        ApiError::new(family, StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403: authenticated but not allowed.
    pub fn forbidden(family: Family, message: impl Into<String>) -> ApiError {
        let code = match family {
            Family::Org => "ADMIN-UAM-403-1",
            Family::UserManagement => "forbidden",
            Family::ConfluenceV2 => "FORBIDDEN",
            _ => "forbidden",
        };
        ApiError::new(family, StatusCode::FORBIDDEN, code, message)
    }

    /// 413: body over the size limit.
    pub fn too_large(family: Family) -> ApiError {
        ApiError::new(
            family,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload.too.large",
            "The request body is too large.",
        )
    }

    /// Adds a Jira field error.
    pub fn with_field(mut self, field: &str, message: &str) -> ApiError {
        self.fields.push((field.to_owned(), message.to_owned()));
        self
    }

    /// Adds user-management `context`.
    pub fn with_context(mut self, context: Value) -> ApiError {
        self.context = Some(context);
        self
    }

    /// Maps a model error to `family`'s status codes and error codes.
    pub fn from_model(family: Family, err: &ModelError) -> ApiError {
        use ModelError as E;
        let message = err.to_string();
        let (status, org_code) = match err {
            E::NotFound { what: "user", .. } => (StatusCode::NOT_FOUND, "ADMIN-UAM-404-3"),
            E::NotFound { .. } => (StatusCode::NOT_FOUND, "ADMIN-404-1"),
            E::LicenceExceeded { .. } => match family {
                Family::Org => (StatusCode::CONFLICT, "ADMIN-UAM-409-3"),
                _ => (StatusCode::BAD_REQUEST, "ADMIN-UAM-409-3"),
            },
            E::GroupIdpSynced(_) | E::AccountIdpSynced(_) => {
                (StatusCode::FORBIDDEN, "ADMIN-UAM-403-1")
            }
            E::GroupProtected(_) => (StatusCode::BAD_REQUEST, "ADMIN-UAM-400-3"),
            E::GroupNameTaken(_) => match family {
                Family::Org => (StatusCode::CONFLICT, "ADMIN-UAM-409-2"),
                _ => (StatusCode::BAD_REQUEST, "ADMIN-UAM-409-2"),
            },
            E::OrgAdmin(_) | E::LastOrgAdmin(_) => (StatusCode::BAD_REQUEST, "ADMIN-UAM-400-3"),
            E::NotManaged(_) => (StatusCode::FORBIDDEN, "ADMIN-UAM-403-1"),
            E::WrongAccountType(..) | E::RoleNotAllowed { .. } | E::Invalid(_) => {
                (StatusCode::BAD_REQUEST, "ADMIN-UAM-400-1")
            }
            E::NotInDirectory(..) => (StatusCode::BAD_REQUEST, "ADMIN-UAM-400-1"),
            E::LifecycleConflict(_) => (StatusCode::CONFLICT, "ADMIN-UAM-409-2"),
        };
        let code = match family {
            Family::Org => org_code.to_owned(),
            Family::UserManagement => match err {
                E::NotFound { what: "user", .. } => "accountNotFound".to_owned(),
                E::NotFound { .. } => "notFound".to_owned(),
                E::NotManaged(_) => "forbidden.targetUnverified".to_owned(),
                E::OrgAdmin(_) | E::LifecycleConflict(_) | E::LastOrgAdmin(_) => {
                    "conflict.lifecycleErrors".to_owned()
                }
                _ if status == StatusCode::FORBIDDEN => "forbidden.action".to_owned(),
                _ => "badRequest".to_owned(),
            },
            Family::ConfluenceV2 => status
                .canonical_reason()
                .unwrap_or("ERROR")
                .to_uppercase()
                .replace(' ', "_"),
            _ => org_code.to_owned(),
        };
        // The user-management API answers org-admin refusals as lifecycle conflicts.
        let status = match (family, err) {
            (Family::UserManagement, E::OrgAdmin(_) | E::LastOrgAdmin(_)) => StatusCode::CONFLICT,
            _ => status,
        };
        ApiError::new(family, status, &code, message)
    }

    fn body(&self) -> Value {
        let title = self.status.canonical_reason().unwrap_or("Error");
        match self.family {
            Family::Org => json!({"errors": [{
                "id": uuid::Uuid::new_v4().to_string(),
                "status": self.status.as_u16().to_string(),
                "code": self.code,
                "title": title,
                "detail": self.message,
            }]}),
            Family::UserManagement => match &self.context {
                Some(context) => json!({"key": self.code, "context": context}),
                None => json!({"key": self.code}),
            },
            Family::Jira => {
                let fields: serde_json::Map<String, Value> = self
                    .fields
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                let messages: Vec<&str> = if self.message.is_empty() {
                    vec![]
                } else {
                    vec![self.message.as_str()]
                };
                json!({"errorMessages": messages, "errors": fields})
            }
            Family::Jsm => json!({
                "errorMessage": self.message,
                "i18nErrorMessage": {"i18nKey": format!("sd.public.api.error.{}", self.code), "parameters": []},
            }),
            Family::ConfluenceV1 => json!({
                "statusCode": self.status.as_u16(),
                "data": {"authorized": self.status != StatusCode::UNAUTHORIZED && self.status != StatusCode::FORBIDDEN,
                         "valid": false, "errors": [], "successful": false},
                "message": self.message,
            }),
            Family::ConfluenceV2 => json!({"errors": [{
                "status": self.status.as_u16(), "code": self.code, "title": title, "detail": self.message,
            }]}),
            Family::Statuspage => json!({"message": self.message}),
            Family::Control => json!({"error": self.message}),
        }
    }
}

/// The Org API gateway's own error (401 without a valid key, 429): `{"code":…,"message":…}`.
pub fn proxy_error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        &json!({"code": status.as_u16(), "message": message}),
    )
}

/// A JSON response with the given status.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body())
    }
}

/// Result type of route handlers.
pub type ApiResult<T = Response> = Result<T, ApiError>;
