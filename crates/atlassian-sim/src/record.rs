//! Recording of every exchange the simulator serves, so tests can check each request and
//! response against the official OpenAPI documents (see the `conformance` module).

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::family::Family;

/// One request and the simulator's answer to it.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// The API family the path belongs to.
    pub family: Family,
    /// HTTP method, upper case.
    pub method: String,
    /// The path relative to the family's OpenAPI server URL (see [`crate::family::Route`]).
    pub spec_path: String,
    /// The raw query string, without the leading `?` (empty when there is none).
    pub query: String,
    /// The request's `Content-Type`, if any.
    pub request_content_type: Option<String>,
    /// The request body parsed as JSON, when it was JSON.
    pub request_body: Option<serde_json::Value>,
    /// The request body as raw text, when it was not JSON (or not valid JSON).
    pub request_text: Option<String>,
    /// The status code the simulator answered.
    pub status: u16,
    /// The response's `Content-Type`, if any.
    pub response_content_type: Option<String>,
    /// The response body parsed as JSON, when it was JSON.
    pub response_body: Option<serde_json::Value>,
    /// Whether a fault was injected into this exchange (such exchanges are not checked
    /// against the spec: a truncated body or a scripted 503 is deliberate).
    pub fault_injected: bool,
}

/// A shared, append-only log of exchanges. Cloning shares the log.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<Vec<Exchange>>>,
}

impl Recorder {
    /// Appends one exchange.
    pub fn push(&self, exchange: Exchange) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(exchange);
    }

    /// Everything recorded so far, oldest first.
    pub fn snapshot(&self) -> Vec<Exchange> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Removes and returns everything recorded so far.
    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
