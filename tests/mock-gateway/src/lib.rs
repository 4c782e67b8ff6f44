//! `h5-mock-gateway`: a small real HTTP server (axum) around the h5-access [`Gateway`], for the
//! browser tests and the demo. Routes, flags and behaviour: README.md "Mock gateway" and
//! docs/PROTOCOL.md §7.
//!
//! Not a production server: the demo partner's launch route and the test hooks hand out
//! access tokens to anyone who asks.

mod services;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use h5_access::gateway::{
    Gateway, GatewayConfig, Partner, PartnerRequest, PreDecapError, SealedResponse, TicketKey,
    ACCESS_TOKEN_PATH, KEYS_CACHE_CONTROL, KEYS_MEDIA_TYPE, MAX_REQUEST_LEN, PROBLEM_MEDIA_TYPE,
};
use h5_access::partner::PartnerCredentials;
use h5_access::protocol::{Channel, KeyPair};
use hkdf::Hkdf;
use serde::Deserialize;
use sha2::Sha256;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use zeroize::Zeroizing;

/// The demo partner's id.
pub const DEMO_PARTNER_ID: &str = "demo-partner";
/// The subject (partner user id) `/demo/partner/launch` issues ATs for.
pub const DEMO_SUBJECT: &str = "demo-user";
/// How long `/test/slow/...` delays every response.
pub const SLOW_DELAY: Duration = Duration::from_secs(3);
/// The committed default catalogue (tests/mock-gateway/products.json).
pub const DEFAULT_PRODUCTS: &str = include_str!("../products.json");

/// Server options (the CLI flags of the binary).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Derive HPKE keys, ticket keys and the demo partner secret from this string instead of
    /// the CSPRNG.
    pub seed: Option<String>,
    /// Products catalogue JSON text (default [`DEFAULT_PRODUCTS`]).
    pub products_json: Option<String>,
    /// AT lifetime in seconds (default 300).
    pub at_ttl: Option<u64>,
    /// VT lifetime in seconds (default 900).
    pub vt_ttl: Option<u64>,
    /// Enable the `/test/...` routes.
    pub test_hooks: bool,
    /// Serve this directory's files at `/`.
    pub serve: Option<PathBuf>,
}

/// Why the server could not be built.
#[derive(Debug)]
pub struct SetupError(pub String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

#[derive(Deserialize)]
struct Catalogue {
    products: Vec<ProductEntry>,
}

#[derive(Deserialize)]
struct ProductEntry {
    id: String,
    /// Annual rate in basis points, used by the `quote` service.
    rate_bps: u64,
    page: serde_json::Value,
}

/// Key material: from the seed (deterministic) or the CSPRNG.
struct KeySource {
    seed: Option<Zeroizing<Vec<u8>>>,
}

impl KeySource {
    fn bytes(&self, label: &str) -> Result<Zeroizing<[u8; 32]>, SetupError> {
        let mut out = Zeroizing::new([0u8; 32]);
        match &self.seed {
            Some(seed) => {
                let hk = Hkdf::<Sha256>::new(Some(b"h5-mock-gateway seed v1"), seed);
                hk.expand(label.as_bytes(), out.as_mut())
                    .map_err(|_| SetupError("hkdf".into()))?;
            }
            None => getrandom::fill(out.as_mut()).map_err(|_| SetupError("csprng".into()))?,
        }
        Ok(out)
    }

    fn hpke_key(&self, generation: u32) -> Result<KeyPair, SetupError> {
        let ikm = self.bytes(&format!("hpke key {generation}"))?;
        // Key ids 1, 2, 3, … (wrapping, never 0).
        let id = (generation % 255) as u8 + 1;
        Ok(KeyPair::derive(id, ikm.as_ref()))
    }
}

/// The demo partner's secret when the server runs with `--seed seed`.
pub fn demo_partner_secret(seed: &str) -> Vec<u8> {
    let ks = KeySource {
        seed: Some(Zeroizing::new(seed.as_bytes().to_vec())),
    };
    ks.bytes("demo partner secret")
        .map(|b| b.to_vec())
        .unwrap_or_default()
}

/// The shared state of every handler.
pub struct AppState {
    gateway: Gateway,
    demo: PartnerCredentials,
    keys: KeySource,
    generation: Mutex<u32>,
}

/// The code of a response (sealed inside or in the problem body), for the access log.
#[derive(Clone, Copy)]
struct Outcome(&'static str);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn problem(e: PreDecapError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_MEDIA_TYPE))],
        e.problem_json(),
    )
        .into_response();
    res.extensions_mut().insert(Outcome(e.code()));
    res
}

fn json_ok(value: serde_json::Value) -> Response {
    let mut res = (
        StatusCode::OK,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        value.to_string(),
    )
        .into_response();
    res.extensions_mut().insert(Outcome("OK"));
    res
}

