//! Plaintext messages carried inside encapsulated requests and responses (docs/PROTOCOL.md §4).
//!
//! Binary, big-endian, length-prefixed, strict: decoding refuses short input, trailing bytes,
//! unknown versions and out-of-range fields, so every message has exactly one encoding.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use zeroize::Zeroizing;

use super::codec::{put_u16_prefixed, put_u32_prefixed, put_u8_prefixed, CodecError, Reader};
use super::error::MessageError;
use super::params::BINDER_LEN;
use super::session::SessionSecret;

pub use super::params::{
    MAX_BODY_LEN, MAX_CODE_LEN, MAX_NAME_LEN, MAX_TOKEN_LEN, REQUEST_ID_LEN, VERSION,
};

const STATUS_OK: u8 = 0;
const STATUS_ERROR: u8 = 1;
/// Domain separator prefixed to the call binder's transcript.
const BINDER_CONTEXT: &[u8] = b"h5-access call binder v1";

impl From<CodecError> for MessageError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Short => MessageError::Truncated,
            CodecError::TooLong => MessageError::TooLarge,
        }
    }
}

/// A bearer token (AT or VT) as bytes: printable ASCII, 1..=2048 bytes. Zeroized on drop;
/// `Debug` prints only its length; `==` compares in constant time (the length may leak).
#[derive(Clone)]
pub struct Token(Zeroizing<Vec<u8>>);

impl PartialEq for Token {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq as _;
        // `ct_eq` on slices returns false at once for different lengths.
        bool::from(self.0.as_slice().ct_eq(other.0.as_slice()))
    }
}

impl Eq for Token {}

impl core::fmt::Debug for Token {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Token")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for ExchangeResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ExchangeResponse::Issued {
                issued_token,
                exp,
                page,
            } => f
                .debug_struct("Issued")
                .field("issued_token", issued_token)
                .field("exp", exp)
                .field("page_len", &page.len())
                .finish(),
            ExchangeResponse::Refused { code } => {
                f.debug_struct("Refused").field("code", code).finish()
            }
        }
    }
}

impl core::fmt::Debug for CallRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CallRequest")
            .field("client_time", &self.client_time)
            .field("issued_token", &self.issued_token)
            .field("service", &self.service)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for CallResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CallResponse::Ok { body } => {
                f.debug_struct("Ok").field("body_len", &body.len()).finish()
            }
            CallResponse::Refused { code } => {
                f.debug_struct("Refused").field("code", code).finish()
            }
        }
    }
}

impl Token {
    /// Wraps token bytes.
    ///
    /// Errors: [`MessageError::Malformed`] if empty or not printable ASCII (0x21..=0x7e),
    /// [`MessageError::TooLarge`] if over [`MAX_TOKEN_LEN`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, MessageError> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.len() > MAX_TOKEN_LEN {
            return Err(MessageError::TooLarge);
        }
        if bytes.is_empty() || !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(MessageError::Malformed);
        }
        Ok(Self(bytes))
    }

    /// The token bytes. Never log them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The token as text (always ASCII).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The name rule shared by products, services and partner ids: 1..=64 bytes of
/// `[A-Za-z0-9._-]`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn check_name(name: &str) -> Result<(), MessageError> {
    if name.len() > MAX_NAME_LEN {
        Err(MessageError::TooLarge)
    } else if valid_name(name) {
        Ok(())
    } else {
        Err(MessageError::Malformed)
    }
}

/// The code rule of refusals: 1..=64 bytes of `[A-Z0-9_]`.
pub(crate) fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE_LEN
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn check_code(code: &str) -> Result<(), MessageError> {
    if code.len() > MAX_CODE_LEN {
        Err(MessageError::TooLarge)
    } else if valid_code(code) {
        Ok(())
    } else {
        Err(MessageError::Malformed)
    }
}

fn check_body(body: &str) -> Result<(), MessageError> {
    if body.len() > MAX_BODY_LEN {
        Err(MessageError::TooLarge)
    } else {
        Ok(())
    }
}

fn put_name(out: &mut Vec<u8>, name: &str) -> Result<(), MessageError> {
    Ok(put_u8_prefixed(out, name.as_bytes())?)
}

fn put_token(out: &mut Vec<u8>, token: &Token) -> Result<(), MessageError> {
    Ok(put_u16_prefixed(out, &token.0)?)
}

fn put_body(out: &mut Vec<u8>, body: &str) -> Result<(), MessageError> {
    Ok(put_u32_prefixed(out, body.as_bytes())?)
}

fn read_version(r: &mut Reader<'_>) -> Result<(), MessageError> {
    if r.u8()? != VERSION {
        return Err(MessageError::UnsupportedVersion);
    }
    Ok(())
}

