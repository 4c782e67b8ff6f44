//! The browser SDK in headless Chromium (`wasm-pack test --headless --chrome -- --test
//! sdk_browser`), against the mock gateway that scripts/test.sh starts: its URL is baked in at
//! build time through the `H5_TEST_GATEWAY` environment variable (wasm-bindgen-test has no
//! process environment at run time).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use h5_access::protocol::{KeyConfig, KeyPair};
use h5_access::sdk::{H5Client, H5Session};
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export async function mintAccessToken(gateway, products, ttl) {
  const r = await fetch(gateway + "/test/access-token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ subject: "u-1", products, ttl_seconds: ttl }),
  });
  if (!r.ok) throw new Error("mint failed " + r.status);
  return (await r.json()).access_token;
}
export async function getBytes(url) {
  return new Uint8Array(await (await fetch(url)).arrayBuffer());
}
export function toBase64(bytes) { return btoa(String.fromCharCode(...bytes)); }
export function setUrl(url) { history.replaceState(null, "", url); }
export function locationHref() { return location.href; }
export function locationHash() { return location.hash; }
export function historyLength() { return history.length; }
export function historyStateJson() { return JSON.stringify(history.state); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = mintAccessToken)]
    fn mint_access_token(gateway: &str, products: Array, ttl: i32) -> Promise;
    #[wasm_bindgen(js_name = getBytes)]
    fn get_bytes(url: &str) -> Promise;
    #[wasm_bindgen(js_name = toBase64)]
    fn to_base64(bytes: &[u8]) -> String;
    #[wasm_bindgen(js_name = setUrl)]
    fn set_url(url: &str);
    #[wasm_bindgen(js_name = locationHref)]
    fn location_href() -> String;
    #[wasm_bindgen(js_name = locationHash)]
    fn location_hash() -> String;
    #[wasm_bindgen(js_name = historyLength)]
    fn history_length() -> u32;
    #[wasm_bindgen(js_name = historyStateJson)]
    fn history_state_json() -> String;
}

#[wasm_bindgen(module = "/js/runtime.js")]
extern "C" {
    #[wasm_bindgen(js_name = takeAccessToken, catch)]
    fn take_access_token() -> Result<String, JsValue>;
}

fn gateway() -> &'static str {
    match option_env!("H5_TEST_GATEWAY") {
        Some(url) => url,
        None => panic!("H5_TEST_GATEWAY is set by scripts/test.sh to the mock gateway's URL"),
    }
}

fn with_base(suffix: &str) -> String {
    let mut s = gateway().to_owned();
    s.push_str(suffix);
    s
}

fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

fn field(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(k)).unwrap()
}

fn code_of(e: &JsValue) -> String {
    field(e, "code").as_string().unwrap_or_default()
}

async fn mint(products: &[&str], ttl: i32) -> String {
    let list: Array = products.iter().map(|p| JsValue::from_str(p)).collect();
    JsFuture::from(mint_access_token(gateway(), list, ttl))
        .await
        .unwrap()
        .as_string()
        .unwrap()
}

async fn create_at(base: &str, extra: &[(&str, JsValue)]) -> Result<H5Client, JsValue> {
    let mut pairs = vec![("gateway", JsValue::from_str(base))];
    pairs.extend(extra.iter().cloned());
    let v = JsFuture::from(H5Client::create(obj(&pairs))).await?;
    // The promise resolves to the wasm-bindgen object; take it back by value.
    Ok(H5Client::try_from_js_value(v).expect("an H5Client"))
}

async fn create() -> H5Client {
    create_at(gateway(), &[]).await.unwrap()
}

async fn exchange(client: &H5Client, at: &str, product: &str) -> Result<H5Session, JsValue> {
    let opts = obj(&[("product", JsValue::from_str(product))]);
    let v = JsFuture::from(client.exchange(JsValue::from_str(at), opts)).await?;
    Ok(H5Session::try_from_js_value(v).expect("an H5Session"))
}

async fn expect_code<T>(r: Result<T, JsValue>, code: &str) -> JsValue {
    match r {
        Ok(_) => panic!("expected {code}, got success"),
        Err(e) => {
            assert_eq!(code_of(&e), code, "error code");
            assert!(e.is_instance_of::<js_sys::Error>(), "an Error object");
            assert_eq!(
                field(&e, "name").as_string().as_deref(),
                Some("H5AccessError")
            );
            e
        }
    }
}

fn js_str(v: &JsValue) -> String {
    v.as_string()
        .unwrap_or_else(|| panic!("not a string: {v:?}"))
}

