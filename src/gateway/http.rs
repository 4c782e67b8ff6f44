//! The gateway's HTTP surface as an axum [`Router`] a provider mounts in its own service
//! (cargo feature `http`): the four routes of docs/PROTOCOL.md §7, problem documents
//! (RFC 9457) as [`IntoResponse`], the request-size limit, a whole-request timeout and the CORS
//! answers the SDK needs.
//!
//! ```text
//! let app = h5_access::gateway::http::routes(Arc::new(gateway));
//! let app = h5_access::gateway::http::protect(app, Duration::from_secs(10))
//!     .layer(h5_access::gateway::http::cors(|origin| origin == "https://h5.example.com"));
//! ```
//!
//! * Bodies are read through [`http_body_util::Limited`] at [`MAX_REQUEST_LEN`]: more is 413
//!   `TOO_LARGE`, a body that cannot be read (bad chunked encoding, connection closed early)
//!   400 `BAD_BODY`.
//! * [`protect`] adds the early refusal of a declared `Content-Length` over the limit, and the
//!   whole-request timeout (tower's `TimeoutLayer`): 408 `REQUEST_TIMEOUT`.
//! * [`protect`] also answers every error the stack itself makes (unknown route 404, wrong
//!   method 405, a URI over [`MAX_URI_LEN`] 414, headers over [`MAX_HEADER_BYTES`] 431, an
//!   extractor's 400, …) with a problem document and a `code` ([`uniform_errors`]).
//! * [`rate_limit`]: a per-client token bucket (tower_governor, keyed by peer IP; IPv6 by /64),
//!   429 `TOO_MANY_REQUESTS` past it, mounted outermost so every request counts. Off unless
//!   mounted.
//! * [`serve`]: the HTTP/1.1 accept loop on hyper with bounds: at most
//!   [`ServeConfig::max_connections`] open connections, and
//!   [`ServeConfig::max_connections_per_ip`] of one client (more are closed at once), a header
//!   buffer of [`ServeConfig::max_header_buffer`] bytes per connection, a header read timeout,
//!   accept errors logged at most once a second.
//! * Every response carries an [`Outcome`] extension (the sealed or problem code) for access
//!   logs; [`access_log`] logs method, path, status, latency and that code, never bodies,
//!   headers or tokens.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use tower::{ServiceBuilder, ServiceExt as _};
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::protocol::Channel;

use super::core::{
    Gateway, SealedResponse, ACCESS_TOKEN_PATH, KEYS_CACHE_CONTROL, KEYS_MEDIA_TYPE,
    MAX_REQUEST_LEN, PROBLEM_MEDIA_TYPE,
};
use super::error::PreDecapError;
use super::log_limit::LogLimiter;
use super::partners::PartnerRequest;

/// Default whole-request timeout of [`protect`]: 10 s.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Declared bodies up to this size (1 MiB) are read and discarded before a 413 is sent, so a
/// client that writes its whole body before reading the answer gets the 413 instead of a reset
/// connection; larger ones are refused before any byte is read.
pub const DRAIN_LIMIT: u64 = 1 << 20;

/// The code of a response (sealed inside, or in the problem body; `OK` otherwise), as a
/// response extension for access logs. Safe to log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome(pub &'static str);

/// The gateway's clock: seconds since the Unix epoch (0 if the system clock is before it).
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `status` + `application/problem+json` body + [`Outcome`].
fn problem_response(status: StatusCode, code: &'static str, body: String) -> Response {
    let mut res = (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_MEDIA_TYPE))],
        body,
    )
        .into_response();
    res.extensions_mut().insert(Outcome(code));
    res
}

/// The RFC 9457 problem document of the error: its status, `application/problem+json`,
/// [`PreDecapError::problem_json`].
impl IntoResponse for PreDecapError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        problem_response(status, self.code(), self.problem_json())
    }
}

/// A problem document (RFC 9457, `type` `about:blank`) with `status`, `title` and `code`.
pub fn problem(status: StatusCode, code: &'static str, title: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "code": code,
    })
    .to_string();
    problem_response(status, code, body)
}

/// 408 `REQUEST_TIMEOUT` (problem+json): the request was not answered within the timeout of
/// [`protect`].
pub fn request_timeout_problem() -> Response {
    problem(
        StatusCode::REQUEST_TIMEOUT,
        "REQUEST_TIMEOUT",
        "request timeout",
    )
}

