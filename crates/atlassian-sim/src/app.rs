//! The state shared by every route: the world under one lock, the exchange recorder, the
//! fault and latency settings, and the URLs the simulator advertises.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::faults::Faults;
use crate::record::Recorder;
use crate::state::World;

/// Cheaply cloneable handle to the simulator's shared state.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    world: Mutex<World>,
    dirty: AtomicBool,
    recorder: Recorder,
    faults: Faults,
    base_url: String,
}

impl AppState {
    /// Wraps a world. `base_url` is `http://<addr>`, used to build absolute links
    /// (`self`, `nextPage`, `hostUrl`).
    pub fn new(world: World, base_url: String, faults: Faults, recorder: Recorder) -> AppState {
        AppState {
            inner: Arc::new(Shared {
                world: Mutex::new(world),
                dirty: AtomicBool::new(false),
                recorder,
                faults,
                base_url,
            }),
        }
    }

    /// Runs `f` with read access to the world. Role changes whose visibility delay passed are
    /// applied first.
    pub fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        let mut world = self.inner.world.lock().unwrap_or_else(|e| e.into_inner());
        world.apply_due();
        f(&world)
    }

    /// Runs `f` with write access to the world and marks it changed (for `--state` saving).
    pub fn write<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut world = self.inner.world.lock().unwrap_or_else(|e| e.into_inner());
        world.apply_due();
        self.inner.dirty.store(true, Ordering::Release);
        f(&mut world)
    }

    /// Returns whether the world changed since the last call, and clears the flag.
    pub fn take_dirty(&self) -> bool {
        self.inner.dirty.swap(false, Ordering::AcqRel)
    }

    /// The exchange recorder.
    pub fn recorder(&self) -> &Recorder {
        &self.inner.recorder
    }

    /// Latency, rate-limit and fault settings.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// `http://<addr>` of this simulator.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The URL standing for `https://api.atlassian.com`.
    pub fn api_url(&self) -> String {
        format!("{}{}", self.inner.base_url, crate::family::API_PREFIX)
    }

    /// The URL standing for `https://<site>.atlassian.net`.
    pub fn site_url(&self, site_name: &str) -> String {
        format!(
            "{}{}/{site_name}",
            self.inner.base_url,
            crate::family::SITE_PREFIX
        )
    }

    /// The URL standing for `https://api.statuspage.io`.
    pub fn statuspage_url(&self) -> String {
        format!(
            "{}{}",
            self.inner.base_url,
            crate::family::STATUSPAGE_PREFIX
        )
    }
}
