//! `H5Client` and `H5Session`, the classes JavaScript sees.
//!
//! The client holds the gateway URL, the timeout and the key configuration (pinned, or fetched
//! from `GET {gateway}/v1/keys` once and cached). `exchange` seals the AT to that key
//! (RFC 9458 §4.3), posts it, opens the answer with the request's context (§4.4) and keeps the
//! VT and the exported session secret in an `H5Session`; `call` sends sealed service calls bound
//! to that secret. A 422 `ohttp-key` problem (§5.3) makes the client refresh its key
//! configuration once and retry once; nothing else is retried (§6.5).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Promise, Reflect, Uint8Array, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use zeroize::Zeroizing;

use super::error::{ErrorCode, SdkError};
use super::http::{self, Answer, KEYS_MEDIA_TYPE};
use crate::protocol::messages::REQUEST_ID_LEN;
use crate::protocol::{
    encapsulate_request, CallRequest, CallResponse, Channel, ClientContext, ExchangeRequest,
    ExchangeResponse, KeyConfig, SessionSecret, Token,
};

/// Default per-request timeout, milliseconds.
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;
/// Longest timeout `setTimeout` honours, milliseconds.
const MAX_TIMEOUT_MS: f64 = 2_147_483_647.0;

fn err(code: ErrorCode) -> JsValue {
    SdkError::new(code).into()
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn random_id() -> Result<[u8; REQUEST_ID_LEN], JsValue> {
    let mut id = [0u8; REQUEST_ID_LEN];
    getrandom::fill(&mut id).map_err(|_| err(ErrorCode::UnsupportedBrowser))?;
    Ok(id)
}

/// The browser clock, seconds since the Unix epoch.
fn now_seconds() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Decodes standard or URL-safe base64, padding optional, whitespace refused.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits >= 6 {
        return None;
    }
    Some(out)
}

/// The first supported configuration of an `application/ohttp-keys` list (RFC 9458 §3.2), or
/// of a single configuration (§3.1).
///
/// Errors: KEY_CONFIG.
pub fn first_config(bytes: &[u8]) -> Result<KeyConfig, SdkError> {
    let list = KeyConfig::decode_list(bytes)
        .or_else(|e| KeyConfig::decode(bytes).map(|c| vec![c]).map_err(|_| e))?;
    list.into_iter()
        .next()
        .ok_or_else(|| SdkError::new(ErrorCode::KeyConfig))
}

struct ClientInner {
    /// The gateway base URL without a trailing `/`.
    gateway: String,
    timeout_ms: u32,
    config: RefCell<Option<KeyConfig>>,
}

impl ClientInner {
    fn url(&self, path: &str) -> String {
        let mut url = String::with_capacity(self.gateway.len() + path.len());
        url.push_str(&self.gateway);
        url.push_str(path);
        url
    }

    /// `GET {gateway}/v1/keys`, keeping the first supported configuration.
    async fn fetch_config(&self) -> Result<KeyConfig, JsValue> {
        let (status, content_type, body) = http::send(
            &self.url("/v1/keys"),
            "",
            KEYS_MEDIA_TYPE,
            None,
            self.timeout_ms,
        )
        .await?;
        match http::classify(status, &content_type, body, KEYS_MEDIA_TYPE)? {
            Answer::Body(bytes) => {
                let config = first_config(&bytes)?;
                *self.config.borrow_mut() = Some(config.clone());
                Ok(config)
            }
            Answer::StaleKey => Err(err(ErrorCode::KeyConfig)),
        }
    }

    async fn config(&self) -> Result<KeyConfig, JsValue> {
        let cached = self.config.borrow().clone();
        match cached {
            Some(config) => Ok(config),
            None => self.fetch_config().await,
        }
    }

    /// Seals `plaintext` on `channel`, posts it to `path` and opens the answer. On the
    /// RFC 9458 §5.3 stale-key signal: one refresh of the key configuration, one retry.
    async fn sealed_post(
        &self,
        channel: Channel,
        path: &str,
        plaintext: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, ClientContext), JsValue> {
        let url = self.url(path);
        let mut refreshed = false;
        loop {
            let config = self.config().await?;
            let (request, context) =
                encapsulate_request(&config, channel, plaintext).map_err(SdkError::from)?;
            let (status, content_type, body) = http::send(
                &url,
                channel.request_media_type(),
                channel.response_media_type(),
                Some(&request),
                self.timeout_ms,
            )
            .await?;
            match http::classify(status, &content_type, body, channel.response_media_type())? {
                Answer::Body(bytes) => {
                    let plaintext = context.open_response(&bytes).map_err(SdkError::from)?;
                    return Ok((plaintext, context));
                }
                Answer::StaleKey if !refreshed => {
                    refreshed = true;
                    self.fetch_config().await?;
                }
                Answer::StaleKey => return Err(err(ErrorCode::KeyConfig)),
            }
        }
    }
}