#[wasm_bindgen_test]
async fn happy_path_page_fields_and_call() {
    let client = create().await;
    let at = mint(&["wealth-01"], 300).await;
    let session = exchange(&client, &at, "wealth-01").await.unwrap();

    let page = session.page();
    assert_eq!(js_str(&field(&page, "title")), "Wealth Plus");
    assert_eq!(
        js_str(&field(&page, "subtitle")),
        "Daily liquidity, low risk"
    );
    assert_eq!(js_str(&field(&page, "theme")), "gold");
    let sections: Array = field(&page, "sections").dyn_into().unwrap();
    assert_eq!(sections.length(), 1);
    let s0 = sections.get(0);
    assert_eq!(js_str(&field(&s0, "title")), "Key facts");
    let fields: Array = field(&s0, "fields").dyn_into().unwrap();
    assert_eq!(fields.length(), 2);
    assert_eq!(js_str(&field(&fields.get(0), "label")), "Product");
    assert_eq!(js_str(&field(&fields.get(0), "value")), "wealth-01");
    assert_eq!(js_str(&field(&fields.get(1), "label")), "Rate");
    assert_eq!(js_str(&field(&fields.get(1), "value")), "3.10%");
    // The same object each time.
    assert!(Object::is(&session.page(), &page));

    // expiresAt: milliseconds since the epoch, in the future.
    let now = js_sys::Date::now();
    assert!(session.expires_at() > now && session.expires_at() < now + 86_400_000.0);
    assert!(!session.closed());

    let answer =
        JsFuture::from(session.call(JsValue::from_str("quote"), obj(&[("amount", 100.into())])))
            .await
            .unwrap();
    assert_eq!(field(&answer, "amount").as_f64(), Some(100.0));
    assert_eq!(field(&answer, "rate").as_f64(), Some(0.031));
}

#[wasm_bindgen_test]
async fn tampered_response_is_decrypt_failed() {
    let client = create_at(&with_base("/test/tamper"), &[]).await.unwrap();
    let at = mint(&["wealth-01"], 300).await;
    expect_code(exchange(&client, &at, "wealth-01").await, "DECRYPT_FAILED").await;
}

#[wasm_bindgen_test]
async fn expired_at_is_at_expired() {
    let client = create().await;
    let at = mint(&["wealth-01"], -600).await;
    expect_code(exchange(&client, &at, "wealth-01").await, "AT_EXPIRED").await;
}

#[wasm_bindgen_test]
async fn reused_at_is_at_used() {
    let client = create().await;
    let at = mint(&["loan-02"], 300).await;
    exchange(&client, &at, "loan-02").await.unwrap();
    expect_code(exchange(&client, &at, "loan-02").await, "AT_USED").await;
}

#[wasm_bindgen_test]
async fn product_outside_scope_is_at_rejected_with_gateway_code() {
    let client = create().await;
    let at = mint(&["wealth-01"], 300).await;
    let e = expect_code(exchange(&client, &at, "card-03").await, "AT_REJECTED").await;
    assert_eq!(
        field(&e, "gatewayCode").as_string().as_deref(),
        Some("PRODUCT_NOT_ALLOWED")
    );
    let msg = field(&e, "message").as_string().unwrap();
    assert!(!msg.contains(&at), "the message never holds the AT");
}

#[wasm_bindgen_test]
async fn missing_at_is_at_missing() {
    let client = create().await;
    expect_code(exchange(&client, "", "wealth-01").await, "AT_MISSING").await;
}

#[wasm_bindgen_test]
async fn gateway_down_is_network() {
    // Nothing listens on the discard port of loopback.
    expect_code(create_at("http://127.0.0.1:9", &[]).await, "NETWORK").await;
}

#[wasm_bindgen_test]
async fn html_error_page_is_http_status() {
    // A path the gateway does not serve: a 404 with an HTML body, as from a proxy.
    let e = expect_code(
        create_at(&with_base("/no-such-base"), &[]).await,
        "HTTP_STATUS",
    )
    .await;
    assert_eq!(field(&e, "status").as_f64(), Some(404.0));
}

#[wasm_bindgen_test]
async fn slow_gateway_is_timeout() {
    let keys: Uint8Array = JsFuture::from(get_bytes(&with_base("/v1/keys")))
        .await
        .unwrap()
        .dyn_into()
        .unwrap();
    let client = create_at(
        &with_base("/test/slow"),
        &[("keyConfig", keys.into()), ("timeoutMs", 500.into())],
    )
    .await
    .unwrap();
    let at = mint(&["wealth-01"], 300).await;
    let start = js_sys::Date::now();
    expect_code(exchange(&client, &at, "wealth-01").await, "TIMEOUT").await;
    let took = js_sys::Date::now() - start;
    assert!(
        took < 2500.0,
        "rejected after {took} ms, not after the gateway's 3 s"
    );
}

