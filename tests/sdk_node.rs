//! The SDK's wasm core under Node.js (`wasm-pack test --node -- --test sdk_node`): sealing and
//! opening against an in-process gateway end (the protocol core's decapsulation), the values it
//! throws, key configuration input, and the gateway-code mapping. No network: the HTTP flow is
//! JavaScript's and is tested by tests/js/ and tests/browser/. The cases live in
//! tests/wasm/sdk_cases.rs and also run in headless Chromium (tests/sdk_chrome.rs).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

include!("wasm/sdk_cases.rs");