/// A client of one gateway. Create it with `await H5Client.create(options)`.
#[wasm_bindgen]
pub struct H5Client {
    inner: Rc<ClientInner>,
}

async fn create_client(options: JsValue) -> Result<H5Client, JsValue> {
    if !options.is_object() {
        return Err(err(ErrorCode::InvalidArgument));
    }
    let gateway = get(&options, "gateway")
        .as_string()
        .map(|g| g.trim_end_matches('/').to_owned())
        .filter(|g| !g.is_empty())
        .ok_or_else(|| err(ErrorCode::InvalidArgument))?;
    let timeout = get(&options, "timeoutMs");
    let timeout_ms = if timeout.is_undefined() {
        DEFAULT_TIMEOUT_MS
    } else {
        match timeout.as_f64() {
            Some(t) if t >= 1.0 => t.min(MAX_TIMEOUT_MS) as u32,
            _ => return Err(err(ErrorCode::InvalidArgument)),
        }
    };
    let pinned = get(&options, "keyConfig");
    let config = if pinned.is_undefined() {
        None
    } else if let Some(bytes) = pinned.dyn_ref::<Uint8Array>() {
        Some(first_config(&bytes.to_vec())?)
    } else if let Some(text) = pinned.as_string() {
        let bytes = decode_base64(&text).ok_or_else(|| err(ErrorCode::KeyConfig))?;
        Some(first_config(&bytes)?)
    } else {
        return Err(err(ErrorCode::InvalidArgument));
    };
    let fetch = config.is_none();
    let inner = Rc::new(ClientInner {
        gateway,
        timeout_ms,
        config: RefCell::new(config),
    });
    if fetch {
        inner.fetch_config().await?;
    }
    Ok(H5Client { inner })
}

async fn exchange(
    inner: Rc<ClientInner>,
    access_token: JsValue,
    options: JsValue,
) -> Result<H5Session, JsValue> {
    let at = access_token
        .as_string()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err(ErrorCode::AtMissing))?;
    let subject_token = Token::new(at.into_bytes()).map_err(|_| err(ErrorCode::AtRejected))?;
    let product = if options.is_object() {
        get(&options, "product").as_string()
    } else {
        None
    }
    .ok_or_else(|| err(ErrorCode::InvalidArgument))?;
    let request = ExchangeRequest {
        request_id: random_id()?,
        client_time: now_seconds(),
        product,
        subject_token,
    };
    let plaintext = Zeroizing::new(
        request
            .encode()
            .map_err(|_| err(ErrorCode::InvalidArgument))?,
    );
    drop(request);
    let (answer, context) = inner
        .sealed_post(Channel::Exchange, "/v1/exchange", &plaintext)
        .await?;
    match ExchangeResponse::decode(&answer).map_err(SdkError::from)? {
        ExchangeResponse::Issued {
            issued_token,
            exp,
            page,
        } => {
            let page = JSON::parse(&page).map_err(|_| err(ErrorCode::BadResponse))?;
            if !page.is_object() || js_sys::Array::is_array(&page) {
                return Err(err(ErrorCode::BadResponse));
            }
            Ok(H5Session {
                client: inner,
                state: Rc::new(RefCell::new(Some(SessionState {
                    issued_token,
                    secret: context.into_session_secret(),
                }))),
                page,
                expires_at_ms: exp as f64 * 1000.0,
            })
        }
        ExchangeResponse::Refused { code } => Err(SdkError::from_gateway_code(&code).into()),
    }
}

#[wasm_bindgen]
impl H5Client {
    /// Creates a client of `options.gateway`. Without a pinned `keyConfig` it fetches
    /// `GET {gateway}/v1/keys` now. Rejects with H5AccessError (INVALID_ARGUMENT, KEY_CONFIG,
    /// NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE).
    #[wasm_bindgen(unchecked_return_type = "Promise<H5Client>")]
    pub fn create(
        #[wasm_bindgen(unchecked_param_type = "H5ClientOptions")] options: JsValue,
    ) -> Promise {
        future_to_promise(async move { create_client(options).await.map(JsValue::from) })
    }

