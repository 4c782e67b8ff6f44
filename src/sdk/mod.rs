//! The browser SDK (wasm32 only): the client core ([`crate::client`]) driven through `fetch`,
//! exported to JavaScript as the npm package `h5-access`.
//!
//! * [`H5Client`] (`H5Client.create(options)`, `client.exchange(at, { product })`) and
//!   [`H5Session`] (`page`, `expiresAt`, `closed`, `call(service, body)`, `close()`) are the
//!   public classes; the package's `js/index.js` only loads the wasm and re-exports them.
//! * HTTP is gloo-net over the global `fetch` ([`fetch::Fetch`]): the timeout through web-sys
//!   `AbortController` and the global `setTimeout`, bodies read as streams up to the caps of
//!   [`crate::client::body_cap`].
//! * JSON is the browser's (`js_sys::JSON`): the page data and call answers are parsed, call
//!   bodies written, by `JSON`, never in the wasm (serde_json would cost ~36 KB gzip).
//! * Errors reject as the package's `H5AccessError` (the class `js/index.js` registers with
//!   [`set_error_class`]), built from a [`ClientError`]: `code`, `status`, `gatewayCode`,
//!   `argument`.
//!
//! The HPKE contexts, the session secret and the VT live only in wasm memory and are zeroized
//! when dropped (a request's context once its answer is opened or the request failed; the
//! session's on `close()`); [`scrub_stack`] overwrites the copies by-value moves leave on the
//! wasm stack after each operation and after `close()`.

mod fetch;

use core::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use zeroize::{Zeroize, Zeroizing};

pub use self::fetch::Fetch;
use crate::client::{
    random_request_id, seal_exchange, Argument, Client, ClientError, ErrorCode, Session, Transport,
};

/// Default `timeoutMs` of `H5Client.create`: 10 s.
pub const DEFAULT_TIMEOUT_MS: f64 = 10_000.0;
/// Longest `timeoutMs` accepted: two minutes.
pub const MAX_TIMEOUT_MS: f64 = 120_000.0;

/// The release wasm's allocator: talc's single-threaded wasm allocator, a drop-in for the
/// dlmalloc std uses, smaller (docs/BENCHMARKS.md). Secrets are zeroized before their memory is
/// freed, whatever the allocator.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

thread_local! {
    /// The package's `H5AccessError` class, registered once by `js/index.js`.
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// `setErrorClass(H5AccessError)`: the class rejections are made of,
/// `new H5AccessError(fields)` with the [`ErrorFields`] object. Called once by `js/index.js`
/// after instantiating the wasm.
#[wasm_bindgen(js_name = setErrorClass)]
pub fn set_error_class(class: Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

/// What an `H5AccessError` is made of, decided here (README "Error codes"), handed to
/// JavaScript as one plain object by serde-wasm-bindgen (`None` is `undefined`). Every field is
/// a fixed string of the client core or a number: never a token, a key or plaintext.
pub struct ErrorFields<'a> {
    /// The stable code ([`ErrorCode::as_str`]).
    pub code: &'static str,
    /// Its fixed message ([`ErrorCode::message`]).
    pub message: &'static str,
    /// The HTTP status, for `HTTP_STATUS`.
    pub status: Option<u16>,
    /// The gateway's own code, as [`crate::client::sanitize_code`] passed it.
    pub gateway_code: Option<&'a str>,
    /// For `INVALID_ARGUMENT`: the argument's fixed name.
    pub argument: Option<&'static str>,
    /// Whether the same operation may be tried again as it is.
    pub retryable: bool,
    /// A finer reason, when there is one.
    pub reason: Option<&'static str>,
}

/// A map of the seven camelCase keys (not a serde struct: serde-wasm-bindgen caches struct field
/// names in a hash map of its own, 2 KB of wasm; map keys are plain strings). Serialized with
/// `serialize_maps_as_objects`, so it is a plain object.
impl serde::Serialize for ErrorFields<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("code", self.code)?;
        m.serialize_entry("message", self.message)?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("gatewayCode", &self.gateway_code)?;
        m.serialize_entry("argument", &self.argument)?;
        m.serialize_entry("retryable", &self.retryable)?;
        m.serialize_entry("reason", &self.reason)?;
        m.end()
    }
}

impl<'a> From<&'a ClientError> for ErrorFields<'a> {
    fn from(e: &'a ClientError) -> Self {
        Self {
            code: e.code.as_str(),
            message: e.code.message(),
            status: e.status,
            gateway_code: e.gateway_code.as_deref(),
            argument: e.argument.map(Argument::as_str),
            retryable: e.retryable,
            reason: e.reason,
        }
    }
}