/// A `len (1) ‖ UTF-8` field; its own rule (name or code) checks the length afterwards.
fn read_short_str<'a>(r: &mut Reader<'a>) -> Result<&'a str, MessageError> {
    let bytes = r.u8_prefixed(usize::from(u8::MAX))?;
    core::str::from_utf8(bytes).map_err(|_| MessageError::Malformed)
}

fn read_name(r: &mut Reader<'_>) -> Result<String, MessageError> {
    let s = read_short_str(r)?;
    check_name(s)?;
    Ok(s.to_owned())
}

fn read_code(r: &mut Reader<'_>) -> Result<String, MessageError> {
    let s = read_short_str(r)?;
    check_code(s)?;
    Ok(s.to_owned())
}

fn read_token(r: &mut Reader<'_>) -> Result<Token, MessageError> {
    Token::new(r.u16_prefixed(MAX_TOKEN_LEN)?.to_vec())
}

fn read_body(r: &mut Reader<'_>) -> Result<String, MessageError> {
    let bytes = r.u32_prefixed(MAX_BODY_LEN)?;
    let s = core::str::from_utf8(bytes).map_err(|_| MessageError::Malformed)?;
    Ok(s.to_owned())
}

fn finish(r: &Reader<'_>) -> Result<(), MessageError> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(MessageError::TrailingBytes)
    }
}

/// The AT→VT exchange request (inner media type `application/vnd.h5-access.exchange`).
///
/// `version (1) = 0x01 ‖ request_id (16) ‖ client_time (8, u64 seconds since the Unix epoch) ‖
/// product_len (1) ‖ product ‖ at_len (2) ‖ subject_token`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeRequest {
    /// 16 random bytes identifying this request (replay cache key).
    pub request_id: [u8; REQUEST_ID_LEN],
    /// The browser's clock, seconds since the Unix epoch.
    pub client_time: u64,
    /// The product requested: 1..=64 bytes of `[A-Za-z0-9._-]`.
    pub product: String,
    /// The access token (AT) the partner issued.
    pub subject_token: Token,
}

impl ExchangeRequest {
    /// Encodes the message.
    ///
    /// Errors: [`MessageError::Malformed`] / [`MessageError::TooLarge`] for a bad product name.
    pub fn encode(&self) -> Result<Vec<u8>, MessageError> {
        check_name(&self.product)?;
        let mut out = Vec::with_capacity(
            1 + REQUEST_ID_LEN + 8 + 1 + self.product.len() + 2 + self.subject_token.0.len(),
        );
        out.push(VERSION);
        out.extend_from_slice(&self.request_id);
        out.extend_from_slice(&self.client_time.to_be_bytes());
        put_name(&mut out, &self.product)?;
        put_token(&mut out, &self.subject_token)?;
        Ok(out)
    }

    /// Decodes the message.
    ///
    /// Errors: every [`MessageError`] variant.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        let mut r = Reader::new(bytes);
        read_version(&mut r)?;
        let request_id = r.array()?;
        let client_time = r.u64()?;
        let product = read_name(&mut r)?;
        let subject_token = read_token(&mut r)?;
        finish(&r)?;
        Ok(Self {
            request_id,
            client_time,
            product,
            subject_token,
        })
    }
}

/// The exchange response.
///
/// `version (1) ‖ status (1)`, then for status `0x00`: `exp (8, u64 seconds since the Unix
/// epoch) ‖ vt_len (2) ‖ issued_token ‖ page_len (4) ‖ page (UTF-8 JSON object text)`; for
/// status `0x01`: `code_len (1) ‖ code (ASCII [A-Z0-9_])`.
///
/// `Debug` prints the expiry, the lengths of the VT and the page, and a refusal's code, never
/// the page data.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExchangeResponse {
    /// The AT was accepted and a VT issued.
    Issued {
        /// The issued token (VT), opaque to the browser.
        issued_token: Token,
        /// When the VT expires, seconds since the Unix epoch.
        exp: u64,
        /// The product page's rendering data: a JSON object, as UTF-8 text.
        page: String,
    },
    /// The gateway refused the exchange after decapsulation; `code` is one of docs/PROTOCOL.md §6.
    Refused {
        /// Stable error code, e.g. `AT_EXPIRED`.
        code: String,
    },
}

