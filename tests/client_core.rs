//! The client core (src/client) natively: the cases of tests/wasm/sdk_cases.rs, which also run
//! as wasm in Node.js (tests/sdk_node.rs) and headless Chromium (tests/sdk_chrome.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

include!("wasm/sdk_cases.rs");
