//! Pagination helpers shared by the families. Each family keeps its own wire style; these only
//! do the arithmetic and the opaque cursor encoding.
//!
//! Opaque cursors (Org API v2, workspaces, Confluence v2) are URL-safe base64 of a small JSON
//! document holding the offset and a fingerprint of the query, so a cursor is stateless, survives
//! restarts, and a cursor replayed with a different query is rejected as invalid.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// What an opaque cursor carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Offset of the first item of the page this cursor points to.
    #[serde(rename = "o")]
    pub offset: usize,
    /// Page size.
    #[serde(rename = "l")]
    pub limit: usize,
    /// The query the cursor belongs to (filters as JSON), so a search cursor alone reproduces
    /// the search.
    #[serde(rename = "q", default, skip_serializing_if = "Option::is_none")]
    pub query: Option<serde_json::Value>,
}

impl Cursor {
    /// Encodes the cursor as an opaque token.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes a token made by [`Cursor::encode`]; `None` when it is not one.
    pub fn decode(token: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim().trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// The slice bounds of one page: `start..end` within `total` items.
pub fn window(total: usize, offset: usize, limit: usize) -> std::ops::Range<usize> {
    let start = offset.min(total);
    let end = start.saturating_add(limit).min(total);
    start..end
}

/// Clamps a requested page size to `1..=max`, using `default` when absent.
pub fn clamp_limit(requested: Option<i64>, default: usize, max: usize) -> usize {
    match requested {
        Some(n) if n >= 1 => (n as usize).min(max),
        Some(_) => default.min(max),
        None => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            offset: 40,
            limit: 20,
            query: Some(serde_json::json!({"status":["active"]})),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not a cursor"), None);
        assert_eq!(Cursor::decode(""), None);
    }

    #[test]
    fn window_never_overruns() {
        assert_eq!(window(5, 0, 2), 0..2);
        assert_eq!(window(5, 4, 2), 4..5);
        assert_eq!(window(5, 9, 2), 5..5);
        assert_eq!(window(0, 0, 50), 0..0);
    }

    #[test]
    fn limits_are_clamped() {
        assert_eq!(clamp_limit(None, 20, 100), 20);
        assert_eq!(clamp_limit(Some(1000), 20, 100), 100);
        assert_eq!(clamp_limit(Some(0), 20, 100), 20);
        assert_eq!(clamp_limit(Some(-3), 20, 100), 20);
    }
}
