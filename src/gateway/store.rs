//! Gateway state: the replay cache (request ids), the used-AT set, the partner nonces and the
//! call budgets, all behind one asynchronous trait whose core operation is an atomic "insert if
//! absent, with time to live" (docs/PROTOCOL.md §11).

use std::collections::HashMap;
use std::sync::Mutex;

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
    /// Inserts `key` to expire at `now + ttl_seconds` (seconds since the Unix epoch) unless a
    /// live (unexpired) entry with that key exists. Resolves to `Ok(true)` if inserted,
    /// `Ok(false)` if already present. `key` is at most [`MAX_KEY_LEN`] bytes, `ttl_seconds`
    /// at least 1.
    ///
    /// Errors: [`StoreError`]; the caller must then treat the key as *not* inserted.
    fn insert_if_absent<'a>(
        &'a self,
        key: &'a [u8],
        ttl_seconds: u64,
        now: u64,
    ) -> StoreFuture<'a, bool>;

    /// Adds one to the counter `key` and resolves to the new count. A counter that does not
    /// exist or has expired starts again at 1 and expires at `now + ttl_seconds`; later
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

#[derive(Clone, Copy)]
struct Entry {
    exp: u64,
    count: u64,
}

struct Inner {
    map: HashMap<Vec<u8>, Entry>,
    next_sweep: u64,
    /// No entry expires before this (a lower bound: exact after a sweep, lowered by inserts).
    earliest_exp: u64,
}

impl Inner {
    fn sweep(&mut self, now: u64, interval: u64) {
        self.map.retain(|_, e| e.exp > now);
        self.earliest_exp = self.map.values().map(|e| e.exp).min().unwrap_or(u64::MAX);
        self.next_sweep = now.saturating_add(interval);
    }

    /// Makes room for one more entry if the map is full: sweeps only when some entry may have
    /// expired (`now ≥ earliest_exp`), so a map full of live entries costs O(1) per refused
    /// insert, and a full sweep happens at most once per distinct expiry second.
    fn make_room(&mut self, now: u64, capacity: usize, interval: u64) -> Result<(), StoreError> {
        if now >= self.next_sweep {
            self.sweep(now, interval);
        }
        if self.map.len() < capacity {
            return Ok(());
        }
        if now >= self.earliest_exp {
            self.sweep(now, interval);
        }
        if self.map.len() < capacity {
            Ok(())
        } else {
            Err(StoreError::Full)
        }
    }

    /// The live entry for `key`, if any.
    fn live(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        self.map.get_mut(key).filter(|e| e.exp > now)
    }

    fn put(&mut self, key: &[u8], exp: u64, count: u64) {
        let e = Entry { exp, count };
        match self.map.get_mut(key) {
            Some(old) => *old = e,
            None => {
                self.map.insert(key.to_vec(), e);
            }
        }
        self.earliest_exp = self.earliest_exp.min(exp);
    }
}

/// An in-process [`ReplayStore`]: a mutex-guarded hash map from key to expiry time (and count).
///
/// Expired entries are swept at most once per `sweep_interval` (30 s) during inserts, and when
/// the map is full and the earliest expiry has passed; a map full of live entries refuses
/// inserts in O(1) ([`StoreError::Full`]: requests are refused, never let through). Memory
/// bound: at most `capacity` entries (replay keys and counters alike) of at most
/// [`MAX_KEY_LEN`] bytes of key, so roughly `capacity × 200` bytes (≈ 200 MB at the default
/// one million; size it as requests-per-second × (2 × window + 1)).
pub struct MemoryStore {
    inner: Mutex<Inner>,
    capacity: usize,
    sweep_interval: u64,
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
    /// A store holding at most `capacity` live entries, sweeping every 30 s.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                next_sweep: 0,
                earliest_exp: u64::MAX,
            }),
            capacity,
            sweep_interval: 30,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent (single inserts).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of entries held, live or not yet swept.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether the store holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every entry expired at `now`.
    pub fn sweep(&self, now: u64) {
        self.lock().sweep(now, self.sweep_interval);
    }

    /// [`ReplayStore::insert_if_absent`], synchronously (the lock is held for one map lookup
    /// and insert, never across an `await`).
    ///
    /// Errors: [`StoreError::Full`].
    pub fn insert_if_absent_now(
        &self,
        key: &[u8],
        ttl_seconds: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.live(key, now).is_some() {
            return Ok(false);
        }
        if !inner.map.contains_key(key) {
            inner.make_room(now, self.capacity, self.sweep_interval)?;
        }
        inner.put(key, now.saturating_add(ttl_seconds), 1);
        Ok(true)
    }

    /// [`ReplayStore::increment`], synchronously.
    ///
    /// Errors: [`StoreError::Full`].
    pub fn increment_now(&self, key: &[u8], ttl_seconds: u64, now: u64) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        if let Some(e) = inner.live(key, now) {
            e.count = e.count.saturating_add(1);
            return Ok(e.count);
        }
        if !inner.map.contains_key(key) {
            inner.make_room(now, self.capacity, self.sweep_interval)?;
        }
        inner.put(key, now.saturating_add(ttl_seconds), 1);
        Ok(1)
    }
}

