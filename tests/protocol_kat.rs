//! Known-answer tests from the RFCs: RFC 9180 Appendix A.2.1 (DHKEM(X25519, HKDF-SHA256),
//! HKDF-SHA256, ChaCha20Poly1305, base mode) through this crate's HPKE wrappers, and the key
//! configuration of RFC 9458 Appendix A.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use h5_access::protocol::hpke::setup_base_sender_with_ikm;
use h5_access::protocol::{KeyConfig, KeyConfigError, KeyPair};
use serde::Deserialize;

#[derive(Deserialize)]
struct Encryption {
    sequence_number: u64,
    pt: String,
    aad: String,
    ct: String,
}

#[derive(Deserialize)]
struct Export {
    exporter_context: String,
    #[serde(rename = "L")]
    l: usize,
    exported_value: String,
}

#[derive(Deserialize)]
struct Rfc9180Vector {
    source: String,
    mode: u8,
    kem_id: u16,
    kdf_id: u16,
    aead_id: u16,
    info: String,
    #[serde(rename = "ikmE")]
    ikm_e: String,
    #[serde(rename = "ikmR")]
    ikm_r: String,
    #[serde(rename = "pkRm")]
    pk_rm: String,
    #[serde(rename = "skRm")]
    sk_rm: String,
    enc: String,
    encryptions: Vec<Encryption>,
    exports: Vec<Export>,
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("vector hex")
}

fn rfc9180() -> Rfc9180Vector {
    serde_json::from_str(include_str!("vectors/rfc9180-a2-base.json")).expect("vector JSON")
}

#[test]
fn rfc9180_a2_vector_is_the_suite_we_implement() {
    let v = rfc9180();
    assert!(v.source.contains("RFC 9180"));
    // Anything else would mean the file holds a vector we do not run: fail loudly.
    assert_eq!(
        (v.mode, v.kem_id, v.kdf_id, v.aead_id),
        (0, 0x20, 0x01, 0x03)
    );
    assert_eq!(v.encryptions.len(), 6);
    assert_eq!(v.exports.len(), 3);
}

#[test]
fn rfc9180_a2_derive_key_pair() {
    let v = rfc9180();
    let key = KeyPair::derive(0, &unhex(&v.ikm_r));
    assert_eq!(hex::encode(key.config().public_key()), v.pk_rm);
    let from_sk = KeyPair::from_private_key(0, &unhex(&v.sk_rm)).unwrap();
    assert_eq!(hex::encode(from_sk.config().public_key()), v.pk_rm);
}

#[test]
fn rfc9180_a2_every_encryption_and_export_reproduces() {
    let v = rfc9180();
    let ikm_e: [u8; 32] = unhex(&v.ikm_e).try_into().unwrap();
    let (enc, mut sender) =
        setup_base_sender_with_ikm(&unhex(&v.pk_rm), &unhex(&v.info), &ikm_e).unwrap();
    assert_eq!(hex::encode(enc), v.enc);

    let key = KeyPair::from_private_key(0, &unhex(&v.sk_rm)).unwrap();
    let mut receiver = key.setup_base_receiver(&enc, &unhex(&v.info)).unwrap();

    let last = v
        .encryptions
        .iter()
        .map(|e| e.sequence_number)
        .max()
        .unwrap();
    let mut checked = 0;
    for seq in 0..=last {
        let listed = v.encryptions.iter().find(|e| e.sequence_number == seq);
        match listed {
            Some(e) => {
                let ct = sender.seal(&unhex(&e.pt), &unhex(&e.aad)).unwrap();
                assert_eq!(hex::encode(&ct), e.ct, "ciphertext at sequence {seq}");
                let pt = receiver.open(&unhex(&e.ct), &unhex(&e.aad)).unwrap();
                assert_eq!(hex::encode(pt), e.pt, "plaintext at sequence {seq}");
                checked += 1;
            }
            None => {
                // Advance both sequence numbers in step, as the RFC's generator did.
                let ct = sender.seal(b"", b"").unwrap();
                receiver.open(&ct, b"").unwrap();
            }
        }
    }
    assert_eq!(checked, v.encryptions.len());

    for x in &v.exports {
        let mut out = vec![0u8; x.l];
        sender
            .export(&unhex(&x.exporter_context), &mut out)
            .unwrap();
        assert_eq!(hex::encode(&out), x.exported_value, "sender export");
        let mut out = vec![0u8; x.l];
        receiver
            .export(&unhex(&x.exporter_context), &mut out)
            .unwrap();
        assert_eq!(hex::encode(&out), x.exported_value, "receiver export");
    }
}

#[test]
fn rfc9180_a2_tampered_ciphertext_is_refused() {
    let v = rfc9180();
    let key = KeyPair::from_private_key(0, &unhex(&v.sk_rm)).unwrap();
    let mut receiver = key
        .setup_base_receiver(&unhex(&v.enc), &unhex(&v.info))
        .unwrap();
    let mut ct = unhex(&v.encryptions[0].ct);
    ct[0] ^= 1;
    let err = receiver
        .open(&ct, &unhex(&v.encryptions[0].aad))
        .unwrap_err();
    assert_eq!(err.code(), "DECRYPT_FAILED");
}

#[derive(Deserialize)]
struct Rfc9458Vector {
    source: String,
    #[serde(rename = "skR")]
    sk_r: String,
    #[serde(rename = "pkR")]
    pk_r: String,
    key_config: String,
}

#[test]
fn rfc9458_appendix_a_key_config_decodes_and_reencodes() {
    let v: Rfc9458Vector =
        serde_json::from_str(include_str!("vectors/rfc9458-appendix-a.json")).unwrap();
    assert!(v.source.contains("RFC 9458"));
    let config = KeyConfig::decode(&unhex(&v.key_config)).unwrap();
    assert_eq!(config.key_id(), 1);
    assert_eq!(hex::encode(config.public_key()), v.pk_r);
    // The appendix lists HKDF-SHA256 with AES-128-GCM, then with ChaCha20Poly1305.
    assert_eq!(config.symmetric_suites(), &[(1, 1), (1, 3)]);
    assert_eq!(hex::encode(config.encode()), v.key_config);
    let key = KeyPair::from_private_key(1, &unhex(&v.sk_r)).unwrap();
    assert_eq!(hex::encode(key.config().public_key()), v.pk_r);
}

#[test]
fn rfc9458_key_config_without_chacha_is_unsupported() {
    let v: Rfc9458Vector =
        serde_json::from_str(include_str!("vectors/rfc9458-appendix-a.json")).unwrap();
    let mut bytes = unhex(&v.key_config);
    // Drop the (0x0001, 0x0003) pair and fix the symmetric length: AES-128-GCM only.
    bytes.truncate(bytes.len() - 4);
    let n = bytes.len();
    bytes[n - 6..n - 4].copy_from_slice(&4u16.to_be_bytes());
    assert_eq!(
        KeyConfig::decode(&bytes).unwrap_err(),
        KeyConfigError::UnsupportedSuite
    );
}
