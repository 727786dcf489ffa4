//! Pacing and adaptive concurrency per rate-limit scope.
//!
//! Each scope (the org key, each site's Jira, each site's Confluence, each Statuspage key) has
//! one [`ScopeLimiter`], shared process-wide by every [`Client`](crate::Client) using the same
//! credential, so many callers together never exceed the configured rate. Before each attempt a
//! caller waits for a GCRA slot (`governor`) and a concurrency permit. The concurrency limit
//! adapts: it halves when Atlassian throttles (429/420) and grows by one after a run of
//! successes, up to the configured maximum (additive increase, multiplicative decrease).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::Rate;

/// Successes needed before the concurrency limit grows by one.
const GROW_AFTER: usize = 20;

/// The limiter of one scope.
pub struct ScopeLimiter {
    label: String,
    rate: DefaultDirectRateLimiter,
    permits: Arc<Semaphore>,
    /// The concurrency the limiter aims for.
    target: AtomicUsize,
    /// Permits currently owned by the semaphore (issued or available).
    issued: AtomicUsize,
    max: usize,
    successes: AtomicUsize,
    /// Nobody starts a request before this instant (set from Retry-After on a 429).
    paused_until: Mutex<Option<Instant>>,
}

/// A slot to send one request; dropping it frees the concurrency permit.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    /// How long the caller waited for pacing and concurrency.
    pub waited: Duration,
}

impl ScopeLimiter {
    fn new(label: String, rate: Rate, initial: usize, max: usize) -> ScopeLimiter {
        let burst = NonZeroU32::new(rate.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let period = Duration::from_secs_f64(1.0 / rate.per_second.max(0.001));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        let max = max.max(1);
        let initial = initial.clamp(1, max);
        ScopeLimiter {
            label,
            rate: RateLimiter::direct(quota),
            permits: Arc::new(Semaphore::new(initial)),
            target: AtomicUsize::new(initial),
            issued: AtomicUsize::new(initial),
            max,
            successes: AtomicUsize::new(0),
            paused_until: Mutex::new(None),
        }
    }

    /// The scope's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The current concurrency limit.
    pub fn concurrency(&self) -> usize {
        self.target.load(Ordering::Acquire)
    }

    /// Waits for a concurrency permit, any throttling pause, and a pacing slot.
    /// Cancellation-safe: dropping the future gives nothing away.
    pub async fn acquire(&self) -> Slot {
        let start = Instant::now();
        let permit = loop {
            match self.permits.clone().acquire_owned().await {
                Ok(permit) => {
                    // Shrink lazily: permits above the target are retired instead of used.
                    if self.issued.load(Ordering::Acquire) > self.target.load(Ordering::Acquire) {
                        permit.forget();
                        self.issued.fetch_sub(1, Ordering::AcqRel);
                        continue;
                    }
                    break permit;
                }
                // The semaphore is never closed; wait briefly and retry rather than panic.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        };
        while let Some(left) = self.pause_left() {
            tokio::time::sleep(left).await;
        }
        self.rate.until_ready().await;
        // A throttle may have come back while we waited for pacing: honour it too.
        while let Some(left) = self.pause_left() {
            tokio::time::sleep(left).await;
        }
        Slot {
            _permit: permit,
            waited: start.elapsed(),
        }
    }

    /// How long the scope is still paused by a throttled answer, if it is.
    fn pause_left(&self) -> Option<Duration> {
        let until = (*self.paused_until.lock().unwrap_or_else(|e| e.into_inner()))?;
        let left = until.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }

    /// Records a success: after a run of them the concurrency limit grows by one.
    pub fn on_success(&self) {
        if self.successes.fetch_add(1, Ordering::AcqRel) + 1 >= GROW_AFTER {
            self.successes.store(0, Ordering::Release);
            let target = self.target.load(Ordering::Acquire);
            if target < self.max {
                self.target.store(target + 1, Ordering::Release);
                if self.issued.load(Ordering::Acquire) < target + 1 {
                    self.issued.fetch_add(1, Ordering::AcqRel);
                    self.permits.add_permits(1);
                }
            }
        }
    }

    /// Records throttling: halves the concurrency limit and pauses the whole scope for
    /// `retry_after` (when given), so no caller retries early.
    pub fn on_throttled(&self, retry_after: Option<Duration>) {
        self.successes.store(0, Ordering::Release);
        let target = self.target.load(Ordering::Acquire);
        self.target.store((target / 2).max(1), Ordering::Release);
        if let Some(wait) = retry_after {
            let until = Instant::now() + wait;
            let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
            if paused.is_none_or(|p| p < until) {
                *paused = Some(until);
            }
        }
    }
}

/// The process-wide registry: one limiter per (scope, endpoint, credential).
pub(crate) fn limiter_for(
    label: String,
    endpoint: &str,
    credential: &str,
    rate: Rate,
    initial: usize,
    max: usize,
) -> Arc<ScopeLimiter> {
    static REGISTRY: OnceLock<Mutex<HashMap<u64, Arc<ScopeLimiter>>>> = OnceLock::new();
    // A hash, so the registry never holds the credential itself.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (&label, endpoint, credential).hash(&mut hasher);
    let key = hasher.finish();
    let mut map = REGISTRY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(key)
        .or_insert_with(|| Arc::new(ScopeLimiter::new(label, rate, initial, max)))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn throttling_halves_and_successes_grow_concurrency() {
        let limiter = ScopeLimiter::new(
            "t".into(),
            Rate {
                per_second: 1000.0,
                burst: 1000,
            },
            8,
            10,
        );
        limiter.on_throttled(None);
        assert_eq!(limiter.concurrency(), 4);
        limiter.on_throttled(None);
        limiter.on_throttled(None);
        limiter.on_throttled(None);
        assert_eq!(limiter.concurrency(), 1, "never below one");
        for _ in 0..GROW_AFTER {
            limiter.on_success();
        }
        assert_eq!(limiter.concurrency(), 2);
    }

    #[tokio::test]
    async fn shrinking_retires_permits_so_in_flight_requests_respect_the_new_limit() {
        let limiter = Arc::new(ScopeLimiter::new(
            "t".into(),
            Rate {
                per_second: 1000.0,
                burst: 1000,
            },
            4,
            4,
        ));
        limiter.on_throttled(None); // target 2
        let a = limiter.acquire().await;
        let b = limiter.acquire().await;
        let third = tokio::time::timeout(Duration::from_millis(50), limiter.acquire()).await;
        assert!(
            third.is_err(),
            "a third request waits while two are in flight"
        );
        drop((a, b));
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_pause_holds_every_caller() {
        let limiter = ScopeLimiter::new(
            "t".into(),
            Rate {
                per_second: 1000.0,
                burst: 1000,
            },
            2,
            2,
        );
        limiter.on_throttled(Some(Duration::from_secs(3)));
        let start = Instant::now();
        let _slot = limiter.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(3));
    }
}
