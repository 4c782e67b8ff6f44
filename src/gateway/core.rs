//! The [`Gateway`] itself (`core` of the `gateway` module): its state (keys, partners, products,
//! services, store), the key accessors, the HTTP-facing constants and the helpers its handlers
//! (`exchange`, `call`, `partner_api`) share.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::protocol::codes;
use crate::protocol::{KeyConfig, KeyPair, MessageError, ServerContext};

use super::config::GatewayConfig;
use super::error::{ConfigError, PreDecapError};
use super::key_ring::KeyRing;
use super::partners::Partner;
use super::service::Service;
use super::store::ReplayStore;
use super::tokens::{TicketKey, TOKEN_ID_LEN};

/// Largest request body the gateway accepts on any endpoint: 64 KiB.
pub const MAX_REQUEST_LEN: usize = 64 * 1024;
/// Path the partner signs for an access-token request.
pub const ACCESS_TOKEN_PATH: &str = "/v1/partner/access-token";
/// `Content-Type` of the key configuration list (RFC 9458 §3.2).
pub const KEYS_MEDIA_TYPE: &str = "application/ohttp-keys";
/// `Content-Type` of problem details (RFC 9457).
pub const PROBLEM_MEDIA_TYPE: &str = "application/problem+json";
/// `Cache-Control` of the key configuration list.
pub const KEYS_CACHE_CONTROL: &str = "public, max-age=300";
/// The window of the per-VT call budget, in seconds.
pub(super) const CALL_BUDGET_WINDOW: u64 = 60;

/// An encapsulated response (HTTP 200) and, for logs, the refusal code sealed inside it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SealedResponse {
    /// The encapsulated response bytes (`response_nonce (32) ‖ ct`).
    pub body: Vec<u8>,
    /// `None` if the request succeeded, else the code sealed inside (safe to log).
    pub code: Option<&'static str>,
}

/// An issued access token: the partner's [`AccessToken`](crate::protocol::partner_wire::AccessToken)
/// (the same struct under the gateway's name).
pub use crate::protocol::partner_wire::AccessToken as IssuedAccessToken;

/// The gateway: holds the HPKE keys (current and previous), the ticket keys, the partner
/// accounts, the product catalogue, the services and the state store. `Send + Sync`; share it
/// behind an `Arc`.
///
/// Every method takes `now`, the gateway's clock in seconds since the Unix epoch.
pub struct Gateway {
    pub(super) config: GatewayConfig,
    pub(super) keys: KeyRing<KeyPair>,
    pub(super) ticket_keys: KeyRing<TicketKey>,
    pub(super) partners: RwLock<HashMap<String, Arc<Partner>>>,
    pub(super) products: HashMap<String, String>,
    pub(super) services: HashMap<String, Arc<dyn Service>>,
    pub(super) store: Arc<dyn ReplayStore>,
}

impl core::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.config)
            .field("partners", &self.partner_ids())
            .field("products", &self.products.keys().collect::<Vec<_>>())
            .field("services", &self.services.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A refusal sealed inside the encapsulated response (docs/PROTOCOL.md §6, after decapsulation):
/// `encoded` is the channel's `Refused { code }` message (`ExchangeResponse` or `CallResponse`).
pub(super) fn sealed_refusal(
    ctx: &ServerContext,
    code: &'static str,
    encoded: Result<Vec<u8>, MessageError>,
) -> Result<SealedResponse, PreDecapError> {
    let msg = encoded.map_err(|_| PreDecapError::Internal)?;
    let body = ctx
        .seal_response(&msg)
        .map_err(|_| PreDecapError::Internal)?;
    Ok(SealedResponse {
        body,
        code: Some(code),
    })
}

pub(super) fn message_code(e: MessageError) -> &'static str {
    match e {
        MessageError::UnsupportedVersion => codes::UNSUPPORTED_VERSION,
        _ => codes::MALFORMED,
    }
}

pub(super) fn random_id() -> Option<[u8; TOKEN_ID_LEN]> {
    let mut id = [0u8; TOKEN_ID_LEN];
    getrandom::fill(&mut id).ok()?;
    Some(id)
}

/// Whether the first non-whitespace byte (RFC 8259 whitespace) is `{`: the text can only parse
/// as a JSON object. serde's derive also accepts a JSON array for a struct; every JSON body the
/// gateway (and a service) reads as a struct is checked with this first.
pub fn starts_json_object(text: &[u8]) -> bool {
    text.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|&b| b == b'{')
}

pub(super) fn store_key(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(b':');
        }
        k.extend_from_slice(p);
    }
    k
}

impl Gateway {
    /// The configuration.
    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// The partner account `id` as it is now (accounts change with [`set_partner`] and
    /// [`remove_partner`]; every exchange and call re-checks against this).
    ///
    /// [`set_partner`]: Self::set_partner
    /// [`remove_partner`]: Self::remove_partner
    pub(super) fn partner(&self, id: &str) -> Option<Arc<Partner>> {
        let map = self.partners.read().unwrap_or_else(|e| e.into_inner());
        map.get(id).cloned()
    }