impl ExchangeResponse {
    /// Encodes the message.
    ///
    /// Errors: [`MessageError::TooLarge`] (page over [`MAX_BODY_LEN`], code too long),
    /// [`MessageError::Malformed`] (bad code characters).
    ///
    /// An `Issued` answer holds the VT: the buffer is sized up front so that it is never
    /// reallocated (no copy of the VT is left behind); zeroize it after use (the gateway wraps
    /// it in `Zeroizing`).
    pub fn encode(&self) -> Result<Vec<u8>, MessageError> {
        let mut out = Vec::with_capacity(match self {
            ExchangeResponse::Issued {
                issued_token, page, ..
            } => 1 + 1 + 8 + 2 + issued_token.0.len() + 4 + page.len(),
            ExchangeResponse::Refused { code } => 1 + 1 + 1 + code.len(),
        });
        out.push(VERSION);
        match self {
            ExchangeResponse::Issued {
                issued_token,
                exp,
                page,
            } => {
                check_body(page)?;
                out.push(STATUS_OK);
                out.extend_from_slice(&exp.to_be_bytes());
                put_token(&mut out, issued_token)?;
                put_body(&mut out, page)?;
            }
            ExchangeResponse::Refused { code } => {
                check_code(code)?;
                out.push(STATUS_ERROR);
                put_name(&mut out, code)?;
            }
        }
        Ok(out)
    }

    /// Decodes the message.
    ///
    /// Errors: every [`MessageError`] variant (an unknown status byte is `Malformed`).
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        let mut r = Reader::new(bytes);
        read_version(&mut r)?;
        let msg = match r.u8()? {
            STATUS_OK => {
                let exp = r.u64()?;
                let issued_token = read_token(&mut r)?;
                let page = read_body(&mut r)?;
                ExchangeResponse::Issued {
                    issued_token,
                    exp,
                    page,
                }
            }
            STATUS_ERROR => ExchangeResponse::Refused {
                code: read_code(&mut r)?,
            },
            _ => return Err(MessageError::Malformed),
        };
        finish(&r)?;
        Ok(msg)
    }
}

/// A service call (inner media type `application/vnd.h5-access.call`).
///
/// `version (1) ‖ request_id (16) ‖ client_time (8) ‖ vt_len (2) ‖ issued_token ‖
/// service_len (1) ‖ service ‖ body_len (4) ‖ body (UTF-8 JSON text) ‖ binder (32)`, where
/// `binder = HMAC-SHA256(binder_key, "h5-access call binder v1" ‖ every preceding byte)` and
/// `binder_key = HKDF-Expand(session_secret, "h5-access call binder", 32)`.
///
/// `Debug` prints the client time, the service name and the lengths of the VT and the body,
/// never the body.
#[derive(Clone, PartialEq, Eq)]
pub struct CallRequest {
    /// 16 random bytes, unique per call (replay cache key).
    pub request_id: [u8; REQUEST_ID_LEN],
    /// The browser's clock, seconds since the Unix epoch.
    pub client_time: u64,
    /// The issued token (VT) from the exchange.
    pub issued_token: Token,
    /// Service name: 1..=64 bytes of `[A-Za-z0-9._-]`.
    pub service: String,
    /// The call's JSON body as UTF-8 text (at most [`MAX_BODY_LEN`] bytes).
    pub body: String,
}

impl CallRequest {
    /// The call without its binder, in a zeroized buffer (it holds the VT), sized for the
    /// binder too so that [`encode`](Self::encode) never reallocates it.
    fn encode_unbound(&self) -> Result<Zeroizing<Vec<u8>>, MessageError> {
        check_name(&self.service)?;
        check_body(&self.body)?;
        let out = Vec::with_capacity(
            1 + REQUEST_ID_LEN
                + 8
                + 2
                + self.issued_token.0.len()
                + 1
                + self.service.len()
                + 4
                + self.body.len()
                + BINDER_LEN,
        );
        let mut out = Zeroizing::new(out);
        out.push(VERSION);
        out.extend_from_slice(&self.request_id);
        out.extend_from_slice(&self.client_time.to_be_bytes());
        put_token(&mut out, &self.issued_token)?;
        put_name(&mut out, &self.service)?;
        put_body(&mut out, &self.body)?;
        Ok(out)
    }

    /// The binder's input (holds the VT: zeroized).
    fn transcript(unbound: &[u8]) -> Zeroizing<Vec<u8>> {
        let mut t = Zeroizing::new(Vec::with_capacity(BINDER_CONTEXT.len() + unbound.len()));
        t.extend_from_slice(BINDER_CONTEXT);
        t.extend_from_slice(unbound);
        t
    }

