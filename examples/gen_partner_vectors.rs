//! Prints the known-answer vectors of the partner API (docs/PROTOCOL.md §10) as JSON:
//! `cargo run --features partner --example gen_partner_vectors > tests/vectors/h5-access-partner-v1.json`.
//!
//! Written from the §10 text alone with the RustCrypto crates (HKDF, HMAC, SHA-256,
//! ChaCha20-Poly1305), not with the crate's own partner code, which `tests/partner_vectors.rs`
//! then checks against this file.
#![allow(clippy::expect_used, missing_docs)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead as _, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::Mac;
use sha2::{Digest, Sha256};

fn hkdf(secret: &[u8], info: &[u8]) -> [u8; 32] {
    let (_, prk) = hkdf::Hkdf::<Sha256>::extract(Some(b"h5-access partner v1"), secret);
    let mut out = [0u8; 32];
    prk.expand(info, &mut out).expect("32 bytes");
    out
}

fn main() {
    let partner_id = "acme-bank";
    let secret = b"acme-bank-secret-0123456789abcdef";
    let method = "POST";
    let path = "/v1/partner/access-token";
    let ts: u64 = 1_800_000_000;
    let nonce = "n0nce-0123456789abcdef";
    let body = r#"{"products":["prod-a"],"subject":"user-42"}"#;
    let signing_key = hkdf(secret, b"h5-access partner request signing");
    let delivery_key = hkdf(secret, b"h5-access partner AT delivery");
    let body_sha256 = hex::encode(Sha256::digest(body.as_bytes()));
    let canonical = [
        "H5-HMAC-SHA256",
        method,
        path,
        partner_id,
        &ts.to_string(),
        nonce,
        &body_sha256,
    ]
    .join("\n");
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&signing_key).expect("any key length");
    mac.update(canonical.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    let authorization =
        format!("H5-HMAC-SHA256 partner={partner_id}, ts={ts}, nonce={nonce}, sig={sig}");

    let at = "AT-example-not-a-real-token_0123456789";
    let delivery_nonce: [u8; 12] = *b"delivery-n12";
    let mut aad = b"h5-access sealed AT v1".to_vec();
    aad.push(0);
    aad.extend_from_slice(partner_id.as_bytes());
    let ct = ChaCha20Poly1305::new(&delivery_key.into())
        .encrypt(
            (&delivery_nonce).into(),
            Payload {
                msg: at.as_bytes(),
                aad: &aad,
            },
        )
        .expect("seal");
    let mut sealed = delivery_nonce.to_vec();
    sealed.extend_from_slice(&ct);

    let doc = serde_json::json!({
        "source": "examples/gen_partner_vectors.rs, from docs/PROTOCOL.md §10 alone",
        "partner_id": partner_id,
        "partner_secret_hex": hex::encode(secret),
        "signing_key_hex": hex::encode(signing_key),
        "delivery_key_hex": hex::encode(delivery_key),
        "request": {
            "method": method,
            "path": path,
            "ts": ts,
            "nonce": nonce,
            "body": body,
            "body_sha256_hex": body_sha256,
            "canonical_request": canonical,
            "signature": sig,
            "authorization": authorization,
        },
        "delivery": {
            "access_token": at,
            "nonce_hex": hex::encode(delivery_nonce),
            "aad_hex": hex::encode(&aad),
            "sealed_access_token": URL_SAFE_NO_PAD.encode(&sealed),
        },
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&doc).expect("JSON serialises")
    );
}