/// Longest request target (path and query) [`protect`] accepts: 4 KiB; longer is 414
/// `URI_TOO_LONG`.
pub const MAX_URI_LEN: usize = 4 * 1024;
/// Most header bytes (names, values and `": "` and CRLF per line) [`protect`] accepts: 16 KiB
/// (room for large cookies when the gateway shares the page's origin); more is 431
/// `HEADERS_TOO_LARGE`.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The code of a problem document for an error status the stack made itself.
fn stack_error_code(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("BAD_REQUEST", "bad request"),
        404 => ("NOT_FOUND", "no such route"),
        405 => ("METHOD_NOT_ALLOWED", "method not allowed"),
        408 => ("REQUEST_TIMEOUT", "request timeout"),
        413 => ("TOO_LARGE", "request body too large"),
        414 => ("URI_TOO_LONG", "request target too long"),
        415 => ("UNSUPPORTED_MEDIA_TYPE", "unsupported media type"),
        429 => ("TOO_MANY_REQUESTS", "too many requests"),
        431 => ("HEADERS_TOO_LARGE", "request headers too large"),
        503 => ("UNAVAILABLE", "service unavailable"),
        s if s >= 500 => ("INTERNAL", "internal error"),
        _ => ("HTTP_ERROR", "request refused"),
    }
}

/// Makes every error answer a problem document with a `code`: a 4xx/5xx response without an
/// [`Outcome`] (one the stack made itself: axum's 404 and 405, an extractor's 400, a file
/// server's 404) is replaced by [`problem`] with the same status (and its `Allow` header).
/// Refuses a request target over [`MAX_URI_LEN`] (414 `URI_TOO_LONG`) and headers over
/// [`MAX_HEADER_BYTES`] (431 `HEADERS_TOO_LARGE`) before routing.
pub async fn uniform_errors(req: Request, next: Next) -> Response {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI_LEN {
        let (code, title) = stack_error_code(StatusCode::URI_TOO_LONG);
        return problem(StatusCode::URI_TOO_LONG, code, title);
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        let status = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        let (code, title) = stack_error_code(status);
        return problem(status, code, title);
    }
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error())
        || res.extensions().get::<Outcome>().is_some()
    {
        return res;
    }
    let (code, title) = stack_error_code(status);
    let mut problem = problem(status, code, title);
    if let Some(allow) = res.headers().get(axum::http::header::ALLOW) {
        problem
            .headers_mut()
            .insert(axum::http::header::ALLOW, allow.clone());
    }
    problem
}

/// A JSON 200 answer with [`Outcome`] `OK`.
pub fn json_ok(json: impl Into<Body>) -> Response {
    let mut res = (
        StatusCode::OK,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        json.into(),
    )
        .into_response();
    res.extensions_mut().insert(Outcome("OK"));
    res
}

/// Reads a whole body of at most [`MAX_REQUEST_LEN`] bytes.
///
/// Errors: [`PreDecapError::TooLarge`] past the limit, [`PreDecapError::BadBody`] if the body
/// cannot be read.
pub async fn read_body(body: Body) -> Result<Bytes, PreDecapError> {
    match Limited::new(body, MAX_REQUEST_LEN).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(PreDecapError::TooLarge),
        Err(_) => Err(PreDecapError::BadBody),
    }
}

/// `Cache-Control` of every sealed answer and partner token answer: each is for one request
/// only, so no cache may keep or reuse it.
pub const SEALED_CACHE_CONTROL: &str = "no-store";

