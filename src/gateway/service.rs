//! Services the page calls with its VT, dispatched by name (docs/PROTOCOL.md §7).

use core::fmt;

/// Who is calling: taken from the VT, never from the request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallContext<'a> {
    /// The partner whose AT was exchanged.
    pub partner: &'a str,
    /// The partner's user id.
    pub subject: &'a str,
    /// The product of the session.
    pub product: &'a str,
    /// The gateway's clock, seconds since the Unix epoch.
    pub now: u64,
}

/// A service's refusal; sealed inside the call response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceError {
    /// The body is not what the service accepts (code `SERVICE_REJECTED`).
    Rejected,
    /// The service failed (code `INTERNAL`).
    Internal,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceError::Rejected => "service rejected the request",
            ServiceError::Internal => "service failed",
        })
    }
}

impl core::error::Error for ServiceError {}

/// A service: takes the call's JSON body (UTF-8 text, at most 512 KiB) and answers JSON text.
///
/// Implemented for every `Fn(&CallContext, &str) -> Result<String, ServiceError>`.
pub trait Service: Send + Sync {
    /// Handles one call.
    fn call(&self, ctx: &CallContext<'_>, body: &str) -> Result<String, ServiceError>;
}

impl<F> Service for F
where
    F: Fn(&CallContext<'_>, &str) -> Result<String, ServiceError> + Send + Sync,
{
    fn call(&self, ctx: &CallContext<'_>, body: &str) -> Result<String, ServiceError> {
        self(ctx, body)
    }
}
