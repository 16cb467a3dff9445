//! Limits on the unauthenticated Kubernetes `login`, so that logins cannot starve the
//! rest of the engine (every engine request runs on the HTTP layer's blocking pool, and
//! a login holds its thread for as long as the cluster's TokenReview API takes, up to the
//! configured timeout):
//!
//! - a token bucket per source address ([`RATE_BURST`] logins at once, refilled at
//!   [`RATE_PER_SECOND`]), answered like Vault's rate limit quotas: 429 with
//!   `request path "<path>": rate limit quota exceeded`. A request without a known
//!   address counts against one shared bucket;
//! - at most [`MAX_IN_FLIGHT`] TokenReview calls at once across the process; a login
//!   past that answers 429 at once instead of queueing on a thread.
//!
//! The state is process-wide (one engine per process), in memory: a restart forgets it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use crate::engine::Response;

/// Logins one source may make at once.
pub const RATE_BURST: f64 = 40.0;
/// Logins one source may make per second, sustained.
pub const RATE_PER_SECOND: f64 = 10.0;
/// TokenReview calls in flight at once, all sources together.
pub const MAX_IN_FLIGHT: usize = 32;
/// Sources remembered before idle (full) buckets are forgotten.
const MAX_SOURCES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * RATE_PER_SECOND).min(RATE_BURST);
        self.last = now;
    }
}

/// Per-source token buckets.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Takes one login from `source`'s bucket; false when it is empty.
    pub fn allow(&self, source: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_SOURCES && !buckets.contains_key(source) {
            buckets.retain(|_, b| {
                b.refill(now);
                b.tokens < RATE_BURST
            });
        }
        let bucket = buckets.entry(source.to_string()).or_insert(Bucket {
            tokens: RATE_BURST,
            last: now,
        });
        bucket.refill(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Counts TokenReview calls in flight.
#[derive(Debug, Default)]
pub struct InFlight {
    count: AtomicUsize,
}

/// One TokenReview call's slot; given back when dropped.
#[derive(Debug)]
pub struct Slot<'a>(&'a InFlight);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::AcqRel);
    }
}

impl InFlight {
    /// A slot, or `None` when `max` calls are in flight already.
    pub fn try_acquire(&self, max: usize) -> Option<Slot<'_>> {
        self.count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self))
    }
}

fn rate_limiter() -> &'static RateLimiter {
    static LIMITER: OnceLock<RateLimiter> = OnceLock::new();
    LIMITER.get_or_init(RateLimiter::default)
}

fn in_flight() -> &'static InFlight {
    static IN_FLIGHT: OnceLock<InFlight> = OnceLock::new();
    IN_FLIGHT.get_or_init(InFlight::default)
}

/// A 429 answer with Vault's `{"errors": [...]}`.
fn too_many(message: String) -> Response {
    Response::bare(429, crate::error::body(vec![message]))
}

/// `Some(429 answer)` when `source` (the client address; `None`: unknown) is over its
/// login rate for `path`.
pub fn check_rate(path: &str, source: Option<&str>) -> Option<Response> {
    let source = source.unwrap_or("unknown");
    if rate_limiter().allow(source, Instant::now()) {
        return None;
    }
    tracing::info!(source, path, "kubernetes login rate limited");
    Some(too_many(format!(
        "request path \"{path}\": rate limit quota exceeded"
    )))
}

/// A slot for one TokenReview call; `None` when all are taken (answer [`busy`]).
pub fn review_slot() -> Option<Slot<'static>> {
    in_flight().try_acquire(MAX_IN_FLIGHT)
}

/// The 429 answer for a login that found every TokenReview slot taken.
pub fn busy() -> Response {
    tracing::warn!(
        max = MAX_IN_FLIGHT,
        "kubernetes login refused: too many TokenReview calls in flight"
    );
    too_many(format!(
        "too many Kubernetes logins are waiting for the cluster's TokenReview API ({MAX_IN_FLIGHT} at once); retry later"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_source_gets_its_burst_then_the_refill_rate() {
        let limiter = RateLimiter::default();
        let start = Instant::now();
        let burst = RATE_BURST as usize;
        for i in 0..burst {
            assert!(limiter.allow("10.0.0.1", start), "login {i} of the burst");
        }
        assert!(!limiter.allow("10.0.0.1", start), "past the burst");
        // Other sources have their own buckets.
        assert!(limiter.allow("10.0.0.2", start));
        // One refill period later, one more.
        let later = start + Duration::from_secs_f64(1.0 / RATE_PER_SECOND);
        assert!(limiter.allow("10.0.0.1", later));
        assert!(!limiter.allow("10.0.0.1", later));
    }

    #[test]
    fn in_flight_slots_are_bounded_and_given_back() {
        let gate = InFlight::default();
        let a = gate.try_acquire(2).expect("first");
        let b = gate.try_acquire(2).expect("second");
        assert!(gate.try_acquire(2).is_none());
        drop(a);
        let c = gate.try_acquire(2).expect("after one is given back");
        assert!(gate.try_acquire(2).is_none());
        drop((b, c));
        assert_eq!(gate.count.load(Ordering::Acquire), 0);
    }
}
