//! The one HPKE suite this protocol uses (RFC 9180 §7) and its sizes.

/// RFC 9180 §7.1: DHKEM(X25519, HKDF-SHA256).
pub const KEM_ID: u16 = 0x0020;
/// RFC 9180 §7.2: HKDF-SHA256.
pub const KDF_ID: u16 = 0x0001;
/// RFC 9180 §7.3: ChaCha20-Poly1305.
pub const AEAD_ID: u16 = 0x0003;

/// `Npk`: bytes of a serialized X25519 public key.
pub const N_PK: usize = 32;
/// `Nenc`: bytes of the encapsulated key `enc`.
pub const N_ENC: usize = 32;
/// `Nk`: bytes of a ChaCha20-Poly1305 key.
pub const N_K: usize = 32;
/// `Nn`: bytes of a ChaCha20-Poly1305 nonce.
pub const N_N: usize = 12;
/// `Nt`: bytes of a ChaCha20-Poly1305 tag.
pub const N_T: usize = 16;
/// Bytes of the RFC 9458 §4.3 request header: key id (1), KEM id (2), KDF id (2), AEAD id (2).
pub const HEADER_LEN: usize = 7;
/// Bytes of the response nonce: `max(Nn, Nk)` (RFC 9458 §4.4).
pub const RESPONSE_NONCE_LEN: usize = 32;
/// Bytes of the session secret exported from the exchange's HPKE context.
pub const SESSION_SECRET_LEN: usize = 32;

pub(crate) type Kem = hpke::kem::X25519HkdfSha256;
pub(crate) type Kdf = hpke::kdf::HkdfSha256;
pub(crate) type Aead = hpke::aead::ChaCha20Poly1305;

/// HMAC-SHA256 under a 32-byte key, built with the infallible `KeyInit::new`: the key is
/// zero-padded to the 64-byte block, which is what HMAC does with a shorter key (RFC 2104 §2),
/// so the MAC is the same as keying with the 32 bytes.
pub(crate) fn hmac_sha256(key: &[u8; 32]) -> hmac::Hmac<sha2::Sha256> {
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new((&*block).into())
}

/// HKDF-SHA256-Expand(prk, info, 32) (RFC 5869 §2.3) with the `hkdf` crate. `from_prk` refuses
/// only a PRK shorter than 32 bytes and `expand` only an output over 8160 bytes, so with these
/// fixed sizes `None` cannot happen; callers still fail closed on it (no fallback key).
pub(crate) fn hkdf_expand_32(prk: &[u8; 32], info: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let hk = hkdf::Hkdf::<sha2::Sha256>::from_prk(prk).ok()?;
    let mut out = Zeroizing::new([0u8; 32]);
    hk.expand(info, out.as_mut()).ok()?;
    Some(out)
}

use core::convert::Infallible;

use alloc::vec::Vec;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use zeroize::Zeroizing;

use super::error::EncapsulationError;
use super::key_config::KeyPair;

/// An RNG that yields caller-supplied bytes, so HPKE encapsulation can be made deterministic
/// for known-answer tests: hpke's `gen_keypair_with_rng` reads exactly `Nsk` = 32 bytes and runs
/// `DeriveKeyPair` on them, which is RFC 9180's `ikmE`. Reads past the end yield zeros; that
/// never happens with X25519.
struct IkmRng(Zeroizing<[u8; 32]>, usize);

impl rand_core::TryRng for IkmRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for d in dst.iter_mut() {
            *d = self.0.get(self.1).copied().unwrap_or(0);
            self.1 += 1;
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for IkmRng {}

/// An HPKE base-mode sender context (RFC 9180 §5.1, §5.2, §5.3) on this suite.
pub struct SenderContext(hpke::aead::AeadCtxS<Aead, Kdf, Kem>);
/// An HPKE base-mode receiver context (RFC 9180 §5.1, §5.2, §5.3) on this suite.
pub struct ReceiverContext(hpke::aead::AeadCtxR<Aead, Kdf, Kem>);

impl core::fmt::Debug for SenderContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SenderContext(<opaque>)")
    }
}
impl core::fmt::Debug for ReceiverContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ReceiverContext(<opaque>)")
    }
}

