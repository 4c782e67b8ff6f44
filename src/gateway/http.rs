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
//! * Every response carries an [`Outcome`] extension (the sealed or problem code) for access
//!   logs; [`access_log`] logs method, path, status, latency and that code, never bodies,
//!   headers or tokens.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::protocol::Channel;

use super::core::{
    Gateway, SealedResponse, ACCESS_TOKEN_PATH, KEYS_CACHE_CONTROL, KEYS_MEDIA_TYPE,
    MAX_REQUEST_LEN, PROBLEM_MEDIA_TYPE,
};
use super::error::PreDecapError;
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

/// 408 `REQUEST_TIMEOUT` (problem+json): the request was not answered within the timeout of
/// [`protect`].
pub fn request_timeout_problem() -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": "request timeout",
        "status": 408,
        "code": "REQUEST_TIMEOUT",
    })
    .to_string();
    problem_response(StatusCode::REQUEST_TIMEOUT, "REQUEST_TIMEOUT", body)
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

/// The encapsulated response of a handler: 200 with the channel's response media type, or the
/// problem document.
pub fn sealed(channel: Channel, r: Result<SealedResponse, PreDecapError>) -> Response {
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
        Ok(json) => json_ok(json),
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

/// `router` with the early size refusal ([`declared_length`]) and a whole-request timeout of
/// `request_timeout` (body reading included; 408 `REQUEST_TIMEOUT`).
pub fn protect(router: Router, request_timeout: Duration) -> Router {
    router.layer(middleware::from_fn(declared_length)).layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                request_timeout_problem()
            }))
            .layer(tower::timeout::TimeoutLayer::new(request_timeout)),
    )
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
