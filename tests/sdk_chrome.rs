//! The same client-core cases as tests/sdk_node.rs, in headless Chromium
//! (`wasm-pack test --headless --chrome -- --test sdk_chrome`): the browser's
//! `crypto.getRandomValues` behind getrandom, the browser's wasm engine and memory.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

include!("wasm/sdk_cases.rs");
