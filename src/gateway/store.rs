//! Gateway state: the replay cache (request ids), the used-AT set and the partner nonces, all
//! behind one trait whose core operation is an atomic "insert if absent, with time to live"
//! (docs/PROTOCOL.md §11).

use std::collections::HashMap;
use std::sync::Mutex;

use core::fmt;

/// Why the store could not answer. The gateway then refuses the request (code `INTERNAL`)
/// and consumes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The store holds its maximum number of live entries.
    Full,
    /// The store (e.g. a remote one) is unreachable.
    Unavailable,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreError::Full => "state store full",
            StoreError::Unavailable => "state store unavailable",
        })
    }
}

impl core::error::Error for StoreError {}

/// A set of keys with expiry, shared by every request a gateway (or a fleet of gateways)
/// handles.
///
/// The one operation must be atomic: of any number of concurrent calls with the same live key,
/// exactly one returns `Ok(true)`. A shared store (e.g. Redis `SET key 1 NX EX ttl`) gives
/// the same guarantee across gateway instances.
pub trait ReplayStore: Send + Sync {
    /// Inserts `key` to expire at `now + ttl_seconds` (seconds since the Unix epoch) unless a
    /// live (unexpired) entry with that key exists. Returns `Ok(true)` if inserted,
    /// `Ok(false)` if already present.
    ///
    /// Errors: [`StoreError`]; the caller must then treat the key as *not* inserted.
    fn insert_if_absent(&self, key: &[u8], ttl_seconds: u64, now: u64) -> Result<bool, StoreError>;
}

/// Default [`MemoryStore`] capacity: 1,000,000 live entries.
pub const DEFAULT_CAPACITY: usize = 1_000_000;
/// Longest key the gateway stores, in bytes (`"pn:" ‖ partner id (64) ‖ ":" ‖ nonce (64)`).
pub const MAX_KEY_LEN: usize = 3 + 64 + 1 + 64;

struct Inner {
    map: HashMap<Vec<u8>, u64>,
    next_sweep: u64,
}

/// An in-process [`ReplayStore`]: a mutex-guarded hash map from key to expiry time.
///
/// Expired entries are swept at most once per `sweep_interval` seconds during inserts, and
/// whenever the map is full. Memory bound: at most `capacity` live entries of at most
/// [`MAX_KEY_LEN`] bytes of key, so roughly `capacity × 200` bytes (≈ 200 MB at the default
/// one million; size it as requests-per-second × 2 × window). When the store is full of live
/// entries, inserts fail with [`StoreError::Full`] (requests are refused, never let through).
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
        let mut inner = self.lock();
        inner.map.retain(|_, exp| *exp > now);
        inner.next_sweep = now.saturating_add(self.sweep_interval);
    }
}

impl ReplayStore for MemoryStore {
    fn insert_if_absent(&self, key: &[u8], ttl_seconds: u64, now: u64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if now >= inner.next_sweep || inner.map.len() >= self.capacity {
            inner.map.retain(|_, exp| *exp > now);
            inner.next_sweep = now.saturating_add(self.sweep_interval);
        }
        let exp = now.saturating_add(ttl_seconds);
        if let Some(old) = inner.map.get_mut(key) {
            if *old > now {
                return Ok(false);
            }
            *old = exp;
            return Ok(true);
        }
        if inner.map.len() >= self.capacity {
            return Err(StoreError::Full);
        }
        inner.map.insert(key.to_vec(), exp);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn insert_once_until_expiry() {
        let s = MemoryStore::default();
        assert_eq!(s.insert_if_absent(b"a", 10, 100), Ok(true));
        assert_eq!(s.insert_if_absent(b"a", 10, 109), Ok(false));
        assert_eq!(s.insert_if_absent(b"a", 10, 110), Ok(true));
        assert_eq!(s.insert_if_absent(b"b", 10, 110), Ok(true));
    }

    #[test]
    fn bounded_and_swept() {
        let s = MemoryStore::with_capacity(2);
        assert_eq!(s.insert_if_absent(b"a", 5, 0), Ok(true));
        assert_eq!(s.insert_if_absent(b"b", 5, 0), Ok(true));
        assert_eq!(s.insert_if_absent(b"c", 5, 1), Err(StoreError::Full));
        assert_eq!(s.insert_if_absent(b"c", 5, 5), Ok(true));
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
                std::thread::spawn(move || s.insert_if_absent(b"k", 60, 1).unwrap())
            })
            .map(|h| usize::from(h.join().unwrap()))
            .sum();
        assert_eq!(wins, 1);
    }
}
