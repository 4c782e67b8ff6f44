//! The SDK's pure logic under Node.js (`wasm-pack test --node -- --test sdk_node`): answer
//! classification, key configuration input, the gateway-code mapping, and the error values JS
//! sees (including rejections that are not Error objects). No network.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use h5_access::protocol::{codes, KeyConfig, KeyPair};
use h5_access::sdk::client::{decode_base64, first_config};
use h5_access::sdk::error::from_js;
use h5_access::sdk::http::{classify, media_type_is, Answer, STALE_KEY_PROBLEM};
use h5_access::sdk::{ErrorCode, SdkError};
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

const RES: &str = "application/vnd.h5-access.exchange-res";

fn field(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(k)).unwrap()
}

#[wasm_bindgen_test]
fn ok_answer_needs_the_media_type() {
    assert_eq!(
        classify(200, RES, vec![1, 2], RES),
        Ok(Answer::Body(vec![1, 2]))
    );
    assert_eq!(
        classify(
            200,
            "Application/VND.h5-access.exchange-res; x=1",
            vec![],
            RES
        ),
        Ok(Answer::Body(vec![]))
    );
    // A captive portal's 200 HTML page.
    let e = classify(200, "text/html", b"<html>".to_vec(), RES).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadResponse);
}

#[wasm_bindgen_test]
fn html_and_empty_error_bodies_are_http_status() {
    for (status, ct, body) in [
        (
            502u16,
            "text/html",
            b"<html><body>Bad Gateway</body></html>".to_vec(),
        ),
        (500, "", Vec::new()),
        (404, "application/problem+json", b"not json at all".to_vec()),
        (503, "application/problem+json", b"[1,2]".to_vec()),
        (422, "text/html", b"<html>".to_vec()),
    ] {
        let e = classify(status, ct, body, RES).unwrap_err();
        assert_eq!(e.code, ErrorCode::HttpStatus);
        assert_eq!(e.status, status);
        assert_eq!(e.gateway_code, None);
    }
}

#[wasm_bindgen_test]
fn problem_code_is_kept_only_if_it_looks_like_a_code() {
    let body = br#"{"type":"about:blank","title":"x","status":400,"code":"MALFORMED"}"#.to_vec();
    let e = classify(400, "application/problem+json", body, RES).unwrap_err();
    assert_eq!(
        (e.status, e.gateway_code.as_deref()),
        (400, Some("MALFORMED"))
    );
    let body = br#"{"code":"<script>alert(1)</script>"}"#.to_vec();
    let e = classify(400, "application/problem+json", body, RES).unwrap_err();
    assert_eq!(e.gateway_code, None);
}

#[wasm_bindgen_test]
fn stale_key_signal_is_422_with_the_ohttp_key_problem_type() {
    let mut body = String::from(r#"{"type":""#);
    body.push_str(STALE_KEY_PROBLEM);
    body.push_str(r#"","status":422}"#);
    assert_eq!(
        classify(
            422,
            "application/problem+json",
            body.clone().into_bytes(),
            RES
        ),
        Ok(Answer::StaleKey)
    );
    // Another status or problem type is not the signal: no retry.
    assert!(classify(400, "application/problem+json", body.into_bytes(), RES).is_err());
    let other = br#"{"type":"about:blank","status":422}"#.to_vec();
    assert!(classify(422, "application/problem+json", other, RES).is_err());
}

#[wasm_bindgen_test]
fn media_type_comparison() {
    assert!(media_type_is(
        " application/ohttp-keys ; q=1",
        "application/ohttp-keys"
    ));
    assert!(!media_type_is(
        "application/ohttp-keys2",
        "application/ohttp-keys"
    ));
    assert!(!media_type_is("", "application/ohttp-keys"));
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
fn base64_both_alphabets() {
    assert_eq!(decode_base64("+/8=").unwrap(), vec![0xfb, 0xff]);
    assert_eq!(decode_base64("-_8").unwrap(), vec![0xfb, 0xff]);
    assert_eq!(decode_base64("aGk=").unwrap(), b"hi".to_vec());
    assert_eq!(decode_base64("").unwrap(), Vec::<u8>::new());
    assert!(decode_base64("a").is_none());
    assert!(decode_base64("aG k").is_none());
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
        codes::MALFORMED | codes::UNSUPPORTED_VERSION | codes::INTERNAL => ErrorCode::GatewayError,
        other => panic!("gateway code {other} has no expected SDK code in this test"),
    };
    for &c in codes::ALL {
        let e = SdkError::from_gateway_code(c);
        assert_eq!(e.code, expect(c), "{c}");
        assert_eq!(e.gateway_code.as_deref(), Some(c));
    }
    // A code from a newer gateway is still an error, with its code visible.
    let e = SdkError::from_gateway_code("SOMETHING_NEW");
    assert_eq!(e.code, ErrorCode::GatewayError);
    assert_eq!(e.gateway_code.as_deref(), Some("SOMETHING_NEW"));
}

#[wasm_bindgen_test]
fn every_code_is_in_the_js_runtime_the_types_and_the_readme() {
    let runtime = include_str!("../js/runtime.js");
    let types = include_str!("../js/index.d.ts");
    let readme = include_str!("../README.md");
    for c in ErrorCode::ALL {
        let s = c.as_str();
        let mut key = String::from("  ");
        key.push_str(s);
        key.push(':');
        assert!(runtime.contains(&key), "{s} in js/runtime.js MESSAGES");
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

#[wasm_bindgen_test]
fn errors_reach_js_as_h5_access_error() {
    for &c in ErrorCode::ALL {
        let v = JsValue::from(SdkError::new(c));
        assert!(v.is_instance_of::<js_sys::Error>());
        assert_eq!(
            field(&v, "name").as_string().as_deref(),
            Some("H5AccessError")
        );
        assert_eq!(field(&v, "code").as_string().as_deref(), Some(c.as_str()));
        assert!(field(&v, "status").is_undefined());
        assert!(field(&v, "gatewayCode").is_undefined());
        let msg = field(&v, "message").as_string().unwrap();
        assert!(!msg.is_empty());
    }
    let v = JsValue::from(SdkError {
        code: ErrorCode::HttpStatus,
        status: 503,
        gateway_code: Some("INTERNAL".into()),
    });
    assert_eq!(field(&v, "status").as_f64(), Some(503.0));
    assert_eq!(
        field(&v, "gatewayCode").as_string().as_deref(),
        Some("INTERNAL")
    );
}

#[wasm_bindgen_test]
fn rejections_that_are_not_errors_are_mapped() {
    for thrown in [
        JsValue::UNDEFINED,
        JsValue::NULL,
        JsValue::from_str("boom"),
        JsValue::from_f64(42.0),
        js_sys::Object::new().into(),
        js_sys::Error::new("plain").into(),
    ] {
        let v = from_js(thrown, ErrorCode::Network);
        assert_eq!(field(&v, "code").as_string().as_deref(), Some("NETWORK"));
    }
    // An H5AccessError passes through unchanged.
    let original = JsValue::from(SdkError::new(ErrorCode::Timeout));
    let v = from_js(original.clone(), ErrorCode::Network);
    assert!(js_sys::Object::is(&v, &original));
}
