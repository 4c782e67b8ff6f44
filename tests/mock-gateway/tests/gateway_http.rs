//! The mock gateway over real HTTP on loopback: the router served on 127.0.0.1:0 in-process,
//! driven by the client core over reqwest (`support::Reqwest`), plus one test of the real
//! binary. Every refusal asserts its exact code: the client core's `ErrorCode` and the
//! gateway's code (and the HTTP status before decapsulation).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use h5_access::client::{
    random_request_id, seal_exchange, Client, ClientError, ErrorCode, HttpRequest, Session,
    Transport as _, KEYS_MEDIA_TYPE,
};
use h5_access::partner::PartnerCredentials;
use h5_access::protocol::{Channel, KeyConfig, SessionSecret, Token};
use h5_mock_gateway::{
    app, demo_partner_secret, serve, Options, DEMO_PARTNER_ID, HEADER_READ_TIMEOUT,
};
use serde_json::Value;
use support::{now, seal_by_hand, sealed_refusal, ByHand, Reqwest as Gw};

const SEED: &str = "gateway-http-tests";

async fn start_with(options: Options) -> Gw {
    start_custom(options, HEADER_READ_TIMEOUT).await
}

/// Serves with the binary's own server loop (`h5_mock_gateway::serve`).
async fn start_custom(options: Options, header_read_timeout: Duration) -> Gw {
    let router = app(&options).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(
        listener,
        router,
        header_read_timeout,
        std::future::pending(),
    ));
    Gw::new(format!("http://{addr}"), Duration::from_secs(20))
}

async fn start() -> Gw {
    start_with(Options {
        seed: Some(SEED.into()),
        test_hooks: true,
        ..Options::default()
    })
    .await
}

/// An exchange of `at` on `product` sealed by the client core now (fresh request id), with
/// `client_time`.
fn sealed_exchange(
    cfg: &KeyConfig,
    at: &str,
    product: &str,
    client_time: u64,
) -> h5_access::client::Pending {
    seal_exchange(cfg, at, product, random_request_id().unwrap(), client_time).unwrap()
}

/// The `Content-Type` the client core sends with an exchange (for the raw-TCP requests).
fn exchange_content_type() -> &'static str {
    HttpRequest::encapsulated(Channel::Exchange, Vec::new())
        .content_type
        .unwrap()
}

/// The session's page data, parsed.
fn page(s: &Session) -> Value {
    serde_json::from_str(s.page()).unwrap()
}

/// A service's JSON answer, parsed.
fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

fn demo_partner() -> PartnerCredentials {
    PartnerCredentials::new(DEMO_PARTNER_ID, demo_partner_secret(SEED)).unwrap()
}

