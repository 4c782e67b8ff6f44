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
    /// Whether `other` is the same key (not only the same id).
    fn same_key(&self, other: &Self) -> bool;
}

impl RingKey for KeyPair {
    fn ring_id(&self) -> u8 {
        self.key_id()
    }

    /// The same HPKE public key (public: a plain comparison).
    fn same_key(&self, other: &Self) -> bool {
        self.config().public_key() == other.config().public_key()
    }
}

impl RingKey for TicketKey {
    fn ring_id(&self) -> u8 {
        self.id()
    }

    /// The same secret (compared in constant time, [`TicketKey::same_secret`]).
    fn same_key(&self, other: &Self) -> bool {
        self.same_secret(other)
    }
}

/// Why a [`KeyRing`] refused new keys (nothing changed). Carries the key id only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RingError {
    /// The two new keys share this id (or a rotation names the current key's id).
    Duplicate(u8),
    /// This id is held now (current or previous) by a different key: reusing it would make
    /// a client holding the old configuration fail with no retry (docs/PROTOCOL.md §3.3).
    Reused(u8),
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

    /// The first new key whose id a held key has with a different key.
    fn reused<'a>(held: &[K], new: impl IntoIterator<Item = &'a K>) -> Result<(), RingError>
    where
        K: 'a,
    {
        for n in new {
            if held
                .iter()
                .any(|h| h.ring_id() == n.ring_id() && !h.same_key(n))
            {
                return Err(RingError::Reused(n.ring_id()));
            }
        }
        Ok(())
    }

    /// Whether [`replace`](Self::replace) would accept these keys now (changes nothing).
    ///
    /// Errors: as `replace`.
    pub(crate) fn check_replace(&self, current: &K, previous: Option<&K>) -> Result<(), RingError> {
        if previous.map(RingKey::ring_id) == Some(current.ring_id()) {
            return Err(RingError::Duplicate(current.ring_id()));
        }
        Self::reused(&self.snapshot(), core::iter::once(current).chain(previous))
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
    /// Errors (nothing changes): [`RingError::Duplicate`] if `next` has the current key's id;
    /// [`RingError::Reused`] if it has the previous key's id but is another key.
    pub(crate) fn rotate(&self, next: K) -> Result<(), RingError> {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        let current = keys.first().cloned();
        if current.as_ref().map(RingKey::ring_id) == Some(next.ring_id()) {
            return Err(RingError::Duplicate(next.ring_id()));
        }
        Self::reused(&keys, [&next])?;
        *keys = Self::slice(next, current).map_err(RingError::Duplicate)?;
        Ok(())
    }

    /// Replaces both keys at once (a reload from files). A key id held now may come back only
    /// with the same key.
    ///
    /// Errors (nothing changes): [`RingError::Duplicate`] if both share an id;
    /// [`RingError::Reused`] naming the first new key whose id the current or previous key has
    /// with a different key.
    pub(crate) fn replace(&self, current: K, previous: Option<K>) -> Result<(), RingError> {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        Self::reused(&keys, core::iter::once(&current).chain(previous.as_ref()))?;
        *keys = Self::slice(current, previous).map_err(RingError::Duplicate)?;
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
        assert_eq!(r.rotate(k(2)), Err(RingError::Duplicate(2)));
        assert_eq!(ids(&r), [2, 1]);
        r.rotate(k(3)).unwrap();
        assert_eq!(ids(&r), [3, 2]);
        assert_eq!(r.replace(k(5), Some(k(5))), Err(RingError::Duplicate(5)));
        assert_eq!(ids(&r), [3, 2]);
        r.replace(k(5), Some(k(4))).unwrap();
        assert_eq!(ids(&r), [5, 4]);
        r.replace(k(6), None).unwrap();
        assert_eq!(ids(&r), [6]);
    }

    /// PROTOCOL §3.3: an id held now (current or previous) never comes back with another key.
    #[test]
    fn a_held_id_is_not_reused_for_another_key() {
        let k = |id, b| TicketKey::from_bytes(id, &[b; 32]);
        let r = KeyRing::new(k(2, 2), Some(k(1, 1))).unwrap();
        // The previous id with another secret, as current or as previous.
        assert_eq!(r.replace(k(1, 9), Some(k(2, 2))), Err(RingError::Reused(1)));
        assert_eq!(r.replace(k(3, 3), Some(k(2, 9))), Err(RingError::Reused(2)));
        assert_eq!(
            r.check_replace(&k(3, 3), Some(&k(1, 9))),
            Err(RingError::Reused(1))
        );
        assert_eq!(ids(&r), [2, 1]);
        assert!(r.snapshot()[0].same_secret(&k(2, 2)));
        // A rotation onto the previous id with another key.
        assert_eq!(r.rotate(k(1, 9)), Err(RingError::Reused(1)));
        assert_eq!(ids(&r), [2, 1]);
        // The same keys swapped, a same-key rotation back, and new ids are fine.
        assert_eq!(r.check_replace(&k(1, 1), Some(&k(2, 2))), Ok(()));
        r.replace(k(1, 1), Some(k(2, 2))).unwrap();
        assert_eq!(ids(&r), [1, 2]);
        r.rotate(k(2, 2)).unwrap();
        assert_eq!(ids(&r), [2, 1]);
        r.replace(k(4, 4), Some(k(2, 2))).unwrap();
        assert_eq!(ids(&r), [4, 2]);
        // HPKE keys: by public key.
        let h = KeyRing::new(KeyPair::derive(1, &[1; 32]), None).unwrap();
        assert_eq!(
            h.replace(KeyPair::derive(1, &[7; 32]), None),
            Err(RingError::Reused(1))
        );
        assert_eq!(h.replace(KeyPair::derive(1, &[1; 32]), None), Ok(()));
    }
}
