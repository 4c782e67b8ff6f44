//! The client's cryptographic half: sealing the exchange and call requests to the gateway key
//! (RFC 9458 §4.3) and opening their one answer (§4.4) into a session or a call result.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use zeroize::Zeroizing;

use super::error::{Argument, ClientError, ErrorCode};
use super::http::HttpRequest;
use crate::protocol::{
    encapsulate_request, CallRequest, CallResponse, Channel, ClientContext, EncapsulationError,
    ExchangeRequest, ExchangeResponse, KeyConfig, SessionSecret, Token,
};

/// Bytes of a request id (docs/PROTOCOL.md §4.5): 16 random bytes per request.
pub type RequestId = [u8; crate::protocol::params::REQUEST_ID_LEN];

/// Latest VT expiry accepted from a gateway, seconds since the Unix epoch:
/// 9999-12-31T23:59:59Z. An `exp` of 0 or beyond it is a broken answer (BAD_RESPONSE).
pub const MAX_EXP: u64 = 253_402_300_799;

/// The first configuration of an `application/ohttp-keys` list (RFC 9458 §3.2), or of a single
/// configuration (§3.1).
///
/// Errors: KEY_CONFIG (empty, truncated, trailing bytes, unsupported suite or key).
pub fn first_config(bytes: &[u8]) -> Result<KeyConfig, ClientError> {
    let list = KeyConfig::decode_list(bytes)
        .or_else(|e| KeyConfig::decode(bytes).map(|c| vec![c]).map_err(|_| e))?;
    list.into_iter()
        .next()
        .ok_or(ClientError::new(ErrorCode::KeyConfig))
}

/// A fresh random request id from the platform CSPRNG (`crypto.getRandomValues` in browsers).
/// Drawn before anything is sealed, so a CSPRNG that returns nothing stops the operation before
/// an HPKE ephemeral key is drawn from it ([`checked_request_id`]).
///
/// Errors: UNSUPPORTED_BROWSER (the CSPRNG failed, or gave 16 zero bytes).
pub fn random_request_id() -> Result<RequestId, ClientError> {
    let mut id = RequestId::default();
    getrandom::fill(&mut id).map_err(|_| ClientError::new(ErrorCode::UnsupportedBrowser))?;
    checked_request_id(id)
}

/// `id` unless it is all zero bytes: what a broken `crypto.getRandomValues` polyfill that
/// returns its buffer untouched gives (16 random bytes are all zero with probability 2^-128).
///
/// Errors: UNSUPPORTED_BROWSER.
pub fn checked_request_id(id: RequestId) -> Result<RequestId, ClientError> {
    if id == RequestId::default() {
        return Err(ClientError::new(ErrorCode::UnsupportedBrowser));
    }
    Ok(id)
}

/// A request in flight: its encapsulated bytes and the HPKE context that opens its one answer.
/// Opening consumes it; the context (its exported secrets) is zeroized on drop. `Debug` prints
/// no secret.
///
/// The context and the session secret are boxed: moving a `Pending` or a [`Session`] (into a
/// future's state, a `Result`, a JavaScript object) moves a pointer, never the secret bytes,
/// so no unzeroized copy of them is left behind in memory that is later freed.
#[derive(Debug)]
pub struct Pending {
    request: Vec<u8>,
    context: Box<ClientContext>,
}

/// Seals `plaintext` on `channel` to `config`.
fn seal(config: &KeyConfig, channel: Channel, plaintext: &[u8]) -> Result<Pending, ClientError> {
    let (request, context) = encapsulate_request(config, channel, plaintext)?;
    Ok(Pending {
        request,
        context: Box::new(context),
    })
}

/// The encapsulated exchange request (docs/PROTOCOL.md §4.5) for the AT `access_token` on
/// `product`, with request id `request_id` and `client_time` (seconds since the Unix epoch).
///
/// The plaintext (which holds the AT) is zeroized once sealed. Errors: AT_REJECTED (the AT is
/// not 1..=2048 printable ASCII bytes), INVALID_ARGUMENT naming `product` (not 1..=64 of
/// `[A-Za-z0-9._-]`), KEY_CONFIG (a key that gives an all-zero shared secret),
/// UNSUPPORTED_BROWSER (no CSPRNG).
pub fn seal_exchange(
    config: &KeyConfig,
    access_token: &str,
    product: &str,
    request_id: RequestId,
    client_time: u64,
) -> Result<Pending, ClientError> {
    let at =
        Token::new(access_token.as_bytes()).map_err(|_| ClientError::new(ErrorCode::AtRejected))?;
    let request = ExchangeRequest {
        request_id,
        client_time,
        product: product.into(),
        subject_token: at,
    };
    let plaintext = Zeroizing::new(
        request
            .encode()
            .map_err(|_| ClientError::invalid(Argument::Product))?,
    );
    drop(request);
    seal(config, Channel::Exchange, &plaintext)
}

