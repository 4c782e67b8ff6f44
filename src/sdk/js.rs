//! Hand-written bindings to the few JavaScript functions the SDK uses: `js/runtime.js` (the
//! error class and the one HTTP helper) and the browser's `JSON`. Hand-written rather than
//! `web-sys`/`gloo-net` to keep the module small (docs/BENCHMARKS.md).

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/runtime.js")]
extern "C" {
    /// `new H5AccessError(code, status, gatewayCode)`; `status` 0 means none.
    #[wasm_bindgen(js_name = newH5AccessError)]
    pub fn new_h5_access_error(code: &str, status: u16, gateway_code: Option<String>) -> JsValue;

    /// The `H5AccessError` class, for `instanceof`.
    #[wasm_bindgen(js_name = H5AccessError)]
    pub type H5AccessErrorClass;

    /// `h5Fetch(method, url, contentType, accept, body, timeoutMs)`: resolves to an
    /// [`HttpResult`] for any HTTP status; rejects with `H5AccessError` NETWORK or TIMEOUT.
    #[wasm_bindgen(js_name = h5Fetch)]
    pub fn h5_fetch(
        method: &str,
        url: &str,
        content_type: &str,
        accept: &str,
        body: Option<Uint8Array>,
        timeout_ms: u32,
    ) -> Promise;

    /// `{ status, type, body }` as resolved by `h5Fetch`.
    pub type HttpResult;
    /// The HTTP status.
    #[wasm_bindgen(method, getter)]
    pub fn status(this: &HttpResult) -> u16;
    /// The `Content-Type` header, or "".
    #[wasm_bindgen(method, getter, js_name = type)]
    pub fn content_type(this: &HttpResult) -> String;
    /// The whole body.
    #[wasm_bindgen(method, getter)]
    pub fn body(this: &HttpResult) -> Uint8Array;
}

/// Whether `value` is an `H5AccessError` of this module.
pub fn is_h5_access_error(value: &JsValue) -> bool {
    value.is_instance_of::<H5AccessErrorClass>()
}
