//! The synchronous crypto core JavaScript calls: seal a request, open its answer.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use wasm_bindgen::prelude::*;
use zeroize::{Zeroize, Zeroizing};

use super::error::{ErrorCode, SdkError};
use crate::protocol::messages::REQUEST_ID_LEN;
use crate::protocol::{
    encapsulate_request, CallRequest, CallResponse, Channel, ClientContext, EncapsulationError,
    ExchangeRequest, ExchangeResponse, KeyConfig, SessionSecret, Token,
};

/// The first configuration of an `application/ohttp-keys` list (RFC 9458 §3.2), or of a single
/// configuration (§3.1).
///
/// Errors: KEY_CONFIG (empty, truncated, trailing bytes, unsupported suite or key).
pub fn first_config(bytes: &[u8]) -> Result<KeyConfig, SdkError> {
    let list = KeyConfig::decode_list(bytes)
        .or_else(|e| KeyConfig::decode(bytes).map(|c| vec![c]).map_err(|_| e))?;
    list.into_iter()
        .next()
        .ok_or(SdkError::new(ErrorCode::KeyConfig))
}

/// `checkKeyConfig(bytes)`: throws "KEY_CONFIG" unless `bytes` is a usable key configuration
/// (list), as [`first_config`] reads it.
#[wasm_bindgen(js_name = checkKeyConfig)]
pub fn check_key_config(config: &[u8]) -> Result<(), JsValue> {
    first_config(config).map(|_| ()).map_err(JsValue::from)
}

/// Bytes of the wasm shadow stack [`scrub_stack`] overwrites: four times the deepest the SDK's
/// calls go (an exchange and a call in the release build touch under 8 KiB of stack).
pub const SCRUB_STACK_LEN: usize = 32 * 1024;

/// `scrubStack()`: zeroizes (volatile writes, the `zeroize` crate) the [`SCRUB_STACK_LEN`] bytes
/// of the wasm shadow stack below the caller's frame.
///
/// Secrets moved by value (HPKE's KEM shared secret, key schedule and exporter secrets, the
/// exported response and session secrets) leave copies in stack frames that have returned;
/// nothing else overwrites them until a later call reuses that stack. `js/index.js` calls this
/// after every call into the wasm that handles a secret and after `close()`, from the top of the
/// stack, so the frames of wasm-bindgen's own wrappers (where return values are staged) are
/// scrubbed too. Best effort: it cannot reach copies the engine makes outside linear memory.
#[wasm_bindgen(js_name = scrubStack)]
#[inline(never)]
pub fn scrub_stack() {
    let mut area = [0u8; SCRUB_STACK_LEN];
    area.zeroize();
}

fn random_id() -> Result<[u8; REQUEST_ID_LEN], SdkError> {
    let mut id = [0u8; REQUEST_ID_LEN];
    getrandom::fill(&mut id).map_err(|_| SdkError::new(ErrorCode::UnsupportedBrowser))?;
    Ok(id)
}

/// Seals `plaintext` on `channel` to the first key of `config`.
fn seal(config: &[u8], channel: Channel, plaintext: &[u8]) -> Result<Pending, SdkError> {
    let config = first_config(config)?;
    let (request, context) = encapsulate_request(&config, channel, plaintext)?;
    Ok(Pending { request, context })
}

/// `sealExchange(keyConfig, accessToken, product, nowSeconds)`: the encapsulated exchange
/// request (docs/PROTOCOL.md §4.5) for `access_token` on `product`, with a fresh random request
/// id and `now_seconds` (seconds since the Unix epoch, fraction dropped) as its client time.
///
/// The AT is moved into wasm memory and zeroized after sealing. Throws KEY_CONFIG, AT_REJECTED
/// (not printable ASCII, or over 2048 bytes), INVALID_ARGUMENT (bad product name),
/// UNSUPPORTED_BROWSER (no CSPRNG).
#[wasm_bindgen(js_name = sealExchange)]
pub fn seal_exchange(
    config: &[u8],
    access_token: String,
    product: String,
    now_seconds: f64,
) -> Result<Pending, JsValue> {
    let at = Token::new(access_token.into_bytes()).map_err(|_| ErrorCode::AtRejected)?;
    let request = ExchangeRequest {
        request_id: random_id()?,
        client_time: now_seconds as u64,
        product,
        subject_token: at,
    };
    let plaintext = Zeroizing::new(request.encode().map_err(|_| ErrorCode::InvalidArgument)?);
    drop(request);
    Ok(seal(config, Channel::Exchange, &plaintext)?)
}