/// The `H5AccessError` for `e`: `new H5AccessError(fields)` (or its code as a string, if no
/// class is registered).
fn to_js(e: ClientError) -> JsValue {
    let to_object = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    let made = serde::Serialize::serialize(&ErrorFields::from(&e), &to_object)
        .ok()
        .and_then(|fields| {
            ERROR_CLASS
                .try_with(|c| {
                    c.borrow()
                        .as_ref()
                        .and_then(|class| Reflect::construct(class, &Array::of1(&fields)).ok())
                })
                .ok()
                .flatten()
        });
    made.unwrap_or_else(|| e.code.as_str().into())
}

/// One asynchronous operation of the public API.
enum Op {
    /// `H5Client.create(options)` (and the loader's early keys request and its time, if any).
    Create(JsValue, JsValue, JsValue),
    /// `client.exchange(accessToken, options)`.
    Exchange(Rc<Client<Fetch>>, JsValue, JsValue),
    /// `session.call(service, body)`.
    Call(
        Rc<Client<Fetch>>,
        Rc<RefCell<Option<Session>>>,
        JsValue,
        JsValue,
    ),
}

/// Runs `op` as a JavaScript promise: its value, or its error as an `H5AccessError`. One
/// `future_to_promise` for every operation (each would be a state machine of its own in the
/// wasm; docs/BENCHMARKS.md).
fn promise(op: Op) -> Promise {
    future_to_promise(async move {
        match op {
            Op::Create(options, keys, keys_at) => create(options, keys, keys_at).await,
            Op::Exchange(client, at, options) => exchange(client, at, options).await,
            Op::Call(client, session, service, body) => call(client, session, service, body).await,
        }
        .map_err(to_js)
    })
}

/// Bytes of the wasm shadow stack [`scrub_stack`] overwrites: four times the deepest the SDK's
/// crypto goes (an exchange and a call touch under 8 KiB of stack).
pub const SCRUB_STACK_LEN: usize = 32 * 1024;

/// Zeroizes (volatile 8-byte writes, the `zeroize` crate) the [`SCRUB_STACK_LEN`] bytes of the wasm
/// shadow stack below the caller's frame.
///
/// Secrets moved by value (HPKE's KEM shared secret, key schedule and exporter secrets, the
/// exported response and session secrets) leave copies in stack frames that have returned;
/// nothing else overwrites them until a later call reuses that stack. Called after every
/// seal and open and on `close()`. Best effort: it cannot reach copies the engine makes outside
/// linear memory.
#[inline(never)]
pub fn scrub_stack() {
    // Eight bytes per volatile store: 4,096 stores instead of 32,768 with `u8`s.
    let mut area = [0u64; SCRUB_STACK_LEN / 8];
    area.zeroize();
}

#[wasm_bindgen]
extern "C" {
    /// The global `atob` (forgiving-base64 decode, HTML §8.3): a binary string, or throws.
    #[wasm_bindgen(catch, js_name = atob)]
    fn atob(data: &str) -> Result<String, JsValue>;
}

/// Standard or URL-safe base64, padding optional, anything else refused (README `keyConfig`):
/// the bytes, decoded by the browser's `atob`. (Bytes, not `str` slicing: no char-boundary
/// panic path, whose message formatting would be linked into the wasm.)
fn base64(text: &str) -> Option<Vec<u8>> {
    let mut t: Vec<u8> = text
        .bytes()
        .map(|b| match b {
            b'-' => b'+',
            b'_' => b'/',
            b => b,
        })
        .collect();
    while t.last() == Some(&b'=') {
        t.pop();
    }
    if t.len() % 4 == 1
        || !t
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
    {
        return None;
    }
    while !t.len().is_multiple_of(4) {
        t.push(b'=');
    }
    let binary = atob(&String::from_utf8(t).ok()?).ok()?;
    binary.chars().map(|c| u8::try_from(c).ok()).collect()
}

/// The `gateway` option as a base URL without trailing `/`: an absolute http: or https: URL
/// (as the URL parser normalises it) with no query, fragment or credentials.
fn gateway_base(gateway: &JsValue) -> Option<String> {
    let raw = gateway.as_string()?;
    let url = web_sys::Url::new(&raw).ok()?;
    let scheme = url.protocol();
    let ok = (scheme == "https:" || scheme == "http:")
        && !raw.bytes().any(|b| b == b'?' || b == b'#')
        && url.username().is_empty()
        && url.password().is_empty();
    let mut href = url.href();
    while href.ends_with('/') {
        href.pop();
    }
    ok.then_some(href)
}

