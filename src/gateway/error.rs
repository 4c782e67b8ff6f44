//! Errors the gateway reports *before* decapsulation (RFC 9458 §5.2): plain HTTP 4xx/5xx with an
//! `application/problem+json` body (RFC 9457). Errors after decapsulation are sealed inside the
//! encapsulated response instead, with the codes of [`crate::protocol::codes`].

use core::fmt;

use crate::protocol::code_enum::code_enum;
use crate::protocol::partner_wire::MIN_SECRET_LEN;
use crate::protocol::EncapsulationError;

/// RFC 9458 §5.3: the problem type of an unknown key id.
pub const OHTTP_KEY_PROBLEM_TYPE: &str =
    "https://iana.org/assignments/http-problem-types#ohttp-key";

code_enum! {
    /// A refusal before decapsulation, or of the partner API: an HTTP status, a stable code
    /// and an `application/problem+json` body. Never carries secret material.
    pub enum PreDecapError {
        /// The encapsulated request is shorter than header + `enc` + tag.
        Truncated => (400, "TRUNCATED", "encapsulated request is truncated"),
        /// The header names a KEM, KDF or AEAD the gateway does not support.
        UnsupportedSuite => (400, "UNSUPPORTED_SUITE", "unsupported HPKE suite"),
        /// `enc` is not a usable X25519 public key.
        InvalidKey => (400, "INVALID_KEY", "invalid encapsulated key"),
        /// The request does not authenticate under the named key (tampered or wrong key).
        DecryptFailed => (400, "DECRYPT_FAILED", "decryption failed"),
        /// The key id is neither the current nor the previous key (RFC 9458 §5.3).
        KeyUnknown => (422, "KEY_UNKNOWN", "unknown key id"),
        /// The request body is larger than the gateway accepts.
        TooLarge => (413, "TOO_LARGE", "request body too large"),
        /// The HTTP layer could not read the request body (bad chunked encoding, connection
        /// closed before the declared length): not a size problem.
        BadBody => (400, "BAD_BODY", "request body could not be read"),
        /// The request's `Content-Type` is not the endpoint's media type.
        UnsupportedMediaType => (415, "UNSUPPORTED_MEDIA_TYPE", "unsupported media type"),
        /// The partner request has no, or an unparsable, `Authorization` header.
        PartnerAuthMalformed => (401, "PARTNER_AUTH_MALFORMED", "missing or malformed partner authorization"),
        /// The partner id is not registered.
        PartnerUnknown => (401, "PARTNER_UNKNOWN", "unknown partner"),
        /// The request signature does not verify.
        PartnerSignature => (401, "PARTNER_SIGNATURE", "bad partner signature"),
        /// The request timestamp is outside the accepted window.
        PartnerTimestamp => (401, "PARTNER_TIMESTAMP", "partner timestamp outside the window"),
        /// The request nonce was already used within the window.
        PartnerNonceReused => (401, "PARTNER_NONCE_REUSED", "partner nonce reused"),
        /// The partner request body is not the expected JSON.
        PartnerBadRequest => (400, "PARTNER_BAD_REQUEST", "malformed access-token request"),
        /// A requested product is not one this partner may issue access tokens for.
        PartnerProductNotAllowed => (403, "PARTNER_PRODUCT_NOT_ALLOWED", "product not allowed for this partner"),
        /// The gateway failed internally (CSPRNG, state store). No partner nonce is stored and no AT
        /// is consumed; an exchange's or call's request id may be.
        Internal => (500, "INTERNAL", "internal gateway error"),
    }
}

impl PreDecapError {
    /// The RFC 9457 `type`: the RFC 9458 §5.3 URI for [`KeyUnknown`](Self::KeyUnknown),
    /// `about:blank` otherwise (the `code` member tells the cases apart).
    pub const fn problem_type(self) -> &'static str {
        match self {
            PreDecapError::KeyUnknown => OHTTP_KEY_PROBLEM_TYPE,
            _ => "about:blank",
        }
    }

    /// The `application/problem+json` body:
    /// `{"type":…,"title":…,"status":…,"code":…}`.
    pub fn problem_json(self) -> String {
        serde_json::json!({
            "type": self.problem_type(),
            "title": self.title(),
            "status": self.status(),
            "code": self.code(),
        })
        .to_string()
    }
}

