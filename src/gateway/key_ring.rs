//! Current and previous keys of one kind (HPKE keys, ticket keys): the one rotation rule both
//! follow. Requests take a snapshot (an `Arc` of the slice, never a copy of a private key); a
//! rotation or a reload swaps in a new slice.

use std::sync::{Arc, RwLock};

use crate::protocol::KeyPair;

use super::tokens::TicketKey;

/// A key a [`KeyRing`] holds: it has a one-byte id, unique within the ring.
pub(crate) trait RingKey: Clone {
    /// The key id (HPKE key id, RFC 9458 §3; ticket key id, docs/PROTOCOL.md §8).
    fn ring_id(&self) -> u8;
}

impl RingKey for KeyPair {
    fn ring_id(&self) -> u8 {
        self.key_id()
    }
}

impl RingKey for TicketKey {
    fn ring_id(&self) -> u8 {
        self.id()
    }
}

/// The current key (first) and at most one previous key (second).
pub(crate) struct KeyRing<K> {
    keys: RwLock<Arc<[K]>>,
}

impl<K: RingKey> KeyRing<K> {
    /// A ring of `current` and, if given, `previous`.
    ///
    /// Errors: the duplicate id, if both share one.
    pub(crate) fn new(current: K, previous: Option<K>) -> Result<Self, u8> {
        Ok(Self {
            keys: RwLock::new(Self::slice(current, previous)?),
        })
    }

    fn slice(current: K, previous: Option<K>) -> Result<Arc<[K]>, u8> {
        if let Some(p) = &previous {
            if p.ring_id() == current.ring_id() {
                return Err(current.ring_id());
            }
        }
        let mut v = Vec::with_capacity(2);
        v.push(current);
        v.extend(previous);
        Ok(v.into())
    }

    /// The keys now: current first, then the previous one if any.
    pub(crate) fn snapshot(&self) -> Arc<[K]> {
        let guard = self.keys.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(&guard)
    }

    /// Makes `next` current; the current key becomes the previous one, the previous one is
    /// dropped.
    ///
    /// Errors: `next`'s id, if it is the current key's (nothing changes).
    pub(crate) fn rotate(&self, next: K) -> Result<(), u8> {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        let current = keys.first().cloned();
        if current.as_ref().map(RingKey::ring_id) == Some(next.ring_id()) {
            return Err(next.ring_id());
        }
        *keys = Self::slice(next, current)?;
        Ok(())
    }

    /// Replaces both keys at once (a reload from files).
    ///
    /// Errors: the duplicate id, if both share one (nothing changes).
    pub(crate) fn replace(&self, current: K, previous: Option<K>) -> Result<(), u8> {
        let next = Self::slice(current, previous)?;
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ids(r: &KeyRing<TicketKey>) -> Vec<u8> {
        r.snapshot().iter().map(TicketKey::id).collect()
    }

    #[test]
    fn rotation_keeps_current_and_previous() {
        let k = |id| TicketKey::from_bytes(id, &[id; 32]);
        assert_eq!(KeyRing::new(k(1), Some(k(1))).err(), Some(1));
        let r = KeyRing::new(k(1), None).unwrap();
        assert_eq!(ids(&r), [1]);
        r.rotate(k(2)).unwrap();
        assert_eq!(ids(&r), [2, 1]);
        assert_eq!(r.rotate(k(2)), Err(2));
        assert_eq!(ids(&r), [2, 1]);
        r.rotate(k(3)).unwrap();
        assert_eq!(ids(&r), [3, 2]);
        assert_eq!(r.replace(k(5), Some(k(5))), Err(5));
        assert_eq!(ids(&r), [3, 2]);
        r.replace(k(5), Some(k(4))).unwrap();
        assert_eq!(ids(&r), [5, 4]);
        r.replace(k(6), None).unwrap();
        assert_eq!(ids(&r), [6]);
    }
}