/// `options[name]` (`undefined` when absent; getters may run): INVALID_ARGUMENT naming it when
/// reading it throws (a throwing getter, a revoked `Proxy`).
fn field(options: &JsValue, name: Argument) -> Result<JsValue, ClientError> {
    Reflect::get(options, &JsValue::from_str(name.as_str())).map_err(|_| ClientError::invalid(name))
}

/// A client of one gateway. Create it with `await H5Client.create(options)`.
#[wasm_bindgen]
pub struct H5Client {
    inner: Rc<Client<Fetch>>,
}

async fn create(
    options: JsValue,
    prefetched_keys: JsValue,
    prefetched_at: JsValue,
) -> Result<JsValue, ClientError> {
    if !options.is_object() {
        return Err(ClientError::invalid(Argument::Options));
    }
    let base = gateway_base(&field(&options, Argument::Gateway)?)
        .ok_or(ClientError::invalid(Argument::Gateway))?;
    let timeout = field(&options, Argument::TimeoutMs)?;
    let timeout_ms = if timeout.is_undefined() {
        DEFAULT_TIMEOUT_MS
    } else {
        timeout
            .as_f64()
            .filter(|t| *t > 0.0 && *t <= MAX_TIMEOUT_MS)
            .ok_or(ClientError::invalid(Argument::TimeoutMs))?
            .ceil()
    };
    let key_config = field(&options, Argument::KeyConfig)?;
    let transport = Fetch {
        base,
        timeout_ms,
        prefetched_keys: RefCell::new(prefetched_keys.dyn_into::<Promise>().ok()),
        prefetched_at: prefetched_at
            .as_f64()
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .map(|ms| (ms / 1000.0) as u64),
    };
    let client = if key_config.is_undefined() {
        // No access token is involved yet: what failed on the way may be tried again (the
        // core marks it).
        Client::connect(transport).await?
    } else {
        let bytes = if let Some(text) = key_config.as_string() {
            base64(&text).ok_or(ClientError::new(ErrorCode::KeyConfig))?
        } else if let Some(bytes) = key_config.dyn_ref::<Uint8Array>() {
            bytes.to_vec()
        } else {
            return Err(ClientError::invalid(Argument::KeyConfig));
        };
        Client::with_key_config(transport, &bytes)?
    };
    Ok(H5Client {
        inner: Rc::new(client),
    }
    .into())
}

async fn exchange(
    client: Rc<Client<Fetch>>,
    access_token: JsValue,
    options: JsValue,
) -> Result<JsValue, ClientError> {
    let at = Zeroizing::new(
        access_token
            .as_string()
            .filter(|s| !s.is_empty())
            .ok_or(ClientError::new(ErrorCode::AtMissing))?,
    );
    let product = Some(&options)
        .filter(|o| o.is_object())
        .and_then(|o| field(o, Argument::Product).ok()?.as_string())
        .ok_or(ClientError::invalid(Argument::Product))?;
    let now = client.transport().now_seconds();
    let posted = client
        .post(&mut |keys| seal_exchange(keys, &at, &product, random_request_id()?, now))
        .await;
    scrub_stack();
    drop(at);
    let (pending, body) = posted?;
    let opened = pending.open_exchange(&body);
    scrub_stack();
    let mut session = opened?;
    let page = JSON::parse(&session.take_page())
        .ok()
        .filter(|p| p.is_object() && !Array::is_array(p))
        .ok_or(ClientError::new(ErrorCode::BadResponse))?;
    Ok(H5Session {
        expires_at: session.exp() as f64 * 1000.0,
        client,
        session: Rc::new(RefCell::new(Some(session))),
        page,
    }
    .into())
}