async fn partner_at(gw: &Gw, subject: &str, products: &[&str]) -> String {
    let creds = demo_partner();
    let body = PartnerCredentials::access_token_request_body(subject, products);
    let auth = creds
        .sign_now("POST", "/v1/partner/access-token", body.as_bytes())
        .unwrap();
    let r = gw
        .post(
            "/v1/partner/access-token",
            "application/json",
            body.into_bytes(),
            Some(&auth),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    let at = creds.open_access_token_response(&r.body).unwrap();
    let exp = r.json()["exp"].as_u64().unwrap();
    assert!(
        exp.abs_diff(now() + 300) <= 5,
        "default AT lifetime is 5 min"
    );
    assert_eq!(at.exp, exp);
    at.token.as_str().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_flow_partner_at_exchange_vt_service_calls() {
    let gw = start().await;
    let at = partner_at(&gw, "u-1", &["wealth-01", "loan-02"]).await;
    assert!(at.len() <= 2048 && at.bytes().all(|b| b.is_ascii_graphic()));
    let client = gw.client().await;
    let session = client.exchange(&at, "wealth-01").await.unwrap();
    assert!(session.issued_token().as_bytes().len() <= 2048);
    assert!(
        session.exp().abs_diff(now() + 900) <= 5,
        "default VT lifetime is 15 min"
    );
    let page = page(&session);
    assert_eq!(page["product"], "wealth-01");
    assert_eq!(page["title"], "Steady Growth Fund");
    assert_eq!(page["theme"]["primary"], "#C8102E");
    assert_eq!(
        page["sections"][0]["fields"][0]["label"],
        "7-day annualised yield"
    );

    let profile = json(&client.call(&session, "profile", "{}").await.unwrap());
    assert_eq!(profile["display_name"], "u*1");
    assert_eq!(profile["product"], "wealth-01");
    assert_eq!(profile["partner"], DEMO_PARTNER_ID);

    let quote = json(
        &client
            .call(&session, "quote", r#"{"amount_cents":1000000,"months":12}"#)
            .await
            .unwrap(),
    );
    assert_eq!(quote["rate_bps"], 320);
    assert_eq!(quote["interest_cents"], 32000);
    assert_eq!(quote["total_cents"], 1_032_000);

    let echo = r#"{"hello":["world",1,true]}"#;
    assert_eq!(client.call(&session, "echo", echo).await.unwrap(), echo);
    assert_eq!(
        client.call(&session, "nope", "{}").await.unwrap_err(),
        sealed_refusal(ErrorCode::ServiceError, "SERVICE_UNKNOWN")
    );
    assert_eq!(
        client
            .call(&session, "quote", r#"{"amount_cents":0,"months":12}"#)
            .await
            .unwrap_err(),
        sealed_refusal(ErrorCode::ServiceError, "SERVICE_REJECTED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_partner_launch_gives_a_usable_at() {
    let gw = start().await;
    let r = gw
        .post(
            "/demo/partner/launch",
            "application/json",
            br#"{"product":"card-03"}"#.to_vec(),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["subject"], "demo-user");
    let session = gw
        .exchange(v["access_token"].as_str().unwrap(), "card-03")
        .await
        .unwrap();
    assert_eq!(page(&session)["title"], "Platinum Travel Card");
    let profile = json(&gw.call(&session, "profile", "{}").await.unwrap());
    assert_eq!(profile["display_name"], "d*******r");
    let r = gw
        .post(
            "/demo/partner/launch",
            "application/json",
            br#"{"product":"nope-9"}"#.to_vec(),
            None,
        )
        .await;
    r.assert_problem(403, "PARTNER_PRODUCT_NOT_ALLOWED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_reuse_sequential_is_refused() {
    let gw = start().await;
    let at = gw.mint_at("u-2", &["loan-02"], 300).await;
    gw.exchange(&at, "loan-02").await.unwrap();
    assert_eq!(
        gw.exchange(&at, "loan-02").await.unwrap_err(),
        sealed_refusal(ErrorCode::AtUsed, "AT_USED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_reuse_50_concurrent_exchanges_exactly_one_vt() {
    let gw = std::sync::Arc::new(start().await);
    let at = gw.mint_at("u-3", &["wealth-01"], 300).await;
    let cfg = gw.key().await;
    let reqs: Vec<_> = (0..50)
        .map(|_| sealed_exchange(&cfg, &at, "wealth-01", now()))
        .collect();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = reqs
        .into_iter()
        .map(|pending| {
            let gw = gw.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                gw.send_exchange(pending).await
            })
        })
        .collect();
    let used_code = sealed_refusal(ErrorCode::AtUsed, "AT_USED");
    let (mut ok, mut used) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) if e == used_code => used += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((ok, used), (1, 49));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_at_is_refused() {
    let gw = start().await;
    // 120 s in the past: beyond the 30 s skew.
    let at = gw.mint_at("u-4", &["wealth-01"], -120).await;
    assert_eq!(
        gw.exchange(&at, "wealth-01").await.unwrap_err(),
        sealed_refusal(ErrorCode::AtExpired, "AT_EXPIRED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_scope_product_and_genuineness() {
    let gw = start().await;
    let at = gw.mint_at("u-5", &["wealth-01"], 300).await;
    assert_eq!(
        gw.exchange(&at, "loan-02").await.unwrap_err(),
        sealed_refusal(ErrorCode::AtRejected, "PRODUCT_NOT_ALLOWED")
    );
    assert_eq!(
        gw.exchange(&at, "no-such-product").await.unwrap_err(),
        sealed_refusal(ErrorCode::AtRejected, "PRODUCT_UNKNOWN")
    );
    let mut forged = at.clone().into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        gw.exchange(std::str::from_utf8(&forged).unwrap(), "wealth-01")
            .await
            .unwrap_err(),
        sealed_refusal(ErrorCode::AtRejected, "AT_INVALID")
    );
    // An AT of another gateway (other seed) is not genuine here.
    let other = start_with(Options {
        seed: Some("other".into()),
        test_hooks: true,
        ..Options::default()
    })
    .await;
    let foreign = other.mint_at("u-5", &["wealth-01"], 300).await;
    assert_eq!(
        gw.exchange(&foreign, "wealth-01").await.unwrap_err(),
        sealed_refusal(ErrorCode::AtRejected, "AT_INVALID")
    );
    // Client clock far off (the core seals with any client time).
    let skewed = sealed_exchange(&gw.key().await, &at, "wealth-01", now() - 3600);
    assert_eq!(
        gw.send_exchange(skewed).await.unwrap_err(),
        sealed_refusal(ErrorCode::ClockSkew, "CLOCK_SKEW")
    );
    // None of those refusals consumed the AT.
    gw.exchange(&at, "wealth-01").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_exchange_is_refused_and_at_stays_usable() {
    let gw = start().await;
    let at = gw.mint_at("u-6", &["wealth-01"], 300).await;
    let pending = sealed_exchange(&gw.key().await, &at, "wealth-01", now());
    let req = pending.http_request();
    let len = req.body.len();
    // enc (7..39), ciphertext, tag (last 16 bytes)
    for pos in [7, 20, 38, 39, 60, len / 2, len - 17, len - 1] {
        let mut bad = req.clone();
        bad.body[pos] ^= 0x40;
        gw.assert_refused(bad, 400, "DECRYPT_FAILED").await;
    }
    let mut bad = req.clone();
    bad.body[2] ^= 0x01; // KEM id
    gw.assert_refused(bad, 400, "UNSUPPORTED_SUITE").await;
    let mut bad = req.clone();
    bad.body.truncate(40);
    gw.assert_refused(bad, 400, "TRUNCATED").await;
    gw.send_exchange(pending).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_exchange_and_call_are_refused() {
    let gw = start().await;
    let replayed = sealed_refusal(ErrorCode::Replayed, "REPLAYED");
    let at = gw.mint_at("u-7", &["wealth-01"], 300).await;
    let cfg = gw.key().await;
    // The very same bytes sent twice (both answers read: sealed by hand).
    let x = seal_by_hand(
        &cfg,
        ByHand::Exchange {
            at: &at,
            product: "wealth-01",
        },
    );
    let vt = gw.send_hand_exchange(&x).await.unwrap().vt;
    assert_eq!(gw.send_hand_exchange(&x).await.unwrap_err(), replayed);

    let secret = x.session_secret();
    let call = seal_by_hand(
        &cfg,
        ByHand::Call {
            vt: &vt,
            secret: &secret,
            service: "echo",
            body: "{}",
        },
    );
    assert_eq!(gw.send_hand_call(&call).await.unwrap(), "{}");
    assert_eq!(gw.send_hand_call(&call).await.unwrap_err(), replayed);

    // The same request id in a new encapsulation (the core seals with the id it is given):
    // REPLAYED too, for an exchange and for a call.
    let at = gw.mint_at("u-7b", &["wealth-01"], 300).await;
    let rid = random_request_id().unwrap();
    let seal = || seal_exchange(&cfg, &at, "wealth-01", rid, now()).unwrap();
    let session = gw.send_exchange(seal()).await.unwrap();
    assert_eq!(gw.send_exchange(seal()).await.unwrap_err(), replayed);
    let rid = random_request_id().unwrap();
    let seal = || session.seal_call(&cfg, "echo", "{}", rid, now()).unwrap();
    assert_eq!(gw.send_call(seal()).await.unwrap(), "{}");
    assert_eq!(gw.send_call(seal()).await.unwrap_err(), replayed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vt_with_another_sessions_secret_is_refused() {
    let gw = start().await;
    let cfg = gw.key().await;
    let at1 = gw.mint_at("u-8", &["wealth-01"], 300).await;
    let at2 = gw.mint_at("u-9", &["wealth-01"], 300).await;
    let s1 = gw.exchange(&at1, "wealth-01").await.unwrap();
    // The second session's secret, which a core `Session` never gives out: sealed by hand.
    let x2 = seal_by_hand(
        &cfg,
        ByHand::Exchange {
            at: &at2,
            product: "wealth-01",
        },
    );
    gw.send_hand_exchange(&x2).await.unwrap();
    let s2 = x2.session_secret();
    let call = |vt: &Token, secret: &SessionSecret| {
        let sealed = seal_by_hand(
            &cfg,
            ByHand::Call {
                vt,
                secret,
                service: "profile",
                body: "{}",
            },
        );
        let gw = &gw;
        async move { gw.send_hand_call(&sealed).await }
    };
    let vt1 = s1.issued_token();
    let not_bound = sealed_refusal(ErrorCode::VtRejected, "VT_NOT_BOUND");
    assert_eq!(call(vt1, &s2).await.unwrap_err(), not_bound);
    let junk = SessionSecret::from_bytes([7; 32]);
    assert_eq!(call(vt1, &junk).await.unwrap_err(), not_bound);
    // An AT is not a VT.
    let at_as_vt = Token::new(at1.into_bytes()).unwrap();
    assert_eq!(
        call(&at_as_vt, &s2).await.unwrap_err(),
        sealed_refusal(ErrorCode::VtRejected, "VT_INVALID")
    );
    // The first session's own calls still pass.
    assert_eq!(
        json(&gw.call(&s1, "profile", "{}").await.unwrap())["display_name"],
        "u*8"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_endpoint_rotation_and_unknown_key_id() {
    let gw = start().await;
    let res = gw.send(HttpRequest::keys()).await.unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.content_type, KEYS_MEDIA_TYPE);
    assert_eq!(res.cache_control, "public, max-age=300");
    let list = KeyConfig::decode_list(&res.body.unwrap()).unwrap();
    assert_eq!(list.len(), 1);
    let old = list[0].clone();
    assert_eq!(old.key_id(), 1);

    let at = gw.mint_at("u-10", &["wealth-01"], 300).await;
    let pending_old = sealed_exchange(&old, &at, "wealth-01", now());
    // Unknown key id: the RFC 9458 §5.3 signal.
    let mut bad = pending_old.http_request();
    bad.body[0] = 0x77;
    gw.assert_stale_key(bad).await;

    let r = gw
        .post("/test/rotate-keys", "application/json", vec![], None)
        .await;
    assert_eq!(r.json()["current_key_id"], 2);
    let res = gw.send(HttpRequest::keys()).await.unwrap();
    let list = KeyConfig::decode_list(&res.body.unwrap()).unwrap();
    assert_eq!(
        list.iter().map(KeyConfig::key_id).collect::<Vec<_>>(),
        vec![2, 1]
    );
    // The previous key is still accepted.
    gw.send_exchange(pending_old).await.unwrap();
    gw.post("/test/rotate-keys", "application/json", vec![], None)
        .await;
    let at = gw.mint_at("u-10", &["wealth-01"], 300).await;
    let pending = sealed_exchange(&old, &at, "wealth-01", now());
    gw.assert_stale_key(pending.http_request()).await;
    // A client pinned to the dropped key: one refresh on the signal, one retry, issued.
    let pinned = Client::with_key_config(gw.clone(), &old.encode()).unwrap();
    pinned.exchange(&at, "wealth-01").await.unwrap();
    assert_eq!(pinned.key_config().key_id(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_body_and_wrong_media_type() {
    let gw = start().await;
    let big = vec![0u8; 64 * 1024 + 1];
    for channel in [Channel::Exchange, Channel::Call] {
        let req = HttpRequest::encapsulated(channel, big.clone());
        gw.assert_refused(req, 413, "TOO_LARGE").await;
    }
    for path in ["/v1/partner/access-token", "/demo/partner/launch"] {
        gw.post(path, "application/json", big.clone(), None)
            .await
            .assert_problem(413, "TOO_LARGE");
    }
    gw.post(
        "/v1/exchange",
        "application/octet-stream",
        vec![1, 2, 3],
        None,
    )
    .await
    .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    // A call carrying the exchange's media type.
    let mut req = HttpRequest::encapsulated(Channel::Call, vec![1, 2, 3]);
    req.content_type = HttpRequest::encapsulated(Channel::Exchange, Vec::new()).content_type;
    gw.assert_refused(req, 415, "UNSUPPORTED_MEDIA_TYPE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_plaintext_gets_its_code() {
    let gw = start().await;
    let cfg = gw.key().await;
    for channel in [Channel::Exchange, Channel::Call] {
        for (plaintext, code) in [
            (vec![1u8, 2, 3], "MALFORMED"),
            (vec![], "MALFORMED"),
            (vec![2u8; 40], "UNSUPPORTED_VERSION"),
        ] {
            let sealed = seal_by_hand(
                &cfg,
                ByHand::Plaintext {
                    channel,
                    plaintext: &plaintext,
                },
            );
            let body = gw.body(sealed.http_request()).await;
            let got = match channel {
                Channel::Exchange => sealed.open_exchange(&body).unwrap_err(),
                _ => sealed.open_call(&body).unwrap_err(),
            };
            assert_eq!(got, sealed_refusal(ErrorCode::GatewayError, code));
        }
    }
    // A call request sent to the exchange endpoint does not open (different HPKE info).
    let call = seal_by_hand(
        &cfg,
        ByHand::Plaintext {
            channel: Channel::Call,
            plaintext: b"x",
        },
    );
    let req = HttpRequest::encapsulated(Channel::Exchange, call.request().to_vec());
    gw.assert_refused(req, 400, "DECRYPT_FAILED").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_authentication_failures_are_401() {
    let gw = start().await;
    let creds = demo_partner();
    let path = "/v1/partner/access-token";
    let body = PartnerCredentials::access_token_request_body("u-11", &["wealth-01"]);
    let send = |auth: Option<String>, body: String| {
        let gw = &gw;
        async move {
            gw.post(path, "application/json", body.into_bytes(), auth.as_deref())
                .await
        }
    };
    // Bad signature: signed by a different secret.
    let wrong = PartnerCredentials::new(DEMO_PARTNER_ID, b"not-the-secret-not-the-secret".to_vec())
        .unwrap();
    let auth = wrong.sign_now("POST", path, body.as_bytes()).unwrap();
    send(Some(auth), body.clone())
        .await
        .assert_problem(401, "PARTNER_SIGNATURE");
    // Bad signature: body changed after signing.
    let auth = creds.sign_now("POST", path, body.as_bytes()).unwrap();
    send(Some(auth), body.replace("u-11", "u-12"))
        .await
        .assert_problem(401, "PARTNER_SIGNATURE");
    // Stale timestamp (10 min old; window ±5 min).
    let auth = creds
        .sign(
            "POST",
            path,
            body.as_bytes(),
            now() - 600,
            "stale-nonce-0123456789",
        )
        .unwrap();
    send(Some(auth), body.clone())
        .await
        .assert_problem(401, "PARTNER_TIMESTAMP");
    // Reused nonce.
    let auth = creds
        .sign(
            "POST",
            path,
            body.as_bytes(),
            now(),
            "reused-nonce-0123456789",
        )
        .unwrap();
    assert_eq!(send(Some(auth.clone()), body.clone()).await.status, 200);
    send(Some(auth), body.clone())
        .await
        .assert_problem(401, "PARTNER_NONCE_REUSED");
    // Unknown partner: answered like a bad signature (issue 14 §3, no enumeration of ids).
    let stranger = PartnerCredentials::new("stranger", demo_partner_secret(SEED)).unwrap();
    let auth = stranger.sign_now("POST", path, body.as_bytes()).unwrap();
    send(Some(auth), body.clone())
        .await
        .assert_problem(401, "PARTNER_SIGNATURE");
    // Missing or malformed header.
    send(None, body.clone())
        .await
        .assert_problem(401, "PARTNER_AUTH_MALFORMED");
    send(Some("Bearer abc".into()), body.clone())
        .await
        .assert_problem(401, "PARTNER_AUTH_MALFORMED");
    // Signed, but not the expected body / product.
    let junk = r#"{"subject":"u-11"}"#.to_owned();
    let auth = creds.sign_now("POST", path, junk.as_bytes()).unwrap();
    send(Some(auth), junk)
        .await
        .assert_problem(400, "PARTNER_BAD_REQUEST");
    let other = PartnerCredentials::access_token_request_body("u-11", &["gold-99"]);
    let auth = creds.sign_now("POST", path, other.as_bytes()).unwrap();
    send(Some(auth), other)
        .await
        .assert_problem(403, "PARTNER_PRODUCT_NOT_ALLOWED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_reflects_origin() {
    let gw = start().await;
    let res = gw
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/v1/exchange", gw.base))
        .header("origin", "http://127.0.0.1:5555")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "http://127.0.0.1:5555");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("content-type"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_hooks_tamper_slow_and_off_by_default() {
    let gw = start().await;
    let at = gw.mint_at("u-13", &["wealth-01"], 300).await;
    let pending = sealed_exchange(&gw.key().await, &at, "wealth-01", now());
    let mut req = pending.http_request();
    req.path = "/test/tamper/v1/exchange";
    let body = gw.body(req).await;
    assert_eq!(
        pending.open_exchange(&body).unwrap_err(),
        ClientError::new(ErrorCode::DecryptFailed)
    );

    let quick = Gw::new(gw.base.clone(), Duration::from_millis(1000));
    let slow = HttpRequest {
        path: "/test/slow/v1/keys",
        ..HttpRequest::keys()
    };
    let err = quick.send(slow).await.unwrap_err();
    assert_eq!(err, ClientError::new(ErrorCode::Timeout));

    let plain = start_with(Options::default()).await;
    let r = plain
        .post(
            "/test/access-token",
            "application/json",
            b"{}".to_vec(),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    let r = plain
        .post("/test/rotate-keys", "application/json", vec![], None)
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_prints_its_address_and_serves() {
    use tokio::io::AsyncBufReadExt as _;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_h5-mock-gateway"))
        .args(["--listen", "127.0.0.1:0", "--seed", SEED, "--vt-ttl", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let base = line
        .strip_prefix("h5-mock-gateway listening on ")
        .unwrap()
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"));
    let gw = Gw::new(base, Duration::from_secs(10));
    let res = gw
        .http
        .get(format!("{}/healthz", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Same seed → same keys and demo partner secret as the in-process server.
    let at = partner_at(&gw, "u-14", &["loan-02"]).await;
    let session = gw.exchange(&at, "loan-02").await.unwrap();
    assert!(
        session.exp().abs_diff(now() + 60) <= 5,
        "--vt-ttl is honoured"
    );
    assert_eq!(page(&session)["title"], "Flexi Cash Loan");
    let vt = session.issued_token();
    assert!(!vt.as_str().is_empty());
    let inproc = start().await;
    assert_eq!(inproc.key().await.encode(), gw.key().await.encode());
    let r = gw
        .post("/test/rotate-keys", "application/json", vec![], None)
        .await;
    assert_eq!(r.status, 404, "test hooks are off without --test-hooks");

    // Graceful shutdown on SIGTERM; the log never contains the tokens.
    let pid = child.id().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("/v1/exchange"));
    assert!(!log.contains(&at));
    assert!(!log.contains(vt.as_str()));
}

impl Gw {
    fn addr(&self) -> &str {
        self.base.strip_prefix("http://").unwrap()
    }

    /// Writes `raw` on a fresh connection, then reads until the server closes it or `wait`
    /// passes. Returns what was read and whether the server closed the connection in time.
    async fn raw(&self, raw: &[u8], wait: Duration) -> (String, bool) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut s = tokio::net::TcpStream::connect(self.addr()).await.unwrap();
        s.write_all(raw).await.unwrap();
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(wait, async {
            let mut chunk = [0u8; 4096];
            loop {
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        })
        .await
        .is_ok();
        (String::from_utf8_lossy(&buf).into_owned(), closed)
    }
}

fn assert_raw_problem(reply: &str, status: u16, code: &str) {
    assert!(
        reply.starts_with(&format!("HTTP/1.1 {status} ")),
        "expected {status}: {reply:?}"
    );
    assert!(reply.contains(&format!(r#""code":"{code}""#)), "{reply:?}");
}

/// Finding 3: a declared Content-Length over 64 KiB is refused at once, without waiting for
/// (or reading) the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_oversize_length_is_refused_immediately() {
    let gw = start().await;
    let ctype = exchange_content_type();
    for path in [
        "/v1/exchange",
        "/v1/partner/access-token",
        "/demo/partner/launch",
    ] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n\
             Content-Length: 1000000000\r\n\r\n"
        );
        let start = std::time::Instant::now();
        let (reply, _) = gw.raw(head.as_bytes(), Duration::from_secs(3)).await;
        assert_raw_problem(&reply, 413, "TOO_LARGE");
        assert!(start.elapsed() < Duration::from_secs(2), "{path}");
    }
}

/// Finding 3: incomplete headers do not hold a connection open; a body shorter than declared
/// gets 408 REQUEST_TIMEOUT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_time_out() {
    let gw = start_custom(
        Options {
            seed: Some(SEED.into()),
            request_timeout: Some(Duration::from_secs(1)),
            ..Options::default()
        },
        Duration::from_secs(1),
    )
    .await;
    let (_, closed) = gw
        .raw(
            b"POST /v1/exchange HTTP/1.1\r\nHost: x\r\nContent-Ty",
            Duration::from_secs(5),
        )
        .await;
    assert!(closed, "partial headers: connection still open after 5 s");
    let ctype = exchange_content_type();
    let head = format!(
        "POST /v1/exchange HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n\
         Content-Length: 100\r\n\r\n0123456789"
    );
    let (reply, closed) = gw.raw(head.as_bytes(), Duration::from_secs(5)).await;
    assert_raw_problem(&reply, 408, "REQUEST_TIMEOUT");
    assert!(closed);
}

/// Finding 4: a body that cannot be read is 400 BAD_BODY, not 413.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_body_is_bad_body() {
    let gw = start().await;
    let ctype = exchange_content_type();
    for path in ["/v1/exchange", "/v1/partner/access-token"] {
        let raw = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
        );
        let (reply, _) = gw.raw(raw.as_bytes(), Duration::from_secs(5)).await;
        assert_raw_problem(&reply, 400, "BAD_BODY");
    }
    // The size limit is still 413 with chunked encoding (no Content-Length to check early).
    let chunk = "a".repeat(40 * 1024);
    let raw = format!(
        "POST /v1/exchange HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {len:x}\r\n{chunk}\r\n{len:x}\r\n{chunk}\r\n0\r\n\r\n",
        len = chunk.len()
    );
    let (reply, _) = gw.raw(raw.as_bytes(), Duration::from_secs(5)).await;
    assert_raw_problem(&reply, 413, "TOO_LARGE");
}

/// Finding 7: JSON bodies must be objects (serde's derive would take an array).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_arrays_are_not_objects() {
    let gw = start().await;
    let at = gw.mint_at("u-20", &["wealth-01"], 300).await;
    let client = gw.client().await;
    let session = client.exchange(&at, "wealth-01").await.unwrap();
    assert_eq!(
        client
            .call(&session, "quote", "[100,12]")
            .await
            .unwrap_err(),
        sealed_refusal(ErrorCode::ServiceError, "SERVICE_REJECTED")
    );
    let ok = client
        .call(&session, "quote", r#" {"amount_cents":100,"months":12}"#)
        .await
        .unwrap();
    assert_eq!(json(&ok)["months"], 12);
    gw.post(
        "/demo/partner/launch",
        "application/json",
        br#"["wealth-01"]"#.to_vec(),
        None,
    )
    .await
    .assert_problem(400, "PARTNER_BAD_REQUEST");
    gw.post(
        "/test/access-token",
        "application/json",
        br#"["u",["wealth-01"],300]"#.to_vec(),
        None,
    )
    .await
    .assert_problem(400, "PARTNER_BAD_REQUEST");
    let creds = demo_partner();
    let body = r#"["u-20",["wealth-01"]]"#;
    let auth = creds
        .sign_now("POST", "/v1/partner/access-token", body.as_bytes())
        .unwrap();
    gw.post(
        "/v1/partner/access-token",
        "application/json",
        body.as_bytes().to_vec(),
        Some(&auth),
    )
    .await
    .assert_problem(400, "PARTNER_BAD_REQUEST");
}

/// Finding 10: `--serve` does not follow symlinks out of the served directory.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_symlinks_out_of_the_root() {
    let base = std::env::temp_dir().join(format!("h5-serve-{}-{}", std::process::id(), now()));
    let www = base.join("www");
    std::fs::create_dir_all(www.join("sub")).unwrap();
    std::fs::write(base.join("secret.txt"), "top-secret").unwrap();
    std::fs::write(www.join("index.html"), "<p>hi</p>").unwrap();
    std::fs::write(www.join("sub/inner.txt"), "inner").unwrap();
    std::os::unix::fs::symlink("../secret.txt", www.join("link")).unwrap();
    std::os::unix::fs::symlink("..", www.join("up")).unwrap();
    std::os::unix::fs::symlink("sub/inner.txt", www.join("inside")).unwrap();
    let gw = start_with(Options {
        serve: Some(www.clone()),
        ..Options::default()
    })
    .await;
    let get = |path: &'static str| {
        let gw = &gw;
        async move {
            let res = gw
                .http
                .get(format!("{}{path}", gw.base))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    assert_eq!(get("/").await, (200, "<p>hi</p>".into()));
    assert_eq!(get("/sub/inner.txt").await.0, 200);
    assert_eq!(
        get("/inside").await,
        (200, "inner".into()),
        "inside the root"
    );
    for path in ["/link", "/up/secret.txt", "/%6Cink", "/up/"] {
        let (status, body) = get(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("top-secret"), "{path}");
    }
    std::fs::remove_dir_all(&base).unwrap();
}

/// Finding 10: CORS reflects only loopback page origins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_reflects_only_loopback_origins() {
    let gw = start().await;
    let preflight = |origin: &'static str| {
        let gw = &gw;
        async move {
            gw.http
                .request(
                    reqwest::Method::OPTIONS,
                    format!("{}/demo/partner/launch", gw.base),
                )
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .send()
                .await
                .unwrap()
                .headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap().to_owned())
        }
    };
    for origin in [
        "http://127.0.0.1:5555",
        "http://localhost:5173",
        "http://localhost",
        "http://[::1]:8080",
    ] {
        assert_eq!(preflight(origin).await.as_deref(), Some(origin));
    }
    for origin in [
        "null",
        "https://evil.example",
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example",
        "http://127.0.0.1:80x",
        "file://",
    ] {
        assert_eq!(preflight(origin).await, None, "{origin}");
    }
    // A simple POST from a foreign page gets no CORS grant either.
    let res = gw
        .http
        .post(format!("{}/demo/partner/launch", gw.base))
        .header("origin", "null")
        .header("content-type", "application/json")
        .body(r#"{"product":"wealth-01"}"#)
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

/// `Options`' `Debug` never prints the seed every key derives from.
#[test]
fn options_debug_omits_the_seed() {
    let opts = h5_mock_gateway::Options {
        seed: Some("hunter2-seed".into()),
        test_hooks: true,
        ..Default::default()
    };
    let dbg = format!("{opts:?}");
    assert!(!dbg.contains("hunter2-seed"), "{dbg}");
    assert!(dbg.contains("seed: <set>"), "{dbg}");
    assert!(dbg.contains("test_hooks: true"), "{dbg}");
    let dbg = format!("{:?}", h5_mock_gateway::Options::default());
    assert!(dbg.contains("seed: <unset>"), "{dbg}");
}

/// F4: `/test/rotate-keys` never wraps the one-byte key id onto one it has advertised
/// (PROTOCOL.md §3.3): ids 2..=255 in turn, then 409 `KEY_IDS_EXHAUSTED` with the keys unchanged.
#[tokio::test]
async fn rotate_keys_never_reuses_a_key_id() {
    let gw = start().await;
    let ids = || async {
        let res = gw
            .http
            .get(format!("{}/v1/keys", gw.base))
            .send()
            .await
            .unwrap();
        KeyConfig::decode_list(&res.bytes().await.unwrap())
            .unwrap()
            .iter()
            .map(KeyConfig::key_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids().await, [1]);
    for want in 2..=255u32 {
        let r = gw
            .post("/test/rotate-keys", "application/json", vec![], None)
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["current_key_id"], want);
    }
    for _ in 0..2 {
        let r = gw
            .post("/test/rotate-keys", "application/json", vec![], None)
            .await;
        r.assert_problem(409, "KEY_IDS_EXHAUSTED");
        assert_eq!(
            r.json()["title"],
            "no unused HPKE key id left (a key id is never reused)"
        );
        assert_eq!(ids().await, [255, 254]);
    }
}
