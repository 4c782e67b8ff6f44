//! The partner API's known-answer vectors (tests/vectors/h5-access-partner-v1.json, written by
//! `examples/gen_partner_vectors.rs` from docs/PROTOCOL.md §10 alone): the crate's partner
//! helper signs and opens exactly as they say, and the gateway accepts the signed request. A
//! partner in another language checks its own implementation against the same file.
#![cfg(all(feature = "gateway", feature = "partner"))]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use h5_access::gateway::{Gateway, Partner, PartnerRequest, TicketKey};
use h5_access::partner::PartnerCredentials;
use h5_access::protocol::KeyPair;
use hmac::{KeyInit as _, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn file() -> Value {
    serde_json::from_str(include_str!("vectors/h5-access-partner-v1.json")).expect("vector JSON")
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} is a string"))
}

fn unhex(v: &Value, k: &str) -> Vec<u8> {
    hex::decode(s(v, k)).expect("hex")
}

/// The file agrees with the §10 formulas (HKDF salt and infos, the seven canonical lines,
/// HMAC-SHA256, the delivery AAD).
#[test]
fn vectors_follow_the_section_10_formulas() {
    let f = file();
    let secret = unhex(&f, "partner_secret_hex");
    let (_, prk) = hkdf::Hkdf::<Sha256>::extract(Some(b"h5-access partner v1"), &secret);
    for (info, k) in [
        (&b"h5-access partner request signing"[..], "signing_key_hex"),
        (b"h5-access partner AT delivery", "delivery_key_hex"),
    ] {
        let mut key = [0u8; 32];
        prk.expand(info, &mut key).unwrap();
        assert_eq!(key.to_vec(), unhex(&f, k), "{k}");
    }
    let r = &f["request"];
    assert_eq!(
        hex::encode(Sha256::digest(s(r, "body").as_bytes())),
        s(r, "body_sha256_hex")
    );
    let canonical = [
        "H5-HMAC-SHA256",
        s(r, "method"),
        s(r, "path"),
        s(&f, "partner_id"),
        &r["ts"].as_u64().unwrap().to_string(),
        s(r, "nonce"),
        s(r, "body_sha256_hex"),
    ]
    .join("\n");
    assert_eq!(canonical, s(r, "canonical_request"));
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&unhex(&f, "signing_key_hex")).unwrap();
    mac.update(canonical.as_bytes());
    use base64::Engine as _;
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    assert_eq!(sig, s(r, "signature"));
    let mut aad = b"h5-access sealed AT v1\0".to_vec();
    aad.extend_from_slice(s(&f, "partner_id").as_bytes());
    assert_eq!(aad, unhex(&f["delivery"], "aad_hex"));
}

/// `PartnerCredentials` builds the vector's body and `Authorization` header byte for byte, and
/// opens the vector's sealed AT.
#[test]
fn partner_helper_reproduces_the_vectors() {
    let f = file();
    let r = &f["request"];
    let creds =
        PartnerCredentials::new(s(&f, "partner_id"), unhex(&f, "partner_secret_hex")).unwrap();
    assert_eq!(
        PartnerCredentials::access_token_request_body("user-42", &["prod-a"]),
        s(r, "body")
    );
    let auth = creds
        .sign(
            s(r, "method"),
            s(r, "path"),
            s(r, "body").as_bytes(),
            r["ts"].as_u64().unwrap(),
            s(r, "nonce"),
        )
        .unwrap();
    assert_eq!(auth, s(r, "authorization"));
    let at = creds
        .open_sealed_access_token(s(&f["delivery"], "sealed_access_token"))
        .unwrap();
    assert_eq!(at.as_str(), s(&f["delivery"], "access_token"));
}

/// The gateway accepts the vector's signed request at its `ts`, and what it seals opens with
/// the vector's partner secret.
#[test]
fn gateway_accepts_the_vector_request() {
    let f = file();
    let r = &f["request"];
    let secret = unhex(&f, "partner_secret_hex");
    let gw = Gateway::builder(
        KeyPair::derive(1, &[1; 32]),
        TicketKey::from_bytes(1, &[2; 32]),
    )
    .partner(Partner::new(s(&f, "partner_id"), secret.clone(), ["prod-a"]).unwrap())
    .product("prod-a", r#"{"title":"A"}"#)
    .build()
    .unwrap();
    let req = PartnerRequest {
        method: s(r, "method"),
        path: s(r, "path"),
        authorization: Some(s(r, "authorization")),
        body: s(r, "body").as_bytes(),
    };
    let ts = r["ts"].as_u64().unwrap();
    let json = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(gw.issue_access_token(&req, ts))
        .unwrap();
    let creds = PartnerCredentials::new(s(&f, "partner_id"), secret).unwrap();
    let at = creds.open_access_token_response(&json).unwrap();
    assert_eq!(at.exp, ts + 300);
}
