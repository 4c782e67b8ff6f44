//! Prints the h5-access v1 known-answer vectors as JSON:
//! `cargo run --example gen_vectors > tests/vectors/h5-access-v1.json`.
#![allow(clippy::expect_used, missing_docs)]

#[path = "../tests/common/vectors.rs"]
mod vectors;

fn main() {
    let doc = vectors::generate();
    println!(
        "{}",
        serde_json::to_string_pretty(&doc).expect("JSON serialises")
    );
}
