//! The browser SDK behind the npm package `h5-access` (wasm32 only).
//!
//! * [`client`]: `H5Client` (key configuration, the AT→VT exchange) and `H5Session` (sealed
//!   service calls, `close()`).
//! * [`error`]: the stable `H5AccessError.code` strings and the mapping from gateway codes.
//! * [`http`]: one encapsulated POST and the classification of its answer.
//! * [`js`]: the hand-written bindings to `js/runtime.js` (error class, `fetch` with timeout).
//!
//! JSON (page data, call bodies) is parsed and produced by the browser's `JSON`, never in the
//! wasm: the protocol carries it as UTF-8 text. The README has the JavaScript API.

pub mod client;
pub mod error;
pub mod http;
pub mod js;

pub use client::{H5Client, H5Session};
pub use error::{ErrorCode, SdkError};

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A JSON value, as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A JSON object, as `JSON.parse` returns it. */
export interface JsonObject { [key: string]: JsonValue }

/** Where the `.wasm` comes from: a URL, or its bytes or compiled module. */
export type WasmSource = string | URL | BufferSource | WebAssembly.Module;

/** Options of `H5Client.create`. */
export interface H5ClientOptions {
  /** The gateway's origin and optional base path, e.g. "https://gw.example.com" (no trailing "/v1"). */
  gateway: string;
  /**
   * The gateway's key configuration, pinned: the `application/ohttp-keys` bytes of
   * `GET {gateway}/v1/keys` (RFC 9458 §3.2), as bytes or standard/URL-safe base64.
   * Omitted: fetched from the gateway once by `create`, and cached by the client.
   */
  keyConfig?: Uint8Array | string;
  /** Timeout of each HTTP request in milliseconds, body included. Default 10000. */
  timeoutMs?: number;
  /** Where to load the `.wasm` from (default: next to the package's JS). Used by the first `create`. */
  wasm?: WasmSource;
}

/** Options of `H5Client.exchange`. */
export interface ExchangeOptions {
  /** The product whose page to open, e.g. "wealth-01": 1..64 of [A-Za-z0-9._-]. */
  product: string;
}
"#;
