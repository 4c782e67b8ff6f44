//! The protocol core: target-independent (no browser or server code).
//!
//! The modules, each importing only the ones listed before it:
//!
//! * [`params`]: the HPKE suite's ids and sizes and the message limits (imports nothing).
//! * [`error`]: one error enum per operation family, and [`codes`]: the refusal codes sealed
//!   inside responses; both built by the one `code_enum!` table macro.
//! * `codec` (internal): the bounds-checked reader and the length-prefixed field writers; `kdf`
//!   (internal): the HKDF-Expand and HMAC-SHA256 helpers.
//! * [`hpke`]: the HPKE glue: the suite as `hpke` crate types, base-mode sender and receiver
//!   contexts (RFC 9180 §5).
//! * [`key_config`]: the gateway's HPKE key configurations and key pairs (RFC 9458 §3).
//! * [`session`]: the session secret exported in an exchange and the call binder keyed from it.
//! * [`encapsulation`]: encapsulated requests and responses (RFC 9458 §4.3, §4.4).
//! * [`messages`]: the plaintexts of the AT→VT exchange and of service calls.
//! * `partner_wire` (internal, features `gateway` or `partner`): the partner API's request
//!   signing and sealed-AT delivery (docs/PROTOCOL.md §10).
//!
//! The byte-level specification is docs/PROTOCOL.md.

pub(crate) mod code_enum;

pub mod params;

pub mod codes;
pub mod error;

pub(crate) mod codec;
pub(crate) mod kdf;

pub mod hpke;
pub mod key_config;
pub mod session;

pub mod encapsulation;
pub mod messages;

#[cfg(any(feature = "gateway", feature = "partner"))]
pub(crate) mod partner_wire;

pub use codes::RefusalCode;
pub use encapsulation::{
    decapsulate_request, encapsulate_request, encapsulate_request_with_ikm, Channel, ClientContext,
    ServerContext, MAX_RESPONSE_LEN,
};
pub use error::{EncapsulationError, KeyConfigError, MessageError};
pub use key_config::{KeyConfig, KeyPair};
pub use messages::{CallRequest, CallResponse, ExchangeRequest, ExchangeResponse, Token};
pub use session::SessionSecret;
