//! The HPKE glue (RFC 9180): the one suite this protocol uses as `hpke` crate types, and base-mode
//! sender and receiver contexts on it. Key configurations ([`super::key_config`]) hold keys of
//! these types; the encapsulation ([`super::encapsulation`]) runs on these contexts.

use core::convert::Infallible;

use ::hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use alloc::vec::Vec;
use zeroize::Zeroizing;

use super::error::EncapsulationError;
use super::params::N_ENC;

/// RFC 9180 §7.1: DHKEM(X25519, HKDF-SHA256) (id [`KEM_ID`](super::params::KEM_ID)).
pub(crate) type Kem = ::hpke::kem::X25519HkdfSha256;
/// RFC 9180 §7.2: HKDF-SHA256 (id [`KDF_ID`](super::params::KDF_ID)).
pub(crate) type Kdf = ::hpke::kdf::HkdfSha256;
/// RFC 9180 §7.3: ChaCha20-Poly1305 (id [`AEAD_ID`](super::params::AEAD_ID)).
pub(crate) type Aead = ::hpke::aead::ChaCha20Poly1305;
/// An X25519 public key (32 bytes serialized).
pub(crate) type PublicKey = <Kem as ::hpke::Kem>::PublicKey;
/// An X25519 private key; the `hpke` crate zeroizes it on drop.
pub(crate) type PrivateKey = <Kem as ::hpke::Kem>::PrivateKey;

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
pub struct SenderContext(::hpke::aead::AeadCtxS<Aead, Kdf, Kem>);
/// An HPKE base-mode receiver context (RFC 9180 §5.1, §5.2, §5.3) on this suite.
pub struct ReceiverContext(::hpke::aead::AeadCtxR<Aead, Kdf, Kem>);

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
    let pk = PublicKey::from_bytes(pk_r).map_err(|_| EncapsulationError::InvalidKey)?;
    let mut rng = IkmRng(Zeroizing::new(*ikm_e), 0);
    let (enc, ctx) =
        ::hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(&OpModeS::Base, &pk, info, &mut rng)
            .map_err(|_| EncapsulationError::InvalidKey)?;
    let mut enc_bytes = [0u8; N_ENC];
    enc_bytes.copy_from_slice(&enc.to_bytes());
    Ok((enc_bytes, SenderContext(ctx)))
}

/// RFC 9180 §5.1.1 `SetupBaseR(enc, skR, info)`. Public as
/// [`KeyPair::setup_base_receiver`](super::KeyPair::setup_base_receiver).
///
/// Errors: [`EncapsulationError::InvalidKey`] if `enc` is not 32 bytes or is a low-order point
/// (all-zero DH output, RFC 9180 §7.1.4).
pub(crate) fn setup_base_receiver(
    sk_r: &PrivateKey,
    enc: &[u8],
    info: &[u8],
) -> Result<ReceiverContext, EncapsulationError> {
    let enc = <Kem as ::hpke::Kem>::EncappedKey::from_bytes(enc)
        .map_err(|_| EncapsulationError::InvalidKey)?;
    ::hpke::setup_receiver::<Aead, Kdf, Kem>(&OpModeR::Base, sk_r, &enc, info)
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
