//! One HTTP exchange with the gateway and the classification of its answer.
//!
//! Errors before decapsulation come as HTTP statuses, usually with an
//! `application/problem+json` body `{"type","title","status","code"}`; a proxy may instead send
//! HTML or nothing, which still gives HTTP_STATUS with the status, never a parse failure.

use js_sys::{Reflect, Uint8Array, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::error::{from_js, sanitize_code, ErrorCode, SdkError};
use super::js::{h5_fetch, HttpResult};

/// The RFC 9458 §5.3 / RFC 9457 problem type of a request made to an unknown or stale key.
pub const STALE_KEY_PROBLEM: &str = "https://iana.org/assignments/http-problem-types#ohttp-key";
/// `Content-Type` of the key configuration list (RFC 9458 §3.2).
pub const KEYS_MEDIA_TYPE: &str = "application/ohttp-keys";

/// What an answer turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200 with the expected media type: the encapsulated response.
    Body(Vec<u8>),
    /// 422 with the `ohttp-key` problem type: refresh the key configuration and retry once.
    StaleKey,
}

/// Whether `content_type` (parameters ignored, case-insensitive) is `expected`.
pub fn media_type_is(content_type: &str, expected: &str) -> bool {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case(expected)
}

/// Classifies an HTTP answer that was expected to carry `expected_type`.
///
/// Errors: HTTP_STATUS (any status but 200, with `gatewayCode` from a problem body's `code`),
/// BAD_RESPONSE (200 of another media type).
pub fn classify(
    status: u16,
    content_type: &str,
    body: Vec<u8>,
    expected_type: &str,
) -> Result<Answer, SdkError> {
    if status == 200 {
        return if media_type_is(content_type, expected_type) {
            Ok(Answer::Body(body))
        } else {
            Err(ErrorCode::BadResponse.into())
        };
    }
    let (problem_type, problem_code) = if media_type_is(content_type, "application/problem+json") {
        problem_fields(&body)
    } else {
        (None, None)
    };
    if status == 422 && problem_type.as_deref() == Some(STALE_KEY_PROBLEM) {
        return Ok(Answer::StaleKey);
    }
    if status < 100 {
        return Err(ErrorCode::BadResponse.into());
    }
    Err(SdkError {
        code: ErrorCode::HttpStatus,
        status,
        gateway_code: problem_code.as_deref().and_then(sanitize_code),
    })
}

/// `type` and `code` of an RFC 9457 problem body; `None`s for anything unparsable.
fn problem_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(text) = core::str::from_utf8(body) else {
        return (None, None);
    };
    let Ok(value) = JSON::parse(text) else {
        return (None, None);
    };
    if !value.is_object() {
        return (None, None);
    }
    let field = |name: &str| {
        Reflect::get(&value, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
    };
    (field("type"), field("code"))
}

/// Sends one request (body `None`: GET) and returns `(status, content type, body)`.
///
/// Errors: NETWORK, TIMEOUT.
pub async fn send(
    url: &str,
    content_type: &str,
    accept: &str,
    body: Option<&[u8]>,
    timeout_ms: u32,
) -> Result<(u16, String, Vec<u8>), JsValue> {
    let (method, body) = match body {
        Some(b) => ("POST", Some(Uint8Array::from(b))),
        None => ("GET", None),
    };
    let promise = h5_fetch(method, url, content_type, accept, body, timeout_ms);
    let result = JsFuture::from(promise)
        .await
        .map_err(|e| from_js(e, ErrorCode::Network))?;
    if !result.is_object() {
        return Err(SdkError::new(ErrorCode::BadResponse).into());
    }
    let result: HttpResult = result.unchecked_into();
    Ok((
        result.status(),
        result.content_type(),
        result.body().to_vec(),
    ))
}
