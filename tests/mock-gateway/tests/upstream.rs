//! Services that are the provider's HTTP backends (`h5_access::gateway::UpstreamService`): a
//! small real backend on 127.0.0.1 (axum) behind an in-process gateway. The answer is sealed;
//! the backend sees the verified context in headers; a timeout, a 500, a 400, an oversize or a
//! non-JSON answer and an unreachable backend are each a sealed refusal with its exact code.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use h5_access::client::{first_config, seal_exchange, ClientError, ErrorCode, Session};
use h5_access::gateway::{
    context_signature, CallContext, Gateway, Partner, Service as _, ServiceError, TicketKey,
    UpstreamService,
};
use h5_access::protocol::{KeyConfig, KeyPair};
use serde_json::{json, Value};

mod support;

const PRODUCT: &str = "wealth-01";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name).unwrap().to_str().unwrap().to_owned()
}

/// The test backend: `/context` answers what it was told, the others misbehave.
async fn backend() -> String {
    let app = Router::new()
        .route(
            "/context",
            post(|h: HeaderMap, body: String| async move {
                json!({
                    "partner": header(&h, "h5-partner"),
                    "subject": header(&h, "h5-subject"),
                    "product": header(&h, "h5-product"),
                    "service": header(&h, "h5-service"),
                    "request_id": header(&h, "h5-request-id"),
                    "content_type": header(&h, "content-type"),
                    "time": header(&h, "h5-time"),
                    "signature": h.get("h5-context-signature").map(|v| v.to_str().unwrap().to_owned()),
                    "body": serde_json::from_str::<Value>(&body).unwrap(),
                })
                .to_string()
            }),
        )
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "{}"
            }),
        )
        .route(
            "/fail",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "{}") }),
        )
        .route(
            "/reject",
            post(|| async { (StatusCode::BAD_REQUEST, r#"{"error":"no"}"#) }),
        )
        .route(
            "/big",
            post(|| async { format!("\"{}\"", "a".repeat(2_000)) }),
        )
        .route(
            "/big-stream",
            post(|| async {
                let chunks = (0..20).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 100])));
                Body::from_stream(futures_util::stream::iter(chunks))
            }),
        )
        .route("/not-json", post(|| async { "hello" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn upstream(base: &str, path: &str) -> UpstreamService {
    UpstreamService::new(&format!("{base}{path}"))
        .unwrap()
        .with_timeout(Duration::from_millis(500))
        .with_max_answer_len(1_000)
}

async fn gateway() -> Gateway {
    let base = backend().await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Gateway::builder(
        KeyPair::derive(1, &[1; 32]),
        TicketKey::from_bytes(1, &[2; 32]),
    )
    .partner(Partner::new("p1", vec![3; 32], [PRODUCT]).unwrap())
    .product(PRODUCT, r#"{"title":"A"}"#)
    .service("context", upstream(&base, "/context"))
    .service("slow", upstream(&base, "/slow"))
    .service("fail", upstream(&base, "/fail"))
    .service("reject", upstream(&base, "/reject"))
    .service("big", upstream(&base, "/big"))
    .service("big-stream", upstream(&base, "/big-stream"))
    .service("not-json", upstream(&base, "/not-json"))
    .service(
        "gone",
        upstream(&format!("http://127.0.0.1:{closed}"), "/x"),
    )
    .build()
    .unwrap()
}

/// A session on the in-process gateway, through the client core (sealed with
/// `seal_exchange`, handed to `handle_exchange`, opened with `Pending::open_exchange`).
async fn session(gw: &Gateway) -> (KeyConfig, Session) {
    let cfg = first_config(&gw.key_config_list()).unwrap();
    let at = gw
        .mint_access_token("p1", "user-7", &[PRODUCT.into()], now(), now() + 300)
        .unwrap()
        .token;
    let pending = seal_exchange(&cfg, at.as_str(), PRODUCT, [9; 16], now()).unwrap();
    let res = gw.handle_exchange(pending.request(), now()).await.unwrap();
    let session = pending.open_exchange(&res.body).unwrap();
    (cfg, session)
}

/// Calls `service` with `{"amount":5}` and request id `request_id` through the client core.
async fn call(
    gw: &Gateway,
    s: &(KeyConfig, Session),
    service: &str,
    request_id: [u8; 16],
) -> Result<String, ClientError> {
    let pending =
        s.1.seal_call(&s.0, service, r#"{"amount":5}"#, request_id, now())
            .unwrap();
    let res = gw.handle_call(pending.request(), now()).await.unwrap();
    pending.open_call(&res.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_is_sealed_with_the_verified_context() {
    let gw = Arc::new(gateway().await);
    let s = session(&gw).await;
    let mut rid = [0u8; 16];
    rid[0] = 0xab;
    rid[15] = 0x01;
    let body = call(&gw, &s, "context", rid).await.unwrap();
    let mut v: Value = serde_json::from_str(&body).unwrap();
    let time: u64 = v["time"].as_str().unwrap().parse().unwrap();
    assert!(time.abs_diff(now()) <= 5, "{time}");
    v.as_object_mut().unwrap().remove("time");
    assert_eq!(
        v,
        json!({
            "partner": "p1",
            "subject": "user-7",
            "product": PRODUCT,
            "service": "context",
            "request_id": "ab000000000000000000000000000001",
            "content_type": "application/json",
            "signature": null,
            "body": {"amount": 5},
        })
    );
}

/// With a context key, the backend gets `h5-context-signature` over the exact context and body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_key_signs_the_context() {
    let base = backend().await;
    let rid = [0x5a; 16];
    let ctx = CallContext::new("p1", "user-7", PRODUCT, "context", &rid, 1_800_000_000);
    let keyed = upstream(&base, "/context").with_context_key([7; 32]);
    let body = r#"{"amount":5}"#;
    let answer: Value = serde_json::from_str(&keyed.call(&ctx, body).await.unwrap()).unwrap();
    assert_eq!(answer["time"], "1800000000");
    assert_eq!(
        answer["signature"],
        context_signature(&[7; 32], &ctx, body.as_bytes())
    );
    assert_ne!(
        answer["signature"],
        context_signature(&[8; 32], &ctx, body.as_bytes())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_failures_are_sealed_refusals() {
    let gw = gateway().await;
    let s = session(&gw).await;
    for (i, (service, code, want)) in [
        ("slow", ErrorCode::GatewayError, "INTERNAL"),
        ("fail", ErrorCode::GatewayError, "INTERNAL"),
        ("reject", ErrorCode::ServiceError, "SERVICE_REJECTED"),
        ("big", ErrorCode::GatewayError, "INTERNAL"),
        ("big-stream", ErrorCode::GatewayError, "INTERNAL"),
        ("not-json", ErrorCode::GatewayError, "INTERNAL"),
        ("gone", ErrorCode::GatewayError, "INTERNAL"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = call(&gw, &s, service, [u8::try_from(i).unwrap() + 1; 16]).await;
        assert_eq!(
            r.unwrap_err(),
            support::sealed_refusal(code, want),
            "{service}"
        );
    }
    // The session is fine afterwards.
    assert!(call(&gw, &s, "context", [0x77; 16]).await.is_ok());
}

/// The same cases on the service itself: each failure is its own `ServiceError`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_backend_failure_has_its_own_service_error() {
    let base = backend().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rid = [1u8; 16];
    let ctx = CallContext::new("p1", "user-7", PRODUCT, "svc", &rid, now());
    for (path, want) in [
        ("/slow", ServiceError::Timeout),
        ("/fail", ServiceError::Internal),
        ("/reject", ServiceError::Rejected),
        ("/big", ServiceError::TooLarge),
        ("/big-stream", ServiceError::TooLarge),
        ("/not-json", ServiceError::Internal),
    ] {
        let r = upstream(&base, path).call(&ctx, "{}").await;
        assert_eq!(r, Err(want), "{path}");
    }
    let gone = upstream(&format!("http://127.0.0.1:{closed}"), "/x");
    assert_eq!(gone.call(&ctx, "{}").await, Err(ServiceError::Unavailable));
    let ok = upstream(&base, "/context")
        .call(&ctx, r#"{"n":1}"#)
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&ok).unwrap();
    assert_eq!(v["request_id"], "01010101010101010101010101010101");
    assert_eq!(v["body"], json!({"n": 1}));
}

/// The mock binary with `--upstream`: the backend's answer comes back sealed over HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_forwards_to_an_upstream_given_on_its_command_line() {
    let base = backend().await;
    let ctx_url = format!("context={base}/context");
    let fail_url = format!("fail={base}/fail");
    let gw = support::Instance::start(&["--upstream", &ctx_url, "--upstream", &fail_url]);
    let at = gw.test_at("u-up").await;
    let client = gw.client().await;
    let session = client.exchange(&at, support::PRODUCT).await.unwrap();
    let body = client
        .call(&session, "context", r#"{"q":true}"#)
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["partner"], "demo-partner");
    assert_eq!(v["subject"], "u-up");
    assert_eq!(v["product"], support::PRODUCT);
    assert_eq!(v["service"], "context");
    assert_eq!(v["body"], json!({"q": true}));
    assert_eq!(
        client.call(&session, "fail", "{}").await.unwrap_err(),
        support::sealed_refusal(ErrorCode::GatewayError, "INTERNAL")
    );
}

/// F2: the default upstream client ignores `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` in the
/// environment. A loopback listener named as the proxy in the gateway process's environment
/// must see no connection at all, while the backend answers the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_calls_ignore_proxy_variables_in_the_environment() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let base = backend().await;
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let proxy_task = tokio::spawn(async move {
        // Counts every connection and closes it unanswered.
        while let Ok((conn, _)) = proxy.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    let ctx_url = format!("context={base}/context");
    let gw = support::Instance::start_with_env(
        &["--upstream", &ctx_url],
        &[
            ("HTTP_PROXY", &proxy_url),
            ("http_proxy", &proxy_url),
            ("HTTPS_PROXY", &proxy_url),
            ("ALL_PROXY", &proxy_url),
            ("NO_PROXY", ""),
            ("no_proxy", ""),
        ],
    );
    let at = gw.test_at("u-proxy").await;
    let session = gw.exchange(&at, support::PRODUCT).await.unwrap();
    let answer = gw.call(&session, "context", r#"{"q":1}"#).await;
    gw.kill();
    proxy_task.abort();
    let body = answer.unwrap_or_else(|e| panic!("the backend did not answer: {e:?}"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["subject"], "u-proxy");
    assert_eq!(v["body"], json!({"q": 1}));
    assert_eq!(seen.load(Ordering::SeqCst), 0, "the proxy saw a connection");
}
