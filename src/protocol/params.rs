//! The protocol's numbers, in one place that imports nothing: the HPKE suite's ids (RFC 9180 §7),
//! the byte sizes that follow from it, and the message limits (docs/PROTOCOL.md §4).
//!
//! Every other protocol module reads its sizes from here; nothing here depends on them.

/// RFC 9180 §7.1: DHKEM(X25519, HKDF-SHA256).
pub const KEM_ID: u16 = 0x0020;
/// RFC 9180 §7.2: HKDF-SHA256.
pub const KDF_ID: u16 = 0x0001;
/// RFC 9180 §7.3: ChaCha20-Poly1305.
pub const AEAD_ID: u16 = 0x0003;

/// `Npk`: bytes of a serialized X25519 public key.
pub const N_PK: usize = 32;
/// Longest symmetric-algorithms list of a key configuration, in bytes: 65,496 (16,374 (KDF,
/// AEAD) pairs), so that one encoded configuration (1 + 2 + [`N_PK`] + 2 + this = 65,533 bytes at
/// most) fits the 2-byte length of its `application/ohttp-keys` entry (RFC 9458 §3.2). A
/// configuration listing more is refused when decoded (`KeyConfigError::Malformed`).
pub const MAX_SYMMETRIC_LEN: usize = (u16::MAX as usize - (1 + 2 + N_PK + 2)) / 4 * 4;
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
/// Bytes of a call binder (HMAC-SHA256 output).
pub const BINDER_LEN: usize = 32;

/// The only plaintext message version this implementation speaks.
pub const VERSION: u8 = 1;
/// Bytes of a request id.
pub const REQUEST_ID_LEN: usize = 16;
/// Longest token (AT or VT) in bytes.
pub const MAX_TOKEN_LEN: usize = 2048;
/// Longest product or service name in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Longest error code in bytes.
pub const MAX_CODE_LEN: usize = 64;
/// Longest JSON body (page data, call body) in bytes: 512 KiB.
pub const MAX_BODY_LEN: usize = 512 * 1024;

/// Largest plaintext this protocol seals or opens: 1 MiB.
pub const MAX_PLAINTEXT_LEN: usize = 1 << 20;
/// Longest encapsulated response (docs/PROTOCOL.md §4.2): `response_nonce (32) ‖ ct`, where the
/// largest plaintext is an issued exchange response (§4.5): version (1) ‖ status (1) ‖ exp (8) ‖
/// VT (2 + 2048) ‖ page (4 + 524288); plus the tag (16). 526,400 bytes.
pub const MAX_RESPONSE_LEN: usize =
    RESPONSE_NONCE_LEN + 1 + 1 + 8 + 2 + MAX_TOKEN_LEN + 4 + MAX_BODY_LEN + N_T;
