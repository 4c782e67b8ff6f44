//! Key configurations (RFC 9458 §3) and the gateway's HPKE key pairs.

use alloc::vec;
use alloc::vec::Vec;

use ::hpke::kem::Kem as _;
use ::hpke::{Deserializable, Serializable};
use zeroize::Zeroizing;

use super::codec::Reader;
use super::error::{EncapsulationError, KeyConfigError};
use super::hpke::{self as glue, Kem, PrivateKey, PublicKey, ReceiverContext};
use super::params::{AEAD_ID, KDF_ID, KEM_ID, MAX_SYMMETRIC_LEN, N_PK};

/// An HPKE public key of the gateway, with its key id and the symmetric suites it accepts.
///
/// Wire form (RFC 9458 §3.1), all integers big-endian:
///
/// | field | bytes |
/// |---|---|
/// | key id | 1 |
/// | HPKE KEM id (`0x0020`) | 2 |
/// | HPKE public key | 32 (X25519) |
/// | symmetric algorithms length | 2 (multiple of 4, ≥ 4, ≤ [`MAX_SYMMETRIC_LEN`]) |
/// | (KDF id, AEAD id) pairs | 4 each |
///
/// Every value holds at most [`MAX_SYMMETRIC_LEN`] bytes of pairs ([`new`](Self::new) lists
/// one, [`decode`](Self::decode) refuses more), so its encoding is at most 65,533 bytes and
/// always fits a 2-byte length ([`encode`](Self::encode), [`encode_list`](Self::encode_list)).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyConfig {
    key_id: u8,
    public_key: PublicKey,
    /// Every (KDF id, AEAD id) pair listed in the configuration, in order.
    symmetric: Vec<(u16, u16)>,
}

impl core::fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyConfig")
            .field("key_id", &self.key_id)
            .field("symmetric", &self.symmetric)
            .finish_non_exhaustive()
    }
}

impl KeyConfig {
    /// Builds a configuration for `key_id` and a 32-byte X25519 public key, listing the one suite
    /// this implementation speaks (HKDF-SHA256, ChaCha20-Poly1305).
    ///
    /// Errors: [`KeyConfigError::InvalidKey`] if `public_key` is not 32 bytes.
    pub fn new(key_id: u8, public_key: &[u8]) -> Result<Self, KeyConfigError> {
        let public_key =
            PublicKey::from_bytes(public_key).map_err(|_| KeyConfigError::InvalidKey)?;
        Ok(Self {
            key_id,
            public_key,
            symmetric: vec![(KDF_ID, AEAD_ID)],
        })
    }

    /// The one-byte key id that requests name in their header.
    pub fn key_id(&self) -> u8 {
        self.key_id
    }

    /// The 32-byte X25519 public key.
    pub fn public_key(&self) -> [u8; N_PK] {
        let mut out = [0u8; N_PK];
        out.copy_from_slice(&self.public_key.to_bytes());
        out
    }

    /// Every (KDF id, AEAD id) pair the configuration lists.
    pub fn symmetric_suites(&self) -> &[(u16, u16)] {
        &self.symmetric
    }

