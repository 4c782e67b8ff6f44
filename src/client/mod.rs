//! The client core: every client-side rule of the protocol, once, without I/O (sans-IO).
//!
//! Target-independent (no wasm-bindgen, no browser or server crate): the browser SDK
//! ([`crate::sdk`], wasm32) drives it with `fetch` through gloo-net, and native tests and
//! benchmarks drive it in-process or over HTTP. It owns:
//!
//! * the requests ([`HttpRequest`]: `GET /v1/keys`, `POST /v1/exchange`, `POST /v1/call` with
//!   their media types, docs/PROTOCOL.md §7) and how an answer is read ([`read_answer`]: status,
//!   `Content-Type`, the body caps [`MAX_ANSWER_LEN`] / [`MAX_PROBLEM_LEN`]) into a body, the
//!   RFC 9458 §5.3 stale-key signal, an `HTTP_STATUS` error with status and gateway code, or
//!   `BAD_RESPONSE`;
//! * sealing the exchange and call requests and opening their answers ([`seal_exchange`],
//!   [`Pending`], [`Session`]);
//! * the retry policy ([`Client::post`]): one refresh of the key configuration and one retry on
//!   the stale-key signal, and no other retry (RFC 9458 §6.5: a request is never replayed);
//! * the error codes ([`ErrorCode`], [`ClientError`]).
//!
//! The I/O is a [`Transport`]: it sends one [`HttpRequest`] and returns the [`HttpAnswer`]
//! (body read up to [`body_cap`]), parses problem documents and tells the time.

mod error;
mod http;
mod session;

use core::cell::RefCell;
use core::future::Future;

pub use error::{reason, sanitize_code, Argument, ClientError, ErrorCode};
pub use http::{
    body_cap, is_media_type, read_answer, Answer, HttpAnswer, HttpRequest, Method, Problem,
    KEYS_MEDIA_TYPE, MAX_ANSWER_LEN, MAX_PROBLEM_LEN, PROBLEM_MEDIA_TYPE, STALE_KEY_PROBLEM_TYPE,
};
pub use session::{
    first_config, random_request_id, seal_exchange, Pending, RequestId, Session, MAX_EXP,
};

use crate::protocol::KeyConfig;
use alloc::vec::Vec;

/// The I/O a [`Client`] is driven with.
pub trait Transport {
    /// Sends `request` to the gateway and returns its answer, the body read up to
    /// [`body_cap`]`(status)` (`None` past it).
    ///
    /// Errors: NETWORK (unreachable, refused, however the fetch failed), TIMEOUT.
    fn send(&self, request: HttpRequest) -> impl Future<Output = Result<HttpAnswer, ClientError>>;

    /// Parses a problem document (RFC 9457) for its `type` and `code`, each only when an own
    /// string member of a JSON object; anything else gives `Problem::default()`.
    fn parse_problem(&self, body: &[u8]) -> Problem;

    /// The client time put in requests: seconds since the Unix epoch.
    fn now_seconds(&self) -> u64;
}

/// A client of one gateway: its transport and the key configuration it seals to (the first of
/// the gateway's list, replaced after a stale-key signal).
#[derive(Debug)]
pub struct Client<T> {
    transport: T,
    keys: RefCell<KeyConfig>,
}

impl<T: Transport> Client<T> {
    /// A client sealing to `key_config` (an `application/ohttp-keys` list or one
    /// configuration), without a request.
    ///
    /// Errors: KEY_CONFIG.
    pub fn with_key_config(transport: T, key_config: &[u8]) -> Result<Self, ClientError> {
        let keys = RefCell::new(first_config(key_config)?);
        Ok(Self { transport, keys })
    }

