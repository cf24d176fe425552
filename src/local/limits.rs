//! Pre-authentication limits: new-connection rate (token bucket) and open connection count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::stats::Counters;

/// Largest protocol message relayed in either direction (PostgreSQL itself allows ~1 GiB).
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// Largest startup packet accepted (PostgreSQL uses 10,000 bytes).
pub const MAX_STARTUP: usize = 10_000;
/// Largest password message (a token with a long session token stays far below).
pub const MAX_PASSWORD: usize = 64 * 1024;

/// Classic token bucket: `rate` tokens per second, at most `burst` stored, starts full.
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self { rate: rate.max(0.0), burst, state: Mutex::new((burst, Instant::now())) }
    }

    /// Takes one token if available at `now`.
    pub fn try_acquire_at(&self, now: Instant) -> bool {
        let mut g = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let (tokens, last) = *g;
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        let tokens = (tokens + elapsed * self.rate).min(self.burst);
        let (tokens, ok) = if tokens >= 1.0 { (tokens - 1.0, true) } else { (tokens, false) };
        *g = (tokens, now.max(last));
        ok
    }

    pub fn try_acquire(&self) -> bool {
        self.try_acquire_at(Instant::now())
    }
}

/// One open connection; releases its slot when dropped.
pub struct Slot(Arc<Counters>);

impl Slot {
    /// Takes a slot unless `max` connections are already open.
    pub fn try_take(counters: &Arc<Counters>, max: usize) -> Option<Slot> {
        let active: &AtomicU64 = &counters.active;
        active
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max as u64).then_some(n + 1))
            .ok()
            .map(|_| Slot(counters.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_burst_then_rate() {
        let b = TokenBucket::new(10.0, 3);
        let t0 = Instant::now();
        assert!((0..3).all(|_| b.try_acquire_at(t0)));
        assert!(!b.try_acquire_at(t0));
        assert!(!b.try_acquire_at(t0 + Duration::from_millis(50)));
        assert!(b.try_acquire_at(t0 + Duration::from_millis(110)));
        assert!(!b.try_acquire_at(t0 + Duration::from_millis(120)));
        // refill caps at burst
        let later = t0 + Duration::from_secs(100);
        assert_eq!((0..10).filter(|_| b.try_acquire_at(later)).count(), 3);
    }

    #[test]
    fn slots_limit_and_release() {
        let c = Arc::new(Counters::default());
        let a = Slot::try_take(&c, 2).unwrap();
        let b = Slot::try_take(&c, 2).unwrap();
        assert!(Slot::try_take(&c, 2).is_none());
        drop(a);
        assert_eq!(c.snapshot().active, 1);
        let _c2 = Slot::try_take(&c, 2).unwrap();
        drop(b);
        assert_eq!(c.snapshot().active, 1);
    }
}