impl ReplayStore for MemoryStore {
    fn insert_if_absent<'a>(
        &'a self,
        key: &'a [u8],
        ttl_seconds: u64,
        now: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(core::future::ready(self.insert_if_absent_now(
            key,
            ttl_seconds,
            now,
        )))
    }

    fn increment<'a>(&'a self, key: &'a [u8], ttl_seconds: u64, now: u64) -> StoreFuture<'a, u64> {
        Box::pin(core::future::ready(self.increment_now(
            key,
            ttl_seconds,
            now,
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn insert_once_until_expiry() {
        let s = MemoryStore::default();
        assert_eq!(s.insert_if_absent_now(b"a", 10, 100), Ok(true));
        assert_eq!(s.insert_if_absent_now(b"a", 10, 109), Ok(false));
        assert_eq!(s.insert_if_absent_now(b"a", 10, 110), Ok(true));
        assert_eq!(s.insert_if_absent_now(b"b", 10, 110), Ok(true));
    }

    #[test]
    fn bounded_and_swept() {
        let s = MemoryStore::with_capacity(2);
        assert_eq!(s.insert_if_absent_now(b"a", 5, 0), Ok(true));
        assert_eq!(s.insert_if_absent_now(b"b", 5, 0), Ok(true));
        assert_eq!(s.insert_if_absent_now(b"c", 5, 1), Err(StoreError::Full));
        assert_eq!(s.insert_if_absent_now(b"c", 5, 5), Ok(true));
        assert_eq!(s.len(), 1);
        s.sweep(100);
        assert!(s.is_empty());
    }

    #[test]
    fn concurrent_inserts_have_one_winner() {
        let s = std::sync::Arc::new(MemoryStore::default());
        let wins: usize = (0..16)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || s.insert_if_absent_now(b"k", 60, 1).unwrap())
            })
            .map(|h| usize::from(h.join().unwrap()))
            .sum();
        assert_eq!(wins, 1);
    }

    #[test]
    fn full_store_refuses_without_sweeping_every_insert() {
        let n = 200_000u64;
        let s = MemoryStore::with_capacity(n as usize);
        for i in 0..n {
            assert_eq!(
                s.insert_if_absent_now(&i.to_be_bytes(), 600, 1000),
                Ok(true)
            );
        }
        // Full of live entries: each refusal must be O(1), not a sweep of 200,000 entries
        // (which takes ~1 ms each in a debug build).
        let start = std::time::Instant::now();
        for i in 0..2_000u64 {
            let key = (u64::MAX - i).to_be_bytes();
            assert_eq!(
                s.insert_if_absent_now(&key, 600, 1001),
                Err(StoreError::Full)
            );
            assert_eq!(s.increment_now(&key, 60, 1001), Err(StoreError::Full));
        }
        let took = start.elapsed();
        assert!(took < std::time::Duration::from_millis(200), "{took:?}");
        // Once the earliest entry has expired, room is made again.
        assert_eq!(s.insert_if_absent_now(b"late", 600, 1600), Ok(true));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn counters_count_within_a_fixed_window() {
        let s = MemoryStore::default();
        assert_eq!(s.increment_now(b"c", 60, 100), Ok(1));
        assert_eq!(s.increment_now(b"c", 60, 120), Ok(2));
        assert_eq!(s.increment_now(b"c", 60, 159), Ok(3));
        // The window started at 100: expired at 160, counting starts again.
        assert_eq!(s.increment_now(b"c", 60, 160), Ok(1));
        // Counters and insert-once keys share the capacity.
        let s = MemoryStore::with_capacity(1);
        assert_eq!(s.increment_now(b"c", 60, 0), Ok(1));
        assert_eq!(s.insert_if_absent_now(b"k", 60, 0), Err(StoreError::Full));
        assert_eq!(s.increment_now(b"c", 60, 1), Ok(2));
    }
}
