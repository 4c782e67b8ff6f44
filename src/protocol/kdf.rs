//! The two keyed-hash helpers the protocol's derived keys use, on the RustCrypto crates:
//! HKDF-SHA256-Expand to 32 bytes (RFC 5869 §2.3) and HMAC-SHA256 under a 32-byte key (RFC 2104).
//! Used by the call binder ([`super::session`]) and the partner API's signing and delivery keys.

use zeroize::Zeroizing;

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
