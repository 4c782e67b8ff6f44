//! The client's error codes and their mapping from gateway codes (README "Error codes").
//!
//! Every failure of the client core is a [`ClientError`]: a stable [`ErrorCode`] (the `code` of
//! the npm package's `H5AccessError`), the HTTP status for `HTTP_STATUS`, the gateway's own code
//! when it gave one, and for `INVALID_ARGUMENT` the [`Argument`] refused. Messages are fixed per
//! code ([`ErrorCode::message`]) and never hold a token, a key or plaintext.

use alloc::borrow::ToOwned;
use alloc::string::String;

use crate::protocol::code_enum::code_enum;
use crate::protocol::{codes, EncapsulationError, KeyConfigError, MessageError};

code_enum! {
    /// A stable client error code, the `code` of `H5AccessError`.
    pub enum ErrorCode {
        /// `fetch` failed: offline, DNS, TLS, CORS, connection refused.
        Network => ("NETWORK", "the gateway could not be reached"),
        /// No complete answer within `timeoutMs`.
        Timeout => ("TIMEOUT", "the gateway did not answer in time"),
        /// An HTTP error status before decryption (`status` set; `gatewayCode` if the body was
        /// `application/problem+json` with a `code`).
        HttpStatus => ("HTTP_STATUS", "the gateway answered with an HTTP error status"),
        /// A 200 answer of the wrong media type, over the protocol's maximum, truncated, or whose
        /// plaintext does not decode.
        BadResponse => ("BAD_RESPONSE", "the gateway's answer is not a valid h5-access response"),
        /// The answer failed AEAD authentication (tampered, or not for this request).
        DecryptFailed => ("DECRYPT_FAILED", "the gateway's answer failed authentication"),
        /// The given or fetched key configuration is invalid or unsupported, or still stale after
        /// one refresh.
        KeyConfig => ("KEY_CONFIG", "the gateway key configuration is missing, invalid or unsupported"),
        /// No access token was given (or found in `location.hash`).
        AtMissing => ("AT_MISSING", "no access token"),
        /// The gateway says the AT has expired.
        AtExpired => ("AT_EXPIRED", "the access token has expired"),
        /// The gateway says the AT was already exchanged.
        AtUsed => ("AT_USED", "the access token was already used"),
        /// The gateway refused the AT (invalid, or not valid for the product), or the AT is not
        /// 1..=2048 printable ASCII characters (refused before any request).
        AtRejected => ("AT_REJECTED", "the access token was rejected for this product"),
        /// The session's VT has expired.
        VtExpired => ("VT_EXPIRED", "the session has expired"),
        /// The gateway no longer accepts the session's VT (invalid, or not bound to this session).
        VtRejected => ("VT_REJECTED", "the gateway no longer accepts this session"),
        /// `close()` was called on the session.
        SessionClosed => ("SESSION_CLOSED", "the session is closed"),
        /// The gateway saw the request id before.
        Replayed => ("REPLAYED", "the gateway saw this request before"),
        /// The device clock is outside the gateway's window.
        ClockSkew => ("CLOCK_SKEW", "the device clock is too far from the gateway's"),
        /// The service refused the call (unknown service, or body rejected).
        ServiceError => ("SERVICE_ERROR", "the service refused the call"),
        /// The session made more calls in the current minute than the gateway allows (its
        /// `RATE_LIMITED`, docs/PROTOCOL.md §6): wait, then retry the call.
        RateLimited => ("RATE_LIMITED", "too many calls in this session this minute"),
        /// The gateway failed or did not understand the request.
        GatewayError => ("GATEWAY_ERROR", "the gateway failed to process the request"),
        /// A caller argument is invalid (options, product or service name, call body).
        InvalidArgument => ("INVALID_ARGUMENT", "invalid argument"),
        /// No WebAssembly or no `crypto.getRandomValues`, or the CSPRNG failed.
        UnsupportedBrowser => ("UNSUPPORTED_BROWSER", "this browser lacks WebAssembly or crypto.getRandomValues"),
        /// The SDK's WebAssembly could not be loaded or compiled (raised by the package's loader,
        /// never by the wasm): not WebAssembly (an HTML page served for the `.wasm`), or compilation
        /// refused (a CSP without `'wasm-unsafe-eval'`). A deployment problem.
        LoadFailed => ("LOAD_FAILED", "the SDK's WebAssembly could not be loaded or compiled"),
    }
}

