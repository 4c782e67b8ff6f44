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
//!
//! Nothing from the page but the body reaches the backend, and the gateway sets these headers
//! itself, so a backend that only the gateway can reach (network policy) can trust them.
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
use std::time::Duration;

use http_body_util::{BodyExt as _, LengthLimitError, Limited};

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

/// A service answered by an HTTP backend. `Debug` prints the URL's scheme and host only.
#[derive(Clone)]
pub struct UpstreamService {
    url: reqwest::Url,
    client: reqwest::Client,
    timeout: Duration,
    max_answer_len: usize,
}

impl fmt::Debug for UpstreamService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamService")
            .field("scheme", &self.url.scheme())
            .field("host", &self.url.host_str())
            .field("timeout", &self.timeout)
            .field("max_answer_len", &self.max_answer_len)
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
    /// A backend at `url` with the default timeout and cap, no redirects followed.
    ///
    /// Errors: [`UpstreamConfigError`].
    pub fn new(url: &str) -> Result<Self, UpstreamConfigError> {
        let url = reqwest::Url::parse(url).map_err(|_| UpstreamConfigError::BadUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(UpstreamConfigError::BadUrl);
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| UpstreamConfigError::Client)?;
        Ok(Self {
            url,
            client,
            timeout: DEFAULT_UPSTREAM_TIMEOUT,
            max_answer_len: MAX_BODY_LEN,
        })
    }

    /// Uses `client` (connection pool, TLS, proxies as the provider configures them).
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
        let res = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("h5-partner", ctx.partner)
            .header("h5-subject", ctx.subject)
            .header("h5-product", ctx.product)
            .header("h5-service", ctx.service)
            .header("h5-request-id", hex(ctx.request_id))
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| {
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
    }
}
