//! Services the page calls with its VT, dispatched by name (docs/PROTOCOL.md §7): in-process
//! closures, or the provider's HTTP backends ([`UpstreamService`], cargo feature `upstream`).

use core::fmt;
use core::future::Future;
use core::pin::Pin;

/// Who is calling: taken from the VT and the verified request, never from the request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallContext<'a> {
    /// The partner whose AT was exchanged.
    pub partner: &'a str,
    /// The partner's user id (1..=128 bytes of printable ASCII, no space).
    pub subject: &'a str,
    /// The product of the session.
    pub product: &'a str,
    /// The service name the call named.
    pub service: &'a str,
    /// The call's request id (16 bytes, unique within the replay window).
    pub request_id: &'a [u8; 16],
    /// The gateway's clock, seconds since the Unix epoch.
    pub now: u64,
}

impl<'a> CallContext<'a> {
    /// A context as the gateway builds it after verifying a call (for testing a service
    /// outside the gateway).
    pub fn new(
        partner: &'a str,
        subject: &'a str,
        product: &'a str,
        service: &'a str,
        request_id: &'a [u8; 16],
        now: u64,
    ) -> Self {
        Self {
            partner,
            subject,
            product,
            service,
            request_id,
            now,
        }
    }
}

/// A service's refusal; sealed inside the call response. `Rejected` is `SERVICE_REJECTED`,
/// every other variant `INTERNAL` (the variants tell the cases apart in logs only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceError {
    /// The body is not what the service accepts (code `SERVICE_REJECTED`; an upstream
    /// answered 4xx).
    Rejected,
    /// The service failed (code `INTERNAL`; an upstream answered 5xx or something else than
    /// 2xx/4xx, or an answer that is not JSON text).
    Internal,
    /// The upstream could not be reached (code `INTERNAL`).
    Unavailable,
    /// The upstream did not answer within its timeout (code `INTERNAL`).
    Timeout,
    /// The upstream's answer is longer than its cap (code `INTERNAL`).
    TooLarge,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceError::Rejected => "service rejected the request",
            ServiceError::Internal => "service failed",
            ServiceError::Unavailable => "service backend unreachable",
            ServiceError::Timeout => "service backend timed out",
            ServiceError::TooLarge => "service backend answer too large",
        })
    }
}

impl core::error::Error for ServiceError {}

/// What [`Service::call`] returns: a boxed `Send` future of the JSON answer.
pub type ServiceFuture<'a> =
    Pin<Box<dyn Future<Output = Result<String, ServiceError>> + Send + 'a>>;

/// A service: takes the call's JSON body (UTF-8 text, at most 512 KiB) and answers JSON text
/// (at most 512 KiB). Asynchronous, so a service may call a backend without blocking.
///
/// Implemented for every `Fn(&CallContext, &str) -> Result<String, ServiceError>` (an
/// in-process service) and by [`UpstreamService`] (feature `upstream`).
pub trait Service: Send + Sync {
    /// Handles one call.
    fn call<'a>(&'a self, ctx: &'a CallContext<'a>, body: &'a str) -> ServiceFuture<'a>;
}

impl<F> Service for F
where
    F: Fn(&CallContext<'_>, &str) -> Result<String, ServiceError> + Send + Sync,
{
    fn call<'a>(&'a self, ctx: &'a CallContext<'a>, body: &'a str) -> ServiceFuture<'a> {
        Box::pin(core::future::ready(self(ctx, body)))
    }
}
