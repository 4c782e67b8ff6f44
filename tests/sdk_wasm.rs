//! The client core (src/client) as wasm (wasm-bindgen-test): sealing and opening against an
//! in-process gateway end (the protocol core's decapsulation), answer reading, the one stale-key
//! retry through a scripted transport, the error codes. The cases live in
//! tests/wasm/sdk_cases.rs and also run natively (tests/client_core.rs); the SDK's fetch and
//! JavaScript surface is tested by tests/js/ and tests/browser/.
//!
//! One file, two environments: the file sets no `wasm_bindgen_test_configure!`, so it runs in
//! Node.js by default (`wasm-pack test --node -- --test sdk_wasm`) and in a browser when the test
//! runner sees `WASM_BINDGEN_USE_BROWSER=1`
//! (`WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --headless --chrome -- --test sdk_wasm`): there it
//! exercises the browser's `crypto.getRandomValues` behind getrandom, its wasm engine and memory.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

include!("wasm/sdk_cases.rs");
