//! The protocol core: target-independent (no browser or server code).
//!
//! * [`key_config`]: the gateway's HPKE key configurations (RFC 9458 §3).
//! * [`encapsulation`]: encapsulated requests and responses (RFC 9458 §4.3, §4.4) on the HPKE
//!   suite of [`suite`], and the session secret exported for later calls (RFC 9180 §5.3).
//! * [`messages`]: the plaintexts of the AT→VT exchange and of service calls.
//! * [`error`]: one error enum per operation family, each variant with a stable code.
//!
//! The byte-level specification is docs/PROTOCOL.md.

pub mod codes;
pub mod encapsulation;
pub mod error;
pub mod key_config;
pub mod messages;
pub(crate) mod reader;
pub mod suite;

pub use encapsulation::{
    decapsulate_request, encapsulate_request, encapsulate_request_with_ikm, Channel, ClientContext,
    ServerContext, SessionSecret, MAX_RESPONSE_LEN,
};
pub use error::{EncapsulationError, KeyConfigError, MessageError};
pub use key_config::{KeyConfig, KeyPair};
pub use messages::{CallRequest, CallResponse, ExchangeRequest, ExchangeResponse, Token};