/// The encapsulated response of a handler: 200 with the channel's response media type and
/// `Cache-Control: no-store`, or the problem document.
pub fn sealed(channel: Channel, r: Result<SealedResponse, PreDecapError>) -> Response {
    match r {
        Ok(s) => {
            let mut res = (
                StatusCode::OK,
                [
                    (
                        CONTENT_TYPE,
                        HeaderValue::from_static(channel.response_media_type()),
                    ),
                    (
                        CACHE_CONTROL,
                        HeaderValue::from_static(SEALED_CACHE_CONTROL),
                    ),
                ],
                s.body,
            )
                .into_response();
            res.extensions_mut().insert(Outcome(s.code.unwrap_or("OK")));
            res
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /v1/keys`: the key configuration list (RFC 9458 §3.2), current key first.
pub async fn keys(State(gw): State<Arc<Gateway>>) -> Response {
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static(KEYS_MEDIA_TYPE)),
            (CACHE_CONTROL, HeaderValue::from_static(KEYS_CACHE_CONTROL)),
        ],
        gw.key_config_list(),
    )
        .into_response()
}

async fn encapsulated(gw: &Gateway, channel: Channel, headers: &HeaderMap, body: Body) -> Response {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !channel.is_request_media_type(content_type) {
        return PreDecapError::UnsupportedMediaType.into_response();
    }
    let bytes = match read_body(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let r = match channel {
        Channel::Call => gw.handle_call(&bytes, now()).await,
        _ => gw.handle_exchange(&bytes, now()).await,
    };
    sealed(channel, r)
}

/// `POST /v1/exchange` ([`Gateway::handle_exchange`]); 415 `UNSUPPORTED_MEDIA_TYPE` unless the
/// `Content-Type` is `application/vnd.h5-access.exchange-req`.
pub async fn exchange(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: Body) -> Response {
    encapsulated(&gw, Channel::Exchange, &headers, body).await
}

/// `POST /v1/call` ([`Gateway::handle_call`]); 415 `UNSUPPORTED_MEDIA_TYPE` unless the
/// `Content-Type` is `application/vnd.h5-access.call-req`.
pub async fn call(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: Body) -> Response {
    encapsulated(&gw, Channel::Call, &headers, body).await
}

/// `POST /v1/partner/access-token` ([`Gateway::issue_access_token`]): 200 JSON or a problem.
pub async fn access_token(
    State(gw): State<Arc<Gateway>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_body(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let req = PartnerRequest {
        method: method.as_str(),
        path: uri.path(),
        authorization: headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()),
        body: &bytes,
    };
    match gw.issue_access_token(&req, now()).await {
        Ok(json) => {
            let mut res = json_ok(json);
            res.headers_mut().insert(
                CACHE_CONTROL,
                HeaderValue::from_static(SEALED_CACHE_CONTROL),
            );
            res
        }
        Err(e) => e.into_response(),
    }
}

/// The routes of docs/PROTOCOL.md §7: `GET /v1/keys`, `POST /v1/exchange`, `POST /v1/call`,
/// `POST /v1/partner/access-token`. Add [`protect`] (and [`cors`] for browser pages on other
/// origins) around it, or the provider's own equivalents.
pub fn routes(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route("/v1/keys", get(keys))
        .route("/v1/exchange", post(exchange))
        .route("/v1/call", post(call))
        .route(ACCESS_TOKEN_PATH, post(access_token))
        .with_state(gateway)
}

/// Refuses a declared `Content-Length` over [`MAX_REQUEST_LEN`] with 413 `TOO_LARGE` without
/// buffering it: bodies declared over [`DRAIN_LIMIT`] are refused before any byte is read,
/// smaller ones are discarded as they arrive (bounded by the request timeout) and then refused.
pub async fn declared_length(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared.filter(|&n| n > MAX_REQUEST_LEN as u64) {
        if n <= DRAIN_LIMIT {
            let mut body = req.into_body();
            while let Some(Ok(_)) = body.frame().await {}
        }
        return PreDecapError::TooLarge.into_response();
    }
    next.run(req).await
}

/// `router` with the early size refusal ([`declared_length`]), a whole-request timeout of
/// `request_timeout` (body reading included; 408 `REQUEST_TIMEOUT`) and problem documents for
/// every error the stack makes ([`uniform_errors`]: 404, 405, 414, 431, …).
pub fn protect(router: Router, request_timeout: Duration) -> Router {
    router
        .layer(middleware::from_fn(declared_length))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    request_timeout_problem()
                }))
                .layer(tower::timeout::TimeoutLayer::new(request_timeout)),
        )
        .layer(middleware::from_fn(uniform_errors))
}

/// The rate-limit key of a client: its peer IP, IPv6 addresses by their /64 network (one
/// subscriber usually holds a whole /64, so per-address keys would give it 2⁶⁴ buckets).
/// Needs [`ConnectInfo<SocketAddr>`] on the request ([`serve`] adds it).
#[derive(Clone, Copy, Debug)]
pub struct ClientKey;

impl KeyExtractor for ClientKey {
    type Key = IpAddr;

    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<IpAddr, GovernorError> {
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| client_key(c.0.ip()))
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// The key of a client address ([`ClientKey`], the per-client connection cap of [`serve`]):
/// IPv4 as is, an IPv4-mapped IPv6 address as its IPv4 address, other IPv6 by the /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

/// A per-client rate limit ([`rate_limit`]): each client may send `burst` requests at once and
/// one more every `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Time to earn one request back.
    pub period: Duration,
    /// Requests a client may send at once (≥ 1).
    pub burst: NonZeroU32,
}

/// How often [`rate_limit`] drops the buckets of clients that have been quiet long enough to be
/// full again (so the per-client state stays bounded by the clients of the last minute).
pub const RATE_LIMIT_RETAIN_INTERVAL: Duration = Duration::from_secs(60);

/// Marks a response [`rate_limit`]'s limiter made itself (429, or 500 without a peer address).
#[derive(Clone, Copy, Debug)]
struct FromRateLimit;

/// `router` behind a per-client token bucket (tower_governor, keyed by [`ClientKey`]): past it
/// 429 `TOO_MANY_REQUESTS` (problem document, `Retry-After` in seconds). A request without a
/// peer address (not served by [`serve`] or axum's `into_make_service_with_connect_info`) is
/// refused 500 `INTERNAL`: fail closed. Behind a reverse proxy every client shares the proxy's
/// address: rate-limit at the proxy instead (README "Gateway integration").
///
/// Mount it **outermost**, around [`protect`] and [`cors`] (only [`access_log`] outside it),
/// so that every request a client makes is counted, the ones those layers answer themselves
/// included (a declared oversize body's 413, a CORS preflight). Give it the app's `cors` layer:
/// a 429 (or 500) it makes then carries the same CORS headers as every other answer, so a page
/// on another origin can read the problem document (the layer sees the refused request's
/// method, URI and `Origin`: an `AllowOrigin` predicate that reads other headers is not given
/// them). A refused preflight gets none (a browser
/// fails any preflight that is not 2xx, with or without them).
///
/// A background thread drops quiet clients' buckets every [`RATE_LIMIT_RETAIN_INTERVAL`] and
/// ends when the router is dropped.
pub fn rate_limit(router: Router, config: RateLimitConfig, cors: Option<CorsLayer>) -> Router {
    let nanos = u64::try_from(config.period.as_nanos())
        .unwrap_or(u64::MAX)
        .max(1);
    let Some(gc) = GovernorConfigBuilder::default()
        .per_nanosecond(nanos)
        .burst_size(config.burst.get())
        .key_extractor(ClientKey)
        .finish()
    else {
        return router;
    };
    let limiter = Arc::downgrade(gc.limiter());
    std::thread::spawn(move || loop {
        std::thread::sleep(RATE_LIMIT_RETAIN_INTERVAL);
        match limiter.upgrade() {
            Some(l) => l.retain_recent(),
            None => break,
        }
    });
    let router = router.layer(GovernorLayer::new(gc).error_handler(|e| {
        let mut res = match e {
            GovernorError::TooManyRequests { wait_time, .. } => {
                let mut res = problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TOO_MANY_REQUESTS",
                    "too many requests",
                );
                res.headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(wait_time.max(1)));
                res
            }
            _ => PreDecapError::Internal.into_response(),
        };
        res.extensions_mut().insert(FromRateLimit);
        res
    }));
    match cors {
        Some(cors) => router.layer(middleware::from_fn(move |req: Request, next: Next| {
            with_cors_on_refusals(cors.clone(), req, next)
        })),
        None => router,
    }
}