/// Reads the body, refusing more than [`MAX_REQUEST_LEN`] bytes with 413 `TOO_LARGE`.
async fn read_body(body: Body) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, MAX_REQUEST_LEN)
        .await
        .map_err(|_| problem(PreDecapError::TooLarge))
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
}

fn sealed(channel: Channel, r: Result<SealedResponse, PreDecapError>) -> Response {
    match r {
        Ok(s) => {
            let mut res = (
                StatusCode::OK,
                [(
                    CONTENT_TYPE,
                    HeaderValue::from_static(channel.response_media_type()),
                )],
                s.body,
            )
                .into_response();
            res.extensions_mut().insert(Outcome(s.code.unwrap_or("OK")));
            res
        }
        Err(e) => problem(e),
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn key_configs(State(s): State<Arc<AppState>>) -> Response {
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static(KEYS_MEDIA_TYPE)),
            (CACHE_CONTROL, HeaderValue::from_static(KEYS_CACHE_CONTROL)),
        ],
        s.gateway.key_config_list(),
    )
        .into_response()
}

async fn encapsulated(s: &AppState, channel: Channel, headers: &HeaderMap, body: Body) -> Response {
    if let Err(e) = Gateway::check_media_type(channel, content_type(headers)) {
        return problem(e);
    }
    let bytes = match read_body(body).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let r = match channel {
        Channel::Call => s.gateway.handle_call(&bytes, now()),
        _ => s.gateway.handle_exchange(&bytes, now()),
    };
    sealed(channel, r)
}

async fn exchange(State(s): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    encapsulated(&s, Channel::Exchange, &headers, body).await
}

async fn call(State(s): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    encapsulated(&s, Channel::Call, &headers, body).await
}

async fn access_token(
    State(s): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_body(body).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let req = PartnerRequest {
        method: method.as_str(),
        path: uri.path(),
        authorization: auth,
        body: &bytes,
    };
    match s.gateway.issue_access_token(&req, now()) {
        Ok(json) => {
            let mut res = (
                StatusCode::OK,
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                json,
            )
                .into_response();
            res.extensions_mut().insert(Outcome("OK"));
            res
        }
        Err(e) => problem(e),
    }
}

