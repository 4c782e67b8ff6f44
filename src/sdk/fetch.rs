//! The SDK's [`Transport`]: `fetch` through gloo-net, with a timeout that covers the body
//! (web-sys `AbortController` and the global `setTimeout`), the body read as a stream up to
//! [`body_cap`], and problem documents parsed by the browser's `JSON`.

use core::future::{poll_fn, Future as _};
use core::pin::{pin, Pin};
use core::task::Poll;

use gloo_net::http::RequestBuilder;
use js_sys::{Function, Object, Promise, Reflect, Uint8Array, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, RequestCache, RequestCredentials, RequestRedirect};

use crate::client::{
    body_cap, ClientError, ErrorCode, HttpAnswer, HttpRequest, Method, Problem, Transport,
};

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (browsers, workers and Node.js alike).
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: f64) -> JsValue;
    /// The global `clearTimeout`.
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
    /// The global `fetch`, called with the gloo-net-built request. Bound here rather than
    /// through gloo-net's `Request::send`, which panics (`unreachable!`) when `fetch` rejects
    /// with something that is not an `Error`; a page may wrap `fetch` and reject with anything.
    #[wasm_bindgen(catch, js_name = fetch)]
    fn fetch(request: &web_sys::Request) -> Result<JsValue, JsValue>;
    // What a page's fetch wrapper hands back is read only through bindings that catch: an
    // exception thrown into the wasm would unwind it without restoring its stack (a promise
    // that never settles; after enough of them, a broken SDK). web-sys's `getReader`, `read`
    // and `cancel` do not catch, so these do.
    /// A body stream, or its reader, as the page handed it over: used only through these.
    type Stream;
    /// `stream.getReader()`: throws for a locked stream (a body a wrapper already read).
    #[wasm_bindgen(catch, method, js_name = getReader)]
    fn get_reader(this: &Stream) -> Result<Stream, JsValue>;
    /// `reader.read()`.
    #[wasm_bindgen(catch, method)]
    fn read(this: &Stream) -> Result<JsValue, JsValue>;
    /// `reader.cancel()`.
    #[wasm_bindgen(catch, method)]
    fn cancel(this: &Stream) -> Result<JsValue, JsValue>;
    /// `promise.catch(handler)` (of a promise made by `Promise.resolve`).
    #[wasm_bindgen(catch, method, js_name = catch)]
    fn on_rejected(this: &Stream, handler: &Function) -> Result<JsValue, JsValue>;
}

/// A native copy of `chunk` (`new class(chunk)`, `class` being `Uint8Array`, through
/// `Reflect.construct`, which catches): what is not bytes, or throws on being read (a `Proxy`
/// of a `Uint8Array`), is `None`. Only then are its length and bytes read.
fn bytes_of(class: &Function, chunk: &JsValue) -> Option<Uint8Array> {
    let ok = chunk.is_instance_of::<Uint8Array>();
    ok.then(|| Reflect::construct(class, &js_sys::Array::of1(chunk)).ok())
        .flatten()
        .and_then(|copy| copy.dyn_into().ok())
}

/// `value` as a promise (`Promise.resolve`): a thenable's own `then` runs in a job of its own,
/// so whatever it throws is a rejection.
fn settle(value: &JsValue) -> JsFuture {
    JsFuture::from(Promise::resolve(value))
}

/// `fetch` to one gateway base URL (validated, no trailing `/`), each request bounded by
/// `timeout_ms` milliseconds, body included.
#[derive(Debug)]
pub struct Fetch {
    /// The gateway base URL: an absolute http(s) URL, no trailing `/`.
    pub base: String,
    /// The timeout of each request, milliseconds (1..=120000).
    pub timeout_ms: f64,
    /// A `GET {base}/v1/keys` the package's loader started while the `.wasm` loaded (a promise
    /// of its `fetch`): the first keys request takes its answer instead of sending its own, if
    /// the answer's URL is the one it would have requested (or empty: a Response a page's fetch
    /// wrapper made). Read and checked like any answer.
    pub prefetched_keys: core::cell::RefCell<Option<Promise>>,
    /// When the loader sent that request: seconds since the Unix epoch (`Date.now()`), or
    /// `None` if it did not say. The answer taken from it carries it as its `sent_at`, so the
    /// list's `max-age` counts from then.
    pub prefetched_at: Option<u64>,
}