/// Runs `next`; a response the rate limiter made ([`FromRateLimit`]) to a request that is not
/// a CORS preflight goes through `cors` as the app's own answers do, so it gets the same CORS
/// headers. `cors` sees the request's method, URI and `Origin` (what a CORS layer reads of a
/// request that is not a preflight), kept before the request runs: only those, so that the
/// requests that pass, nearly all, cost no copy of their headers.
async fn with_cors_on_refusals(cors: CorsLayer, req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(axum::http::header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut head = Request::new(Body::empty());
    if !preflight {
        *head.method_mut() = req.method().clone();
        *head.uri_mut() = req.uri().clone();
        if let Some(origin) = req.headers().get(axum::http::header::ORIGIN) {
            head.headers_mut()
                .insert(axum::http::header::ORIGIN, origin.clone());
        }
    }
    let res = next.run(req).await;
    if preflight || res.extensions().get::<FromRateLimit>().is_none() {
        return res;
    }
    let mut res = Some(res);
    let answer = tower::service_fn(move |_: Request| {
        let r = res
            .take()
            .unwrap_or_else(|| PreDecapError::Internal.into_response());
        std::future::ready(Ok::<_, std::convert::Infallible>(r))
    });
    match tower::Layer::layer(&cors, answer).oneshot(head).await {
        Ok(r) => r,
        Err(e) => match e {},
    }
}

/// Bounds of [`serve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeConfig {
    /// Most connections open at once (default 512, below a 1024 file-descriptor limit); a
    /// connection accepted past it is closed at once.
    pub max_connections: usize,
    /// Most connections one client ([`client_key`]: an IPv4 address, an IPv6 /64) may have
    /// open at once (default 64), so that one client cannot hold every one of
    /// `max_connections`; a connection of that client accepted past it is closed at once, the
    /// other clients' are served.
    pub max_connections_per_ip: usize,
    /// Largest read buffer of a connection, in bytes (hyper's `max_buf_size`, default 32 KiB,
    /// at least 8 KiB; hyper's own default is ~400 KiB). Request headers that do not fit are
    /// refused by hyper itself (431, empty body, connection closed).
    pub max_header_buffer: usize,
    /// Time a client has to send a request's complete headers before the connection is closed
    /// (default 10 s), counted from the accept for a new connection (one that sends nothing is
    /// closed then too) and from the previous answer on a kept-alive one.
    pub header_read_timeout: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            max_connections: 512,
            max_connections_per_ip: 64,
            max_header_buffer: 32 * 1024,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

impl ServeConfig {
    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    pub fn with_max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets [`max_connections_per_ip`](Self::max_connections_per_ip) (at least 1).
    pub fn with_max_connections_per_ip(mut self, n: usize) -> Self {
        self.max_connections_per_ip = n.max(1);
        self
    }

    /// Sets [`max_header_buffer`](Self::max_header_buffer) (at least 8,192).
    pub fn with_max_header_buffer(mut self, bytes: usize) -> Self {
        self.max_header_buffer = bytes.max(8192);
        self
    }

    /// Sets [`header_read_timeout`](Self::header_read_timeout).
    pub fn with_header_read_timeout(mut self, t: Duration) -> Self {
        self.header_read_timeout = t;
        self
    }
}

/// Open connections per client ([`client_key`]), for [`ServeConfig::max_connections_per_ip`].
/// Holds only clients with a connection open, so at most `max_connections` entries.
#[derive(Default)]
struct PerClient(std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>);

/// One open connection of a client in [`PerClient`]; given back on drop.
struct ClientSlot {
    clients: Arc<PerClient>,
    key: IpAddr,
}

impl PerClient {
    /// A slot for one more connection of `key`, or `None` if it has `max` open.
    fn acquire(self: &Arc<Self>, key: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let open = map.entry(key).or_insert(0);
        if *open >= max {
            return None;
        }
        *open += 1;
        Some(ClientSlot {
            clients: Arc::clone(self),
            key,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self.clients.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = map.get_mut(&self.key) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// Serves `router` on `listener` (HTTP/1.1, hyper) until `shutdown` completes, then lets the
/// open connections finish. Each request carries [`ConnectInfo<SocketAddr>`] (for
/// [`rate_limit`]). Bounds ([`ServeConfig`]): connections past `max_connections`, and a
/// client's connections past `max_connections_per_ip`, are closed as soon as they are accepted;
/// a connection's read buffer is at most `max_header_buffer`; one that has not sent complete
/// headers within `header_read_timeout` (from the accept, or from the previous answer) is
/// closed. A failed accept
/// (e.g. out of file descriptors) is retried after 50 ms and logged at most once a second
/// (with the count of those not logged), as is the connection limit.
///
/// Errors: none today (accept errors are logged and retried); `io::Result` for the future.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
    let clients = Arc::new(PerClient::default());
    let accept_log = LogLimiter::new();
    let limit_log = LogLimiter::new();
    let client_limit_log = LogLimiter::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        if let Some(suppressed) = accept_log.admit() {
                            tracing::warn!(error = %e, suppressed, "accept failed");
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(slot) = clients.acquire(client_key(peer.ip()), config.max_connections_per_ip.max(1)) else {
                    if let Some(suppressed) = client_limit_log.admit() {
                        tracing::warn!(max = config.max_connections_per_ip, suppressed, "per-client connection limit reached; connection closed");
                    }
                    drop(stream);
                    continue;
                };
                let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                    if let Some(suppressed) = limit_log.admit() {
                        tracing::warn!(max = config.max_connections, suppressed, "connection limit reached; connection closed");
                    }
                    drop(stream);
                    continue;
                };
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(config.header_read_timeout)
                    .max_buf_size(config.max_header_buffer.max(8192));
                let service = router.clone().map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req
                });
                let conn = builder.serve_connection(
                    hyper_util::rt::TokioIo::new(stream),
                    hyper_util::service::TowerToHyperService::new(service),
                );
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection closed");
                    }
                    drop(permit);
                    drop(slot);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The CORS answers a browser page on another origin needs: origins for which `allow` is true
/// are reflected; methods `GET`, `POST`, `OPTIONS`; request headers `content-type` and
/// `authorization`; preflights cached 600 s.
pub fn cors(allow: impl Fn(&HeaderValue) -> bool + Send + Sync + 'static) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| allow(origin)))
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([CONTENT_TYPE, AUTHORIZATION])
        .max_age(Duration::from_secs(600))
}

/// Access log (tracing, `info`): method, path, status, latency in µs and the [`Outcome`] code.
/// Never bodies, headers, tokens or secrets.
pub async fn access_log(req: Request, next: Next) -> Response {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Issue 14 §1: accept errors (839 in 54 s under a 1024-descriptor limit) are logged at
    /// most once a second, with the count not logged. Before the fix each was logged.
    #[test]
    fn accept_errors_are_logged_at_most_once_a_second() {
        let l = LogLimiter::new();
        assert_eq!(l.admit(), Some(0));
        for _ in 0..5 {
            assert_eq!(l.admit(), None);
        }
        assert_eq!(l.suppressed(), 5);
    }

    /// F3: a client's connection slots: at most `max` at once, given back on drop, other
    /// clients unaffected, and no entry left for a client with none open.
    #[test]
    fn per_client_connection_slots() {
        let clients = Arc::new(PerClient::default());
        let a = client_key("192.0.2.1".parse().unwrap());
        let b = client_key("[2001:db8::1]:1".parse::<SocketAddr>().unwrap().ip());
        let first = clients.acquire(a, 2).unwrap();
        let second = clients.acquire(a, 2).unwrap();
        assert!(clients.acquire(a, 2).is_none());
        let other = clients.acquire(b, 2).unwrap();
        // The same /64 is the same client.
        let same_net = client_key("2001:db8::ffff".parse().unwrap());
        assert_eq!(same_net, b);
        let other2 = clients.acquire(same_net, 2).unwrap();
        assert!(clients.acquire(b, 2).is_none());
        drop(first);
        let third = clients.acquire(a, 2).unwrap();
        drop((second, third, other, other2));
        assert!(clients.0.lock().unwrap().is_empty());
    }

    /// A client's rate-limit key: IPv4 as is, IPv6 by /64, v4-mapped IPv6 as IPv4.
    #[test]
    fn client_keys() {
        let key = |addr: &str| {
            let mut req = axum::http::Request::new(());
            req.extensions_mut()
                .insert(ConnectInfo(addr.parse::<SocketAddr>().unwrap()));
            ClientKey.extract(&req).unwrap()
        };
        assert_eq!(key("192.0.2.7:1"), "192.0.2.7".parse::<IpAddr>().unwrap());
        assert_eq!(
            key("[2001:db8:1:2:3:4:5:6]:1"),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(key("[2001:db8:1:2:ffff::1]:1"), key("[2001:db8:1:2::9]:9"));
        assert_eq!(key("[::ffff:192.0.2.7]:1"), key("192.0.2.7:2"));
        assert!(ClientKey.extract(&axum::http::Request::new(())).is_err());
    }
}