impl From<EncapsulationError> for PreDecapError {
    fn from(e: EncapsulationError) -> Self {
        match e {
            EncapsulationError::Truncated => PreDecapError::Truncated,
            EncapsulationError::KeyUnknown => PreDecapError::KeyUnknown,
            EncapsulationError::UnsupportedSuite => PreDecapError::UnsupportedSuite,
            EncapsulationError::InvalidKey => PreDecapError::InvalidKey,
            EncapsulationError::DecryptFailed => PreDecapError::DecryptFailed,
            EncapsulationError::TooLarge => PreDecapError::TooLarge,
            _ => PreDecapError::Internal,
        }
    }
}

/// A configuration error when building a [`Gateway`](super::core::Gateway).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A product id is not 1..=64 bytes of `[A-Za-z0-9._-]`.
    BadProductId(String),
    /// A product's page data is not a JSON object, or is over 512 KiB.
    BadPage(String),
    /// A partner id is not 1..=64 bytes of `[A-Za-z0-9._-]`.
    BadPartnerId(String),
    /// A partner secret is shorter than 16 bytes (the partner API's `MIN_SECRET_LEN`).
    WeakPartnerSecret(String),
    /// A service name is not 1..=64 bytes of `[A-Za-z0-9._-]`.
    BadServiceName(String),
    /// The current and previous HPKE keys share a key id.
    DuplicateKeyId(u8),
    /// The current and previous ticket keys share a key id (tokens name their ticket key by
    /// id, so a duplicate would make every outstanding AT and VT unreadable).
    DuplicateTicketKeyId(u8),
    /// An HPKE key id the gateway holds now (current or previous) would name a different
    /// public key: a client holding the old configuration could not recover
    /// (docs/PROTOCOL.md §3.3). Names the id only.
    KeyIdReused(u8),
    /// A ticket key id the gateway holds now would name a different secret (outstanding
    /// tokens would stop opening). Names the id only.
    TicketKeyIdReused(u8),
}

impl ConfigError {
    /// Stable upper-case code.
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::BadProductId(_) => "BAD_PRODUCT_ID",
            ConfigError::BadPage(_) => "BAD_PAGE",
            ConfigError::BadPartnerId(_) => "BAD_PARTNER_ID",
            ConfigError::WeakPartnerSecret(_) => "WEAK_PARTNER_SECRET",
            ConfigError::BadServiceName(_) => "BAD_SERVICE_NAME",
            ConfigError::DuplicateKeyId(_) => "DUPLICATE_KEY_ID",
            ConfigError::DuplicateTicketKeyId(_) => "DUPLICATE_TICKET_KEY_ID",
            ConfigError::KeyIdReused(_) => "KEY_ID_REUSED",
            ConfigError::TicketKeyIdReused(_) => "TICKET_KEY_ID_REUSED",
        }
    }

    pub(super) fn hpke(e: super::key_ring::RingError) -> Self {
        match e {
            super::key_ring::RingError::Duplicate(id) => ConfigError::DuplicateKeyId(id),
            super::key_ring::RingError::Reused(id) => ConfigError::KeyIdReused(id),
        }
    }

    pub(super) fn ticket(e: super::key_ring::RingError) -> Self {
        match e {
            super::key_ring::RingError::Duplicate(id) => ConfigError::DuplicateTicketKeyId(id),
            super::key_ring::RingError::Reused(id) => ConfigError::TicketKeyIdReused(id),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadProductId(p) => write!(f, "bad product id {p:?}"),
            ConfigError::BadPage(p) => write!(
                f,
                "page data of {p:?} is not a JSON object of at most 512 KiB"
            ),
            ConfigError::BadPartnerId(p) => write!(f, "bad partner id {p:?}"),
            ConfigError::WeakPartnerSecret(p) => {
                write!(
                    f,
                    "secret of partner {p:?} is shorter than {MIN_SECRET_LEN} bytes"
                )
            }
            ConfigError::BadServiceName(s) => write!(f, "bad service name {s:?}"),
            ConfigError::DuplicateKeyId(id) => write!(f, "duplicate HPKE key id {id}"),
            ConfigError::DuplicateTicketKeyId(id) => write!(f, "duplicate ticket key id {id}"),
            ConfigError::KeyIdReused(id) => write!(
                f,
                "HPKE key id {id} is in use with a different key (a key id is never reused)"
            ),
            ConfigError::TicketKeyIdReused(id) => write!(
                f,
                "ticket key id {id} is in use with a different secret (a key id is never reused)"
            ),
        }
    }
}

impl core::error::Error for ConfigError {}