/// A timer: resolves `timeout_ms` after creation; cleared when dropped.
struct Timer {
    id: JsValue,
    fired: JsFuture,
}

impl Timer {
    fn new(ms: f64) -> Self {
        let mut id = JsValue::UNDEFINED;
        let promise = Promise::new(&mut |resolve, _| id = set_timeout(&resolve, ms));
        Self {
            id,
            fired: JsFuture::from(promise),
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}

/// A JavaScript failure on the way: NETWORK (what it was does not matter; never inspected),
/// not retryable (the request may have reached the gateway).
fn network(_: impl Sized) -> ClientError {
    ClientError::new(ErrorCode::Network)
}

/// `fetch` failed without an answer (offline, DNS, TLS, CORS, refused): NETWORK, retryable.
fn unsent(_: impl Sized) -> ClientError {
    ClientError::new(ErrorCode::Network).retryable(true)
}

/// `object[name]`, through `Reflect.get` so that a getter throwing (a `Response` behind a
/// page's `new Proxy(response, {})`, whose getters refuse the proxy as `this`) is an error
/// rather than an exception through the wasm.
fn get(object: &JsValue, name: &str) -> Result<JsValue, ClientError> {
    Reflect::get(object, &JsValue::from_str(name)).map_err(network)
}

/// Reads a response's body `stream` (its `headers` giving the declared length) up to `cap`
/// bytes: `None` if it declares or streams more (the stream is cancelled at once). Errors:
/// NETWORK.
async fn read_body(
    headers: &web_sys::Headers,
    stream: Option<web_sys::ReadableStream>,
    cap: usize,
) -> Result<Option<Vec<u8>>, ClientError> {
    // The declared length as JavaScript's `Number()` reads it (NaN, for a malformed one, is
    // not over the cap: the streamed read below still is held to it). `Number::new` is
    // deprecated for the wrapper object it makes; its `valueOf()` is the coercion wanted here
    // (`Number::from` is an unchecked cast, not a conversion).
    #[allow(deprecated)]
    let declared = headers
        .get("content-length")
        .map_err(network)?
        .map(|v| js_sys::Number::new(&JsValue::from_str(&v)).value_of());
    if declared.is_some_and(|n| n > cap as f64) {
        return Ok(None);
    }
    let Some(stream) = stream else {
        return Ok(Some(Vec::new()));
    };
    let reader = stream
        .unchecked_ref::<Stream>()
        .get_reader()
        .map_err(network)?;
    let class = Uint8Array::new_with_length(0).constructor();
    let mut body = Vec::new();
    loop {
        let chunk = settle(&reader.read().map_err(network)?)
            .await
            .map_err(network)?;
        if Reflect::get(&chunk, &"done".into())
            .map_err(network)?
            .is_truthy()
        {
            return Ok(Some(body));
        }
        let value = bytes_of(
            &class,
            &Reflect::get(&chunk, &"value".into()).map_err(network)?,
        )
        .ok_or_else(|| network(()))?;
        if body.len() + value.length() as usize > cap {
            // Cancelled, not awaited: a rejection is handled (no unhandled rejection on the page).
            if let Ok(cancelled) = reader.cancel() {
                let mut ignore = None;
                drop(Promise::new(&mut |resolve, _| ignore = Some(resolve)));
                if let Some(ignore) = ignore {
                    let settled = Promise::resolve(&cancelled);
                    let _ = settled.unchecked_ref::<Stream>().on_rejected(&ignore);
                }
            }
            return Ok(None);
        }
        body.append(&mut value.to_vec());
    }
}

impl Fetch {
    /// Sends `request` and reads its answer, without the timeout.
    async fn exchange(
        &self,
        request: HttpRequest,
        signal: Option<&web_sys::AbortSignal>,
    ) -> Result<HttpAnswer, ClientError> {
        let mut url = self.base.clone();
        url.push_str(request.path);
        let request_path = request.path;
        let method = match request.method {
            Method::Get => gloo_net::http::Method::GET,
            _ => gloo_net::http::Method::POST,
        };
        let mut builder = RequestBuilder::new(&url)
            .method(method)
            .header("accept", request.accept)
            .cache(RequestCache::NoStore)
            .credentials(RequestCredentials::Omit)
            .redirect(RequestRedirect::Error)
            .abort_signal(signal);
        if let Some(t) = request.content_type {
            builder = builder.header("content-type", t);
        }
        let built = match request.method {
            Method::Get => builder.build(),
            _ => builder.body(Uint8Array::from(request.body.as_slice())),
        };
        let request: web_sys::Request = built.map_err(unsent)?.into();
        let prefetched = match request_path {
            "/v1/keys" => self.prefetched_keys.borrow_mut().take(),
            _ => None,
        };
        let mut answer = JsValue::UNDEFINED;
        let mut sent_at = None;
        if let Some(early) = prefetched {
            // The loader's request, if it is this one: the same URL (the same WHATWG parser made
            // both; redirects are refused), or none (a Response a page's fetch wrapper made
            // itself). It rejected: NETWORK.
            let early = JsFuture::from(early).await.map_err(unsent)?;
            let from = get(&early, "url")?.as_string().unwrap_or_default();
            if from.is_empty() || from == url {
                answer = early;
                sent_at = self.prefetched_at;
            }
        }
        if answer.is_undefined() {
            // Whatever `fetch` throws or rejects with: NETWORK, retryable (no answer came).
            let sent = Promise::resolve(&fetch(&request).map_err(unsent)?);
            answer = JsFuture::from(sent).await.map_err(unsent)?;
        }
        // Whatever it resolves to is read through `Reflect.get` (a page's fetch wrapper may
        // hand back a Proxy or anything else): what is not a Response's status, Headers and
        // body is NETWORK.
        let status = get(&answer, "status")?
            .as_f64()
            .filter(|s| (0.0..=999.0).contains(s))
            .ok_or_else(|| network(()))? as u16;
        let headers: web_sys::Headers = get(&answer, "headers")?.dyn_into().map_err(network)?;
        let content_type = headers
            .get("content-type")
            .map_err(network)?
            .unwrap_or_default();
        // A CORS-safelisted response header: readable cross-origin.
        let cache_control = headers
            .get("cache-control")
            .map_err(network)?
            .unwrap_or_default();
        let body = get(&answer, "body")?;
        let body = if body.is_null() {
            None
        } else {
            Some(body.dyn_into().map_err(network)?)
        };
        let body = read_body(&headers, body, body_cap(status)).await?;
        Ok(HttpAnswer {
            status,
            content_type,
            body,
            cache_control,
            sent_at,
        })
    }
}

impl Transport for Fetch {
    /// Errors: TIMEOUT (no complete answer, body included, within `timeout_ms`: the request is
    /// aborted through its `AbortController` where there is one, and abandoned otherwise),
    /// NETWORK (whatever `fetch` or the body stream rejected with).
    async fn send(&self, request: HttpRequest) -> Result<HttpAnswer, ClientError> {
        // Browsers without AbortController still get the timeout (the request is left to
        // finish); README "Browser support".
        let controller = AbortController::new().ok();
        let signal = controller.as_ref().map(AbortController::signal);
        let mut timer = Timer::new(self.timeout_ms);
        let mut work = pin!(self.exchange(request, signal.as_ref()));
        poll_fn(|cx| {
            if Pin::new(&mut timer.fired).poll(cx).is_ready() {
                if let Some(c) = &controller {
                    c.abort();
                }
                return Poll::Ready(Err(ClientError::new(ErrorCode::Timeout)));
            }
            work.as_mut().poll(cx)
        })
        .await
    }

    fn parse_problem(&self, body: &[u8]) -> Problem {
        let Ok(text) = core::str::from_utf8(body) else {
            return Problem::default();
        };
        let Ok(value) = JSON::parse(text) else {
            return Problem::default();
        };
        let Some(object) = value.dyn_ref::<Object>().filter(|_| value.is_object()) else {
            return Problem::default();
        };
        // Own data properties only (`Reflect.getOwnPropertyDescriptor`): nothing inherited (a
        // polluted Object.prototype) is taken for a field, and no getter runs.
        let field = |name: &str| {
            let descriptor = Reflect::get_own_property_descriptor(object, &name.into()).ok()?;
            if descriptor.is_undefined() {
                return None;
            }
            Reflect::get(&descriptor, &"value".into()).ok()?.as_string()
        };
        Problem {
            problem_type: field("type"),
            code: field("code"),
        }
    }

    fn now_seconds(&self) -> u64 {
        (js_sys::Date::now() / 1000.0) as u64
    }
}
