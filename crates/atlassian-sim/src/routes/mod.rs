//! Every route the simulator serves, per family, registered through [`Table`] so the list of
//! (family, method, path template) is known to the conformance tests.

use axum::Router;
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::app::AppState;
use crate::family::Family;

/// Registers routes of one family on a router and remembers each (method, template).
pub struct Table {
    family: Family,
    router: Router<AppState>,
    entries: Vec<RouteEntry>,
}

/// One registered route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    /// Family.
    pub family: Family,
    /// Method, upper case.
    pub method: &'static str,
    /// Path template relative to the family's OpenAPI server URL, axum syntax (`{id}`).
    pub template: &'static str,
}

impl Table {
    /// A new, empty table for `family`.
    pub fn new(family: Family) -> Table {
        Table {
            family,
            router: Router::new(),
            entries: vec![],
        }
    }

    fn add<H, T>(
        mut self,
        method: &'static str,
        filter: MethodFilter,
        path: &'static str,
        handler: H,
    ) -> Table
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, on(filter, handler));
        self.entries.push(RouteEntry {
            family: self.family,
            method,
            template: path,
        });
        self
    }

    /// Registers a GET route.
    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Table {
        self.add("GET", MethodFilter::GET, path, handler)
    }

    /// Registers a POST route.
    pub fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
    ) -> Table {
        self.add("POST", MethodFilter::POST, path, handler)
    }

    /// Registers a PUT route.
    pub fn put<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Table {
        self.add("PUT", MethodFilter::PUT, path, handler)
    }

    /// Registers a PATCH route.
    pub fn patch<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
    ) -> Table {
        self.add("PATCH", MethodFilter::PATCH, path, handler)
    }

    /// Registers a DELETE route.
    pub fn delete<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
    ) -> Table {
        self.add("DELETE", MethodFilter::DELETE, path, handler)
    }

    /// Splits into the router and the route list.
    pub fn finish(self) -> (Router<AppState>, Vec<RouteEntry>) {
        (self.router, self.entries)
    }
}

/// A JSON response with `status`.
pub(crate) fn respond(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A timestamp as the Atlassian APIs write it: RFC 3339, UTC, milliseconds (`…T10:00:00.000Z`).
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Splits comma-separated values, dropping empty ones (query lists may be repeated or joined).
pub(crate) fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

pub mod confluence;
pub mod control;
pub mod jira;
pub mod jsm;
pub mod org;
mod site;
pub mod statuspage;
pub mod um;