/// Opens an answer with `context`. An answer longer than the protocol allows is refused before
/// decrypting: BAD_RESPONSE (where sealing too much is the caller's INVALID_ARGUMENT).
fn open(context: &ClientContext, body: &[u8]) -> Result<Zeroizing<Vec<u8>>, SdkError> {
    context.open_response(body).map_err(|e| match e {
        EncapsulationError::TooLarge => SdkError::new(ErrorCode::BadResponse),
        e => e.into(),
    })
}

/// Latest VT expiry accepted from a gateway, seconds since the Unix epoch:
/// 9999-12-31T23:59:59Z. An `exp` of 0 or beyond it is a broken answer (BAD_RESPONSE).
pub const MAX_EXP: u64 = 253_402_300_799;

/// A request in flight: its encapsulated bytes and the HPKE context that opens its one answer.
/// Opening consumes it (the JavaScript object is freed); the context is zeroized on drop.
#[wasm_bindgen]
pub struct Pending {
    request: Vec<u8>,
    context: ClientContext,
}

#[wasm_bindgen]
impl Pending {
    /// The encapsulated request `hdr (7) ‖ enc (32) ‖ ct`, to POST.
    pub fn request(&self) -> Vec<u8> {
        self.request.clone()
    }

    /// `openExchange(body)`: opens the exchange answer into a [`Session`].
    ///
    /// Throws DECRYPT_FAILED (tampered), BAD_RESPONSE (truncated, longer than
    /// `MAX_RESPONSE_LEN`, a plaintext that does not decode, or a VT `exp` of 0 or after
    /// [`MAX_EXP`]), or the gateway's refusal mapped by [`SdkError::from_gateway_code`].
    #[wasm_bindgen(js_name = openExchange)]
    pub fn open_exchange(self, body: &[u8]) -> Result<Session, JsValue> {
        let plaintext = open(&self.context, body)?;
        match ExchangeResponse::decode(&plaintext).map_err(SdkError::from)? {
            ExchangeResponse::Issued {
                issued_token,
                exp,
                page,
            } if exp != 0 && exp <= MAX_EXP => Ok(Session {
                issued_token,
                secret: self.context.into_session_secret(),
                page,
                exp,
            }),
            ExchangeResponse::Refused { code } => Err(SdkError::from_gateway_code(&code).into()),
            ExchangeResponse::Issued { .. } => Err(ErrorCode::BadResponse.into()),
        }
    }

    /// `openCall(body)`: opens a service call's answer: the service's JSON text.
    ///
    /// Throws DECRYPT_FAILED, BAD_RESPONSE, or the gateway's refusal mapped by
    /// [`SdkError::from_gateway_code`].
    #[wasm_bindgen(js_name = openCall)]
    pub fn open_call(self, body: &[u8]) -> Result<String, JsValue> {
        let plaintext = open(&self.context, body)?;
        match CallResponse::decode(&plaintext).map_err(SdkError::from)? {
            CallResponse::Ok { body } => Ok(body),
            CallResponse::Refused { code } => Err(SdkError::from_gateway_code(&code).into()),
        }
    }
}

/// An open session: the VT and the session secret (both zeroized on drop, i.e. when JavaScript
/// frees the object on `close()`), and the page data until JavaScript takes it.
#[wasm_bindgen]
pub struct Session {
    issued_token: Token,
    secret: SessionSecret,
    page: String,
    exp: u64,
}

#[wasm_bindgen]
impl Session {
    /// When the VT expires, seconds since the Unix epoch.
    #[wasm_bindgen(getter)]
    pub fn exp(&self) -> f64 {
        self.exp as f64
    }

    /// `takePage()`: the product page's JSON text; "" after the first call.
    #[wasm_bindgen(js_name = takePage)]
    pub fn take_page(&mut self) -> String {
        core::mem::take(&mut self.page)
    }

    /// `sealCall(keyConfig, service, bodyJson, nowSeconds)`: the encapsulated call request
    /// (docs/PROTOCOL.md §4.6) carrying the VT and bound to the session secret.
    ///
    /// Throws KEY_CONFIG, INVALID_ARGUMENT (bad service name, body too large),
    /// UNSUPPORTED_BROWSER.
    #[wasm_bindgen(js_name = sealCall)]
    pub fn seal_call(
        &self,
        config: &[u8],
        service: String,
        body: String,
        now_seconds: f64,
    ) -> Result<Pending, JsValue> {
        let request = CallRequest {
            request_id: random_id()?,
            client_time: now_seconds as u64,
            issued_token: self.issued_token.clone(),
            service,
            body,
        };
        let plaintext = Zeroizing::new(
            request
                .encode(&self.secret)
                .map_err(|_| ErrorCode::InvalidArgument)?,
        );
        drop(request);
        Ok(seal(config, Channel::Call, &plaintext)?)
    }
}
