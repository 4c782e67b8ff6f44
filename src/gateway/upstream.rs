//! [`UpstreamService`] (cargo feature `upstream`): a service that is the provider's own HTTP
//! backend. The gateway opens the call and checks VT, binder, budget and replay as for any
//! service; then it POSTs the call's JSON body to the backend with the verified context in
//! headers, bounded by a timeout and a response cap, and seals the backend's answer.
//!
//! Request to the backend: `POST <url>`, `content-type: application/json`, the call body, and
//!
//! | header | value |
//! |---|---|
//! | `h5-partner` | partner id (from the VT) |
//! | `h5-subject` | the partner's user id (from the VT) |
//! | `h5-product` | product of the session (from the VT) |
//! | `h5-service` | the service name called |
//! | `h5-request-id` | the call's request id, 32 lower-case hex digits |
//! | `h5-time` | the gateway's clock, seconds since the Unix epoch |
//! | `h5-context-signature` | only with [`UpstreamService::with_context_key`]: see below |
//!
//! Nothing from the page but the body reaches the backend, and the gateway sets these headers
//! itself, so a backend that only the gateway can reach (network policy) can trust them. With a
//! context key (32 secret bytes shared by gateway and backend) the backend need not trust the
//! network either: `h5-context-signature` is `base64url-nopad(HMAC-SHA256(key, canonical))`
//! with `canonical` the lines, joined by `\n`:
//! `h5-access upstream v1`, partner, subject, product, service, request id (hex), time, and the
//! lower-case hex SHA-256 of the body bytes ([`context_signature`]). The backend recomputes it,
//! compares in constant time, and may refuse a `h5-time` far from its clock.
//!
//! Answer: 2xx with a JSON body of at most the cap (default 512 KiB) → sealed as the call's
//! answer. 4xx → `SERVICE_REJECTED`. Any other status, a body that is not UTF-8 JSON, more
//! than the cap ([`ServiceError::TooLarge`]), no answer within the timeout (default 5 s,
//! [`ServiceError::Timeout`]) or no connection ([`ServiceError::Unavailable`]) → `INTERNAL`.
//! Never a hang: the timeout covers connecting, sending and reading the whole answer.
//!
//! `http://` URLs work as built; for `https://` pass a `reqwest::Client` built with a TLS
//! feature of reqwest enabled in the provider's crate ([`UpstreamService::with_client`]).

use core::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac as _};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::service::{CallContext, Service, ServiceError, ServiceFuture};
use crate::protocol::messages::MAX_BODY_LEN;

/// Default bound on one backend call (connect, send, whole answer): 5 s.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(5);

/// Why [`UpstreamService::new`] refused a URL. Never carries the URL (it may hold credentials).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpstreamConfigError {
    /// Not an absolute `http://` or `https://` URL.
    BadUrl,
    /// The HTTP client could not be built.
    Client,
}

impl fmt::Display for UpstreamConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpstreamConfigError::BadUrl => "upstream URL is not an absolute http(s) URL",
            UpstreamConfigError::Client => "upstream HTTP client could not be built",
        })
    }
}

impl core::error::Error for UpstreamConfigError {}

/// First line of the canonical context a context signature covers.
pub const CONTEXT_SIGNATURE_LABEL: &str = "h5-access upstream v1";

