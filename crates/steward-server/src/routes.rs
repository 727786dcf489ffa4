//! The route table: every route with its method, path and the least [`Role`] it needs. The
//! router is built from it ([`crate::router`]) and the tests enumerate it, so a route can't
//! exist without an access rule, nor be tested against another one.

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post};
use steward_store::Role;

use crate::api;
use crate::auth::{AuthRequest, authenticate, authorize};
use crate::console;
use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: liveness and readiness probes (they answer one bit and nothing else) and
    /// sign-in itself (it is how one authenticates).
    Public,
    /// An authenticated principal with at least this role.
    Least(Role),
}

/// Which face of the service a route belongs to: they differ in how a refusal looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The JSON API (and the operations endpoints): refusals are JSON errors (401, 403).
    Api,
    /// The web console: HTML pages; without a session a page redirects to the sign-in form,
    /// a refusal is an HTML page, and forms may carry the CSRF token as a `csrf_token` field.
    Console,
}

/// One route.
#[derive(Debug, Clone)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The axum path template (`/api/v1/people/{email}`); the OpenAPI document uses the same.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Whether an `Idempotency-Key` is honoured (mutating calls except sign-in/out).
    pub idempotent: bool,
    /// API or console.
    pub surface: Surface,
    handler: fn() -> MethodRouter<AppState>,
}

const fn route(
    method: Method,
    path: &'static str,
    access: Access,
    handler: fn() -> MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        access,
        idempotent: false,
        surface: Surface::Api,
        handler,
    }
}

/// A console route (a page, a form target or a static asset).
const fn page(
    method: Method,
    path: &'static str,
    access: Access,
    handler: fn() -> MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        access,
        idempotent: false,
        surface: Surface::Console,
        handler,
    }
}

const fn mutating(
    method: Method,
    path: &'static str,
    least: Role,
    handler: fn() -> MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        access: Access::Least(least),
        idempotent: true,
        surface: Surface::Api,
        handler,
    }
}

use Access::{Least, Public};
use Role::{Admin, Approver, Requester, Viewer};

/// Every route of the service.
pub static ROUTES: &[Route] = &[
    route(Method::GET, "/healthz", Public, || get(api::ops::healthz)),
    route(Method::GET, "/readyz", Public, || get(api::ops::readyz)),
    route(Method::GET, "/metrics", Least(Admin), || {
        get(api::ops::metrics)
    }),
    route(Method::GET, "/api/v1/openapi.json", Least(Viewer), || {
        get(crate::openapi::document)
    }),
    route(Method::POST, "/api/v1/session", Public, || {
        post(api::session::sign_in)
    }),
    route(Method::GET, "/api/v1/session", Least(Viewer), || {
        get(api::session::current)
    }),
    route(Method::DELETE, "/api/v1/session", Least(Viewer), || {
        delete(api::session::sign_out)
    }),
    route(Method::GET, "/api/v1/people", Least(Viewer), || {
        get(api::people::list)
    }),
    route(Method::GET, "/api/v1/people/{email}", Least(Viewer), || {
        get(api::people::show)
    }),
    route(Method::GET, "/api/v1/entitlements", Least(Viewer), || {
        get(api::people::entitlements)
    }),
    route(Method::GET, "/api/v1/jobs", Least(Viewer), || {
        get(api::jobs::list)
    }),
    route(Method::GET, "/api/v1/jobs/{id}", Least(Viewer), || {
        get(api::jobs::show)
    }),
    route(Method::GET, "/api/v1/requests", Least(Viewer), || {
        get(api::requests::list)
    }),
    mutating(Method::POST, "/api/v1/requests", Requester, || {
        post(api::requests::create)
    }),
    route(Method::GET, "/api/v1/requests/{id}", Least(Viewer), || {
        get(api::requests::show)
    }),
    mutating(
        Method::POST,
        "/api/v1/requests/{id}/approve",
        Approver,
        || post(api::requests::approve),
    ),
    mutating(Method::POST, "/api/v1/requests/{id}/deny", Approver, || {
        post(api::requests::deny)
    }),
    mutating(
        Method::POST,
        "/api/v1/requests/{id}/cancel",
        Requester,
        || post(api::requests::cancel),
    ),
    mutating(
        Method::POST,
        "/api/v1/requests/{id}/revoke",
        Approver,
        || post(api::requests::revoke),
    ),
    mutating(
        Method::POST,
        "/api/v1/requests/{id}/revocation/retry",
        Admin,
        || post(api::requests::retry_revocation),
    ),
    route(Method::GET, "/api/v1/sync/runs", Least(Viewer), || {
        get(api::sync::list)
    }),
    mutating(Method::POST, "/api/v1/sync/runs", Admin, || {
        post(api::sync::start)
    }),
    route(Method::GET, "/api/v1/changes", Least(Viewer), || {
        get(api::changes::list)
    }),
    route(Method::GET, "/api/v1/audit", Least(Viewer), || {
        get(api::audit::list)
    }),
    route(Method::GET, "/api/v1/audit/verify", Least(Admin), || {
        get(api::audit::verify)
    }),
    route(Method::GET, "/api/v1/users", Least(Admin), || {
        get(api::admin::list_users)
    }),
    mutating(Method::POST, "/api/v1/users", Admin, || {
        post(api::admin::create_user)
    }),
    mutating(Method::PATCH, "/api/v1/users/{id}", Admin, || {
        patch(api::admin::update_user)
    }),
    route(Method::GET, "/api/v1/tokens", Least(Admin), || {
        get(api::admin::list_tokens)
    }),
    mutating(Method::POST, "/api/v1/tokens", Admin, || {
        post(api::admin::create_token)
    }),
    mutating(Method::DELETE, "/api/v1/tokens/{id}", Admin, || {
        delete(api::admin::revoke_token)
    }),
    // The web console (crate::console). Keep its rows together.
    page(Method::GET, "/static/console.css", Public, || {
        get(console::assets::css)
    }),
    page(Method::GET, "/static/htmx.min.js", Public, || {
        get(console::assets::htmx)
    }),
    page(Method::GET, "/sign-in", Public, || {
        get(console::session::form)
    }),
    page(Method::POST, "/sign-in", Public, || {
        post(console::session::sign_in)
    }),
    page(Method::POST, "/sign-out", Least(Viewer), || {
        post(console::session::sign_out)
    }),
    page(Method::GET, "/", Least(Viewer), || {
        get(console::pages::dashboard)
    }),
    page(Method::GET, "/people", Least(Viewer), || {
        get(console::pages::people)
    }),
    page(Method::GET, "/people/{email}", Least(Viewer), || {
        get(console::pages::person)
    }),
    page(
        Method::POST,
        "/people/{email}/offboard",
        Least(Admin),
        || post(console::offboard::plan),
    ),
    page(
        Method::POST,
        "/people/{email}/offboard/confirm",
        Least(Admin),
        || post(console::offboard::confirm),
    ),
    page(Method::GET, "/requests", Least(Viewer), || {
        get(console::requests::queue)
    }),
    page(Method::GET, "/requests/new", Least(Requester), || {
        get(console::requests::new_form)
    }),
    page(Method::POST, "/requests", Least(Requester), || {
        post(console::requests::create)
    }),
    page(Method::GET, "/requests/{id}", Least(Viewer), || {
        get(console::requests::show)
    }),
    page(
        Method::POST,
        "/requests/{id}/approve",
        Least(Approver),
        || post(console::requests::approve),
    ),
    page(Method::POST, "/requests/{id}/deny", Least(Approver), || {
        post(console::requests::deny)
    }),
    page(
        Method::POST,
        "/requests/{id}/cancel",
        Least(Requester),
        || post(console::requests::cancel),
    ),
    page(
        Method::POST,
        "/requests/{id}/revoke",
        Least(Approver),
        || post(console::requests::revoke),
    ),
    page(
        Method::POST,
        "/requests/{id}/revocation/retry",
        Least(Admin),
        || post(console::requests::retry_revocation),
    ),
    page(Method::GET, "/jobs", Least(Viewer), || {
        get(console::pages::jobs)
    }),
    page(Method::GET, "/jobs/{id}", Least(Viewer), || {
        get(console::pages::job)
    }),
    page(Method::GET, "/audit", Least(Viewer), || {
        get(console::pages::audit)
    }),
    page(Method::GET, "/audit/verify", Least(Admin), || {
        get(console::pages::audit_verify)
    }),
];