/// Opens an answer with `context`. An answer longer than the protocol allows is refused before
/// decrypting: BAD_RESPONSE (where sealing too much is the caller's INVALID_ARGUMENT).
fn open(context: &ClientContext, body: &[u8]) -> Result<Zeroizing<Vec<u8>>, ClientError> {
    context.open_response(body).map_err(|e| match e {
        EncapsulationError::TooLarge => ClientError::new(ErrorCode::BadResponse),
        e => e.into(),
    })
}

impl Pending {
    /// The encapsulated request `hdr (7) ‖ enc (32) ‖ ct`.
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// The HTTP request that carries it (`POST /v1/exchange` or `/v1/call`).
    pub fn http_request(&self) -> HttpRequest {
        HttpRequest::encapsulated(self.context.channel(), self.request.clone())
    }

    /// Opens the exchange answer (an encapsulated response, RFC 9458 §4.4) into a [`Session`].
    ///
    /// Errors: DECRYPT_FAILED (tampered), BAD_RESPONSE (truncated, longer than
    /// `MAX_RESPONSE_LEN`, a plaintext that does not decode, or a VT `exp` of 0 or after
    /// [`MAX_EXP`]), or the gateway's refusal mapped by [`ClientError::from_gateway_code`].
    pub fn open_exchange(self, body: &[u8]) -> Result<Session, ClientError> {
        let plaintext = open(&self.context, body)?;
        match ExchangeResponse::decode(&plaintext)? {
            ExchangeResponse::Issued {
                issued_token,
                exp,
                page,
            } if exp != 0 && exp <= MAX_EXP => Ok(Session {
                issued_token,
                // Copied out (the boxed context is zeroized when dropped), not moved out of the
                // box, which would free its bytes unwiped.
                secret: Box::new(SessionSecret::from_bytes(
                    *self.context.session_secret().expose(),
                )),
                page,
                exp,
            }),
            ExchangeResponse::Refused { code } => Err(ClientError::from_gateway_code(&code)),
            ExchangeResponse::Issued { .. } => Err(ClientError::new(ErrorCode::BadResponse)),
        }
    }

    /// Opens a service call's answer: the service's JSON text.
    ///
    /// Errors: DECRYPT_FAILED, BAD_RESPONSE, or the gateway's refusal mapped by
    /// [`ClientError::from_gateway_code`].
    pub fn open_call(self, body: &[u8]) -> Result<String, ClientError> {
        let plaintext = open(&self.context, body)?;
        match CallResponse::decode(&plaintext)? {
            CallResponse::Ok { body } => Ok(body),
            CallResponse::Refused { code } => Err(ClientError::from_gateway_code(&code)),
        }
    }
}

/// An open session: the VT and the session secret exported from the exchange's HPKE context
/// (docs/PROTOCOL.md §4.4), both zeroized on drop, and the page data until taken. `Debug` prints
/// neither secret.
pub struct Session {
    issued_token: Token,
    secret: Box<SessionSecret>,
    page: String,
    exp: u64,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("exp", &self.exp)
            .field("page_len", &self.page.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// When the VT expires, seconds since the Unix epoch (1..=[`MAX_EXP`]).
    pub fn exp(&self) -> u64 {
        self.exp
    }

    /// The product page's rendering data: a JSON object as UTF-8 text (as the gateway sent it;
    /// not parsed here).
    pub fn page(&self) -> &str {
        &self.page
    }

    /// Takes the page data out of the session (`""` afterwards).
    pub fn take_page(&mut self) -> String {
        core::mem::take(&mut self.page)
    }

    /// The issued token (VT). Never log it; it never leaves the client except sealed.
    pub fn issued_token(&self) -> &Token {
        &self.issued_token
    }

    /// The encapsulated call request (docs/PROTOCOL.md §4.6) for `service` with `body` (JSON
    /// text), carrying the VT and bound to the session secret.
    ///
    /// Errors: INVALID_ARGUMENT naming `service` (not 1..=64 of `[A-Za-z0-9._-]`) or `body`
    /// (over 512 KiB), KEY_CONFIG, UNSUPPORTED_BROWSER.
    pub fn seal_call(
        &self,
        config: &KeyConfig,
        service: &str,
        body: &str,
        request_id: RequestId,
        client_time: u64,
    ) -> Result<Pending, ClientError> {
        let argument = if body.len() > crate::protocol::params::MAX_BODY_LEN {
            Argument::Body
        } else {
            Argument::Service
        };
        let request = CallRequest {
            request_id,
            client_time,
            issued_token: self.issued_token.clone(),
            service: service.into(),
            body: body.into(),
        };
        let plaintext = Zeroizing::new(
            request
                .encode(&self.secret)
                .map_err(|_| ClientError::invalid(argument))?,
        );
        drop(request);
        seal(config, Channel::Call, &plaintext)
    }
}
