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

pub use self::core::{
    check_key_config, first_config, scrub_stack, seal_exchange, Pending, Session, MAX_EXP,
    SCRUB_STACK_LEN,
};
pub use error::{ErrorCode, SdkError};

/// The release wasm's allocator (built without the `std` feature, scripts/build-sdk.sh): talc's
/// single-threaded wasm allocator, a drop-in for the dlmalloc std uses, about 1.9 KB gzip smaller
/// (docs/BENCHMARKS.md). Secrets are zeroized before their memory is freed, whatever the allocator.
#[cfg(not(feature = "std"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The release wasm's panic handler (built without the `std` feature): a trap, which the
/// JavaScript half turns into an `H5AccessError` with the call's fallback code. Nothing formats
/// a panic message, so `core::fmt` and the panic strings are not in the module.
#[cfg(not(feature = "std"))]
#[panic_handler]
fn panic(_: &::core::panic::PanicInfo<'_>) -> ! {
    ::core::arch::wasm32::unreachable()
}
