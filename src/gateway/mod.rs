//! The provider's half of h5-access (cargo feature `gateway`, native only, framework-agnostic):
//! access-token issuance for partners, the AT→VT exchange and the page's service calls.
//!
//! A [`Gateway`] takes request bytes and the current time and returns response bytes (its
//! handlers are `async`: the state store may be remote); the HTTP server around it (status
//! codes, media types, body limits) is the caller's, or `http`'s (feature `http`). The HTTP surface
//! it is meant for is docs/PROTOCOL.md §7; the tokens are §8, the partner API §10, the state
//! store §11 and every error code §6.
//!
//! * Before decapsulation a failure is a [`PreDecapError`]: an HTTP status, a stable code and
//!   an `application/problem+json` body (RFC 9458 §5.2).
//! * After decapsulation every refusal is sealed inside the encapsulated response with a code
//!   of [`crate::protocol::codes`], so only the holder of the request's secret learns it.
//!
//! Files: `config` (lifetimes, windows), `partners` (accounts, requests), `builder`,
//! `key_ring` (current + previous keys), `key_file` (keys a fleet shares, reloadable), one
//! file per handler (`exchange`, `call`, `partner_api`), `store` (the state trait,
//! `MemoryStore`), `redis_store` (feature `redis`), `service`, `upstream` (services that are
//! HTTP backends, feature `upstream`), `http` (the axum router, feature `http`), `tokens`
//! (AT and VT), `error`.

mod builder;
mod call;
mod config;
mod core;
mod error;
mod exchange;
#[cfg(feature = "http")]
pub mod http;
mod key_file;
mod key_ring;
#[cfg(any(feature = "http", feature = "redis"))]
mod log_limit;
mod partner_api;
mod partners;
#[cfg(feature = "redis")]
mod redis_store;
mod service;
mod store;
mod tokens;
#[cfg(feature = "upstream")]
mod upstream;

pub use self::core::{
    starts_json_object, Gateway, IssuedAccessToken, SealedResponse, ACCESS_TOKEN_PATH,
    KEYS_CACHE_CONTROL, KEYS_MEDIA_TYPE, MAX_REQUEST_LEN, PROBLEM_MEDIA_TYPE,
};
pub use builder::GatewayBuilder;
pub use config::GatewayConfig;
pub use error::{ConfigError, PreDecapError, OHTTP_KEY_PROBLEM_TYPE};
pub use key_file::{KeyFileError, KeySet, MAX_KEY_FILE_LEN};
pub use partners::{Partner, PartnerRequest};
#[cfg(feature = "redis")]
pub use redis_store::{
    RedisConfigError, RedisOpenError, RedisStore, RedisStoreConfig, DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_KEY_PREFIX, MAX_KEY_PREFIX_LEN,
};
pub use service::{CallContext, Service, ServiceError, ServiceFuture};
pub use store::{
    MemoryStore, ReplayStore, StoreClock, StoreError, StoreFuture, DEFAULT_CAPACITY, EXPIRE_BATCH,
    MAX_KEY_LEN,
};
pub use tokens::{
    AccessClaims, IssuedClaims, TicketKey, MAX_AT_PRODUCTS, MAX_SUBJECT_LEN, TOKEN_ID_LEN,
};
#[cfg(feature = "upstream")]
pub use upstream::{
    context_signature, UpstreamConfigError, UpstreamService, CONTEXT_SIGNATURE_LABEL,
    DEFAULT_UPSTREAM_TIMEOUT,
};