    /// The ids of the partner accounts, sorted.
    pub fn partner_ids(&self) -> Vec<String> {
        let map = self.partners.read().unwrap_or_else(|e| e.into_inner());
        let mut ids: Vec<String> = map.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Adds the partner account, or replaces the one with its id (a new secret, a new product
    /// list). Takes effect at once: ATs and VTs already issued for this partner are re-checked
    /// against the new product list on their next exchange or call.
    pub fn set_partner(&self, partner: Partner) {
        let mut map = self.partners.write().unwrap_or_else(|e| e.into_inner());
        map.insert(partner.id.clone(), Arc::new(partner));
    }

    /// Removes the partner account `id`; returns whether it existed. Its ATs are refused from
    /// then on (`AT_INVALID`), its VTs too (`VT_INVALID`), and its access-token requests get
    /// `PARTNER_SIGNATURE`.
    pub fn remove_partner(&self, id: &str) -> bool {
        let mut map = self.partners.write().unwrap_or_else(|e| e.into_inner());
        map.remove(id).is_some()
    }

    /// The key configuration list as served at `GET /v1/keys` (RFC 9458 §3.2,
    /// `application/ohttp-keys`): the current key first, then the previous one.
    pub fn key_config_list(&self) -> Vec<u8> {
        let configs: Vec<KeyConfig> = self
            .keys
            .snapshot()
            .iter()
            .map(|k| k.config().clone())
            .collect();
        KeyConfig::encode_list(&configs)
    }

    /// The current HPKE key id.
    pub fn current_key_id(&self) -> u8 {
        self.keys
            .snapshot()
            .first()
            .map(KeyPair::key_id)
            .unwrap_or(0)
    }

    /// Makes `key` current; the old current key becomes the previous one and the older
    /// previous key is dropped (requests naming it then get `KEY_UNKNOWN`).
    ///
    /// Errors (nothing changes): [`ConfigError::DuplicateKeyId`] if `key` has the current key's
    /// id; [`ConfigError::KeyIdReused`] if it has the previous key's id with another key.
    pub fn rotate_key(&self, key: KeyPair) -> Result<(), ConfigError> {
        self.keys.rotate(key).map_err(ConfigError::hpke)
    }

    /// Makes `key` the ticket key that seals new tokens; tokens of the previous ticket key
    /// stay valid until they expire, those of older keys become invalid.
    ///
    /// Errors: [`ConfigError::DuplicateTicketKeyId`] if `key` has the current ticket key's id
    /// (nothing changes: accepting it would make every outstanding AT and VT unreadable);
    /// [`ConfigError::TicketKeyIdReused`] if it has the previous key's id with another secret.
    pub fn rotate_ticket_key(&self, key: TicketKey) -> Result<(), ConfigError> {
        self.ticket_keys.rotate(key).map_err(ConfigError::ticket)
    }

    /// Replaces the HPKE keys at once (a reload of key files): `current` is advertised first
    /// and seals nothing (HPKE keys only open requests); `previous` stays accepted.
    ///
    /// Errors (nothing changes): [`ConfigError::DuplicateKeyId`] if both share an id;
    /// [`ConfigError::KeyIdReused`] if an id held now (current or previous) comes with a
    /// different HPKE public key (docs/PROTOCOL.md §3.3).
    pub fn set_keys(&self, current: KeyPair, previous: Option<KeyPair>) -> Result<(), ConfigError> {
        self.keys
            .replace(current, previous)
            .map_err(ConfigError::hpke)
    }

    /// Replaces the ticket keys at once (a reload of key files): `current` seals new tokens,
    /// both open them.
    ///
    /// Errors (nothing changes): [`ConfigError::DuplicateTicketKeyId`] if both share an id;
    /// [`ConfigError::TicketKeyIdReused`] if an id held now comes with a different secret.
    pub fn set_ticket_keys(
        &self,
        current: TicketKey,
        previous: Option<TicketKey>,
    ) -> Result<(), ConfigError> {
        self.ticket_keys
            .replace(current, previous)
            .map_err(ConfigError::ticket)
    }

    pub(super) fn window_ok(&self, t: u64, now: u64) -> bool {
        t.abs_diff(now) <= self.config.request_window
    }

    /// How long request ids and partner nonces are remembered: `2 × window + 1` seconds.
    ///
    /// A request first accepted at `t0` has `|client_time − t0| ≤ window`; a replay at `t1` is
    /// accepted by the window only if `|client_time − t1| ≤ window`, so `t1 ≤ t0 + 2 × window`.
    /// An entry stored at `t0` with this TTL is live while `now < t0 + 2 × window + 1`, which
    /// covers every such `t1` (docs/PROTOCOL.md §5, §11).
    pub(super) fn replay_ttl(&self) -> u64 {
        self.config
            .request_window
            .saturating_mul(2)
            .saturating_add(1)
    }
}
