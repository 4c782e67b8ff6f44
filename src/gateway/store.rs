//! Gateway state: the replay cache (request ids), the used-AT set, the partner nonces and the
//! call budgets, all behind one asynchronous trait whose core operation is an atomic "insert if
//! absent, with time to live" (docs/PROTOCOL.md §11).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use core::fmt;
use core::future::Future;
use core::pin::Pin;

/// Why the store could not answer. The gateway then refuses the request (code `INTERNAL`),
/// fail closed: the AT is never consumed by a refused or failed exchange, nor a partner nonce
/// by a failed access-token request; a request id stored by an earlier step may stay stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The store holds its maximum number of live entries.
    Full,
    /// The store (e.g. a remote one) is unreachable, or answered with an error.
    Unavailable,
    /// The store did not answer within its command timeout. The operation may or may not have
    /// taken effect: the gateway treats the key as not inserted and refuses the request.
    Timeout,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreError::Full => "state store full",
            StoreError::Unavailable => "state store unavailable",
            StoreError::Timeout => "state store timed out",
        })
    }
}

impl core::error::Error for StoreError {}

/// What a [`ReplayStore`] operation returns: a boxed, `Send` future (so the trait stays
/// object-safe and usable from any async runtime; the gateway library names none).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A set of keys with expiry (and counters), shared by every request a gateway (or a fleet of
/// gateways) handles. Asynchronous: a remote store never blocks a runtime's worker thread.
///
/// Both operations must be atomic: of any number of concurrent `insert_if_absent` calls with
/// the same live key, exactly one resolves to `Ok(true)`; concurrent `increment` calls with one
/// key resolve to distinct counts. A shared store gives the same guarantees across gateway
/// instances (Redis: `SET key 1 NX EX ttl`; `INCR key` then `EXPIRE key ttl` when it returned
/// 1, in one script: `RedisStore`, cargo feature `redis`).
///
/// An implementation must resolve within a bounded time (a remote store: its command timeout,
/// then [`StoreError::Timeout`]); the gateway adds no timeout of its own.
pub trait ReplayStore: Send + Sync {
    /// Inserts `key` to expire `ttl_seconds` from now unless a live (unexpired) entry with that
    /// key exists. Resolves to `Ok(true)` if inserted, `Ok(false)` if already present. `key` is
    /// at most [`MAX_KEY_LEN`] bytes, `ttl_seconds` at least 1. `now` is the request's clock
    /// (seconds since the Unix epoch), for information: a store expires entries against its own
    /// clock (`MemoryStore`: monotonic; Redis: the server's), so a step of the gateway's wall
    /// clock cannot expire entries early.
    ///
    /// Errors: [`StoreError`]; the caller must then treat the key as *not* inserted.
    fn insert_if_absent<'a>(
        &'a self,
        key: &'a [u8],
        ttl_seconds: u64,
        now: u64,
    ) -> StoreFuture<'a, bool>;

    /// Whether a live entry (or counter) `key` exists. Used to refuse early (an AT already used)
    /// before any state is stored or any token sealed; the decision that counts is still the
    /// atomic `insert_if_absent`.
    ///
    /// Errors: [`StoreError`]; the caller must then refuse the request.
    fn contains<'a>(&'a self, key: &'a [u8], now: u64) -> StoreFuture<'a, bool>;

    /// Adds one to the counter `key` and resolves to the new count. A counter that does not
    /// exist or has expired starts again at 1 and expires `ttl_seconds` later; later
    /// increments do not move its expiry (a fixed window, like Redis `INCR` + `EXPIRE` on the
    /// first increment).
    ///
    /// Errors: [`StoreError`]; the caller must then refuse the request.
    fn increment<'a>(&'a self, key: &'a [u8], ttl_seconds: u64, now: u64) -> StoreFuture<'a, u64>;
}

/// Default [`MemoryStore`] capacity: 1,000,000 live entries.
pub const DEFAULT_CAPACITY: usize = 1_000_000;
/// Longest key the gateway stores, in bytes (`"pn:" ‖ partner id (64) ‖ ":" ‖ nonce (64)`).
pub const MAX_KEY_LEN: usize = 3 + 64 + 1 + 64;
/// Most expired entries a [`MemoryStore`] operation removes while it holds the lock: expiry is
/// spread over the operations (each removes up to this many, oldest first) instead of a sweep
/// of the whole map that would stall every request.
pub const EXPIRE_BATCH: usize = 64;

