//! Error codes the gateway returns *inside* an encapsulated response (RFC 9458 §5.2: errors
//! after decapsulation are visible only to the holder of the request's secret). The full table,
//! with HTTP statuses for errors before decapsulation, is docs/PROTOCOL.md §6.
//!
//! [`RefusalCode`] is the table. On the wire a refusal carries the code as text
//! (`ExchangeResponse::Refused { code }`), so a client reads codes a newer gateway adds: it
//! parses them with [`RefusalCode::from_code`] and treats `None` as an unknown refusal. The
//! upper-case `&str` constants below are the same codes for callers that hold them as text.

use super::code_enum::code_enum;

code_enum! {
    /// A refusal sealed inside an encapsulated response (docs/PROTOCOL.md §6).
    pub enum RefusalCode {
        /// The AT is not genuine, not decodable, or issued to an unknown partner.
        AtInvalid => "AT_INVALID",
        /// The AT's `exp` has passed (beyond the allowed clock skew).
        AtExpired => "AT_EXPIRED",
        /// The AT was already exchanged once.
        AtUsed => "AT_USED",
        /// The requested product is not in the AT's scope.
        ProductNotAllowed => "PRODUCT_NOT_ALLOWED",
        /// The product is not known to the gateway.
        ProductUnknown => "PRODUCT_UNKNOWN",
        /// The VT is not genuine or not decodable.
        VtInvalid => "VT_INVALID",
        /// The VT's `exp` has passed.
        VtExpired => "VT_EXPIRED",
        /// The call's binder does not match the session secret sealed in the VT.
        VtNotBound => "VT_NOT_BOUND",
        /// The session (VT) made more calls in the current minute than the gateway allows.
        RateLimited => "RATE_LIMITED",
        /// The request id was seen before within the replay window.
        Replayed => "REPLAYED",
        /// The client time is outside the accepted window around the gateway's clock.
        ClockSkew => "CLOCK_SKEW",
        /// The plaintext does not decode (see [`MessageError`](super::MessageError)).
        Malformed => "MALFORMED",
        /// The plaintext's version byte is not supported.
        UnsupportedVersion => "UNSUPPORTED_VERSION",
        /// No service of that name.
        ServiceUnknown => "SERVICE_UNKNOWN",
        /// The service refused the body (e.g. invalid JSON or out-of-range input).
        ServiceRejected => "SERVICE_REJECTED",
        /// The gateway failed internally. The AT is never consumed by a refused or failed
        /// exchange; the request id may be.
        Internal => "INTERNAL",
    }
}

impl From<RefusalCode> for alloc::string::String {
    fn from(code: RefusalCode) -> Self {
        code.code().into()
    }
}

/// [`RefusalCode::AtInvalid`].
pub const AT_INVALID: &str = RefusalCode::AtInvalid.code();
/// [`RefusalCode::AtExpired`].
pub const AT_EXPIRED: &str = RefusalCode::AtExpired.code();
/// [`RefusalCode::AtUsed`].
pub const AT_USED: &str = RefusalCode::AtUsed.code();
/// [`RefusalCode::ProductNotAllowed`].
pub const PRODUCT_NOT_ALLOWED: &str = RefusalCode::ProductNotAllowed.code();
/// [`RefusalCode::ProductUnknown`].
pub const PRODUCT_UNKNOWN: &str = RefusalCode::ProductUnknown.code();
/// [`RefusalCode::VtInvalid`].
pub const VT_INVALID: &str = RefusalCode::VtInvalid.code();
/// [`RefusalCode::VtExpired`].
pub const VT_EXPIRED: &str = RefusalCode::VtExpired.code();
/// [`RefusalCode::VtNotBound`].
pub const VT_NOT_BOUND: &str = RefusalCode::VtNotBound.code();
/// [`RefusalCode::RateLimited`].
pub const RATE_LIMITED: &str = RefusalCode::RateLimited.code();
/// [`RefusalCode::Replayed`].
pub const REPLAYED: &str = RefusalCode::Replayed.code();
/// [`RefusalCode::ClockSkew`].
pub const CLOCK_SKEW: &str = RefusalCode::ClockSkew.code();
/// [`RefusalCode::Malformed`].
pub const MALFORMED: &str = RefusalCode::Malformed.code();
/// [`RefusalCode::UnsupportedVersion`].
pub const UNSUPPORTED_VERSION: &str = RefusalCode::UnsupportedVersion.code();
/// [`RefusalCode::ServiceUnknown`].
pub const SERVICE_UNKNOWN: &str = RefusalCode::ServiceUnknown.code();
/// [`RefusalCode::ServiceRejected`].
pub const SERVICE_REJECTED: &str = RefusalCode::ServiceRejected.code();
/// [`RefusalCode::Internal`].
pub const INTERNAL: &str = RefusalCode::Internal.code();

/// Every code of [`RefusalCode::ALL`], as text, in the same order.
pub const ALL: &[&str] = &{
    let mut out = [""; RefusalCode::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = RefusalCode::ALL[i].code();
        i += 1;
    }
    out
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_constants_are_the_table() {
        let named = [
            (AT_INVALID, RefusalCode::AtInvalid),
            (AT_EXPIRED, RefusalCode::AtExpired),
            (AT_USED, RefusalCode::AtUsed),
            (PRODUCT_NOT_ALLOWED, RefusalCode::ProductNotAllowed),
            (PRODUCT_UNKNOWN, RefusalCode::ProductUnknown),
            (VT_INVALID, RefusalCode::VtInvalid),
            (VT_EXPIRED, RefusalCode::VtExpired),
            (VT_NOT_BOUND, RefusalCode::VtNotBound),
            (RATE_LIMITED, RefusalCode::RateLimited),
            (REPLAYED, RefusalCode::Replayed),
            (CLOCK_SKEW, RefusalCode::ClockSkew),
            (MALFORMED, RefusalCode::Malformed),
            (UNSUPPORTED_VERSION, RefusalCode::UnsupportedVersion),
            (SERVICE_UNKNOWN, RefusalCode::ServiceUnknown),
            (SERVICE_REJECTED, RefusalCode::ServiceRejected),
            (INTERNAL, RefusalCode::Internal),
        ];
        assert_eq!(named.len(), RefusalCode::ALL.len());
        for (i, (text, code)) in named.into_iter().enumerate() {
            assert_eq!(RefusalCode::from_code(text), Some(code));
            assert_eq!(ALL[i], text);
            assert_eq!(RefusalCode::ALL[i], code);
        }
        assert_eq!(RefusalCode::from_code("NOT_A_CODE"), None);
        assert_eq!(RefusalCode::from_code("at_invalid"), None);
    }
}