impl ErrorCode {
    /// The code as the string JavaScript sees: [`code`](Self::code).
    pub const fn as_str(self) -> &'static str {
        self.code()
    }
}

/// Which argument an `INVALID_ARGUMENT` refused: a fixed name, never its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Argument {
    /// The options object of `H5Client.create` (not an object).
    Options,
    /// The gateway base URL.
    Gateway,
    /// The per-request timeout.
    TimeoutMs,
    /// The initial key configuration (neither bytes nor a string).
    KeyConfig,
    /// The product name of an exchange.
    Product,
    /// The service name of a call.
    Service,
    /// The body of a call (not JSON-serialisable, or over 512 KiB as JSON text).
    Body,
}

impl Argument {
    /// Every argument name, in declaration order.
    pub const ALL: &'static [Argument] = &[
        Argument::Options,
        Argument::Gateway,
        Argument::TimeoutMs,
        Argument::KeyConfig,
        Argument::Product,
        Argument::Service,
        Argument::Body,
    ];

    /// The name JavaScript sees in `H5AccessError.argument`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Argument::Options => "options",
            Argument::Gateway => "gateway",
            Argument::TimeoutMs => "timeoutMs",
            Argument::KeyConfig => "keyConfig",
            Argument::Product => "product",
            Argument::Service => "service",
            Argument::Body => "body",
        }
    }

    /// The argument named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.as_str() == s)
    }
}

/// A client failure: a code, and what goes with it. Holds no secret (`Debug` is safe).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientError {
    /// The stable code.
    pub code: ErrorCode,
    /// The HTTP status, for [`ErrorCode::HttpStatus`] only.
    pub status: Option<u16>,
    /// The gateway's code (1..=64 of `[A-Z0-9_]`, see [`sanitize_code`]), when it gave one.
    pub gateway_code: Option<String>,
    /// For [`ErrorCode::InvalidArgument`] only: which argument, when known.
    pub argument: Option<Argument>,
    /// Whether the operation may be retried as it is (README "Error codes", `retryable`): the
    /// gateway did not act on the request, so an exchange's AT was not used. True for an answer
    /// the gateway refused before decapsulation (an HTTP error status) or that is not the
    /// gateway's (a captive portal's 200 page, a proxy's 502), and for a `fetch` that failed
    /// without an answer; false once the gateway may have acted (a timeout, a failure reading
    /// the answer, anything decrypted).
    pub retryable: bool,
    /// A finer reason, one of the [`reason`] constants, when there is one.
    pub reason: Option<&'static str>,
}

/// The values of [`ClientError::reason`] (the `reason` of `H5AccessError`, README "Error codes").
pub mod reason {
    /// `HTTP_STATUS` whose answer is not a problem document, or `BAD_RESPONSE` for a 200 of
    /// another media type: not the gateway's answer (a proxy's error page, a captive portal).
    pub const NOT_GATEWAY: &str = "NOT_GATEWAY";
}

impl ClientError {
    /// An error with only a code.
    pub const fn new(code: ErrorCode) -> Self {
        Self {
            code,
            status: None,
            gateway_code: None,
            argument: None,
            retryable: false,
            reason: None,
        }
    }

    /// `INVALID_ARGUMENT` naming `argument`.
    pub const fn invalid(argument: Argument) -> Self {
        Self {
            code: ErrorCode::InvalidArgument,
            status: None,
            gateway_code: None,
            argument: Some(argument),
            retryable: false,
            reason: None,
        }
    }