#[wasm_bindgen_test]
async fn stale_pinned_key_refreshes_once_then_succeeds() {
    let stale = KeyPair::derive(99, b"a key id the gateway does not know.....");
    let list = KeyConfig::encode_list(&[stale.config().clone()]);
    let client = create_at(
        gateway(),
        &[("keyConfig", Uint8Array::from(&list[..]).into())],
    )
    .await
    .unwrap();
    let at = mint(&["wealth-01"], 300).await;
    let session = exchange(&client, &at, "wealth-01").await.unwrap();
    assert_eq!(js_str(&field(&session.page(), "title")), "Wealth Plus");
}

#[wasm_bindgen_test]
async fn stale_pinned_key_as_base64_also_refreshes() {
    let stale = KeyPair::derive(98, b"another key id the gateway does not know");
    let list = KeyConfig::encode_list(&[stale.config().clone()]);
    let b64 = to_base64(&list);
    let client = create_at(gateway(), &[("keyConfig", JsValue::from_str(&b64))])
        .await
        .unwrap();
    let at = mint(&["card-03"], 300).await;
    exchange(&client, &at, "card-03").await.unwrap();
}

#[wasm_bindgen_test]
async fn closed_session_is_session_closed() {
    let client = create().await;
    let at = mint(&["wealth-01"], 300).await;
    let session = exchange(&client, &at, "wealth-01").await.unwrap();
    session.close();
    assert!(session.closed());
    session.close(); // idempotent
    let r = JsFuture::from(session.call(JsValue::from_str("quote"), obj(&[("amount", 1.into())])))
        .await;
    expect_code(r, "SESSION_CLOSED").await;
}

#[wasm_bindgen_test]
async fn close_during_a_call_rejects_it() {
    let client = create().await;
    let at = mint(&["wealth-01"], 300).await;
    let session = exchange(&client, &at, "wealth-01").await.unwrap();
    let pending = session.call(JsValue::from_str("quote"), obj(&[("amount", 1.into())]));
    session.close();
    expect_code(JsFuture::from(pending).await, "SESSION_CLOSED").await;
}

#[wasm_bindgen_test]
async fn unknown_service_is_service_error() {
    let client = create().await;
    let at = mint(&["wealth-01"], 300).await;
    let session = exchange(&client, &at, "wealth-01").await.unwrap();
    let r = JsFuture::from(session.call(JsValue::from_str("no-such-service"), obj(&[]))).await;
    let e = expect_code(r, "SERVICE_ERROR").await;
    assert_eq!(
        field(&e, "gatewayCode").as_string().as_deref(),
        Some("SERVICE_UNKNOWN")
    );
}

#[wasm_bindgen_test]
async fn bad_arguments_are_invalid_argument() {
    expect_code(
        JsFuture::from(H5Client::create(JsValue::UNDEFINED)).await,
        "INVALID_ARGUMENT",
    )
    .await;
    expect_code(
        create_at(gateway(), &[("timeoutMs", (-1).into())]).await,
        "INVALID_ARGUMENT",
    )
    .await;
    expect_code(
        create_at(gateway(), &[("keyConfig", JsValue::from_str("!!"))]).await,
        "KEY_CONFIG",
    )
    .await;
    let client = create().await;
    expect_code(
        exchange(&client, "AT.x", "bad product!").await,
        "INVALID_ARGUMENT",
    )
    .await;
    let at = mint(&["wealth-01"], 300).await;
    let session = exchange(&client, &at, "wealth-01").await.unwrap();
    // A value JSON.stringify cannot serialise: a BigInt.
    let big = js_sys::BigInt::from(1u64);
    expect_code(
        JsFuture::from(session.call(JsValue::from_str("quote"), big.into())).await,
        "INVALID_ARGUMENT",
    )
    .await;
}

#[wasm_bindgen_test]
fn take_access_token_leaves_no_at_in_location_or_history() {
    let secret_at = "AT.secret-token_0123456789";
    let before = history_length();
    let mut url = String::from("?q=1#lang=zh&at=");
    url.push_str(secret_at);
    url.push_str("&theme=dark");
    set_url(&url);
    assert!(location_href().contains(secret_at));

    assert_eq!(take_access_token().unwrap(), secret_at);
    assert!(!location_href().contains(secret_at), "location.href");
    assert!(!location_hash().contains(secret_at), "location.hash");
    assert_eq!(
        location_hash(),
        "#lang=zh&theme=dark",
        "other parameters kept"
    );
    assert!(location_href().contains("?q=1"), "the query is kept");
    assert_eq!(history_length(), before, "no history entry added");
    assert!(!history_state_json().contains(secret_at), "history.state");

    // A second call finds nothing.
    let e = take_access_token().unwrap_err();
    assert_eq!(code_of(&e), "AT_MISSING");

    // Only token: the hash goes entirely.
    let mut url = String::from("#at=");
    url.push_str(secret_at);
    set_url(&url);
    assert_eq!(take_access_token().unwrap(), secret_at);
    assert_eq!(location_hash(), "");
    assert!(!location_href().contains(secret_at));
}