/// The `h5-context-signature` value for a call: `base64url-nopad(HMAC-SHA256(key, canonical))`,
/// `canonical` = `h5-access upstream v1`, partner, subject, product, service, request id
/// (32 lower-case hex digits), time (decimal seconds) and the lower-case hex SHA-256 of `body`,
/// joined by `\n` (43 ASCII characters). For backends written in Rust, and for tests.
pub fn context_signature(key: &[u8; 32], ctx: &CallContext<'_>, body: &[u8]) -> String {
    let canonical = [
        CONTEXT_SIGNATURE_LABEL,
        ctx.partner,
        ctx.subject,
        ctx.product,
        ctx.service,
        &hex(ctx.request_id),
        &ctx.now.to_string(),
        &hex(&Sha256::digest(body)),
    ]
    .join("\n");
    // RFC 2104 §2: a key shorter than the block (64 bytes) is zero-padded to it; padded here so
    // the infallible fixed-size constructor applies.
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    let mut mac = <Hmac<Sha256> as KeyInit>::new((&*block).into());
    mac.update(canonical.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A service answered by an HTTP backend. `Debug` prints the URL's scheme and host only (and
/// whether a context key is set, never the key).
#[derive(Clone)]
pub struct UpstreamService {
    url: reqwest::Url,
    client: reqwest::Client,
    timeout: Duration,
    max_answer_len: usize,
    context_key: Option<Arc<Zeroizing<[u8; 32]>>>,
}

impl fmt::Debug for UpstreamService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamService")
            .field("scheme", &self.url.scheme())
            .field("host", &self.url.host_str())
            .field("timeout", &self.timeout)
            .field("max_answer_len", &self.max_answer_len)
            .field("context_key", &self.context_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

impl UpstreamService {
    /// A backend at `url` with the default timeout and cap, no redirects followed, and no
    /// proxy: the default client ignores `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and the system
    /// proxy settings, so a decrypted call body and the verified context headers go only to
    /// `url`. A provider whose backend sits behind a proxy passes its own client
    /// ([`with_client`](Self::with_client), e.g. with `reqwest::Proxy::http`).
    ///
    /// Errors: [`UpstreamConfigError`].
    pub fn new(url: &str) -> Result<Self, UpstreamConfigError> {
        let url = reqwest::Url::parse(url).map_err(|_| UpstreamConfigError::BadUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(UpstreamConfigError::BadUrl);
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Never a proxy from the environment: it would see the plaintext call (F2).
            .no_proxy()
            .build()
            .map_err(|_| UpstreamConfigError::Client)?;
        Ok(Self {
            url,
            client,
            timeout: DEFAULT_UPSTREAM_TIMEOUT,
            max_answer_len: MAX_BODY_LEN,
            context_key: None,
        })
    }

    /// Signs every call's context with `key` (32 secret bytes shared with the backend; kept
    /// zeroized): adds `h5-context-signature` ([`context_signature`]).
    pub fn with_context_key(mut self, key: [u8; 32]) -> Self {
        let key = Zeroizing::new(key);
        self.context_key = Some(Arc::new(key));
        self
    }

    /// Uses `client` (connection pool, TLS, proxies as the provider configures them). The
    /// default client uses no proxy; a `reqwest::Client` built by the caller follows
    /// reqwest's defaults, which read `HTTP_PROXY`/`HTTPS_PROXY` unless it calls `no_proxy()`.
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }

    /// Sets the bound on one call (connect, send, whole answer).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the longest answer accepted, in bytes (at most 512 KiB, the call answer limit).
    pub fn with_max_answer_len(mut self, len: usize) -> Self {
        self.max_answer_len = len.min(MAX_BODY_LEN);
        self
    }

    async fn forward(&self, ctx: &CallContext<'_>, body: &str) -> Result<String, ServiceError> {
        let mut req = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("h5-partner", ctx.partner)
            .header("h5-subject", ctx.subject)
            .header("h5-product", ctx.product)
            .header("h5-service", ctx.service)
            .header("h5-request-id", hex(ctx.request_id))
            .header("h5-time", ctx.now.to_string());
        if let Some(key) = &self.context_key {
            req = req.header(
                "h5-context-signature",
                context_signature(key, ctx, body.as_bytes()),
            );
        }
        let res = req.body(body.to_owned()).send().await.map_err(|e| {
            if e.is_timeout() {
                ServiceError::Timeout
            } else {
                ServiceError::Unavailable
            }
        })?;
        let status = res.status();
        if status.is_client_error() {
            return Err(ServiceError::Rejected);
        }
        if !status.is_success() {
            return Err(ServiceError::Internal);
        }
        if res
            .content_length()
            .is_some_and(|n| n > self.max_answer_len as u64)
        {
            return Err(ServiceError::TooLarge);
        }
        let answer = Limited::new(reqwest::Body::from(res), self.max_answer_len)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    ServiceError::TooLarge
                } else {
                    ServiceError::Unavailable
                }
            })?
            .to_bytes();
        serde_json::from_slice::<serde::de::IgnoredAny>(&answer)
            .map_err(|_| ServiceError::Internal)?;
        String::from_utf8(answer.to_vec()).map_err(|_| ServiceError::Internal)
    }
}

impl Service for UpstreamService {
    fn call<'a>(&'a self, ctx: &'a CallContext<'a>, body: &'a str) -> ServiceFuture<'a> {
        Box::pin(async move {
            let r = match tokio::time::timeout(self.timeout, self.forward(ctx, body)).await {
                Ok(r) => r,
                Err(_) => Err(ServiceError::Timeout),
            };
            if let Err(e) = &r {
                tracing::warn!(service = ctx.service, error = %e, "upstream service call failed");
            }
            r
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_and_debug() {
        assert_eq!(
            UpstreamService::new("ftp://x").unwrap_err(),
            UpstreamConfigError::BadUrl
        );
        assert_eq!(
            UpstreamService::new("/relative").unwrap_err(),
            UpstreamConfigError::BadUrl
        );
        let s = UpstreamService::new("http://user:hunter4@10.0.0.9:8080/quote?k=v").unwrap();
        let d = format!("{s:?}");
        assert!(!d.contains("hunter4") && !d.contains("/quote"), "{d}");
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        let keyed = s.with_context_key([9; 32]);
        let d = format!("{keyed:?}");
        assert!(d.contains("context_key: Some(\"<set>\")"), "{d}");
    }

    /// Known answer, computed independently (Python's hmac and hashlib) from the canonical
    /// lines documented above.
    #[test]
    fn context_signature_known_answer() {
        let rid = [1u8; 16];
        let ctx = CallContext::new("p1", "user-7", "wealth-01", "orders", &rid, 1_800_000_000);
        assert_eq!(
            context_signature(&[7; 32], &ctx, br#"{"n":1}"#),
            "GJTCZ9aVxHSQ6oemDL6Ld3yBJx_EEp0V6ArvQjGPoWg"
        );
        assert_ne!(
            context_signature(&[7; 32], &ctx, br#"{"n":2}"#),
            "GJTCZ9aVxHSQ6oemDL6Ld3yBJx_EEp0V6ArvQjGPoWg"
        );
    }
}