    /// `HTTP_STATUS` with `status` and the gateway's code when it looks like one: an answer
    /// before decapsulation, so [`retryable`](Self::retryable); without a code, reason
    /// [`reason::NOT_GATEWAY`].
    pub fn http_status(status: u16, gateway_code: Option<&str>) -> Self {
        let gateway_code = gateway_code.and_then(sanitize_code);
        Self {
            code: ErrorCode::HttpStatus,
            status: Some(status),
            reason: gateway_code.is_none().then_some(reason::NOT_GATEWAY),
            gateway_code,
            argument: None,
            retryable: true,
        }
    }

    /// The same error, with [`retryable`](Self::retryable) set to `retryable`.
    pub const fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The same error, naming `argument` if it is an `INVALID_ARGUMENT` that names none.
    pub fn naming(mut self, argument: Argument) -> Self {
        if self.code == ErrorCode::InvalidArgument && self.argument.is_none() {
            self.argument = Some(argument);
        }
        self
    }

    /// The error for a code refused inside an encapsulated response (protocol::codes,
    /// docs/PROTOCOL.md §6).
    pub fn from_gateway_code(code: &str) -> Self {
        let mapped = match code {
            codes::AT_INVALID | codes::PRODUCT_NOT_ALLOWED | codes::PRODUCT_UNKNOWN => {
                ErrorCode::AtRejected
            }
            codes::AT_EXPIRED => ErrorCode::AtExpired,
            codes::AT_USED => ErrorCode::AtUsed,
            codes::VT_EXPIRED => ErrorCode::VtExpired,
            codes::VT_INVALID | codes::VT_NOT_BOUND => ErrorCode::VtRejected,
            codes::REPLAYED => ErrorCode::Replayed,
            codes::CLOCK_SKEW => ErrorCode::ClockSkew,
            codes::SERVICE_UNKNOWN | codes::SERVICE_REJECTED => ErrorCode::ServiceError,
            codes::RATE_LIMITED => ErrorCode::RateLimited,
            _ => ErrorCode::GatewayError,
        };
        Self {
            code: mapped,
            status: None,
            gateway_code: sanitize_code(code),
            argument: None,
            // Decrypted: the gateway acted, except that a rate-limited call may be sent again.
            retryable: matches!(mapped, ErrorCode::RateLimited),
            reason: None,
        }
    }
}

/// Keeps a gateway code only if it looks like one (1..=64 of `[A-Z0-9_]`), so no arbitrary
/// gateway text reaches the page.
pub fn sanitize_code(code: &str) -> Option<String> {
    if crate::protocol::messages::valid_code(code) {
        Some(code.to_owned())
    } else {
        None
    }
}

impl From<ErrorCode> for ClientError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl From<EncapsulationError> for ClientError {
    fn from(e: EncapsulationError) -> Self {
        Self::new(match e {
            EncapsulationError::DecryptFailed => ErrorCode::DecryptFailed,
            EncapsulationError::RandomFailed => ErrorCode::UnsupportedBrowser,
            EncapsulationError::InvalidKey
            | EncapsulationError::KeyUnknown
            | EncapsulationError::UnsupportedSuite => ErrorCode::KeyConfig,
            EncapsulationError::TooLarge => ErrorCode::InvalidArgument,
            _ => ErrorCode::BadResponse,
        })
    }
}

impl From<KeyConfigError> for ClientError {
    fn from(e: KeyConfigError) -> Self {
        Self::new(match e {
            KeyConfigError::RandomFailed => ErrorCode::UnsupportedBrowser,
            _ => ErrorCode::KeyConfig,
        })
    }
}

impl From<MessageError> for ClientError {
    /// A message that does not decode came from the gateway: BAD_RESPONSE. (Encoding errors
    /// of the caller's own input are mapped to INVALID_ARGUMENT where they happen.)
    fn from(_: MessageError) -> Self {
        Self::new(ErrorCode::BadResponse)
    }
}