/// The guard every non-public route runs: authenticate, authorize, honour the idempotency
/// key, then the handler.
#[derive(Debug, Clone)]
struct Guard {
    state: AppState,
    least: Role,
    idempotent: bool,
}

async fn guard(State(g): State<Guard>, mut request: Request, next: Next) -> Response {
    let auth = AuthRequest {
        headers: request.headers(),
        store: g.state.store(),
        config: &g.state.config().auth,
    };
    let principal = match authenticate(g.state.authenticators(), auth).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = authorize(&principal, g.least, request.method(), request.headers()) {
        return e.into_response();
    }
    request.extensions_mut().insert(principal.clone());
    if g.idempotent {
        crate::idempotency::run(&g.state, &principal, request, next).await
    } else {
        next.run(request).await
    }
}

impl Route {
    /// The method router with its guard.
    pub(crate) fn method_router(&self, state: &AppState) -> MethodRouter<AppState> {
        let router = (self.handler)();
        match (self.access, self.surface) {
            (Access::Public, _) => router,
            (Access::Least(least), Surface::Console) => {
                router.layer(axum::middleware::from_fn_with_state(
                    console::PageGuard {
                        state: state.clone(),
                        least,
                    },
                    console::guard,
                ))
            }
            (Access::Least(least), Surface::Api) => {
                router.layer(axum::middleware::from_fn_with_state(
                    Guard {
                        state: state.clone(),
                        least,
                        idempotent: self.idempotent,
                    },
                    guard,
                ))
            }
        }
    }
}

/// Unknown paths: authenticated like any route (so probing reveals nothing), then 404.
pub(crate) async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let auth = AuthRequest {
        headers: request.headers(),
        store: state.store(),
        config: &state.config().auth,
    };
    match authenticate(state.authenticators(), auth).await {
        Ok(_) => crate::error::ApiError::new(
            crate::error::ErrorCode::NotFound,
            format!(
                "no route {} {}; GET /api/v1/openapi.json lists them",
                request.method(),
                request.uri().path()
            ),
        )
        .into_response(),
        Err(e) => e.into_response(),
    }
}