async fn tamper_exchange(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let res = encapsulated(&s, Channel::Exchange, &headers, body).await;
    if res.status() != StatusCode::OK {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return problem(PreDecapError::Internal);
    };
    let mut bytes = bytes.to_vec();
    // Flip one bit of the last byte: inside the AEAD tag, so the client's open must fail.
    if let Some(b) = bytes.last_mut() {
        *b ^= 0x01;
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[derive(Deserialize)]
struct TestTokenBody {
    subject: String,
    products: Vec<String>,
    #[serde(default = "default_ttl")]
    ttl_seconds: i64,
}

fn default_ttl() -> i64 {
    300
}

async fn test_access_token(State(s): State<Arc<AppState>>, body: Body) -> Response {
    let bytes = match read_body(body).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let Ok(req) = serde_json::from_slice::<TestTokenBody>(&bytes) else {
        return problem(PreDecapError::PartnerBadRequest);
    };
    let now = now();
    let exp = now.saturating_add_signed(req.ttl_seconds);
    match s
        .gateway
        .mint_access_token(DEMO_PARTNER_ID, &req.subject, &req.products, now, exp)
    {
        Ok(at) => json_ok(serde_json::json!({ "access_token": at.token.as_str(), "exp": at.exp })),
        Err(e) => problem(e),
    }
}

async fn rotate_keys(State(s): State<Arc<AppState>>) -> Response {
    let mut generation = s.generation.lock().unwrap_or_else(|e| e.into_inner());
    let next = generation.wrapping_add(1);
    let key = match s.keys.hpke_key(next) {
        Ok(k) => k,
        Err(_) => return problem(PreDecapError::Internal),
    };
    let id = key.key_id();
    if s.gateway.rotate_key(key).is_err() {
        return problem(PreDecapError::Internal);
    }
    *generation = next;
    tracing::info!(key_id = id, "rotated HPKE key");
    json_ok(serde_json::json!({ "current_key_id": id }))
}

#[derive(Deserialize)]
struct LaunchBody {
    product: String,
}

/// Plays the partner backend: signs an access-token request as the demo partner, has the
/// gateway process it in-process, opens the sealed AT.
async fn demo_launch(State(s): State<Arc<AppState>>, body: Body) -> Response {
    let bytes = match read_body(body).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let Ok(req) = serde_json::from_slice::<LaunchBody>(&bytes) else {
        return problem(PreDecapError::PartnerBadRequest);
    };
    let body = PartnerCredentials::access_token_request_body(DEMO_SUBJECT, &[&req.product]);
    let Ok(auth) = s.demo.sign_now("POST", ACCESS_TOKEN_PATH, body.as_bytes()) else {
        return problem(PreDecapError::Internal);
    };
    let preq = PartnerRequest {
        method: "POST",
        path: ACCESS_TOKEN_PATH,
        authorization: Some(&auth),
        body: body.as_bytes(),
    };
    let json = match s.gateway.issue_access_token(&preq, now()) {
        Ok(j) => j,
        Err(e) => return problem(e),
    };
    match s.demo.open_access_token_response(&json) {
        Ok(at) => json_ok(serde_json::json!({
            "access_token": at.token.as_str(),
            "exp": at.exp,
            "subject": DEMO_SUBJECT,
        })),
        Err(_) => problem(PreDecapError::Internal),
    }
}

async fn delay(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    tokio::time::sleep(SLOW_DELAY).await;
    res
}

/// Access log: method, path, status, latency and the outcome code. Never bodies, headers,
/// tokens or secrets.
async fn access_log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    let code = res.extensions().get::<Outcome>().map_or("-", |o| o.0);
    tracing::info!(
        method = %method,
        path = %path,
        status = res.status().as_u16(),
        latency_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
        code,
        "request"
    );
    res
}

fn build_gateway(
    options: &Options,
    keys: &KeySource,
) -> Result<(Gateway, PartnerCredentials), SetupError> {
    let catalogue: Catalogue =
        serde_json::from_str(options.products_json.as_deref().unwrap_or(DEFAULT_PRODUCTS))
            .map_err(|e| SetupError(format!("products catalogue: {e}")))?;
    if catalogue.products.is_empty() {
        return Err(SetupError("products catalogue is empty".into()));
    }
    let mut config = GatewayConfig::default();
    if let Some(t) = options.at_ttl {
        config = config.with_at_ttl(t);
    }
    if let Some(t) = options.vt_ttl {
        config = config.with_vt_ttl(t);
    }
    let ticket = TicketKey::from_bytes(1, &*keys.bytes("ticket key")?);
    let demo_secret = keys.bytes("demo partner secret")?;
    let ids: Vec<String> = catalogue.products.iter().map(|p| p.id.clone()).collect();
    let partner = Partner::new(DEMO_PARTNER_ID, demo_secret.to_vec(), ids.clone())
        .map_err(|e| SetupError(e.to_string()))?;
    let rates: HashMap<String, u64> = catalogue
        .products
        .iter()
        .map(|p| (p.id.clone(), p.rate_bps))
        .collect();
    let mut builder = Gateway::builder(keys.hpke_key(0)?, ticket)
        .config(config)
        .partner(partner)
        .service("profile", services::profile)
        .service("echo", services::echo)
        .service("quote", services::Quote::new(rates));
    for p in &catalogue.products {
        builder = builder.product(p.id.clone(), p.page.to_string());
    }
    let gateway = builder.build().map_err(|e| SetupError(e.to_string()))?;
    Ok((
        gateway,
        PartnerCredentials::new(DEMO_PARTNER_ID, demo_secret.to_vec()),
    ))
}

/// Builds the application router.
///
/// Errors: [`SetupError`] (bad catalogue, CSPRNG failure).
pub fn app(options: &Options) -> Result<Router, SetupError> {
    let key_source = KeySource {
        seed: options
            .seed
            .as_ref()
            .map(|s| Zeroizing::new(s.as_bytes().to_vec())),
    };
    let (gateway, demo) = build_gateway(options, &key_source)?;
    let state = Arc::new(AppState {
        gateway,
        demo,
        keys: key_source,
        generation: Mutex::new(0),
    });

    let v1 = Router::new()
        .route("/v1/keys", get(key_configs))
        .route("/v1/exchange", post(exchange))
        .route("/v1/call", post(call))
        .route(ACCESS_TOKEN_PATH, post(access_token));
    let mut router = v1
        .clone()
        .route("/healthz", get(healthz))
        .route("/demo/partner/launch", post(demo_launch));
    if options.test_hooks {
        router = router
            .nest("/test/slow", v1.layer(middleware::from_fn(delay)))
            .route("/test/tamper/v1/exchange", post(tamper_exchange))
            .route("/test/access-token", post(test_access_token))
            .route("/test/rotate-keys", post(rotate_keys));
    }
    if let Some(dir) = &options.serve {
        router = router.fallback_service(ServeDir::new(dir));
    }
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([CONTENT_TYPE, axum::http::header::AUTHORIZATION])
        .max_age(Duration::from_secs(600));
    Ok(router
        .with_state(state)
        .layer(cors)
        .layer(middleware::from_fn(access_log)))
}
