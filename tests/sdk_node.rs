//! The client core (src/client) as wasm under Node.js (`wasm-pack test --node -- --test
//! sdk_node`): sealing and opening against an in-process gateway end, answer reading, the
//! stale-key retry through a scripted transport, the error codes. The cases live in
//! tests/wasm/sdk_cases.rs and also run natively (tests/client_core.rs) and in headless
//! Chromium (tests/sdk_chrome.rs); the SDK's fetch and JavaScript surface is tested by tests/js/
//! and tests/browser/.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

include!("wasm/sdk_cases.rs");
