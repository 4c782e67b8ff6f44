//! The SDK's wasm core (wasm-bindgen-test): sealing and opening against an in-process gateway end
//! (the protocol core's decapsulation), the values it throws, key configuration input, and the
//! gateway-code mapping. No network: the HTTP flow is JavaScript's and is tested by tests/js/ and
//! tests/browser/.
//!
//! One file, two environments: the file sets no `wasm_bindgen_test_configure!`, so it runs in
//! Node.js by default (`wasm-pack test --node -- --test sdk_wasm`) and in a browser when the test
//! runner sees `WASM_BINDGEN_USE_BROWSER=1`
//! (`WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --headless --chrome -- --test sdk_wasm`): there it
//! exercises the browser's `crypto.getRandomValues` behind getrandom, its wasm engine and memory.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use h5_access::protocol::{
    codes, decapsulate_request, CallRequest, CallResponse, Channel, ExchangeRequest,
    ExchangeResponse, KeyConfig, KeyPair, ServerContext, Token, MAX_RESPONSE_LEN,
};
use h5_access::sdk::{
    check_key_config, first_config, seal_exchange, ErrorCode, Pending, SdkError, MAX_EXP,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

const NOW: f64 = 1_790_000_000.5;

fn gateway_key() -> KeyPair {
    KeyPair::derive(7, b"sdk node suite gateway key material......")
}

fn keys() -> Vec<u8> {
    KeyConfig::encode_list(&[gateway_key().config().clone()])
}

fn thrown(r: Result<impl Sized, JsValue>) -> String {
    match r {
        Ok(_) => panic!("expected a thrown code"),
        Err(e) => e.as_string().expect("the core throws strings"),
    }
}

/// The gateway's half of an exchange: decapsulate, check, answer `response`.
fn gateway_exchange(p: &Pending) -> (ExchangeRequest, ServerContext) {
    let (plain, ctx) =
        decapsulate_request(&[gateway_key()], Channel::Exchange, &p.request()).unwrap();
    (ExchangeRequest::decode(&plain).unwrap(), ctx)
}

fn issued(ctx: &ServerContext, page: &str) -> Vec<u8> {
    let r = ExchangeResponse::Issued {
        issued_token: Token::new(b"VT.issued".to_vec()).unwrap(),
        exp: 1_790_000_900,
        page: page.to_owned(),
    };
    ctx.seal_response(&r.encode().unwrap()).unwrap()
}

#[wasm_bindgen_test]
fn exchange_and_call_round_trip() {
    let p = seal_exchange(&keys(), "AT.abc".into(), "wealth-01".into(), NOW).unwrap();
    let request = p.request();
    assert_eq!(
        &request[..7],
        &[7, 0x00, 0x20, 0x00, 0x01, 0x00, 0x03],
        "hdr"
    );
    let (req, ctx) = gateway_exchange(&p);
    assert_eq!(req.subject_token.as_bytes(), b"AT.abc");
    assert_eq!(req.product, "wealth-01");
    assert_eq!(req.client_time, 1_790_000_000, "seconds, fraction dropped");
    let mut session = p.open_exchange(&issued(&ctx, r#"{"title":"T"}"#)).unwrap();
    assert_eq!(session.exp(), 1_790_000_900.0);
    assert_eq!(session.take_page(), r#"{"title":"T"}"#);
    assert_eq!(session.take_page(), "", "taken once");

    // A call: carries the VT, bound to the exchange's session secret.
    let call = session
        .seal_call(&keys(), "quote".into(), r#"{"a":1}"#.into(), NOW)
        .unwrap();
    let (plain, cctx) =
        decapsulate_request(&[gateway_key()], Channel::Call, &call.request()).unwrap();
    let (creq, binder) = CallRequest::decode(&plain).unwrap();
    assert_eq!(creq.issued_token.as_bytes(), b"VT.issued");
    assert_eq!(
        (creq.service.as_str(), creq.body.as_str()),
        ("quote", r#"{"a":1}"#)
    );
    assert!(creq.verify_binder(ctx.session_secret(), &binder), "bound");
    let answer = CallResponse::Ok {
        body: r#"{"ok":true}"#.into(),
    };
    let sealed = cctx.seal_response(&answer.encode().unwrap()).unwrap();
    assert_eq!(call.open_call(&sealed).unwrap(), r#"{"ok":true}"#);

    // Each request is a new encapsulation with a new request id.
    let a = session
        .seal_call(&keys(), "echo".into(), "1".into(), NOW)
        .unwrap();
    let b = session
        .seal_call(&keys(), "echo".into(), "1".into(), NOW)
        .unwrap();
    assert_ne!(a.request()[7..39], b.request()[7..39], "fresh enc");
}

#[wasm_bindgen_test]
fn tampered_or_truncated_answers() {
    let p = seal_exchange(&keys(), "AT.abc".into(), "wealth-01".into(), NOW).unwrap();
    let (_, ctx) = gateway_exchange(&p);
    let mut answer = issued(&ctx, "{}");
    *answer.last_mut().unwrap() ^= 1;
    assert_eq!(thrown(p.open_exchange(&answer)), "DECRYPT_FAILED");

    let p = seal_exchange(&keys(), "AT.abc".into(), "wealth-01".into(), NOW).unwrap();
    assert_eq!(thrown(p.open_exchange(&[0u8; 47])), "BAD_RESPONSE");
    // An answer for another request does not open.
    let p2 = seal_exchange(&keys(), "AT.abc".into(), "wealth-01".into(), NOW).unwrap();
    let (_, ctx2) = gateway_exchange(&p2);
    let p3 = seal_exchange(&keys(), "AT.abc".into(), "wealth-01".into(), NOW).unwrap();
    assert_eq!(
        thrown(p3.open_exchange(&issued(&ctx2, "{}"))),
        "DECRYPT_FAILED"
    );
    // A plaintext that does not decode.
    let p = seal_exchange(&keys(), "AT.abc".into(), "wealth-01".into(), NOW).unwrap();
    let (_, ctx) = gateway_exchange(&p);
    assert_eq!(
        thrown(p.open_exchange(&ctx.seal_response(&[1, 9]).unwrap())),
        "BAD_RESPONSE"
    );
}

#[wasm_bindgen_test]
fn answers_over_the_protocol_maximum_are_refused_before_decrypting() {
    // 32 + (1 + 1 + 8 + 2 + 2048 + 4 + 524288) + 16: docs/PROTOCOL.md §4.2.
    assert_eq!(MAX_RESPONSE_LEN, 526_400);
    let p = seal_exchange(&keys(), "AT.abc".into(), "wealth-01".into(), NOW).unwrap();
    assert_eq!(
        thrown(p.open_exchange(&vec![0u8; MAX_RESPONSE_LEN + 1])),
        "BAD_RESPONSE"
    );
    // At the maximum it is decrypted (and fails to authenticate).
    let p = seal_exchange(&keys(), "AT.abc".into(), "wealth-01".into(), NOW).unwrap();
    assert_eq!(
        thrown(p.open_exchange(&vec![0u8; MAX_RESPONSE_LEN])),
        "DECRYPT_FAILED"
    );
    // A full-size issued answer (2048-byte VT, 512 KiB page) is exactly the maximum and opens.
    let p = seal_exchange(&keys(), "AT.abc".into(), "wealth-01".into(), NOW).unwrap();
    let (_, ctx) = gateway_exchange(&p);
    let r = ExchangeResponse::Issued {
        issued_token: Token::new(vec![b'V'; 2048]).unwrap(),
        exp: 1_790_000_900,
        page: "x".repeat(512 * 1024),
    };
    let sealed = ctx.seal_response(&r.encode().unwrap()).unwrap();
    assert_eq!(sealed.len(), MAX_RESPONSE_LEN);
    assert_eq!(p.open_exchange(&sealed).unwrap().exp(), 1_790_000_900.0);
}

#[wasm_bindgen_test]
fn a_vt_exp_of_0_or_after_year_9999_is_bad_response() {
    assert_eq!(MAX_EXP, 253_402_300_799, "9999-12-31T23:59:59Z");
    for (exp, ok) in [
        (0, false),
        (1, true),
        (MAX_EXP, true),
        (MAX_EXP + 1, false),
        (u64::MAX, false),
    ] {
        let p = seal_exchange(&keys(), "AT.abc".into(), "wealth-01".into(), NOW).unwrap();
        let (_, ctx) = gateway_exchange(&p);
        let r = ExchangeResponse::Issued {
            issued_token: Token::new(b"VT.issued".to_vec()).unwrap(),
            exp,
            page: "{}".into(),
        };
        let opened = p.open_exchange(&ctx.seal_response(&r.encode().unwrap()).unwrap());
        if ok {
            assert_eq!(opened.unwrap().exp(), exp as f64);
        } else {
            assert_eq!(thrown(opened), "BAD_RESPONSE", "exp {exp}");
        }
    }
}

#[wasm_bindgen_test]
fn refusals_throw_the_code_and_the_gateway_code() {
    let p = seal_exchange(&keys(), "AT.abc".into(), "card-03".into(), NOW).unwrap();
    let (_, ctx) = gateway_exchange(&p);
    let refused = ExchangeResponse::Refused {
        code: codes::PRODUCT_NOT_ALLOWED.into(),
    };
    let sealed = ctx.seal_response(&refused.encode().unwrap()).unwrap();
    assert_eq!(
        thrown(p.open_exchange(&sealed)),
        "AT_REJECTED PRODUCT_NOT_ALLOWED"
    );
}

#[wasm_bindgen_test]
fn a_rate_limited_call_throws_rate_limited() {
    let p = seal_exchange(&keys(), "AT.abc".into(), "wealth-01".into(), NOW).unwrap();
    let (_, ctx) = gateway_exchange(&p);
    let session = p.open_exchange(&issued(&ctx, "{}")).unwrap();
    let call = session
        .seal_call(&keys(), "quote".into(), "{}".into(), NOW)
        .unwrap();
    let (_, cctx) = decapsulate_request(&[gateway_key()], Channel::Call, &call.request()).unwrap();
    let refused = CallResponse::Refused {
        code: codes::RATE_LIMITED.into(),
    };
    let sealed = cctx.seal_response(&refused.encode().unwrap()).unwrap();
    assert_eq!(thrown(call.open_call(&sealed)), "RATE_LIMITED RATE_LIMITED");
}

#[wasm_bindgen_test]
fn bad_inputs_throw_their_codes() {
    let k = keys();
    assert_eq!(
        thrown(seal_exchange(
            &k,
            "AT with space".into(),
            "wealth-01".into(),
            NOW
        )),
        "AT_REJECTED"
    );
    assert_eq!(
        thrown(seal_exchange(&k, "A".repeat(2049), "wealth-01".into(), NOW)),
        "AT_REJECTED"
    );
    assert_eq!(
        thrown(seal_exchange(&k, "AT.x".into(), "bad product!".into(), NOW)),
        "INVALID_ARGUMENT"
    );
    assert_eq!(
        thrown(seal_exchange(
            &[0, 9, 1],
            "AT.x".into(),
            "wealth-01".into(),
            NOW
        )),
        "KEY_CONFIG"
    );
    assert_eq!(thrown(check_key_config(&[])), "KEY_CONFIG");
    assert!(check_key_config(&k).is_ok());
}

#[wasm_bindgen_test]
fn key_config_input() {
    let a = KeyPair::derive(7, b"key config input test key material......");
    let b = KeyPair::derive(8, b"second key config input test key material");
    let list = KeyConfig::encode_list(&[a.config().clone(), b.config().clone()]);
    assert_eq!(first_config(&list).unwrap().key_id(), 7);
    // A single RFC 9458 §3.1 configuration is accepted too.
    assert_eq!(first_config(&b.config().encode()).unwrap().key_id(), 8);
    assert_eq!(first_config(&[]).unwrap_err().code, ErrorCode::KeyConfig);
    assert_eq!(
        first_config(&[0, 9, 1]).unwrap_err().code,
        ErrorCode::KeyConfig
    );
}

#[wasm_bindgen_test]
fn every_gateway_code_maps() {
    let expect = |c: &str| match c {
        codes::AT_INVALID | codes::PRODUCT_NOT_ALLOWED | codes::PRODUCT_UNKNOWN => {
            ErrorCode::AtRejected
        }
        codes::AT_EXPIRED => ErrorCode::AtExpired,
        codes::AT_USED => ErrorCode::AtUsed,
        codes::VT_EXPIRED => ErrorCode::VtExpired,
        codes::VT_INVALID | codes::VT_NOT_BOUND => ErrorCode::VtRejected,
        codes::REPLAYED => ErrorCode::Replayed,
        codes::CLOCK_SKEW => ErrorCode::ClockSkew,
        codes::SERVICE_UNKNOWN | codes::SERVICE_REJECTED => ErrorCode::ServiceError,
        codes::RATE_LIMITED => ErrorCode::RateLimited,
        codes::MALFORMED | codes::UNSUPPORTED_VERSION | codes::INTERNAL => ErrorCode::GatewayError,
        other => panic!("gateway code {other} has no expected SDK code in this test"),
    };
    for &c in codes::ALL {
        let e = SdkError::from_gateway_code(c);
        assert_eq!(e.code, expect(c), "{c}");
        assert_eq!(e.gateway_code.as_deref(), Some(c));
        let mut s = String::from(expect(c).as_str());
        s.push(' ');
        s.push_str(c);
        assert_eq!(e.to_thrown(), s);
    }
    // A code from a newer gateway is still an error, with its code visible.
    let e = SdkError::from_gateway_code("SOMETHING_NEW");
    assert_eq!(e.code, ErrorCode::GatewayError);
    assert_eq!(e.to_thrown(), "GATEWAY_ERROR SOMETHING_NEW");
    // Arbitrary text is never passed on.
    let e = SdkError::from_gateway_code("<script>");
    assert_eq!(e.to_thrown(), "GATEWAY_ERROR");
}

#[wasm_bindgen_test]
fn every_code_is_in_the_js_the_types_and_the_readme() {
    let js = include_str!("../js/index.js");
    let types = include_str!("../js/index.d.ts");
    let readme = include_str!("../README.md");
    for c in ErrorCode::ALL {
        let s = c.as_str();
        let mut key = String::from("  ");
        key.push_str(s);
        key.push(':');
        assert!(js.contains(&key), "{s} in js/index.js MESSAGES");
        let mut lit = String::from("\"");
        lit.push_str(s);
        lit.push('"');
        assert!(types.contains(&lit), "{s} in js/index.d.ts");
        let mut row = String::from("| `");
        row.push_str(s);
        row.push('`');
        assert!(readme.contains(&row), "{s} in the README's error table");
    }
}
