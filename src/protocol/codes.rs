//! Error codes the gateway returns *inside* an encapsulated response (RFC 9458 §5.2: errors
//! after decapsulation are visible only to the holder of the request's secret). The full table,
//! with HTTP statuses for errors before decapsulation, is docs/PROTOCOL.md §6.

/// The AT is not genuine, not decodable, or issued to an unknown partner.
pub const AT_INVALID: &str = "AT_INVALID";
/// The AT's `exp` has passed (beyond the allowed clock skew).
pub const AT_EXPIRED: &str = "AT_EXPIRED";
/// The AT was already exchanged once.
pub const AT_USED: &str = "AT_USED";
/// The requested product is not in the AT's scope.
pub const PRODUCT_NOT_ALLOWED: &str = "PRODUCT_NOT_ALLOWED";
/// The product is not known to the gateway.
pub const PRODUCT_UNKNOWN: &str = "PRODUCT_UNKNOWN";
/// The VT is not genuine or not decodable.
pub const VT_INVALID: &str = "VT_INVALID";
/// The VT's `exp` has passed.
pub const VT_EXPIRED: &str = "VT_EXPIRED";
/// The call's binder does not match the session secret sealed in the VT.
pub const VT_NOT_BOUND: &str = "VT_NOT_BOUND";
/// The session (VT) made more calls in the current minute than the gateway allows.
pub const RATE_LIMITED: &str = "RATE_LIMITED";
/// The request id was seen before within the replay window.
pub const REPLAYED: &str = "REPLAYED";
/// The client time is outside the accepted window around the gateway's clock.
pub const CLOCK_SKEW: &str = "CLOCK_SKEW";
/// The plaintext does not decode (see [`MessageError`](super::MessageError)).
pub const MALFORMED: &str = "MALFORMED";
/// The plaintext's version byte is not supported.
pub const UNSUPPORTED_VERSION: &str = "UNSUPPORTED_VERSION";
/// No service of that name.
pub const SERVICE_UNKNOWN: &str = "SERVICE_UNKNOWN";
/// The service refused the body (e.g. invalid JSON or out-of-range input).
pub const SERVICE_REJECTED: &str = "SERVICE_REJECTED";
/// The gateway failed internally. The AT is never consumed by a refused or failed exchange;
/// the request id may be.
pub const INTERNAL: &str = "INTERNAL";

/// Every code above, for exhaustive tests and documentation.
pub const ALL: &[&str] = &[
    AT_INVALID,
    AT_EXPIRED,
    AT_USED,
    PRODUCT_NOT_ALLOWED,
    PRODUCT_UNKNOWN,
    VT_INVALID,
    VT_EXPIRED,
    VT_NOT_BOUND,
    RATE_LIMITED,
    REPLAYED,
    CLOCK_SKEW,
    MALFORMED,
    UNSUPPORTED_VERSION,
    SERVICE_UNKNOWN,
    SERVICE_REJECTED,
    INTERNAL,
];
