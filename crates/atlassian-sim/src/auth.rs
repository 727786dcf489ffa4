//! Authentication of every request, by family, as Atlassian does it:
//!
//! - Org API: `Authorization: Bearer <org API key>`. A key with scopes may read (GET and the
//!   search/workspaces POSTs) but gets 403 on writes. No or a wrong key: the gateway's 401
//!   `{"code":401,"message":…}`. Site credentials (Basic) do not work here.
//! - User management API: the org key **without scopes**; a scoped key gets 403 `{"key":"forbidden"}`.
//! - Jira, JSM, Confluence on `/site/<name>`: `Authorization: Basic base64(email:api_token)` of the
//!   integration account. Through the gateway `/api/ex/<product>/<cloudId>`: `Bearer <api_token>`
//!   (standing for a scoped token). The org key does not work on site APIs (401).
//! - Statuspage: `Authorization: OAuth <key>` or `?api_key=<key>`.
//! - Control API: `Authorization: Bearer <control token>`; Atlassian credentials never work there.
//!
//! On success the middleware stores the [`Route`] and the caller ([`OrgCaller`], [`SiteCaller`])
//! in the request extensions for handlers.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::app::AppState;
use crate::error::{ApiError, proxy_error};
use crate::family::{Family, Route, SiteRef, classify};
use crate::state::{AccountIx, SiteIx};

/// The authenticated Org or user-management API caller.
#[derive(Debug, Clone, Copy)]
pub struct OrgCaller {
    /// The key has scopes (read-only here).
    pub scoped: bool,
    /// The account that owns the key (the audit-log actor).
    pub actor: AccountIx,
}

/// The authenticated site API caller.
#[derive(Debug, Clone, Copy)]
pub struct SiteCaller {
    /// The addressed site.
    pub site: SiteIx,
    /// The account whose token was used.
    pub actor: AccountIx,
}

/// The authenticated control API or Statuspage caller (no identity beyond the key).
#[derive(Debug, Clone, Copy)]
pub struct KeyCaller;

fn authorization(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

fn bearer(req: &Request) -> Option<&str> {
    let value = authorization(req)?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn basic(req: &Request) -> Option<(String, String)> {
    let value = authorization(req)?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (email, token) = decoded.split_once(':')?;
    Some((email.to_owned(), token.to_owned()))
}

/// Constant-time comparison, so response timing does not reveal how much of a key matched.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn is_read(method: &Method, route: &Route) -> bool {
    method == Method::GET
        || (method == Method::POST
            && (route.spec_path.ends_with("/search") || route.spec_path.ends_with("/workspaces")))
}

/// The authentication middleware (see the module docs).
pub async fn authenticate(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(route) = classify(req.uri().path()) else {
        return crate::error::json_response(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": "No such API. See the simulator README for the served prefixes."}),
        );
    };
    let family = route.family;
    req.extensions_mut().insert(route.clone());
    match family {
        Family::Control => {
            let ok =
                bearer(&req).is_some_and(|t| app.read(|w| same(t, &w.credentials.control_token)));
            if !ok {
                return ApiError::unauthorized(
                    family,
                    "The control API needs Authorization: Bearer <control_token>.",
                )
                .into_response();
            }
            req.extensions_mut().insert(KeyCaller);
        }
        Family::Org | Family::UserManagement => {
            let key = bearer(&req).map(str::to_owned);
            let caller = app.read(|w| {
                let key = key.as_deref()?;
                let actor = w.integration_account();
                if same(key, &w.credentials.org_api_key) {
                    Some(OrgCaller {
                        scoped: false,
                        actor,
                    })
                } else if same(key, &w.credentials.scoped_org_api_key) {
                    Some(OrgCaller {
                        scoped: true,
                        actor,
                    })
                } else {
                    None
                }
            });
            let Some(caller) = caller else {
                return match family {
                    Family::Org => proxy_error(
                        StatusCode::UNAUTHORIZED,
                        "Unauthorized; scope does not match",
                    ),
                    _ => ApiError::unauthorized(family, "A valid org API key is required.")
                        .into_response(),
                };
            };
            if caller.scoped {
                if family == Family::UserManagement {
                    return ApiError::forbidden(
                        family,
                        "The user management API needs an API key without scopes.",
                    )
                    .into_response();
                }
                if !is_read(req.method(), &route) {
                    return ApiError::forbidden(
                        family,
                        "This API key has scopes that do not allow changes. Use an API key without scopes.",
                    )
                    .into_response();
                }
            }
            req.extensions_mut().insert(caller);
        }
        Family::Jira | Family::Jsm | Family::ConfluenceV1 | Family::ConfluenceV2 => {
            let gateway_token = bearer(&req).map(str::to_owned);
            let basic = basic(&req);
            let result = app.read(|w| {
                let site = match &route.site {
                    Some(SiteRef::Name(name)) => w.site_by_name(name),
                    Some(SiteRef::Gateway(cloud_id)) => w.site_by_cloud_id(cloud_id),
                    None => None,
                };
                let Some(site) = site else {
                    return Err(StatusCode::NOT_FOUND);
                };
                let token = &w.site(site).api_token;
                let actor = w.integration_account();
                let email = w.account(actor).email.clone().unwrap_or_default();
                let ok = match (&route.site, &basic, &gateway_token) {
                    (Some(SiteRef::Name(_)), Some((e, t)), _) => {
                        e.eq_ignore_ascii_case(&email) && same(t, token)
                    }
                    (Some(SiteRef::Gateway(_)), _, Some(t)) => same(t, token),
                    _ => false,
                };
                // A deactivated or suspended integration account's token stops working.
                if !ok || !w.active_on_site(actor, site) {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                Ok(SiteCaller { site, actor })
            });
            match result {
                Ok(caller) => {
                    req.extensions_mut().insert(caller);
                }
                Err(StatusCode::NOT_FOUND) => {
                    return ApiError::not_found(
                        family,
                        "No site with that name or cloud id exists in this org.",
                    )
                    .into_response();
                }
                Err(_) => {
                    let mut response = ApiError::unauthorized(
                        family,
                        "Client must be authenticated to access this resource.",
                    )
                    .into_response();
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        axum::http::HeaderValue::from_static("Basic realm=\"protected\""),
                    );
                    return response;
                }
            }
        }
        Family::Statuspage => {
            let header_key = authorization(&req).and_then(|v| {
                let (scheme, key) = v.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("oauth")
                    .then(|| key.trim().to_owned())
            });
            let query_key = req.uri().query().and_then(|q| {
                serde_html_form::from_str::<Vec<(String, String)>>(q)
                    .ok()?
                    .into_iter()
                    .find(|(k, _)| k == "api_key")
                    .map(|(_, v)| v)
            });
            let key = header_key.or(query_key);
            let ok = key.is_some_and(|k| app.read(|w| same(&k, &w.statuspage.api_key)));
            if !ok {
                return ApiError::unauthorized(family, "Could not authenticate").into_response();
            }
            req.extensions_mut().insert(KeyCaller);
        }
    }
    next.run(req).await
}
