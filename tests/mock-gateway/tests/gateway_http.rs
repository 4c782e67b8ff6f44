//! The mock gateway over real HTTP on loopback: the router served on 127.0.0.1:0 in-process,
//! driven by reqwest, plus one test of the real binary. Every refusal asserts its exact code.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use h5_access::gateway::OHTTP_KEY_PROBLEM_TYPE;
use h5_access::partner::PartnerCredentials;
use h5_access::protocol::{
    encapsulate_request, CallRequest, CallResponse, Channel, ClientContext, ExchangeRequest,
    ExchangeResponse, KeyConfig, SessionSecret, Token,
};
use h5_mock_gateway::{
    app, demo_partner_secret, serve, Options, DEMO_PARTNER_ID, HEADER_READ_TIMEOUT,
};
use serde_json::{json, Value};

const SEED: &str = "gateway-http-tests";
const EXCHANGE_REQ: &str = "application/vnd.h5-access.exchange-req";
const CALL_REQ: &str = "application/vnd.h5-access.call-req";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn rid() -> [u8; 16] {
    let mut r = [0u8; 16];
    getrandom::fill(&mut r).unwrap();
    r
}

struct Gw {
    base: String,
    http: reqwest::Client,
}

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
    Gw {
        base: format!("http://{addr}"),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
    }
}

async fn start() -> Gw {
    start_with(Options {
        seed: Some(SEED.into()),
        test_hooks: true,
        ..Options::default()
    })
    .await
}

struct Reply {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    /// Asserts a problem+json refusal with `status` and `code`.
    fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(
            self.status,
            status,
            "{:?}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type, "application/problem+json");
        let p = self.json();
        assert_eq!(p["code"], code);
        assert_eq!(p["status"], status);
    }
}

impl Gw {
    async fn post(&self, path: &str, ctype: &str, body: Vec<u8>, auth: Option<&str>) -> Reply {
        let mut rb = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", ctype)
            .body(body);
        if let Some(a) = auth {
            rb = rb.header("authorization", a);
        }
        let res = rb.send().await.unwrap();
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Reply {
            status,
            content_type,
            body: res.bytes().await.unwrap().to_vec(),
        }
    }

    async fn key(&self) -> KeyConfig {
        let res = self
            .http
            .get(format!("{}/v1/keys", self.base))
            .send()
            .await
            .unwrap();
        KeyConfig::decode_list(&res.bytes().await.unwrap())
            .unwrap()
            .remove(0)
    }

    async fn test_at(&self, subject: &str, products: &[&str], ttl: i64) -> String {
        let r = self
            .post(
                "/test/access-token",
                "application/json",
                json!({"subject": subject, "products": products, "ttl_seconds": ttl})
                    .to_string()
                    .into_bytes(),
                None,
            )
            .await;
        assert_eq!(r.status, 200);
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// Sends raw exchange bytes, expects 200, opens the response.
    async fn exchange_raw(&self, req: Vec<u8>, ctx: &ClientContext) -> ExchangeResponse {
        let r = self.post("/v1/exchange", EXCHANGE_REQ, req, None).await;
        assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.content_type, "application/vnd.h5-access.exchange-res");
        ExchangeResponse::decode(&ctx.open_response(&r.body).unwrap()).unwrap()
    }

    async fn exchange(&self, at: &str, product: &str) -> (ExchangeResponse, SessionSecret) {
        let (req, ctx) = exchange_request(&self.key().await, at, product, now());
        let resp = self.exchange_raw(req, &ctx).await;
        (resp, ctx.into_session_secret())
    }

    async fn call_raw(&self, req: Vec<u8>, ctx: &ClientContext) -> CallResponse {
        let r = self.post("/v1/call", CALL_REQ, req, None).await;
        assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.content_type, "application/vnd.h5-access.call-res");
        CallResponse::decode(&ctx.open_response(&r.body).unwrap()).unwrap()
    }

    async fn call(
        &self,
        vt: &Token,
        secret: &SessionSecret,
        service: &str,
        body: &str,
    ) -> CallResponse {
        let (req, ctx) = call_request(&self.key().await, vt, secret, service, body);
        self.call_raw(req, &ctx).await
    }
}