#[wasm_bindgen]
impl H5Client {
    /// `new H5Client()` throws a TypeError: use the async factory `H5Client.create`.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<H5Client, JsValue> {
        Err(js_sys::TypeError::new("use H5Client.create").into())
    }

    /// `H5Client.create(options)`: a client of `options.gateway` (README). Without a
    /// `keyConfig` it fetches `GET {gateway}/v1/keys` now. Rejects with H5AccessError
    /// (INVALID_ARGUMENT, KEY_CONFIG, NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE).
    /// `js/index.js` loads the wasm first (UNSUPPORTED_BROWSER, LOAD_FAILED), and passes as
    /// `keys` the `GET {gateway}/v1/keys` it started meanwhile when there is no `keyConfig` (a
    /// promise of its `fetch`; anything else: none) and as `keys_at` when it sent it
    /// (`Date.now()`, milliseconds; anything else: the time the wasm takes the answer).
    pub fn create(options: JsValue, keys: JsValue, keys_at: JsValue) -> Promise {
        promise(Op::Create(options, keys, keys_at))
    }

    /// `client.exchange(accessToken, { product })`: seals the AT to the gateway key, posts it
    /// to `/v1/exchange` and opens the answer into an [`H5Session`]. Never retried except once
    /// after a stale-key signal (RFC 9458 §5.3). Rejects with H5AccessError (AT_MISSING,
    /// AT_EXPIRED, AT_USED, AT_REJECTED, REPLAYED, CLOCK_SKEW, NETWORK, TIMEOUT, HTTP_STATUS,
    /// BAD_RESPONSE, DECRYPT_FAILED, KEY_CONFIG, GATEWAY_ERROR, INVALID_ARGUMENT,
    /// UNSUPPORTED_BROWSER).
    pub fn exchange(&self, access_token: JsValue, options: JsValue) -> Promise {
        promise(Op::Exchange(self.inner.clone(), access_token, options))
    }
}

/// A session opened by `H5Client.exchange`: the product page data and sealed service calls.
#[wasm_bindgen]
pub struct H5Session {
    client: Rc<Client<Fetch>>,
    session: Rc<RefCell<Option<Session>>>,
    page: JsValue,
    expires_at: f64,
}

async fn call(
    client: Rc<Client<Fetch>>,
    cell: Rc<RefCell<Option<Session>>>,
    service: JsValue,
    body: JsValue,
) -> Result<JsValue, ClientError> {
    let closed = || ClientError::new(ErrorCode::SessionClosed);
    if cell.borrow().is_none() {
        return Err(closed());
    }
    let text = if body.is_undefined() {
        Some("{}".into())
    } else {
        JSON::stringify(&body).ok().and_then(|s| s.as_string())
    };
    let service = service
        .as_string()
        .ok_or(ClientError::invalid(Argument::Service))?;
    let text = text.ok_or(ClientError::invalid(Argument::Body))?;
    let now = client.transport().now_seconds();
    let posted = client
        .post(&mut |keys| {
            let session = cell.borrow();
            let session = session.as_ref().ok_or_else(closed)?;
            session.seal_call(keys, &service, &text, random_request_id()?, now)
        })
        .await;
    scrub_stack();
    // Closed meanwhile: that is the answer, whatever the gateway or the network did.
    if cell.borrow().is_none() {
        return Err(closed());
    }
    let (pending, answer) = posted?;
    let opened = pending.open_call(&answer);
    scrub_stack();
    JSON::parse(&opened?).map_err(|_| ClientError::new(ErrorCode::BadResponse))
}

#[wasm_bindgen]
impl H5Session {
    /// `new H5Session()` throws a TypeError: sessions come from `H5Client.exchange`.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<H5Session, JsValue> {
        Err(js_sys::TypeError::new("use H5Client.exchange").into())
    }

    /// The product page's rendering data, as `JSON.parse` gives it (the same object each time).
    #[wasm_bindgen(getter)]
    pub fn page(&self) -> JsValue {
        self.page.clone()
    }

    /// When the session's VT expires: milliseconds since the Unix epoch, like `Date.now()`.
    #[wasm_bindgen(getter, js_name = expiresAt)]
    pub fn expires_at(&self) -> f64 {
        self.expires_at
    }

    /// Whether `close()` was called.
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.session.borrow().is_none()
    }

    /// `session.call(service, body)`: calls `service` with `body` (any JSON value; `undefined`
    /// is sent as `{}`), sealed and bound to this session; resolves to the service's decrypted
    /// JSON answer. Rejects with H5AccessError (SESSION_CLOSED, VT_EXPIRED, VT_REJECTED,
    /// REPLAYED, CLOCK_SKEW, SERVICE_ERROR, RATE_LIMITED, NETWORK, TIMEOUT, HTTP_STATUS,
    /// BAD_RESPONSE, DECRYPT_FAILED, KEY_CONFIG, GATEWAY_ERROR, INVALID_ARGUMENT,
    /// UNSUPPORTED_BROWSER).
    pub fn call(&self, service: JsValue, body: JsValue) -> Promise {
        promise(Op::Call(
            self.client.clone(),
            self.session.clone(),
            service,
            body,
        ))
    }

    /// `session.close()`: zeroizes the session secret and the VT. Later calls, and a call in
    /// flight, reject with SESSION_CLOSED. Idempotent. (`free()` and `[Symbol.dispose]()` are
    /// the same, `js/index.js`.)
    pub fn close(&self) {
        drop(self.session.borrow_mut().take());
        scrub_stack();
    }
}
