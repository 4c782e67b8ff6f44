//! The session secret both ends hold after an exchange, and the call binder keyed from it
//! (docs/PROTOCOL.md §4.6).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::kdf::{hkdf_expand_32, hmac_sha256};
use super::params::SESSION_SECRET_LEN;

pub use super::params::BINDER_LEN;

/// Exporter context of the session secret (RFC 9180 §5.3), exported from the exchange's context.
pub const SESSION_SECRET_LABEL: &[u8] = b"application/vnd.h5-access.exchange session";
/// HKDF-Expand `info` deriving the call-binder key from the session secret.
pub const BINDER_KEY_LABEL: &[u8] = b"h5-access call binder";

/// A 32-byte secret shared by the browser and the gateway after an exchange, exported from the
/// exchange's HPKE context (RFC 9180 §5.3) with [`SESSION_SECRET_LABEL`].
///
/// Zeroized on drop; `Debug` prints nothing of it.
#[derive(Clone)]
pub struct SessionSecret(Zeroizing<[u8; SESSION_SECRET_LEN]>);

impl core::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionSecret(<opaque>)")
    }
}

impl SessionSecret {
    /// Takes ownership of exported secret bytes (the encapsulation's RFC 9180 §5.3 export).
    pub(crate) fn new(bytes: Zeroizing<[u8; SESSION_SECRET_LEN]>) -> Self {
        Self(bytes)
    }

    /// Wraps 32 secret bytes (e.g. read back from a VT ticket by the gateway).
    pub fn from_bytes(bytes: [u8; SESSION_SECRET_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw bytes. Callers must not log them or hand them to JavaScript.
    pub fn expose(&self) -> &[u8; SESSION_SECRET_LEN] {
        &self.0
    }

    /// The binder's HMAC, keyed with `HKDF-Expand(session_secret, "h5-access call binder", 32)`
    /// (a 32-byte exporter output is a valid HKDF-SHA256 PRK, RFC 5869 §2.3). `None` cannot
    /// happen with these fixed sizes; callers fail closed on it.
    fn binder_mac(&self) -> Option<Hmac<Sha256>> {
        let key = hkdf_expand_32(&self.0, BINDER_KEY_LABEL)?;
        Some(hmac_sha256(&key))
    }

    /// `binder = HMAC-SHA256(HKDF-Expand(session_secret, "h5-access call binder", 32), transcript)`.
    /// `None` only if key derivation failed, which fixed sizes rule out.
    pub fn call_binder(&self, transcript: &[u8]) -> Option<[u8; BINDER_LEN]> {
        let mut mac = self.binder_mac()?;
        mac.update(transcript);
        let mut out = [0u8; BINDER_LEN];
        out.copy_from_slice(&mac.finalize().into_bytes());
        Some(out)
    }

    /// Checks a binder in constant time (`false` also if key derivation failed).
    pub fn verify_call_binder(&self, transcript: &[u8], binder: &[u8]) -> bool {
        match self.binder_mac() {
            Some(mut mac) => {
                mac.update(transcript);
                mac.verify_slice(binder).is_ok()
            }
            None => false,
        }
    }
}