fn exchange_request(
    cfg: &KeyConfig,
    at: &str,
    product: &str,
    client_time: u64,
) -> (Vec<u8>, ClientContext) {
    let pt = ExchangeRequest {
        request_id: rid(),
        client_time,
        product: product.into(),
        subject_token: Token::new(at.as_bytes().to_vec()).unwrap(),
    }
    .encode()
    .unwrap();
    encapsulate_request(cfg, Channel::Exchange, &pt).unwrap()
}

fn call_request(
    cfg: &KeyConfig,
    vt: &Token,
    secret: &SessionSecret,
    service: &str,
    body: &str,
) -> (Vec<u8>, ClientContext) {
    let pt = CallRequest {
        request_id: rid(),
        client_time: now(),
        issued_token: vt.clone(),
        service: service.into(),
        body: body.into(),
    }
    .encode(secret)
    .unwrap();
    encapsulate_request(cfg, Channel::Call, &pt).unwrap()
}

fn issued(resp: ExchangeResponse) -> (Token, u64, Value) {
    match resp {
        ExchangeResponse::Issued {
            issued_token,
            exp,
            page,
        } => (issued_token, exp, serde_json::from_str(&page).unwrap()),
        other => panic!("expected Issued, got {other:?}"),
    }
}

fn refused_code(resp: &ExchangeResponse) -> &str {
    match resp {
        ExchangeResponse::Refused { code } => code,
        other => panic!("expected Refused, got {other:?}"),
    }
}

fn call_code(resp: &CallResponse) -> &str {
    match resp {
        CallResponse::Refused { code } => code,
        other => panic!("expected Refused, got {other:?}"),
    }
}

