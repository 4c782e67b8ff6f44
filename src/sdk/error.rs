//! The SDK's error codes and their mapping from gateway codes (README "Error codes").
//!
//! Every failure reaches JavaScript as an `H5AccessError` (defined in `js/index.js`) whose
//! `code` is one of [`ErrorCode`]. The wasm throws only the code (and the gateway's own code);
//! the message is fixed per code in JavaScript and never holds a token, a key or plaintext.

use alloc::borrow::ToOwned;
use alloc::string::String;

use wasm_bindgen::JsValue;

use crate::protocol::code_enum::code_enum;
use crate::protocol::{codes, EncapsulationError, KeyConfigError, MessageError};

code_enum! {
    /// A stable SDK error code, the `code` of `H5AccessError`.
    pub enum ErrorCode {
        /// `fetch` failed: offline, DNS, TLS, CORS, connection refused.
        Network => "NETWORK",
        /// No complete answer within `timeoutMs`.
        Timeout => "TIMEOUT",
        /// An HTTP error status before decryption (`status` set; `gatewayCode` if the body was
        /// `application/problem+json` with a `code`).
        HttpStatus => "HTTP_STATUS",
        /// A 200 answer of the wrong media type, truncated, or whose plaintext does not decode.
        BadResponse => "BAD_RESPONSE",
        /// The answer failed AEAD authentication (tampered, or not for this request).
        DecryptFailed => "DECRYPT_FAILED",
        /// The pinned or fetched key configuration is invalid or unsupported, or still stale after
        /// one refresh.
        KeyConfig => "KEY_CONFIG",
        /// No access token was given (or found in `location.hash`).
        AtMissing => "AT_MISSING",
        /// The gateway says the AT has expired.
        AtExpired => "AT_EXPIRED",
        /// The gateway says the AT was already exchanged.
        AtUsed => "AT_USED",
        /// The gateway refused the AT (invalid, or not valid for the product).
        AtRejected => "AT_REJECTED",
        /// The session's VT has expired.
        VtExpired => "VT_EXPIRED",
        /// The gateway no longer accepts the session's VT (invalid, or not bound to this session).
        VtRejected => "VT_REJECTED",
        /// `close()` was called on the session.
        SessionClosed => "SESSION_CLOSED",
        /// The gateway saw the request id before.
        Replayed => "REPLAYED",
        /// The device clock is outside the gateway's window.
        ClockSkew => "CLOCK_SKEW",
        /// The service refused the call (unknown service, or body rejected).
        ServiceError => "SERVICE_ERROR",
        /// The session made more calls in the current minute than the gateway allows (its
        /// `RATE_LIMITED`, docs/PROTOCOL.md §6): wait, then retry the call.
        RateLimited => "RATE_LIMITED",
        /// The gateway failed or did not understand the request.
        GatewayError => "GATEWAY_ERROR",
        /// A caller argument is invalid (options, product or service name, call body).
        InvalidArgument => "INVALID_ARGUMENT",
        /// No WebAssembly or no `crypto.getRandomValues`.
        UnsupportedBrowser => "UNSUPPORTED_BROWSER",
        /// The SDK's WebAssembly could not be loaded or compiled (raised by `js/index.js`, never by
        /// the wasm): not WebAssembly (an HTML page served for the `.wasm`), or compilation refused
        /// (a CSP without `'wasm-unsafe-eval'`). A deployment problem.
        LoadFailed => "LOAD_FAILED",
    }
}

impl ErrorCode {
    /// The code as the string JavaScript sees: [`code`](Self::code).
    pub const fn as_str(self) -> &'static str {
        self.code()
    }
}

/// An SDK failure in the wasm: a code, and the gateway's own code for refusals. (HTTP statuses
/// are JavaScript's business: `js/index.js`.)
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SdkError {
    /// The stable code.
    pub code: ErrorCode,
    /// The gateway's code (upper-case ASCII), when the gateway gave one.
    pub gateway_code: Option<String>,
}

impl SdkError {
    /// An error with only a code.
    pub const fn new(code: ErrorCode) -> Self {
        Self {
            code,
            gateway_code: None,
        }
    }

    /// The error for a code refused inside an encapsulated response (the text of a
    /// [`RefusalCode`](crate::protocol::RefusalCode); a code this SDK does not know is
    /// `GATEWAY_ERROR`). Matched as text, not through `RefusalCode::from_code`: 95 B less wasm.
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
            gateway_code: sanitize_code(code),
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

impl From<ErrorCode> for SdkError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl From<EncapsulationError> for SdkError {
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

impl From<KeyConfigError> for SdkError {
    fn from(e: KeyConfigError) -> Self {
        Self::new(match e {
            KeyConfigError::RandomFailed => ErrorCode::UnsupportedBrowser,
            _ => ErrorCode::KeyConfig,
        })
    }
}

impl From<MessageError> for SdkError {
    /// A message that does not decode came from the gateway: BAD_RESPONSE. (Encoding errors
    /// of the caller's own input are mapped to INVALID_ARGUMENT where they happen.)
    fn from(_: MessageError) -> Self {
        Self::new(ErrorCode::BadResponse)
    }
}

impl SdkError {
    /// What the wasm throws: the code, then a space and the gateway's code if there is one
    /// (`"AT_REJECTED PRODUCT_NOT_ALLOWED"`). `js/index.js` makes the `H5AccessError` from it.
    pub fn to_thrown(&self) -> String {
        let mut s = String::from(self.code.as_str());
        if let Some(g) = &self.gateway_code {
            s.push(' ');
            s.push_str(g);
        }
        s
    }
}

impl From<SdkError> for JsValue {
    fn from(e: SdkError) -> Self {
        JsValue::from_str(&e.to_thrown())
    }
}

impl From<ErrorCode> for JsValue {
    fn from(code: ErrorCode) -> Self {
        JsValue::from_str(code.as_str())
    }
}