    /// A client whose key configuration is fetched now (`GET /v1/keys`).
    ///
    /// Errors: those of [`fetch_keys`](Self::fetch_keys).
    pub async fn connect(transport: T) -> Result<Self, ClientError> {
        let keys = RefCell::new(fetch_keys(&transport).await?);
        Ok(Self { transport, keys })
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The key configuration requests are sealed to now.
    pub fn key_config(&self) -> KeyConfig {
        self.keys.borrow().clone()
    }

    /// Fetches `GET /v1/keys` again and keeps its first configuration.
    ///
    /// Errors: NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE, KEY_CONFIG (invalid, or a stale-key
    /// signal in answer to the keys request itself).
    pub async fn fetch_keys(&self) -> Result<(), ClientError> {
        let keys = fetch_keys(&self.transport).await?;
        *self.keys.borrow_mut() = keys;
        Ok(())
    }

    /// Seals with `seal` (given the current key configuration), posts the request and reads
    /// the answer: the [`Pending`] that opens it and its body.
    ///
    /// On the RFC 9458 §5.3 stale-key signal: one refresh of the key configuration and one
    /// retry in a new encapsulation (new `enc`, and a new request id if `seal` draws one); a
    /// second signal is KEY_CONFIG. Nothing else is retried (RFC 9458 §6.5).
    ///
    /// Errors: those of `seal`, [`Transport::send`], [`read_answer`] and
    /// [`fetch_keys`](Self::fetch_keys).
    pub async fn post(
        &self,
        seal: &mut dyn FnMut(&KeyConfig) -> Result<Pending, ClientError>,
    ) -> Result<(Pending, Vec<u8>), ClientError> {
        let mut refreshed = false;
        loop {
            let pending = seal(&self.keys.borrow())?;
            let request = pending.http_request();
            let accept = request.accept;
            let answer = self.transport.send(request).await?;
            match read_answer(answer, accept, &|b| self.transport.parse_problem(b))? {
                Answer::Body(body) => return Ok((pending, body)),
                Answer::StaleKey if refreshed => return Err(ErrorCode::KeyConfig.into()),
                Answer::StaleKey => {
                    drop(pending);
                    refreshed = true;
                    self.fetch_keys().await?;
                }
            }
        }
    }

    /// Exchanges the AT for a [`Session`] on `product` (a fresh random request id, the
    /// transport's time).
    ///
    /// Errors: AT_REJECTED (locally: not 1..=2048 printable ASCII; or from the gateway),
    /// AT_EXPIRED, AT_USED, REPLAYED, CLOCK_SKEW, GATEWAY_ERROR, INVALID_ARGUMENT (product),
    /// and those of [`post`](Self::post) and [`Pending::open_exchange`].
    pub async fn exchange(
        &self,
        access_token: &str,
        product: &str,
    ) -> Result<Session, ClientError> {
        let now = self.transport.now_seconds();
        let (pending, body) = self
            .post(&mut |keys| seal_exchange(keys, access_token, product, random_request_id()?, now))
            .await?;
        pending.open_exchange(&body)
    }

    /// Calls `service` with `body` (JSON text) in `session`: the service's JSON answer.
    ///
    /// Errors: VT_EXPIRED, VT_REJECTED, REPLAYED, CLOCK_SKEW, SERVICE_ERROR, RATE_LIMITED,
    /// GATEWAY_ERROR, INVALID_ARGUMENT (service, body), and those of [`post`](Self::post) and
    /// [`Pending::open_call`].
    pub async fn call(
        &self,
        session: &Session,
        service: &str,
        body: &str,
    ) -> Result<alloc::string::String, ClientError> {
        let now = self.transport.now_seconds();
        let (pending, answer) = self
            .post(&mut |keys| session.seal_call(keys, service, body, random_request_id()?, now))
            .await?;
        pending.open_call(&answer)
    }
}

/// `GET /v1/keys` through `transport`: the first configuration of the list.
///
/// Errors: NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE, KEY_CONFIG.
pub async fn fetch_keys<T: Transport>(transport: &T) -> Result<KeyConfig, ClientError> {
    let answer = transport.send(HttpRequest::keys()).await?;
    match read_answer(answer, KEYS_MEDIA_TYPE, &|b| transport.parse_problem(b))? {
        Answer::Body(bytes) => first_config(&bytes),
        Answer::StaleKey => Err(ErrorCode::KeyConfig.into()),
    }
}
