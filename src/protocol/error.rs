//! Errors of the protocol core, one `#[non_exhaustive]` enum per operation family.
//!
//! Every variant has a stable string [`code`](KeyConfigError::code) that the gateway puts in
//! `application/problem+json` bodies and the browser SDK exposes unchanged as `H5AccessError.code`.
//! Messages never contain key material, tokens or plaintext.

use super::code_enum::code_enum;

code_enum! {
    /// Failure to parse or use a key configuration (RFC 9458 §3).
    pub enum KeyConfigError {
        /// The input ended before the structure was complete.
        Truncated => ("TRUNCATED", "key configuration is truncated"),
        /// Bytes follow a complete structure.
        TrailingBytes => ("TRAILING_BYTES", "unexpected bytes after the key configuration"),
        /// The KEM, or every listed KDF/AEAD pair, is one this implementation does not support.
        UnsupportedSuite => ("UNSUPPORTED_SUITE", "no supported HPKE suite in the key configuration"),
        /// The public key is not a valid X25519 public key.
        InvalidKey => ("INVALID_KEY", "invalid HPKE public key"),
        /// The key configuration list is empty, or the symmetric suite list has a bad length.
        Malformed => ("MALFORMED", "malformed key configuration"),
        /// The platform CSPRNG failed while generating a key pair.
        RandomFailed => ("RANDOM_FAILED", "the random number generator failed"),
    }
}

code_enum! {
    /// Failure to encapsulate or decapsulate a request or response (RFC 9458 §4.3, §4.4).
    ///
    /// Every authentication failure is the single opaque variant [`DecryptFailed`](Self::DecryptFailed).
    pub enum EncapsulationError {
        /// Shorter than the fixed-size header, `enc` and AEAD tag.
        Truncated => ("TRUNCATED", "encapsulated message is truncated"),
        /// The key id in the header is not one of the gateway's current keys (RFC 9458 §5.3).
        KeyUnknown => ("KEY_UNKNOWN", "unknown key id"),
        /// The header names a KEM, KDF or AEAD this implementation does not support.
        UnsupportedSuite => ("UNSUPPORTED_SUITE", "unsupported HPKE suite"),
        /// `enc` (or the peer public key) is not usable: e.g. a low-order X25519 point.
        InvalidKey => ("INVALID_KEY", "invalid encapsulated key"),
        /// Authentication failed: wrong key, tampered bytes, or wrong response context.
        DecryptFailed => ("DECRYPT_FAILED", "decryption failed"),
        /// The plaintext to seal is larger than the protocol allows.
        TooLarge => ("TOO_LARGE", "message too large"),
        /// The platform CSPRNG failed.
        RandomFailed => ("RANDOM_FAILED", "the random number generator failed"),
    }
}

code_enum! {
    /// Failure to encode or decode a plaintext message (docs/PROTOCOL.md §4).
    pub enum MessageError {
        /// The input ended before the message was complete.
        Truncated => ("TRUNCATED", "message is truncated"),
        /// Bytes follow a complete message.
        TrailingBytes => ("TRAILING_BYTES", "unexpected bytes after the message"),
        /// The version byte is not one this implementation speaks.
        UnsupportedVersion => ("UNSUPPORTED_VERSION", "unsupported message version"),
        /// A field has a value outside its allowed range or character set.
        Malformed => ("MALFORMED", "malformed message field"),
        /// A field is longer than its length prefix or the protocol limit allows.
        TooLarge => ("TOO_LARGE", "message field too large"),
    }
}
