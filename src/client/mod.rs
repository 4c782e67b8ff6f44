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
//! * the key list's freshness ([`Client::post`], [`max_age`]): a list the client fetched is
//!   fetched again before sealing once it is as old as its `Cache-Control: max-age`
//!   (docs/PROTOCOL.md §3.3); a configuration the page gave is pinned;
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
    body_cap, is_media_type, max_age, read_answer, Answer, HttpAnswer, HttpRequest, Method,
    Problem, KEYS_MEDIA_TYPE, MAX_ANSWER_LEN, MAX_MAX_AGE, MAX_PROBLEM_LEN, PROBLEM_MEDIA_TYPE,
    STALE_KEY_PROBLEM_TYPE,
};
pub use session::{
    checked_request_id, first_config, random_request_id, seal_exchange, Pending, RequestId,
    Session, MAX_EXP,
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

/// The key configuration a client seals to, and how long it may.
#[derive(Debug)]
struct Keys {
    config: KeyConfig,
    /// For a list the client fetched: when its request was sent (seconds, the transport's
    /// clock) and its `max-age` (seconds, [`max_age`]). `None`: pinned (given by the page).
    fetched: Option<(u64, u64)>,
}

impl Keys {
    /// Whether the list must be fetched again before sealing at `now`: fetched, and `now` is
    /// `max-age` or more after its request was sent (RFC 9111 §4.2: fresh while its age is under
    /// the freshness lifetime), or before it (the clock went back).
    fn stale(&self, now: u64) -> bool {
        self.fetched
            .is_some_and(|(at, max_age)| now < at || now - at >= max_age)
    }
}

/// A client of one gateway: its transport and the key configuration it seals to (the first of
/// the gateway's list; fetched again when older than its `max-age`, replaced after a stale-key
/// signal).
#[derive(Debug)]
pub struct Client<T> {
    transport: T,
    keys: RefCell<Keys>,
}

/// A failure to fetch the keys before any access token or call was sent: what is worth trying
/// again (NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE) is marked retryable.
fn unspent(e: ClientError) -> ClientError {
    let again = matches!(
        e.code,
        ErrorCode::Network | ErrorCode::Timeout | ErrorCode::HttpStatus | ErrorCode::BadResponse
    );
    e.retryable(again)
}

impl<T: Transport> Client<T> {
    /// A client sealing to `key_config` (an `application/ohttp-keys` list or one
    /// configuration), without a request. The configuration is pinned: never fetched again
    /// except on the stale-key signal.
    ///
    /// Errors: KEY_CONFIG.
    pub fn with_key_config(transport: T, key_config: &[u8]) -> Result<Self, ClientError> {
        let keys = RefCell::new(Keys {
            config: first_config(key_config)?,
            fetched: None,
        });
        Ok(Self { transport, keys })
    }

    /// A client whose key configuration is fetched now (`GET /v1/keys`), and again before a
    /// seal once older than its `max-age`.
    ///
    /// Errors: those of [`fetch_keys`](Self::fetch_keys), NETWORK, TIMEOUT, HTTP_STATUS and
    /// BAD_RESPONSE marked retryable.
    pub async fn connect(transport: T) -> Result<Self, ClientError> {
        let keys = RefCell::new(fetch_list(&transport).await.map_err(unspent)?);
        Ok(Self { transport, keys })
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The key configuration requests are sealed to now.
    pub fn key_config(&self) -> KeyConfig {
        self.keys.borrow().config.clone()
    }

    /// Fetches `GET /v1/keys` again and keeps its first configuration, and its time and
    /// `max-age` (from then on it is a fetched list, even if the page had given one). On failure
    /// the configuration held is kept as it was.
    ///
    /// Errors: NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE, KEY_CONFIG (invalid, or a stale-key
    /// signal in answer to the keys request itself).
    pub async fn fetch_keys(&self) -> Result<(), ClientError> {
        let keys = fetch_list(&self.transport).await?;
        *self.keys.borrow_mut() = keys;
        Ok(())
    }

    /// Seals with `seal` (given the current key configuration), posts the request and reads
    /// the answer: the [`Pending`] that opens it and its body.
    ///
    /// First, a list the client fetched that is now as old as its `max-age` (or older) is
    /// fetched again (docs/PROTOCOL.md §3.3); if that fails, nothing is sealed and the error is
    /// returned, the old list kept for the next operation to try again.
    ///
    /// On the RFC 9458 §5.3 stale-key signal: one refresh of the key configuration and one
    /// retry in a new encapsulation (new `enc`, and a new request id if `seal` draws one); a
    /// second signal is KEY_CONFIG, and so is a signal in answer to a list fetched by this
    /// operation (never more than one keys request per operation). Nothing else is retried
    /// (RFC 9458 §6.5). A keys request that fails, before sealing or after the signal, gives
    /// its error with NETWORK, TIMEOUT, HTTP_STATUS and BAD_RESPONSE marked retryable: nothing
    /// was spent (the signal is sent before any decryption).
    ///
    /// Errors: those of `seal`, [`Transport::send`], [`read_answer`] and
    /// [`fetch_keys`](Self::fetch_keys).
    pub async fn post(
        &self,
        seal: &mut dyn FnMut(&KeyConfig) -> Result<Pending, ClientError>,
    ) -> Result<(Pending, Vec<u8>), ClientError> {
        // One keys request at most: before sealing (a stale list) or after a stale-key signal.
        let mut refresh = self.keys.borrow().stale(self.transport.now_seconds());
        let mut refreshed = false;
        loop {
            if refresh {
                refreshed = true;
                self.fetch_keys().await.map_err(unspent)?;
            }
            let pending = seal(&self.keys.borrow().config)?;
            let request = pending.http_request();
            let accept = request.accept;
            let answer = self.transport.send(request).await?;
            match read_answer(answer, accept, &|b| self.transport.parse_problem(b))? {
                Answer::Body(body) => return Ok((pending, body)),
                Answer::StaleKey if refreshed => return Err(ErrorCode::KeyConfig.into()),
                Answer::StaleKey => {
                    drop(pending);
                    refresh = true;
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

/// `GET /v1/keys` through `transport`: the first configuration of the list, when the request
/// was sent (the answer's `sent_at`, else the time before `send`) and the list's `max-age`.
///
/// Errors: NETWORK, TIMEOUT, HTTP_STATUS, BAD_RESPONSE, KEY_CONFIG.
async fn fetch_list<T: Transport>(transport: &T) -> Result<Keys, ClientError> {
    let before = transport.now_seconds();
    let answer = transport.send(HttpRequest::keys()).await?;
    let at = answer.sent_at.map_or(before, |s| s.min(before));
    let max_age = max_age(&answer.cache_control);
    match read_answer(answer, KEYS_MEDIA_TYPE, &|b| transport.parse_problem(b))? {
        Answer::Body(bytes) => Ok(Keys {
            config: first_config(&bytes)?,
            fetched: Some((at, max_age)),
        }),
        Answer::StaleKey => Err(ErrorCode::KeyConfig.into()),
    }
}