/// RFC 9180 §5.1.1 `SetupBaseS(pkR, info)` with the ephemeral key `DeriveKeyPair(ikm_e)`.
/// Returns `enc` (32 bytes) and the context.
///
/// Errors: [`EncapsulationError::InvalidKey`] if `pk_r` is not 32 bytes or the DH output is
/// all-zero (low-order point).
pub fn setup_base_sender_with_ikm(
    pk_r: &[u8],
    info: &[u8],
    ikm_e: &[u8; 32],
) -> Result<([u8; N_ENC], SenderContext), EncapsulationError> {
    let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(pk_r)
        .map_err(|_| EncapsulationError::InvalidKey)?;
    let mut rng = IkmRng(Zeroizing::new(*ikm_e), 0);
    let (enc, ctx) =
        hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(&OpModeS::Base, &pk, info, &mut rng)
            .map_err(|_| EncapsulationError::InvalidKey)?;
    let mut enc_bytes = [0u8; N_ENC];
    enc_bytes.copy_from_slice(&enc.to_bytes());
    Ok((enc_bytes, SenderContext(ctx)))
}

/// RFC 9180 §5.1.1 `SetupBaseR(enc, skR, info)`.
///
/// Errors: [`EncapsulationError::InvalidKey`] if `enc` is not 32 bytes or is a low-order point
/// (all-zero DH output, RFC 9180 §7.1.4).
pub fn setup_base_receiver(
    key: &KeyPair,
    enc: &[u8],
    info: &[u8],
) -> Result<ReceiverContext, EncapsulationError> {
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc)
        .map_err(|_| EncapsulationError::InvalidKey)?;
    hpke::setup_receiver::<Aead, Kdf, Kem>(&OpModeR::Base, key.hpke_private_key(), &enc, info)
        .map(ReceiverContext)
        .map_err(|_| EncapsulationError::InvalidKey)
}

impl SenderContext {
    /// RFC 9180 §5.2 `ContextS.Seal(aad, pt)`; increments the sequence number.
    ///
    /// Errors: [`EncapsulationError::TooLarge`] (sequence number exhausted).
    pub fn seal(&mut self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, EncapsulationError> {
        self.0
            .seal(plaintext, aad)
            .map_err(|_| EncapsulationError::TooLarge)
    }

    /// RFC 9180 §5.3 `Context.Export(exporter_context, L)` into `out` (L = `out.len()` ≤ 8160).
    ///
    /// Errors: [`EncapsulationError::TooLarge`] if `out` is longer than 255 × 32 bytes.
    pub fn export(
        &self,
        exporter_context: &[u8],
        out: &mut [u8],
    ) -> Result<(), EncapsulationError> {
        self.0
            .export(exporter_context, out)
            .map_err(|_| EncapsulationError::TooLarge)
    }
}

impl ReceiverContext {
    /// RFC 9180 §5.2 `ContextR.Open(aad, ct)`; increments the sequence number on success.
    ///
    /// Errors: [`EncapsulationError::DecryptFailed`].
    pub fn open(&mut self, ciphertext: &[u8], aad: &[u8]) -> Result<Vec<u8>, EncapsulationError> {
        self.0
            .open(ciphertext, aad)
            .map_err(|_| EncapsulationError::DecryptFailed)
    }

    /// RFC 9180 §5.3 `Context.Export(exporter_context, L)` into `out`.
    ///
    /// Errors: [`EncapsulationError::TooLarge`] if `out` is longer than 255 × 32 bytes.
    pub fn export(
        &self,
        exporter_context: &[u8],
        out: &mut [u8],
    ) -> Result<(), EncapsulationError> {
        self.0
            .export(exporter_context, out)
            .map_err(|_| EncapsulationError::TooLarge)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hmac::Mac as _;

    #[test]
    fn hmac_with_a_padded_32_byte_key_matches_new_from_slice() {
        let key = [7u8; 32];
        let mut a = hmac_sha256(&key);
        let mut b = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&key).unwrap();
        a.update(b"msg");
        b.update(b"msg");
        assert_eq!(a.finalize().into_bytes(), b.finalize().into_bytes());
        assert!(hkdf_expand_32(&key, b"some info").is_some());
    }
}
