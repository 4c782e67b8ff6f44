//! The browser SDK's wasm half (wasm32 only): a synchronous crypto core behind the npm package
//! `h5-access`.
//!
//! JavaScript (`js/index.js`) does everything asynchronous — `fetch`, timeouts, the answer's
//! classification, the one stale-key retry — and calls in here only to seal a request and to
//! open its answer:
//!
//! * [`seal_exchange`] (`sealExchange`) seals the AT request to the gateway key (RFC 9458 §4.3)
//!   and returns a [`Pending`]: the encapsulated request bytes and the HPKE context that opens
//!   the one answer (§4.4).
//! * [`Pending::open_exchange`] opens the exchange answer into a [`Session`] that keeps the VT
//!   and the exported session secret (docs/PROTOCOL.md §4.4) in wasm memory;
//!   [`Session::seal_call`] seals a service call bound to that secret (§4.6) and
//!   [`Pending::open_call`] opens its answer. Freeing a `Session` (`close()` in JavaScript)
//!   zeroizes the secret and the VT.
//! * [`check_key_config`] (`checkKeyConfig`) validates a pinned or fetched key configuration.
//!
//! Errors are thrown as one string: the [`ErrorCode`], or the code, a space and the gateway's
//! own code (`"AT_REJECTED PRODUCT_NOT_ALLOWED"`); `js/index.js` turns it into an
//! `H5AccessError`. JSON (page data, call bodies) is parsed and produced by the browser's `JSON`,
//! never in the wasm: the protocol carries it as UTF-8 text.

pub mod core;
pub mod error;

pub use self::core::{check_key_config, first_config, seal_exchange, Pending, Session};
pub use error::{ErrorCode, SdkError};
