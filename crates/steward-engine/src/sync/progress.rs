//! Live progress of a sync, per product, for progress bars and status pages.
//!
//! The engine advances a [`Progress`] as pages land in the store; a viewer (the CLI's progress
//! bars, later the console) polls [`Progress::snapshot`]. Cheap to clone and share. Keys are
//! the per-product status keys: `org` (accounts read), `statuspage` (members whose permissions
//! were read), `jsm:<site>` (customers read).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

pub use super::products::{ORG, STATUSPAGE};

/// Where one product's read stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Not started.
    Waiting,
    /// Reading.
    Running,
    /// Read and stored.
    Done,
    /// Failed (the run's per-product status says why).
    Failed,
}

/// One product's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductProgress {
    /// Items done (accounts, members, customers).
    pub done: u64,
    /// Items in all, when the API tells (Statuspage's team size); `None` for searches that
    /// report no total.
    pub total: Option<u64>,
    /// What is counted (`accounts`, `members`, `customers`).
    pub unit: &'static str,
    /// The phase.
    pub phase: Phase,
}

/// Shared progress of one sync (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Progress {
    inner: Arc<Mutex<BTreeMap<String, ProductProgress>>>,
}

impl Progress {
    /// A fresh progress, nothing started.
    pub fn new() -> Self {
        Self::default()
    }

    fn update(&self, key: &str, f: impl FnOnce(&mut ProductProgress)) {
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = map.entry(key.to_owned()).or_insert(ProductProgress {
            done: 0,
            total: None,
            unit: unit_of(key),
            phase: Phase::Waiting,
        });
        f(entry);
    }

    /// Declares `key` started, with its total when known.
    pub fn start(&self, key: &str, total: Option<u64>) {
        self.update(key, |p| {
            p.phase = Phase::Running;
            p.total = total;
        });
    }

    /// Adds `n` items done to `key` (starting it if needed).
    pub fn advance(&self, key: &str, n: u64) {
        self.update(key, |p| {
            p.phase = Phase::Running;
            p.done += n;
        });
    }

    /// Marks `key` done.
    pub fn finish(&self, key: &str) {
        self.update(key, |p| p.phase = Phase::Done);
    }

    /// Marks `key` failed.
    pub fn fail(&self, key: &str) {
        self.update(key, |p| p.phase = Phase::Failed);
    }

    /// Every product's progress, by key (`org`, `statuspage`, `jsm:<site>`).
    pub fn snapshot(&self) -> BTreeMap<String, ProductProgress> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn unit_of(key: &str) -> &'static str {
    match key {
        ORG => "accounts",
        STATUSPAGE => "members",
        _ => "customers",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_advance_independently() {
        let p = Progress::new();
        p.start(STATUSPAGE, Some(3));
        p.advance(ORG, 100);
        p.advance(ORG, 50);
        p.advance(STATUSPAGE, 1);
        p.finish(ORG);
        let s = p.snapshot();
        assert_eq!(s[ORG].done, 150);
        assert_eq!(s[ORG].phase, Phase::Done);
        assert_eq!((s[STATUSPAGE].done, s[STATUSPAGE].total), (1, Some(3)));
        assert_eq!(s[STATUSPAGE].phase, Phase::Running);
        assert_eq!(s[STATUSPAGE].unit, "members");
    }
}
