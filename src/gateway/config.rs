//! [`GatewayConfig`]: token lifetimes, windows and the call budget, all in seconds.

/// Lifetimes and windows, all in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// Lifetime of an AT (default 300 s).
    pub at_ttl: u64,
    /// Lifetime of a VT (default 900 s).
    pub vt_ttl: u64,
    /// Clock skew allowed on AT and VT `exp` (default 30 s).
    pub clock_skew: u64,
    /// Half-width of the window around the gateway's clock in which a request's
    /// `client_time`, or a partner request's `ts`, must fall (default 300 s):
    /// `|t − now| ≤ request_window` is accepted. Request ids and partner nonces are remembered
    /// for `2 × request_window + 1` seconds, so no replay outlives its entry.
    pub request_window: u64,
    /// Most service calls one VT may make per minute (default 120). Further calls in the same
    /// minute are refused with `RATE_LIMITED` before their request id is stored, which bounds
    /// what one session can put in the state store (docs/PROTOCOL.md §11).
    pub calls_per_minute: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            at_ttl: 300,
            vt_ttl: 900,
            clock_skew: 30,
            request_window: 300,
            calls_per_minute: 120,
        }
    }
}

impl GatewayConfig {
    /// Sets the AT lifetime in seconds.
    pub fn with_at_ttl(mut self, seconds: u64) -> Self {
        self.at_ttl = seconds;
        self
    }
    /// Sets the VT lifetime in seconds.
    pub fn with_vt_ttl(mut self, seconds: u64) -> Self {
        self.vt_ttl = seconds;
        self
    }
    /// Sets the clock skew allowed on token expiry, in seconds.
    pub fn with_clock_skew(mut self, seconds: u64) -> Self {
        self.clock_skew = seconds;
        self
    }
    /// Sets the request window, in seconds.
    pub fn with_request_window(mut self, seconds: u64) -> Self {
        self.request_window = seconds;
        self
    }
    /// Sets the per-VT call budget, in calls per minute.
    pub fn with_calls_per_minute(mut self, calls: u64) -> Self {
        self.calls_per_minute = calls;
        self
    }
}
