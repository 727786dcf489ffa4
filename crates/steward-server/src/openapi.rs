//! The OpenAPI 3.1 document, generated from the handlers' annotations. A test checks that it
//! lists exactly the routes of [`crate::routes::ROUTES`].

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Steward API", description = "Access lifecycle for Atlassian Cloud. Every route but /healthz, /readyz and sign-in needs an API token (`Authorization: Bearer stw_…`) or a session cookie (mutating requests then also need `X-CSRF-Token`). Errors: `{\"error\": {\"code\": \"STABLE_CODE\", \"message\": \"…\"}}`."),
    paths(
        api::ops::healthz, api::ops::readyz, api::ops::metrics, document,
        api::session::sign_in, api::session::current, api::session::sign_out,
        api::people::list, api::people::show, api::people::entitlements,
        api::jobs::list, api::jobs::show,
        api::requests::create, api::requests::list, api::requests::show, api::requests::approve,
        api::requests::deny, api::requests::cancel, api::requests::revoke,
        api::requests::retry_revocation,
        api::sync::list, api::sync::start, api::changes::list,
        api::audit::list, api::audit::verify,
        api::admin::list_users, api::admin::create_user, api::admin::update_user,
        api::admin::list_tokens, api::admin::create_token, api::admin::revoke_token,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail, crate::error::ErrorCode,
        api::requests::CreateRequest, api::requests::Decision)),
    modifiers(&Security),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "the OpenAPI 3.1 document", body = serde_json::Value)),
    security(("bearer" = []), ("session" = [])))]
pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