/// A [`MemoryStore`]'s clock: monotonic seconds (any origin). Entries expire against it, never
/// against the `now` a request carries, so a step of the wall clock neither expires entries
/// early nor keeps them.
pub type StoreClock = Arc<dyn Fn() -> u64 + Send + Sync>;

#[derive(Clone, Copy)]
struct Entry {
    exp: u64,
    count: u64,
}

struct Inner {
    map: HashMap<Vec<u8>, Entry>,
    /// Every key by the second it expires at (store clock), oldest first. A key whose entry
    /// was replaced since is skipped when its old second comes up.
    expiry: BTreeMap<u64, Vec<Vec<u8>>>,
}

impl Inner {
    /// Removes up to `limit` entries expired at `now` (store clock), oldest first. Returns how
    /// many were removed.
    fn expire(&mut self, now: u64, limit: usize) -> usize {
        let mut removed = 0;
        while removed < limit {
            let Some(mut bucket) = self.expiry.first_entry() else {
                break;
            };
            if *bucket.key() > now {
                break;
            }
            let exp = *bucket.key();
            let Some(key) = bucket.get_mut().pop() else {
                bucket.remove();
                continue;
            };
            if bucket.get().is_empty() {
                bucket.remove();
            }
            if self.map.get(&key).is_some_and(|e| e.exp == exp) {
                self.map.remove(&key);
                removed += 1;
            }
        }
        removed
    }

    /// The live entry for `key`, if any.
    fn live(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        self.map.get_mut(key).filter(|e| e.exp > now)
    }

    /// Stores a new entry for `key` (absent or expired), if there is room after removing
    /// expired entries.
    fn put(&mut self, key: &[u8], exp: u64, now: u64, capacity: usize) -> Result<(), StoreError> {
        self.expire(now, EXPIRE_BATCH);
        let e = Entry { exp, count: 1 };
        let len = self.map.len();
        match self.map.get_mut(key) {
            Some(old) => *old = e,
            None if len >= capacity => return Err(StoreError::Full),
            None => {
                self.map.insert(key.to_vec(), e);
            }
        }
        self.expiry.entry(exp).or_default().push(key.to_vec());
        Ok(())
    }
}

/// An in-process [`ReplayStore`]: a mutex-guarded hash map from key to expiry time (and count).
///
/// Entries expire against the store's own monotonic clock ([`StoreClock`]; the `now` of a
/// request is not used), so a wall-clock step cannot wipe or keep them. Expired entries are
/// removed oldest first, at most [`EXPIRE_BATCH`] per operation, so no operation holds the lock
/// for a sweep of the whole map. A map full of live entries refuses inserts in O(1)
/// ([`StoreError::Full`]: requests are refused, never let through). Memory bound: at most
/// `capacity` entries (replay keys and counters alike) of at most [`MAX_KEY_LEN`] bytes of key,
/// each key held twice (map and expiry queue), so roughly `capacity × 350` bytes (≈ 350 MB at the
/// default one million; size it as requests-per-second × (2 × window + 1)).
pub struct MemoryStore {
    inner: Mutex<Inner>,
    capacity: usize,
    clock: StoreClock,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl MemoryStore {
    /// A store holding at most `capacity` live entries, on a monotonic clock (seconds since the
    /// store was made, from [`std::time::Instant`]).
    pub fn with_capacity(capacity: usize) -> Self {
        let start = Instant::now();
        Self::with_clock(capacity, Arc::new(move || start.elapsed().as_secs()))
    }

    /// A store holding at most `capacity` live entries, expiring them against `clock`
    /// (monotonic seconds; tests pass a manual one).
    pub fn with_clock(capacity: usize, clock: StoreClock) -> Self {
        Self {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                expiry: BTreeMap::new(),
            }),
            capacity,
            clock,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent (single inserts).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of entries held, live or not yet removed.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether the store holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes up to `limit` expired entries (store clock), oldest first; returns how many.
    pub fn expire(&self, limit: usize) -> usize {
        let now = (self.clock)();
        self.lock().expire(now, limit)
    }

    /// [`ReplayStore::insert_if_absent`], synchronously (the lock is held for one lookup, at
    /// most [`EXPIRE_BATCH`] removals and one insert, never across an `await`). The request's
    /// `now` is not used: entries expire against the store's clock.
    ///
    /// Errors: [`StoreError::Full`].
    pub fn insert_if_absent_now(&self, key: &[u8], ttl_seconds: u64) -> Result<bool, StoreError> {
        let now = (self.clock)();
        let mut inner = self.lock();
        if inner.live(key, now).is_some() {
            return Ok(false);
        }
        inner.put(key, now.saturating_add(ttl_seconds), now, self.capacity)?;
        Ok(true)
    }

    /// Whether `key` is live ([`ReplayStore::contains`]), synchronously.
    pub fn contains_now(&self, key: &[u8]) -> bool {
        let now = (self.clock)();
        self.lock().live(key, now).is_some()
    }

    /// [`ReplayStore::increment`], synchronously (store clock).
    ///
    /// Errors: [`StoreError::Full`].
    pub fn increment_now(&self, key: &[u8], ttl_seconds: u64) -> Result<u64, StoreError> {
        let now = (self.clock)();
        let mut inner = self.lock();
        if let Some(e) = inner.live(key, now) {
            e.count = e.count.saturating_add(1);
            return Ok(e.count);
        }
        inner.put(key, now.saturating_add(ttl_seconds), now, self.capacity)?;
        Ok(1)
    }
}

impl ReplayStore for MemoryStore {
    fn insert_if_absent<'a>(
        &'a self,
        key: &'a [u8],
        ttl_seconds: u64,
        _now: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(core::future::ready(
            self.insert_if_absent_now(key, ttl_seconds),
        ))
    }

