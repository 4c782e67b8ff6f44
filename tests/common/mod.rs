#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]
pub mod vectors;
