//! A log line at most once a second, with the count of those left out (governor's direct rate
//! limiter, one cell a second). Shared by the accept loop (`http`) and the Redis store
//! (`redis`), so a flood of failures (accept errors, a Redis outage) writes one line a second.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// Admits one event a second to the log; counts the others.
pub(crate) struct LogLimiter<C: Clock = DefaultClock> {
    limiter: RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<C::Instant>>,
    suppressed: AtomicU64,
}

impl LogLimiter {
    /// On the real (monotonic) clock.
    pub(crate) fn new() -> Self {
        Self::with_clock(DefaultClock::default())
    }
}

impl<C: Clock> LogLimiter<C> {
    /// On `clock` (tests: `governor::clock::FakeRelativeClock`).
    pub(crate) fn with_clock(clock: C) -> Self {
        Self {
            limiter: RateLimiter::direct_with_clock(Quota::per_second(NonZeroU32::MIN), clock),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Events left out since the last line (for tests).
    #[cfg(test)]
    pub(crate) fn suppressed(&self) -> u64 {
        self.suppressed.load(Ordering::Relaxed)
    }

    /// `Some(n)`: log now, `n` events were left out since the last line; `None`: leave this
    /// one out (counted).
    pub(crate) fn admit(&self) -> Option<u64> {
        if self.limiter.check().is_ok() {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    #[test]
    fn one_line_a_second_with_the_count_left_out() {
        let clock = FakeRelativeClock::default();
        let l = LogLimiter::with_clock(clock.clone());
        assert_eq!(l.admit(), Some(0));
        for _ in 0..5 {
            assert_eq!(l.admit(), None);
        }
        clock.advance(Duration::from_millis(999));
        assert_eq!(l.admit(), None);
        clock.advance(Duration::from_millis(1));
        assert_eq!(l.admit(), Some(6));
        assert_eq!(l.admit(), None);
        clock.advance(Duration::from_secs(5));
        assert_eq!(l.admit(), Some(1));
        assert_eq!(l.admit(), None);
    }
}
