//! `entitlement_id`: entitlement ids, emails, durations and the other small text parsers that
//! take what people type (CLI arguments, API bodies, approval rules).
//!
//! Byte 0 picks the parser, the rest (as UTF-8, lossily) is the text.

use std::str::FromStr;

use steward_engine::Product;
use steward_engine::provision::Experience;
use steward_engine::provision::catalog::EntitlementId;
use steward_engine::provision::plan::OffboardLevel;
use steward_engine::requests::{glob, parse_email};

/// The target. Panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match which % 6 {
        0 => entitlement_id(&text),
        1 => email(&text),
        2 => duration(&text),
        3 => {
            // A glob pattern and a text, split at the first NUL.
            let (pattern, subject) = text.split_once('\0').unwrap_or((&text, "jira:acme/user"));
            let matched = glob(pattern, subject);
            if pattern == subject {
                assert!(matched, "{pattern:?} does not match itself");
            }
            if !pattern.is_empty() && pattern.chars().all(|c| c == '*') {
                assert!(matched, "{pattern:?} does not match {subject:?}");
            }
        }
        4 => {
            if let Ok(level) = OffboardLevel::from_str(&text) {
                assert_eq!(
                    OffboardLevel::from_str(&level.to_string()).ok(),
                    Some(level),
                    "{text:?}"
                );
            }
        }
        _ => {
            if let Some(product) = Product::parse(&text) {
                assert_eq!(
                    Product::parse(&product.to_string()),
                    Some(product),
                    "{text:?}"
                );
            }
            let _ = Experience::parse(&text);
        }
    }
}

/// Parses; a parsed id prints back to text that parses to the same id; an error names the
/// input and the valid forms.
fn entitlement_id(text: &str) {
    match EntitlementId::parse(text) {
        Ok(id) => {
            let printed = id.to_string();
            let again = EntitlementId::parse(&printed);
            assert_eq!(
                again.as_ref().ok(),
                Some(&id),
                "{text:?} printed as {printed:?}, which parses to {again:?}"
            );
            let json = serde_json::to_string(&id).unwrap_or_default();
            assert_eq!(json, serde_json::to_string(&printed).unwrap_or_default());
        }
        Err(e) => {
            assert_eq!(e.input, text);
            let message = e.to_string();
            assert!(
                !e.reason.is_empty() && message.contains("valid forms"),
                "{text:?}: {message}"
            );
        }
    }
}

/// A valid email is trimmed, has one `@` and a dotted domain, and is accepted again as is.
fn email(text: &str) {
    match parse_email(text) {
        Ok(email) => {
            assert_eq!(email, text.trim());
            assert_eq!(email.matches('@').count(), 1, "{email:?}");
            assert!(email.len() <= 254);
            assert_eq!(parse_email(&email).as_deref(), Ok(email.as_str()));
        }
        Err(message) => assert!(message.contains("not an email address"), "{message}"),
    }
}

/// `--every`, `service.sync_interval`: a positive duration, or an error saying how to write one.
fn duration(text: &str) {
    match steward::cli::parse_duration(text) {
        Ok(d) => assert!(!d.is_zero(), "{text:?} parsed as zero"),
        Err(message) => assert!(!message.is_empty()),
    }
}
