//! # h5-access
//!
//! Turns a partner-issued access token (AT) into an encrypted session for an H5 page.
//! The browser seals the AT to the gateway's HPKE key (RFC 9180) in the RFC 9458 encapsulation
//! construction; the gateway answers with an issued token (VT) and the product page's data,
//! sealed under a key only that browser can derive; later service calls are bound to a session
//! secret exported from the same HPKE context.
//!
//! The crate is organised by party:
//!
//! * [`protocol`]: the core both ends share (target-independent).
//! * [`client`]: the client core (sans-IO, target-independent) the browser SDK drives.
//! * `gateway` (cargo feature `gateway`): the provider's half.
//! * `partner` (cargo feature `partner`): the partner backend's helper.
//! * `sdk` (wasm32 only): the browser SDK behind the npm package: the client core driven
//!   through `fetch` (gloo-net), exported to JavaScript.
//!
//! The wire format is specified byte by byte in docs/PROTOCOL.md.

extern crate alloc;

pub mod protocol;

pub mod client;

#[cfg(feature = "gateway")]
pub mod gateway;
#[cfg(feature = "partner")]
pub mod partner;
#[cfg(target_arch = "wasm32")]
pub mod sdk;
