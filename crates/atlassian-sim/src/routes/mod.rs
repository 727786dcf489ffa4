//! Every route the simulator serves, per family, registered through [`Table`] so the list of
//! (family, method, path template) is known to the conformance tests.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};

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

pub mod confluence;
pub mod control;
pub mod jira;
pub mod jsm;
pub mod org;
pub mod statuspage;
pub mod um;