    /// Encodes the call and appends its binder under `secret`.
    ///
    /// Errors: [`MessageError::Malformed`] / [`MessageError::TooLarge`] for a bad service name
    /// or an oversize body.
    pub fn encode(&self, secret: &SessionSecret) -> Result<Vec<u8>, MessageError> {
        let mut out = self.encode_unbound()?;
        // `call_binder` fails only if HKDF refused its fixed sizes (it cannot); fail closed.
        let binder = secret
            .call_binder(&Self::transcript(&out))
            .ok_or(MessageError::Malformed)?;
        out.extend_from_slice(&binder);
        // The caller's buffer is this one (moved out, not copied).
        Ok(core::mem::take(&mut *out))
    }

    /// Decodes a call, returning it with the binder still to be checked by
    /// [`verify_binder`](Self::verify_binder) once the session secret is known from the VT.
    ///
    /// Errors: every [`MessageError`] variant.
    pub fn decode(bytes: &[u8]) -> Result<(Self, [u8; BINDER_LEN]), MessageError> {
        let mut r = Reader::new(bytes);
        read_version(&mut r)?;
        let request_id = r.array()?;
        let client_time = r.u64()?;
        let issued_token = read_token(&mut r)?;
        let service = read_name(&mut r)?;
        let body = read_body(&mut r)?;
        let binder = r.array()?;
        finish(&r)?;
        Ok((
            Self {
                request_id,
                client_time,
                issued_token,
                service,
                body,
            },
            binder,
        ))
    }

    /// Checks `binder` against this call and `secret`, in constant time.
    pub fn verify_binder(&self, secret: &SessionSecret, binder: &[u8; BINDER_LEN]) -> bool {
        match self.encode_unbound() {
            Ok(unbound) => secret.verify_call_binder(&Self::transcript(&unbound), binder),
            Err(_) => false,
        }
    }
}

/// A service call's response.
///
/// `version (1) ‖ status (1)`, then for `0x00`: `body_len (4) ‖ body (UTF-8 JSON text)`; for
/// `0x01`: `code_len (1) ‖ code`.
///
/// `Debug` prints the body's length or the refusal's code, never the body.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallResponse {
    /// The service answered.
    Ok {
        /// The service's JSON answer as UTF-8 text.
        body: String,
    },
    /// The gateway refused the call; `code` is one of docs/PROTOCOL.md §6.
    Refused {
        /// Stable error code, e.g. `VT_EXPIRED`.
        code: String,
    },
}

impl CallResponse {
    /// Encodes the message.
    ///
    /// Errors: [`MessageError::TooLarge`], [`MessageError::Malformed`] (bad code characters).
    pub fn encode(&self) -> Result<Vec<u8>, MessageError> {
        let mut out = vec![VERSION];
        match self {
            CallResponse::Ok { body } => {
                check_body(body)?;
                out.push(STATUS_OK);
                put_body(&mut out, body)?;
            }
            CallResponse::Refused { code } => {
                check_code(code)?;
                out.push(STATUS_ERROR);
                put_name(&mut out, code)?;
            }
        }
        Ok(out)
    }

    /// Decodes the message.
    ///
    /// Errors: every [`MessageError`] variant.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        let mut r = Reader::new(bytes);
        read_version(&mut r)?;
        let msg = match r.u8()? {
            STATUS_OK => CallResponse::Ok {
                body: read_body(&mut r)?,
            },
            STATUS_ERROR => CallResponse::Refused {
                code: read_code(&mut r)?,
            },
            _ => return Err(MessageError::Malformed),
        };
        finish(&r)?;
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// F9: the buffers that hold the VT are sized once (never reallocated, so no unzeroized
    /// copy is left in freed memory) and the binder's inputs are `Zeroizing`.
    #[test]
    fn vt_buffers_are_sized_once_and_zeroizing() {
        let vt = Token::new(vec![b'v'; 300]).unwrap();
        let issued = ExchangeResponse::Issued {
            issued_token: vt.clone(),
            exp: 7,
            page: r#"{"title":"A"}"#.into(),
        }
        .encode()
        .unwrap();
        assert_eq!(issued.len(), 1 + 1 + 8 + 2 + 300 + 4 + 13);
        assert_eq!(issued.capacity(), issued.len());
        let refused = ExchangeResponse::Refused {
            code: "AT_USED".into(),
        }
        .encode()
        .unwrap();
        assert_eq!(refused.capacity(), refused.len());
        let call = CallRequest {
            request_id: [1; REQUEST_ID_LEN],
            client_time: 9,
            issued_token: vt,
            service: "quote".into(),
            body: "{}".into(),
        };
        let unbound: Zeroizing<Vec<u8>> = call.encode_unbound().unwrap();
        assert_eq!(unbound.capacity(), unbound.len() + BINDER_LEN);
        let transcript: Zeroizing<Vec<u8>> = CallRequest::transcript(&unbound);
        assert_eq!(transcript.len(), BINDER_CONTEXT.len() + unbound.len());
    }
}
