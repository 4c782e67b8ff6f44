//! The committed h5-access v1 vectors (tests/vectors/h5-access-v1.json, cited by
//! docs/PROTOCOL.md §9) are reproduced exactly, and each direction opens what the other sealed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use h5_access::protocol::{
    decapsulate_request, CallRequest, CallResponse, Channel, ExchangeRequest, ExchangeResponse,
    KeyConfig, KeyPair,
};
use serde_json::Value;

fn file() -> Value {
    serde_json::from_str(include_str!("vectors/h5-access-v1.json")).expect("vector JSON")
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

#[test]
fn committed_vectors_are_reproduced_byte_for_byte() {
    // Any changed byte in the file, input or output, makes the documents differ.
    assert_eq!(common::vectors::generate(), file());
}

#[test]
fn committed_requests_open_to_committed_plaintexts() {
    let f = file();
    let gk = &f["gateway_key"];
    let key = KeyPair::derive(7, &unhex(&gk["ikm"]));
    assert_eq!(key.config().encode(), unhex(&gk["key_config"]));
    let list = KeyConfig::decode_list(&unhex(&gk["key_config_list"])).unwrap();
    assert_eq!(list.iter().map(|c| c.key_id()).collect::<Vec<_>>(), [7, 6]);

    let (pt, server) = decapsulate_request(
        std::slice::from_ref(&key),
        Channel::Exchange,
        &unhex(&f["exchange"]["encapsulated_request"]),
    )
    .unwrap();
    assert_eq!(pt.as_slice(), unhex(&f["exchange"]["plaintext"]).as_slice());
    let req = ExchangeRequest::decode(&pt).unwrap();
    assert_eq!(req.product, "wealth-01");
    assert_eq!(req.client_time, 1_767_225_600);
    assert_eq!(
        req.subject_token.as_str(),
        f["exchange"]["subject_token"].as_str().unwrap()
    );
    assert_eq!(
        server.session_secret().expose().as_slice(),
        unhex(&f["exchange"]["session_secret"]).as_slice()
    );

    let (call_pt, _) = decapsulate_request(
        &[key],
        Channel::Call,
        &unhex(&f["call"]["encapsulated_request"]),
    )
    .unwrap();
    let (call, binder) = CallRequest::decode(&call_pt).unwrap();
    assert_eq!(call.service, "quote");
    assert_eq!(call.body, r#"{"amount":100}"#);
    assert!(call.verify_binder(server.session_secret(), &binder));
    assert_eq!(binder.as_slice(), unhex(&f["call"]["binder"]).as_slice());
}

#[test]
fn committed_responses_decode_to_committed_values() {
    let f = file();
    match ExchangeResponse::decode(&unhex(&f["exchange_response"]["plaintext"])).unwrap() {
        ExchangeResponse::Issued {
            issued_token,
            exp,
            page,
        } => {
            assert_eq!(issued_token.as_str(), "VT.example-issued-token_9876543210");
            assert_eq!(exp, 1_767_226_500);
            assert_eq!(page, f["exchange_response"]["page"].as_str().unwrap());
        }
        other => panic!("expected Issued, got {other:?}"),
    }
    assert_eq!(
        ExchangeResponse::decode(&unhex(&f["exchange_refused"]["plaintext"])).unwrap(),
        ExchangeResponse::Refused {
            code: "AT_USED".into()
        }
    );
    assert_eq!(
        CallResponse::decode(&unhex(&f["call_response"]["plaintext"])).unwrap(),
        CallResponse::Ok {
            body: r#"{"amount":100,"rate":0.031,"interest":3.1}"#.into()
        }
    );
}