fn call_ok(resp: CallResponse) -> Value {
    match resp {
        CallResponse::Ok { body } => serde_json::from_str(&body).unwrap(),
        other => panic!("expected Ok, got {other:?}"),
    }
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
    let (resp, secret) = gw.exchange(&at, "wealth-01").await;
    let (vt, exp, page) = issued(resp);
    assert!(vt.as_bytes().len() <= 2048);
    assert!(
        exp.abs_diff(now() + 900) <= 5,
        "default VT lifetime is 15 min"
    );
    assert_eq!(page["product"], "wealth-01");
    assert_eq!(page["title"], "Steady Growth Fund");
    assert_eq!(page["theme"]["primary"], "#C8102E");
    assert_eq!(
        page["sections"][0]["fields"][0]["label"],
        "7-day annualised yield"
    );

    let profile = call_ok(gw.call(&vt, &secret, "profile", "{}").await);
    assert_eq!(profile["display_name"], "u*1");
    assert_eq!(profile["product"], "wealth-01");
    assert_eq!(profile["partner"], DEMO_PARTNER_ID);

    let quote = call_ok(
        gw.call(
            &vt,
            &secret,
            "quote",
            r#"{"amount_cents":1000000,"months":12}"#,
        )
        .await,
    );
    assert_eq!(quote["rate_bps"], 320);
    assert_eq!(quote["interest_cents"], 32000);
    assert_eq!(quote["total_cents"], 1_032_000);

    let echo = r#"{"hello":["world",1,true]}"#;
    match gw.call(&vt, &secret, "echo", echo).await {
        CallResponse::Ok { body } => assert_eq!(body, echo),
        other => panic!("{other:?}"),
    }
    let r = gw.call(&vt, &secret, "nope", "{}").await;
    assert_eq!(call_code(&r), "SERVICE_UNKNOWN");
    let r = gw
        .call(&vt, &secret, "quote", r#"{"amount_cents":0,"months":12}"#)
        .await;
    assert_eq!(call_code(&r), "SERVICE_REJECTED");
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
    let (resp, secret) = gw
        .exchange(v["access_token"].as_str().unwrap(), "card-03")
        .await;
    let (vt, _, page) = issued(resp);
    assert_eq!(page["title"], "Platinum Travel Card");
    let profile = call_ok(gw.call(&vt, &secret, "profile", "{}").await);
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
    let at = gw.test_at("u-2", &["loan-02"], 300).await;
    issued(gw.exchange(&at, "loan-02").await.0);
    let (again, _) = gw.exchange(&at, "loan-02").await;
    assert_eq!(refused_code(&again), "AT_USED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_reuse_50_concurrent_exchanges_exactly_one_vt() {
    let gw = std::sync::Arc::new(start().await);
    let at = gw.test_at("u-3", &["wealth-01"], 300).await;
    let cfg = gw.key().await;
    let reqs: Vec<_> = (0..50)
        .map(|_| exchange_request(&cfg, &at, "wealth-01", now()))
        .collect();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = reqs
        .into_iter()
        .map(|(req, ctx)| {
            let gw = gw.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                gw.exchange_raw(req, &ctx).await
            })
        })
        .collect();
    let (mut ok, mut used) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            ExchangeResponse::Issued { .. } => ok += 1,
            ExchangeResponse::Refused { code } if code == "AT_USED" => used += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((ok, used), (1, 49));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_at_is_refused() {
    let gw = start().await;
    // 120 s in the past: beyond the 30 s skew.
    let at = gw.test_at("u-4", &["wealth-01"], -120).await;
    let (resp, _) = gw.exchange(&at, "wealth-01").await;
    assert_eq!(refused_code(&resp), "AT_EXPIRED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_scope_product_and_genuineness() {
    let gw = start().await;
    let at = gw.test_at("u-5", &["wealth-01"], 300).await;
    let (resp, _) = gw.exchange(&at, "loan-02").await;
    assert_eq!(refused_code(&resp), "PRODUCT_NOT_ALLOWED");
    let (resp, _) = gw.exchange(&at, "no-such-product").await;
    assert_eq!(refused_code(&resp), "PRODUCT_UNKNOWN");
    let mut forged = at.clone().into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    let (resp, _) = gw
        .exchange(std::str::from_utf8(&forged).unwrap(), "wealth-01")
        .await;
    assert_eq!(refused_code(&resp), "AT_INVALID");
    // An AT of another gateway (other seed) is not genuine here.
    let other = start_with(Options {
        seed: Some("other".into()),
        test_hooks: true,
        ..Options::default()
    })
    .await;
    let foreign = other.test_at("u-5", &["wealth-01"], 300).await;
    let (resp, _) = gw.exchange(&foreign, "wealth-01").await;
    assert_eq!(refused_code(&resp), "AT_INVALID");
    // Client clock far off.
    let (req, ctx) = exchange_request(&gw.key().await, &at, "wealth-01", now() - 3600);
    assert_eq!(
        refused_code(&gw.exchange_raw(req, &ctx).await),
        "CLOCK_SKEW"
    );
    // None of those refusals consumed the AT.
    issued(gw.exchange(&at, "wealth-01").await.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_exchange_is_refused_and_at_stays_usable() {
    let gw = start().await;
    let at = gw.test_at("u-6", &["wealth-01"], 300).await;
    let (req, ctx) = exchange_request(&gw.key().await, &at, "wealth-01", now());
    // enc (7..39), ciphertext, tag (last 16 bytes)
    for pos in [
        7,
        20,
        38,
        39,
        60,
        req.len() / 2,
        req.len() - 17,
        req.len() - 1,
    ] {
        let mut bad = req.clone();
        bad[pos] ^= 0x40;
        gw.post("/v1/exchange", EXCHANGE_REQ, bad, None)
            .await
            .assert_problem(400, "DECRYPT_FAILED");
    }
    let mut bad = req.clone();
    bad[2] ^= 0x01; // KEM id
    gw.post("/v1/exchange", EXCHANGE_REQ, bad, None)
        .await
        .assert_problem(400, "UNSUPPORTED_SUITE");
    gw.post("/v1/exchange", EXCHANGE_REQ, req[..40].to_vec(), None)
        .await
        .assert_problem(400, "TRUNCATED");
    issued(gw.exchange_raw(req, &ctx).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_exchange_and_call_are_refused() {
    let gw = start().await;
    let at = gw.test_at("u-7", &["wealth-01"], 300).await;
    let (req, ctx) = exchange_request(&gw.key().await, &at, "wealth-01", now());
    let (vt, _, _) = issued(gw.exchange_raw(req.clone(), &ctx).await);
    assert_eq!(refused_code(&gw.exchange_raw(req, &ctx).await), "REPLAYED");

    let secret = ctx.into_session_secret();
    let (call, cctx) = call_request(&gw.key().await, &vt, &secret, "echo", "{}");
    call_ok(gw.call_raw(call.clone(), &cctx).await);
    assert_eq!(call_code(&gw.call_raw(call, &cctx).await), "REPLAYED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vt_with_another_sessions_secret_is_refused() {
    let gw = start().await;
    let at1 = gw.test_at("u-8", &["wealth-01"], 300).await;
    let at2 = gw.test_at("u-9", &["wealth-01"], 300).await;
    let (r1, _s1) = gw.exchange(&at1, "wealth-01").await;
    let (_r2, s2) = gw.exchange(&at2, "wealth-01").await;
    let (vt1, _, _) = issued(r1);
    let r = gw.call(&vt1, &s2, "profile", "{}").await;
    assert_eq!(call_code(&r), "VT_NOT_BOUND");
    let r = gw
        .call(&vt1, &SessionSecret::from_bytes([7; 32]), "profile", "{}")
        .await;
    assert_eq!(call_code(&r), "VT_NOT_BOUND");
    // An AT is not a VT.
    let r = gw
        .call(&Token::new(at1.into_bytes()).unwrap(), &s2, "profile", "{}")
        .await;
    assert_eq!(call_code(&r), "VT_INVALID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_endpoint_rotation_and_unknown_key_id() {
    let gw = start().await;
    let res = gw
        .http
        .get(format!("{}/v1/keys", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/ohttp-keys");
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let list = KeyConfig::decode_list(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(list.len(), 1);
    let old = list[0].clone();
    assert_eq!(old.key_id(), 1);

    let at = gw.test_at("u-10", &["wealth-01"], 300).await;
    let (req_old, ctx_old) = exchange_request(&old, &at, "wealth-01", now());
    // Unknown key id: the RFC 9458 §5.3 signal.
    let mut bad = req_old.clone();
    bad[0] = 0x77;
    let r = gw.post("/v1/exchange", EXCHANGE_REQ, bad, None).await;
    r.assert_problem(422, "KEY_UNKNOWN");
    assert_eq!(r.json()["type"], OHTTP_KEY_PROBLEM_TYPE);

    let r = gw
        .post("/test/rotate-keys", "application/json", vec![], None)
        .await;
    assert_eq!(r.json()["current_key_id"], 2);
    let res = gw
        .http
        .get(format!("{}/v1/keys", gw.base))
        .send()
        .await
        .unwrap();
    let list = KeyConfig::decode_list(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(
        list.iter().map(KeyConfig::key_id).collect::<Vec<_>>(),
        vec![2, 1]
    );
    // The previous key is still accepted.
    issued(gw.exchange_raw(req_old, &ctx_old).await);
    gw.post("/test/rotate-keys", "application/json", vec![], None)
        .await;
    let at = gw.test_at("u-10", &["wealth-01"], 300).await;
    let (req, _) = exchange_request(&old, &at, "wealth-01", now());
    gw.post("/v1/exchange", EXCHANGE_REQ, req, None)
        .await
        .assert_problem(422, "KEY_UNKNOWN");
    issued(gw.exchange(&at, "wealth-01").await.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_body_and_wrong_media_type() {
    let gw = start().await;
    let big = vec![0u8; 64 * 1024 + 1];
    for (path, ctype) in [
        ("/v1/exchange", EXCHANGE_REQ),
        ("/v1/call", CALL_REQ),
        ("/v1/partner/access-token", "application/json"),
        ("/demo/partner/launch", "application/json"),
    ] {
        gw.post(path, ctype, big.clone(), None)
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
    gw.post("/v1/call", EXCHANGE_REQ, vec![1, 2, 3], None)
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_plaintext_gets_its_code() {
    let gw = start().await;
    let cfg = gw.key().await;
    for (channel, path, ctype) in [
        (Channel::Exchange, "/v1/exchange", EXCHANGE_REQ),
        (Channel::Call, "/v1/call", CALL_REQ),
    ] {
        for (pt, code) in [
            (vec![1u8, 2, 3], "MALFORMED"),
            (vec![], "MALFORMED"),
            (vec![2u8; 40], "UNSUPPORTED_VERSION"),
        ] {
            let (req, ctx) = encapsulate_request(&cfg, channel, &pt).unwrap();
            let r = gw.post(path, ctype, req, None).await;
            assert_eq!(r.status, 200);
            let opened = ctx.open_response(&r.body).unwrap();
            let got = match channel {
                Channel::Exchange => {
                    refused_code(&ExchangeResponse::decode(&opened).unwrap()).to_owned()
                }
                _ => call_code(&CallResponse::decode(&opened).unwrap()).to_owned(),
            };
            assert_eq!(got, code);
        }
    }
    // A call request sent to the exchange endpoint does not open (different HPKE info).
    let (req, _) = encapsulate_request(&cfg, Channel::Call, b"x").unwrap();
    gw.post("/v1/exchange", EXCHANGE_REQ, req, None)
        .await
        .assert_problem(400, "DECRYPT_FAILED");
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
    let at = gw.test_at("u-13", &["wealth-01"], 300).await;
    let (req, ctx) = exchange_request(&gw.key().await, &at, "wealth-01", now());
    let r = gw
        .post("/test/tamper/v1/exchange", EXCHANGE_REQ, req, None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        ctx.open_response(&r.body).unwrap_err().code(),
        "DECRYPT_FAILED"
    );

    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(1000))
        .build()
        .unwrap();
    let err = quick
        .get(format!("{}/test/slow/v1/keys", gw.base))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());

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
    let gw = Gw {
        base,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    };
    let res = gw
        .http
        .get(format!("{}/healthz", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Same seed → same keys and demo partner secret as the in-process server.
    let at = partner_at(&gw, "u-14", &["loan-02"]).await;
    let (vt, exp, page) = issued(gw.exchange(&at, "loan-02").await.0);
    assert!(exp.abs_diff(now() + 60) <= 5, "--vt-ttl is honoured");
    assert_eq!(page["title"], "Flexi Cash Loan");
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
    for path in [
        "/v1/exchange",
        "/v1/partner/access-token",
        "/demo/partner/launch",
    ] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {EXCHANGE_REQ}\r\n\
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
    let head = format!(
        "POST /v1/exchange HTTP/1.1\r\nHost: x\r\nContent-Type: {EXCHANGE_REQ}\r\n\
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
    for path in ["/v1/exchange", "/v1/partner/access-token"] {
        let raw = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {EXCHANGE_REQ}\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
        );
        let (reply, _) = gw.raw(raw.as_bytes(), Duration::from_secs(5)).await;
        assert_raw_problem(&reply, 400, "BAD_BODY");
    }
    // The size limit is still 413 with chunked encoding (no Content-Length to check early).
    let chunk = "a".repeat(40 * 1024);
    let raw = format!(
        "POST /v1/exchange HTTP/1.1\r\nHost: x\r\nContent-Type: {EXCHANGE_REQ}\r\n\
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
    let at = gw.test_at("u-20", &["wealth-01"], 300).await;
    let (resp, secret) = gw.exchange(&at, "wealth-01").await;
    let (vt, _, _) = issued(resp);
    let r = gw.call(&vt, &secret, "quote", "[100,12]").await;
    assert_eq!(call_code(&r), "SERVICE_REJECTED");
    let ok = gw
        .call(
            &vt,
            &secret,
            "quote",
            r#" {"amount_cents":100,"months":12}"#,
        )
        .await;
    assert_eq!(call_ok(ok)["months"], 12);
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