    /// Encodes one key configuration (RFC 9458 §3.1).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 2 + N_PK + 2 + 4 * self.symmetric.len());
        out.push(self.key_id);
        out.extend_from_slice(&KEM_ID.to_be_bytes());
        out.extend_from_slice(&self.public_key.to_bytes());
        // At most MAX_SYMMETRIC_LEN (< 2^16) by construction (`new`, `read`).
        debug_assert!(4 * self.symmetric.len() <= MAX_SYMMETRIC_LEN);
        let sym_len = (4 * self.symmetric.len()) as u16;
        out.extend_from_slice(&sym_len.to_be_bytes());
        for (kdf, aead) in &self.symmetric {
            out.extend_from_slice(&kdf.to_be_bytes());
            out.extend_from_slice(&aead.to_be_bytes());
        }
        out
    }

    /// Decodes exactly one key configuration (RFC 9458 §3.1).
    ///
    /// Errors: [`KeyConfigError::Truncated`], [`KeyConfigError::TrailingBytes`],
    /// [`KeyConfigError::Malformed`] (symmetric length not a non-zero multiple of 4, or over
    /// [`MAX_SYMMETRIC_LEN`]: such a configuration could not be listed, RFC 9458 §3.2),
    /// [`KeyConfigError::UnsupportedSuite`] (KEM other than `0x0020`, or no (HKDF-SHA256,
    /// ChaCha20-Poly1305) pair), [`KeyConfigError::InvalidKey`].
    pub fn decode(bytes: &[u8]) -> Result<Self, KeyConfigError> {
        let mut r = Reader::new(bytes);
        let config = Self::read(&mut r)?;
        if !r.is_empty() {
            return Err(KeyConfigError::TrailingBytes);
        }
        Ok(config)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, KeyConfigError> {
        let t = |_| KeyConfigError::Truncated;
        let key_id = r.u8().map_err(t)?;
        let kem_id = r.u16().map_err(t)?;
        if kem_id != KEM_ID {
            return Err(KeyConfigError::UnsupportedSuite);
        }
        let pk = r.take(N_PK).map_err(t)?;
        let sym_len = usize::from(r.u16().map_err(t)?);
        if sym_len == 0 || sym_len % 4 != 0 || sym_len > MAX_SYMMETRIC_LEN {
            return Err(KeyConfigError::Malformed);
        }
        let sym = r.take(sym_len).map_err(t)?;
        let symmetric: Vec<(u16, u16)> = sym
            .chunks_exact(4)
            .map(|c| {
                (
                    u16::from_be_bytes([c[0], c[1]]),
                    u16::from_be_bytes([c[2], c[3]]),
                )
            })
            .collect();
        if !symmetric.contains(&(KDF_ID, AEAD_ID)) {
            return Err(KeyConfigError::UnsupportedSuite);
        }
        let public_key = PublicKey::from_bytes(pk).map_err(|_| KeyConfigError::InvalidKey)?;
        Ok(Self {
            key_id,
            public_key,
            symmetric,
        })
    }

    /// Encodes a list of configurations as `application/ohttp-keys` (RFC 9458 §3.2): each
    /// configuration prefixed by its 2-byte big-endian length. Cannot fail: an encoded
    /// configuration is at most 65,533 bytes (its symmetric list is bounded by
    /// [`MAX_SYMMETRIC_LEN`], which every constructor enforces), and the list itself has no
    /// length field.
    pub fn encode_list(configs: &[KeyConfig]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in configs {
            let enc = c.encode();
            debug_assert!(enc.len() <= usize::from(u16::MAX));
            out.extend_from_slice(&(enc.len() as u16).to_be_bytes());
            out.extend_from_slice(&enc);
        }
        out
    }

    /// Decodes an `application/ohttp-keys` list (RFC 9458 §3.2), keeping the configurations this
    /// implementation supports, in order (a client uses the first). Unsupported entries are
    /// skipped, as RFC 9458 §3.2 allows, and so is an entry that does not decode inside a
    /// well-framed list (docs/PROTOCOL.md §3.2): one bad entry does not hide a good one.
    ///
    /// Errors: [`KeyConfigError::Truncated`] (a length prefix runs past the end: the framing
    /// itself is broken), [`KeyConfigError::Malformed`] (empty input), or, when no entry is
    /// usable, the error of the first entry ([`KeyConfigError::UnsupportedSuite`],
    /// [`KeyConfigError::InvalidKey`], [`KeyConfigError::TrailingBytes`] …).
    pub fn decode_list(bytes: &[u8]) -> Result<Vec<KeyConfig>, KeyConfigError> {
        if bytes.is_empty() {
            return Err(KeyConfigError::Malformed);
        }
        let mut r = Reader::new(bytes);
        let mut out = Vec::new();
        let mut first_error = None;
        while !r.is_empty() {
            let entry = r
                .u16_prefixed(usize::from(u16::MAX))
                .map_err(|_| KeyConfigError::Truncated)?;
            match Self::decode(entry) {
                Ok(c) => out.push(c),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if out.is_empty() {
            return Err(first_error.unwrap_or(KeyConfigError::UnsupportedSuite));
        }
        Ok(out)
    }
}

/// A gateway HPKE key pair: key id, X25519 private key and its [`KeyConfig`].
///
/// The private key is zeroized on drop (by the `hpke` crate) and never printed: `Debug` shows
/// only the key id.
#[derive(Clone)]
pub struct KeyPair {
    config: KeyConfig,
    private_key: PrivateKey,
}

impl core::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyPair")
            .field("key_id", &self.config.key_id)
            .field("private_key", &"<opaque>")
            .finish()
    }
}

impl KeyPair {
    /// Derives a key pair deterministically from input keying material with RFC 9180 §7.1.3
    /// `DeriveKeyPair` (for fixed test keys; `ikm` should hold ≥ 32 bytes of entropy).
    pub fn derive(key_id: u8, ikm: &[u8]) -> Self {
        let (private_key, public_key) = Kem::derive_keypair(ikm);
        Self {
            config: KeyConfig {
                key_id,
                public_key,
                symmetric: vec![(KDF_ID, AEAD_ID)],
            },
            private_key,
        }
    }

    /// Generates a fresh key pair from the platform CSPRNG.
    ///
    /// Errors: [`KeyConfigError::RandomFailed`] if the CSPRNG is unavailable.
    pub fn generate(key_id: u8) -> Result<Self, KeyConfigError> {
        let mut ikm = Zeroizing::new([0u8; 32]);
        getrandom::fill(ikm.as_mut()).map_err(|_| KeyConfigError::RandomFailed)?;
        Ok(Self::derive(key_id, ikm.as_ref()))
    }

    /// Builds a key pair from a 32-byte X25519 private key (RFC 9180 §7.1.2 `DeserializePrivateKey`).
    ///
    /// Errors: [`KeyConfigError::InvalidKey`] if `private_key` is not 32 bytes.
    pub fn from_private_key(key_id: u8, private_key: &[u8]) -> Result<Self, KeyConfigError> {
        let private_key =
            PrivateKey::from_bytes(private_key).map_err(|_| KeyConfigError::InvalidKey)?;
        let public_key = Kem::sk_to_pk(&private_key);
        Ok(Self {
            config: KeyConfig {
                key_id,
                public_key,
                symmetric: vec![(KDF_ID, AEAD_ID)],
            },
            private_key,
        })
    }

    /// The public half.
    pub fn config(&self) -> &KeyConfig {
        &self.config
    }

    /// The key id.
    pub fn key_id(&self) -> u8 {
        self.config.key_id
    }

    /// RFC 9180 §5.1.1 `SetupBaseR(enc, skR, info)` with this key pair's private key: the raw
    /// HPKE receiver context (for known-answer tests; requests go through
    /// [`decapsulate_request`](super::decapsulate_request)).
    ///
    /// Errors: [`EncapsulationError::InvalidKey`] if `enc` is not 32 bytes or is a low-order point
    /// (all-zero DH output, RFC 9180 §7.1.4).
    pub fn setup_base_receiver(
        &self,
        enc: &[u8],
        info: &[u8],
    ) -> Result<ReceiverContext, EncapsulationError> {
        glue::setup_base_receiver(&self.private_key, enc, info)
    }
}