    fn contains<'a>(&'a self, key: &'a [u8], _now: u64) -> StoreFuture<'a, bool> {
        Box::pin(core::future::ready(Ok(self.contains_now(key))))
    }

    fn increment<'a>(&'a self, key: &'a [u8], ttl_seconds: u64, _now: u64) -> StoreFuture<'a, u64> {
        Box::pin(core::future::ready(self.increment_now(key, ttl_seconds)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A store on a manual clock, and the clock.
    fn manual(capacity: usize) -> (MemoryStore, Arc<AtomicU64>) {
        let t = Arc::new(AtomicU64::new(0));
        let c = Arc::clone(&t);
        let store = MemoryStore::with_clock(capacity, Arc::new(move || c.load(Ordering::SeqCst)));
        (store, t)
    }

    #[test]
    fn insert_once_until_expiry() {
        let (s, t) = manual(DEFAULT_CAPACITY);
        t.store(100, Ordering::SeqCst);
        assert_eq!(s.insert_if_absent_now(b"a", 10), Ok(true));
        t.store(109, Ordering::SeqCst);
        assert_eq!(s.insert_if_absent_now(b"a", 10), Ok(false));
        assert!(s.contains_now(b"a"));
        t.store(110, Ordering::SeqCst);
        assert!(!s.contains_now(b"a"));
        assert_eq!(s.insert_if_absent_now(b"a", 10), Ok(true));
        assert_eq!(s.insert_if_absent_now(b"b", 10), Ok(true));
    }

    #[test]
    fn bounded_and_expired() {
        let (s, t) = manual(2);
        assert_eq!(s.insert_if_absent_now(b"a", 5), Ok(true));
        assert_eq!(s.insert_if_absent_now(b"b", 5), Ok(true));
        t.store(1, Ordering::SeqCst);
        assert_eq!(s.insert_if_absent_now(b"c", 5), Err(StoreError::Full));
        t.store(5, Ordering::SeqCst);
        assert_eq!(s.insert_if_absent_now(b"c", 5), Ok(true));
        assert_eq!(s.len(), 1);
        t.store(100, Ordering::SeqCst);
        assert_eq!(s.expire(usize::MAX), 1);
        assert!(s.is_empty());
    }

    /// Issue 14 §1: a wall-clock step must not wipe the store. Before the fix, entries expired
    /// against the request's `now`: one call with `now` a day ahead removed every entry, and
    /// the same key was then accepted again.
    #[test]
    fn request_clock_steps_do_not_expire_entries() {
        let s = MemoryStore::default();
        let day = 86_400;
        assert_eq!(
            block_on(s.insert_if_absent(b"rq:1", 601, 1_000_000)),
            Ok(true)
        );
        // The wall clock jumps a day forward: the store is not fooled.
        assert_eq!(
            block_on(s.insert_if_absent(b"rq:2", 601, 1_000_000 + day)),
            Ok(true)
        );
        assert_eq!(s.len(), 2);
        // ... and after the correction the first key is still remembered.
        assert_eq!(
            block_on(s.insert_if_absent(b"rq:1", 601, 1_000_000)),
            Ok(false)
        );
        assert_eq!(block_on(s.contains(b"rq:1", 1_000_000 + day)), Ok(true));
        assert_eq!(block_on(s.increment(b"rl:1", 60, 0)), Ok(1));
        assert_eq!(block_on(s.increment(b"rl:1", 60, u64::MAX)), Ok(2));
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = core::pin::pin!(f);
        let waker = std::task::Waker::noop();
        match f.as_mut().poll(&mut std::task::Context::from_waker(waker)) {
            core::task::Poll::Ready(v) => v,
            core::task::Poll::Pending => panic!("MemoryStore futures are ready at once"),
        }
    }

    #[test]
    fn concurrent_inserts_have_one_winner() {
        let s = Arc::new(MemoryStore::default());
        let wins: usize = (0..16)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || s.insert_if_absent_now(b"k", 60).unwrap())
            })
            .map(|h| usize::from(h.join().unwrap()))
            .sum();
        assert_eq!(wins, 1);
    }