    /// Exchanges the access token (AT) for a session on `options.product`: seals it to the
    /// gateway key, posts it to `/v1/exchange` and opens the answer. Never retried except once
    /// after a stale-key signal. Rejects with H5AccessError (AT_MISSING, AT_EXPIRED, AT_USED,
    /// AT_REJECTED, REPLAYED, CLOCK_SKEW, NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE,
    /// DECRYPT_FAILED, KEY_CONFIG, GATEWAY_ERROR, INVALID_ARGUMENT).
    #[wasm_bindgen(unchecked_return_type = "Promise<H5Session>")]
    pub fn exchange(
        &self,
        #[wasm_bindgen(js_name = accessToken, unchecked_param_type = "string")]
        access_token: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ExchangeOptions")] options: JsValue,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            exchange(inner, access_token, options)
                .await
                .map(JsValue::from)
        })
    }
}

/// What a session keeps: the VT and the session secret, both zeroized on drop.
struct SessionState {
    issued_token: Token,
    secret: SessionSecret,
}

/// A session opened by `H5Client.exchange`: the product page data and sealed service calls.
#[wasm_bindgen]
pub struct H5Session {
    client: Rc<ClientInner>,
    state: Rc<RefCell<Option<SessionState>>>,
    page: JsValue,
    expires_at_ms: f64,
}

async fn call(
    client: Rc<ClientInner>,
    state: Rc<RefCell<Option<SessionState>>>,
    service: JsValue,
    body: JsValue,
) -> Result<JsValue, JsValue> {
    let (issued_token, secret) = match state.borrow().as_ref() {
        Some(s) => (s.issued_token.clone(), s.secret.clone()),
        None => return Err(err(ErrorCode::SessionClosed)),
    };
    let service = service
        .as_string()
        .ok_or_else(|| err(ErrorCode::InvalidArgument))?;
    let body = if body.is_undefined() {
        String::from("{}")
    } else {
        JSON::stringify(&body)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| err(ErrorCode::InvalidArgument))?
    };
    let request = CallRequest {
        request_id: random_id()?,
        client_time: now_seconds(),
        issued_token,
        service,
        body,
    };
    let plaintext = Zeroizing::new(
        request
            .encode(&secret)
            .map_err(|_| err(ErrorCode::InvalidArgument))?,
    );
    drop(request);
    drop(secret);
    let (answer, _context) = client
        .sealed_post(Channel::Call, "/v1/call", &plaintext)
        .await?;
    if state.borrow().is_none() {
        return Err(err(ErrorCode::SessionClosed));
    }
    match CallResponse::decode(&answer).map_err(SdkError::from)? {
        CallResponse::Ok { body } => JSON::parse(&body).map_err(|_| err(ErrorCode::BadResponse)),
        CallResponse::Refused { code } => Err(SdkError::from_gateway_code(&code).into()),
    }
}

#[wasm_bindgen]
impl H5Session {
    /// The product page's rendering data, as `JSON.parse` gives it (the same object each time).
    #[wasm_bindgen(getter, unchecked_return_type = "JsonObject")]
    pub fn page(&self) -> JsValue {
        self.page.clone()
    }

    /// When the session's VT expires: milliseconds since the Unix epoch, like `Date.now()`.
    #[wasm_bindgen(getter = expiresAt)]
    pub fn expires_at(&self) -> f64 {
        self.expires_at_ms
    }

    /// Whether `close()` was called.
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.state.borrow().is_none()
    }

    /// Calls `service` with `body` (any JSON value; `undefined` is sent as `{}`), sealed and bound to this
    /// session; resolves to the service's decrypted JSON answer. Rejects with H5AccessError
    /// (SESSION_CLOSED, VT_EXPIRED, VT_REJECTED, REPLAYED, CLOCK_SKEW, SERVICE_ERROR, NETWORK,
    /// TIMEOUT, HTTP_STATUS, BAD_RESPONSE, DECRYPT_FAILED, KEY_CONFIG, GATEWAY_ERROR,
    /// INVALID_ARGUMENT).
    #[wasm_bindgen(unchecked_return_type = "Promise<JsonValue>")]
    pub fn call(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] service: JsValue,
        #[wasm_bindgen(unchecked_param_type = "JsonValue")] body: JsValue,
    ) -> Promise {
        let client = Rc::clone(&self.client);
        let state = Rc::clone(&self.state);
        future_to_promise(async move { call(client, state, service, body).await })
    }

    /// Zeroizes the session secret and the VT. Later calls reject with SESSION_CLOSED; a call
    /// in flight rejects with SESSION_CLOSED instead of resolving. Idempotent.
    pub fn close(&self) {
        self.state.borrow_mut().take();
    }
}