    /// Issue 14 §1: no operation sweeps the whole map under the lock. Before the fix, the first
    /// insert after the sweep interval removed all 10,000 expired entries at once; now each
    /// operation removes at most EXPIRE_BATCH, and every expired entry goes in the end.
    #[test]
    fn expiry_is_spread_over_operations() {
        let (s, t) = manual(DEFAULT_CAPACITY);
        let n = 10_000u64;
        for i in 0..n {
            assert_eq!(s.insert_if_absent_now(&i.to_be_bytes(), 10), Ok(true));
        }
        t.store(40, Ordering::SeqCst);
        assert_eq!(s.insert_if_absent_now(b"new", 600), Ok(true));
        assert_eq!(s.len(), (n as usize) - EXPIRE_BATCH + 1);
        // Each further insert removes the next EXPIRE_BATCH; the new keys stay.
        let mut ops = 1usize;
        while s.len() > ops {
            ops += 1;
            assert_eq!(s.insert_if_absent_now(&ops.to_le_bytes(), 600), Ok(true));
            assert!(
                ops <= n as usize / EXPIRE_BATCH + 1,
                "expiry did not progress"
            );
        }
        assert_eq!(ops, (n as usize).div_ceil(EXPIRE_BATCH));
        assert!(s.contains_now(b"new"));
    }

    #[test]
    fn full_store_refuses_until_an_entry_expires() {
        let (s, t) = manual(1_000);
        for i in 0..1_000u64 {
            assert_eq!(s.insert_if_absent_now(&i.to_be_bytes(), 600), Ok(true));
        }
        t.store(1, Ordering::SeqCst);
        let key = u64::MAX.to_be_bytes();
        assert_eq!(s.insert_if_absent_now(&key, 600), Err(StoreError::Full));
        assert_eq!(s.increment_now(&key, 60), Err(StoreError::Full));
        // Once the entries have expired, room is made again.
        t.store(600, Ordering::SeqCst);
        assert_eq!(s.insert_if_absent_now(b"late", 600), Ok(true));
        assert_eq!(s.len(), 1_000 - EXPIRE_BATCH + 1);
    }

    #[test]
    fn counters_count_within_a_fixed_window() {
        let (s, t) = manual(DEFAULT_CAPACITY);
        t.store(100, Ordering::SeqCst);
        assert_eq!(s.increment_now(b"c", 60), Ok(1));
        t.store(120, Ordering::SeqCst);
        assert_eq!(s.increment_now(b"c", 60), Ok(2));
        t.store(159, Ordering::SeqCst);
        assert_eq!(s.increment_now(b"c", 60), Ok(3));
        // The window started at 100: expired at 160, counting starts again.
        t.store(160, Ordering::SeqCst);
        assert_eq!(s.increment_now(b"c", 60), Ok(1));
        // Counters and insert-once keys share the capacity.
        let (s, t) = manual(1);
        assert_eq!(s.increment_now(b"c", 60), Ok(1));
        assert_eq!(s.insert_if_absent_now(b"k", 60), Err(StoreError::Full));
        t.store(1, Ordering::SeqCst);
        assert_eq!(s.increment_now(b"c", 60), Ok(2));
    }
}
