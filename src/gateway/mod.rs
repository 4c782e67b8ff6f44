//! The provider's half of h5-access (cargo feature `gateway`, native only, framework-agnostic):
//! access-token issuance for partners, the AT→VT exchange and the page's service calls.
//!
//! A [`Gateway`] takes request bytes and the current time and returns response bytes; the HTTP
//! server around it (status codes, media types, body limits) is the caller's. The HTTP surface
//! it is meant for is docs/PROTOCOL.md §7; the tokens are §8, the partner API §10, the state
//! store §11 and every error code §6.
//!
//! * Before decapsulation a failure is a [`PreDecapError`]: an HTTP status, a stable code and
//!   an `application/problem+json` body (RFC 9458 §5.2).
//! * After decapsulation every refusal is sealed inside the encapsulated response with a code
//!   of [`crate::protocol::codes`], so only the holder of the request's secret learns it.

mod error;
#[cfg(feature = "redis")]
mod redis_store;
mod service;
mod store;
mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::partner_wire;
use crate::protocol::codes;
use crate::protocol::{
    decapsulate_request, CallRequest, CallResponse, Channel, ExchangeRequest, ExchangeResponse,
    KeyConfig, KeyPair, MessageError, ServerContext, Token,
};

pub use error::{ConfigError, PreDecapError, OHTTP_KEY_PROBLEM_TYPE};
#[cfg(feature = "redis")]
pub use redis_store::{
    RedisConfigError, RedisStore, RedisStoreConfig, DEFAULT_COMMAND_TIMEOUT, DEFAULT_KEY_PREFIX,
    MAX_KEY_PREFIX_LEN,
};
pub use service::{CallContext, Service, ServiceError};
pub use store::{MemoryStore, ReplayStore, StoreError, StoreFuture, DEFAULT_CAPACITY, MAX_KEY_LEN};
pub use tokens::{
    AccessClaims, IssuedClaims, TicketKey, MAX_AT_PRODUCTS, MAX_SUBJECT_LEN, TOKEN_ID_LEN,
};

/// Largest request body the gateway accepts on any endpoint: 64 KiB.
pub const MAX_REQUEST_LEN: usize = 64 * 1024;
/// The window of the per-VT call budget, in seconds.
const CALL_BUDGET_WINDOW: u64 = 60;
/// Path the partner signs for an access-token request.
pub const ACCESS_TOKEN_PATH: &str = "/v1/partner/access-token";
/// `Content-Type` of the key configuration list (RFC 9458 §3.2).
pub const KEYS_MEDIA_TYPE: &str = "application/ohttp-keys";
/// `Content-Type` of problem details (RFC 9457).
pub const PROBLEM_MEDIA_TYPE: &str = "application/problem+json";
/// `Cache-Control` of the key configuration list.
pub const KEYS_CACHE_CONTROL: &str = "public, max-age=300";

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

/// A partner account: id, shared secret (≥ 16 bytes) and the products it may issue ATs for.
///
/// The secret is zeroized on drop and never printed.
#[derive(Clone)]
pub struct Partner {
    id: String,
    secret: Zeroizing<Vec<u8>>,
    products: Vec<String>,
}

impl core::fmt::Debug for Partner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Partner")
            .field("id", &self.id)
            .field("products", &self.products)
            .finish_non_exhaustive()
    }
}

impl Partner {
    /// A partner account.
    ///
    /// Errors: [`ConfigError::BadPartnerId`], [`ConfigError::WeakPartnerSecret`],
    /// [`ConfigError::BadProductId`].
    pub fn new(
        id: impl Into<String>,
        secret: impl Into<Vec<u8>>,
        products: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, ConfigError> {
        let id = id.into();
        let secret = Zeroizing::new(secret.into());
        if !partner_wire::valid_partner_id(&id) {
            return Err(ConfigError::BadPartnerId(id));
        }
        if secret.len() < 16 {
            return Err(ConfigError::WeakPartnerSecret(id));
        }
        let products: Vec<String> = products.into_iter().map(Into::into).collect();
        if let Some(p) = products.iter().find(|p| !tokens::valid_name(p)) {
            return Err(ConfigError::BadProductId(p.clone()));
        }
        Ok(Self {
            id,
            secret,
            products,
        })
    }

    /// The partner id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A partner's access-token request as the HTTP layer received it. `Debug` prints the method,
/// the path and the lengths of the `Authorization` header and the body, never their content.
#[derive(Clone, Copy)]
pub struct PartnerRequest<'a> {
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// Request path without query, e.g. [`ACCESS_TOKEN_PATH`].
    pub path: &'a str,
    /// The `Authorization` header value, if any.
    pub authorization: Option<&'a str>,
    /// The raw body.
    pub body: &'a [u8],
}

impl core::fmt::Debug for PartnerRequest<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PartnerRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("authorization_len", &self.authorization.map(str::len))
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The access-token request body: `{"subject":"…","products":["…",…]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessTokenBody {
    subject: String,
    products: Vec<String>,
}

/// An encapsulated response (HTTP 200) and, for logs, the refusal code sealed inside it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SealedResponse {
    /// The encapsulated response bytes (`response_nonce (32) ‖ ct`).
    pub body: Vec<u8>,
    /// `None` if the request succeeded, else the code sealed inside (safe to log).
    pub code: Option<&'static str>,
}

/// An issued access token, as the partner holds it after opening the sealed delivery.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IssuedAccessToken {
    /// The AT (base64url ASCII, ≤ 2048 bytes).
    pub token: Token,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// Builds a [`Gateway`].
pub struct GatewayBuilder {
    config: GatewayConfig,
    keys: Vec<KeyPair>,
    ticket_keys: Vec<TicketKey>,
    partners: HashMap<String, Partner>,
    products: HashMap<String, String>,
    services: HashMap<String, Arc<dyn Service>>,
    store: Option<Arc<dyn ReplayStore>>,
}

impl core::fmt::Debug for GatewayBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GatewayBuilder").finish_non_exhaustive()
    }
}

impl GatewayBuilder {
    /// Sets lifetimes and windows.
    pub fn config(mut self, config: GatewayConfig) -> Self {
        self.config = config;
        self
    }

    /// Adds a previous HPKE key, still accepted after a rotation (listed second in
    /// `/v1/keys`).
    pub fn previous_key(mut self, key: KeyPair) -> Self {
        self.keys.truncate(1);
        self.keys.push(key);
        self
    }

    /// Adds a previous ticket key, so tokens sealed before a rotation stay valid. Its id must
    /// differ from the current ticket key's ([`ConfigError::DuplicateTicketKeyId`] from
    /// [`build`](Self::build)).
    pub fn previous_ticket_key(mut self, key: TicketKey) -> Self {
        self.ticket_keys.truncate(1);
        self.ticket_keys.push(key);
        self
    }

    /// Registers a partner account.
    pub fn partner(mut self, partner: Partner) -> Self {
        self.partners.insert(partner.id.clone(), partner);
        self
    }

    /// Registers a product and its page rendering data (a JSON object as text).
    pub fn product(mut self, id: impl Into<String>, page_json: impl Into<String>) -> Self {
        self.products.insert(id.into(), page_json.into());
        self
    }

    /// Registers a service under `name`.
    pub fn service(mut self, name: impl Into<String>, service: impl Service + 'static) -> Self {
        self.services.insert(name.into(), Arc::new(service));
        self
    }

    /// Sets the state store (default: a [`MemoryStore`] of [`DEFAULT_CAPACITY`]).
    pub fn store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Validates and builds.
    ///
    /// Errors: [`ConfigError`].
    pub fn build(self) -> Result<Gateway, ConfigError> {
        for (id, page) in &self.products {
            if !tokens::valid_name(id) {
                return Err(ConfigError::BadProductId(id.clone()));
            }
            let is_object = serde_json::from_str::<serde_json::Value>(page)
                .map(|v| v.is_object())
                .unwrap_or(false);
            if !is_object || page.len() > crate::protocol::messages::MAX_BODY_LEN {
                return Err(ConfigError::BadPage(id.clone()));
            }
        }
        if let Some(name) = self.services.keys().find(|n| !tokens::valid_name(n)) {
            return Err(ConfigError::BadServiceName(name.clone()));
        }
        if let [a, b] = self.keys.as_slice() {
            if a.key_id() == b.key_id() {
                return Err(ConfigError::DuplicateKeyId(a.key_id()));
            }
        }
        if let [a, b] = self.ticket_keys.as_slice() {
            if a.id() == b.id() {
                return Err(ConfigError::DuplicateTicketKeyId(a.id()));
            }
        }
        Ok(Gateway {
            config: self.config,
            keys: RwLock::new(self.keys.into()),
            ticket_keys: RwLock::new(self.ticket_keys.into()),
            partners: self.partners,
            products: self.products,
            services: self.services,
            store: self
                .store
                .unwrap_or_else(|| Arc::new(MemoryStore::default())),
        })
    }
}

/// The gateway: holds the HPKE keys (current and previous), the ticket keys, the partner
/// accounts, the product catalogue, the services and the state store. `Send + Sync`; share it
/// behind an `Arc`.
///
/// Every method takes `now`, the gateway's clock in seconds since the Unix epoch.
pub struct Gateway {
    config: GatewayConfig,
    // Shared slices: a request clones the `Arc`, never the private keys; a rotation builds a
    // new slice.
    keys: RwLock<Arc<[KeyPair]>>,
    ticket_keys: RwLock<Arc<[TicketKey]>>,
    partners: HashMap<String, Partner>,
    products: HashMap<String, String>,
    services: HashMap<String, Arc<dyn Service>>,
    store: Arc<dyn ReplayStore>,
}

impl core::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.config)
            .field("partners", &self.partners.keys().collect::<Vec<_>>())
            .field("products", &self.products.keys().collect::<Vec<_>>())
            .field("services", &self.services.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn refuse_exchange(
    ctx: &ServerContext,
    code: &'static str,
) -> Result<SealedResponse, PreDecapError> {
    let msg = ExchangeResponse::Refused {
        code: code.to_owned(),
    }
    .encode()
    .map_err(|_| PreDecapError::Internal)?;
    let body = ctx
        .seal_response(&msg)
        .map_err(|_| PreDecapError::Internal)?;
    Ok(SealedResponse {
        body,
        code: Some(code),
    })
}

fn refuse_call(ctx: &ServerContext, code: &'static str) -> Result<SealedResponse, PreDecapError> {
    let msg = CallResponse::Refused {
        code: code.to_owned(),
    }
    .encode()
    .map_err(|_| PreDecapError::Internal)?;
    let body = ctx
        .seal_response(&msg)
        .map_err(|_| PreDecapError::Internal)?;
    Ok(SealedResponse {
        body,
        code: Some(code),
    })
}

fn message_code(e: MessageError) -> &'static str {
    match e {
        MessageError::UnsupportedVersion => codes::UNSUPPORTED_VERSION,
        _ => codes::MALFORMED,
    }
}

fn random_id() -> Option<[u8; TOKEN_ID_LEN]> {
    let mut id = [0u8; TOKEN_ID_LEN];
    getrandom::fill(&mut id).ok()?;
    Some(id)
}

/// Whether the first non-whitespace byte (RFC 8259 whitespace) is `{`: the text can only parse
/// as a JSON object.
fn starts_json_object(text: &[u8]) -> bool {
    text.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|&b| b == b'{')
}

fn store_key(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
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
    /// Starts a builder with the current HPKE key and the current ticket key.
    pub fn builder(key: KeyPair, ticket_key: TicketKey) -> GatewayBuilder {
        GatewayBuilder {
            config: GatewayConfig::default(),
            keys: vec![key],
            ticket_keys: vec![ticket_key],
            partners: HashMap::new(),
            products: HashMap::new(),
            services: HashMap::new(),
            store: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    fn keys(&self) -> Arc<[KeyPair]> {
        let guard = self.keys.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(&guard)
    }

    fn ticket_keys(&self) -> Arc<[TicketKey]> {
        let guard = self.ticket_keys.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(&guard)
    }

    /// The key configuration list as served at `GET /v1/keys` (RFC 9458 §3.2,
    /// `application/ohttp-keys`): the current key first, then the previous one.
    pub fn key_config_list(&self) -> Vec<u8> {
        let configs: Vec<KeyConfig> = self.keys().iter().map(|k| k.config().clone()).collect();
        KeyConfig::encode_list(&configs)
    }

    /// The current HPKE key id.
    pub fn current_key_id(&self) -> u8 {
        self.keys().first().map(KeyPair::key_id).unwrap_or(0)
    }

    /// Makes `key` current; the old current key becomes the previous one and the older
    /// previous key is dropped (requests naming it then get `KEY_UNKNOWN`).
    ///
    /// Errors: [`ConfigError::DuplicateKeyId`] if `key` has the current key's id.
    pub fn rotate_key(&self, key: KeyPair) -> Result<(), ConfigError> {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        if keys.first().map(KeyPair::key_id) == Some(key.key_id()) {
            return Err(ConfigError::DuplicateKeyId(key.key_id()));
        }
        let mut next = Vec::with_capacity(2);
        next.push(key);
        next.extend(keys.first().cloned());
        *keys = next.into();
        Ok(())
    }

    /// Makes `key` the ticket key that seals new tokens; tokens of the previous ticket key
    /// stay valid until they expire, those of older keys become invalid.
    ///
    /// Errors: [`ConfigError::DuplicateTicketKeyId`] if `key` has the current ticket key's id
    /// (nothing changes: accepting it would make every outstanding AT and VT unreadable).
    pub fn rotate_ticket_key(&self, key: TicketKey) -> Result<(), ConfigError> {
        let mut keys = self.ticket_keys.write().unwrap_or_else(|e| e.into_inner());
        if keys.first().map(TicketKey::id) == Some(key.id()) {
            return Err(ConfigError::DuplicateTicketKeyId(key.id()));
        }
        let mut next = Vec::with_capacity(2);
        next.push(key);
        next.extend(keys.first().cloned());
        *keys = next.into();
        Ok(())
    }

    fn window_ok(&self, t: u64, now: u64) -> bool {
        t.abs_diff(now) <= self.config.request_window
    }

    /// How long request ids and partner nonces are remembered: `2 × window + 1` seconds.
    ///
    /// A request first accepted at `t0` has `|client_time − t0| ≤ window`; a replay at `t1` is
    /// accepted by the window only if `|client_time − t1| ≤ window`, so `t1 ≤ t0 + 2 × window`.
    /// An entry stored at `t0` with this TTL is live while `now < t0 + 2 × window + 1`, which
    /// covers every such `t1` (docs/PROTOCOL.md §5, §11).
    fn replay_ttl(&self) -> u64 {
        self.config
            .request_window
            .saturating_mul(2)
            .saturating_add(1)
    }

    /// Seals an AT for `partner_id` directly (no partner signature): for a provider issuing
    /// ATs in-process, and for tests (an `exp` in the past gives an expired AT).
    ///
    /// Errors: [`PreDecapError::PartnerUnknown`], [`PreDecapError::PartnerBadRequest`] (bad
    /// subject, no or too many products), [`PreDecapError::PartnerProductNotAllowed`],
    /// [`PreDecapError::Internal`].
    pub fn mint_access_token(
        &self,
        partner_id: &str,
        subject: &str,
        products: &[String],
        now: u64,
        exp: u64,
    ) -> Result<IssuedAccessToken, PreDecapError> {
        let partner = self
            .partners
            .get(partner_id)
            .ok_or(PreDecapError::PartnerUnknown)?;
        if !tokens::valid_subject(subject)
            || products.is_empty()
            || products.len() > MAX_AT_PRODUCTS
            || !products.iter().all(|p| tokens::valid_name(p))
        {
            return Err(PreDecapError::PartnerBadRequest);
        }
        if !products
            .iter()
            .all(|p| partner.products.contains(p) && self.products.contains_key(p))
        {
            return Err(PreDecapError::PartnerProductNotAllowed);
        }
        let claims = AccessClaims {
            id: random_id().ok_or(PreDecapError::Internal)?,
            iat: now,
            exp,
            partner: partner.id.clone(),
            subject: subject.to_owned(),
            products: products.to_vec(),
        };
        let keys = self.ticket_keys();
        let key = keys.first().ok_or(PreDecapError::Internal)?;
        let token = claims.seal(key).ok_or(PreDecapError::Internal)?;
        Ok(IssuedAccessToken { token, exp })
    }

    /// `POST /v1/partner/access-token`: verifies the partner's signed request
    /// (docs/PROTOCOL.md §10) and returns the JSON response body
    /// `{"sealed_access_token":"<base64url>","exp":<seconds>}`, the AT sealed for that partner.
    ///
    /// Checks, in order: `Authorization` parses (`PARTNER_AUTH_MALFORMED`), partner known
    /// (`PARTNER_UNKNOWN`), `ts` within the request window (`PARTNER_TIMESTAMP`), signature
    /// (`PARTNER_SIGNATURE`), body (`PARTNER_BAD_REQUEST`), products allowed
    /// (`PARTNER_PRODUCT_NOT_ALLOWED`), then the AT is minted and sealed (`INTERNAL`), and last
    /// nonce unused (`PARTNER_NONCE_REUSED`): a refused or failed request leaves its nonce unused.
    pub async fn issue_access_token(
        &self,
        req: &PartnerRequest<'_>,
        now: u64,
    ) -> Result<Vec<u8>, PreDecapError> {
        if req.body.len() > MAX_REQUEST_LEN {
            return Err(PreDecapError::TooLarge);
        }
        let auth = req
            .authorization
            .and_then(partner_wire::parse_auth)
            .ok_or(PreDecapError::PartnerAuthMalformed)?;
        let partner = self
            .partners
            .get(auth.partner)
            .ok_or(PreDecapError::PartnerUnknown)?;
        if !self.window_ok(auth.ts, now) {
            return Err(PreDecapError::PartnerTimestamp);
        }
        let canonical = partner_wire::canonical_request(
            req.method,
            req.path,
            auth.partner,
            auth.ts,
            auth.nonce,
            req.body,
        );
        if !partner_wire::verify(&partner.secret, &canonical, &auth.sig) {
            return Err(PreDecapError::PartnerSignature);
        }
        // serde's derive also accepts a JSON array for a struct: require an object.
        if !starts_json_object(req.body) {
            return Err(PreDecapError::PartnerBadRequest);
        }
        let body: AccessTokenBody =
            serde_json::from_slice(req.body).map_err(|_| PreDecapError::PartnerBadRequest)?;
        let exp = now.saturating_add(self.config.at_ttl);
        let issued =
            self.mint_access_token(&partner.id, &body.subject, &body.products, now, exp)?;
        let mut nonce = [0u8; partner_wire::DELIVERY_NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| PreDecapError::Internal)?;
        let sealed = partner_wire::seal_for_partner(
            &partner.secret,
            &partner.id,
            issued.token.as_bytes(),
            &nonce,
        )
        .ok_or(PreDecapError::Internal)?;
        use base64::Engine as _;
        let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed);
        // The nonce is stored last: a refused body or a CSPRNG failure above leaves it unused,
        // and after the insert only `Ok` is returned.
        let key = store_key(b"pn:", &[auth.partner.as_bytes(), auth.nonce.as_bytes()]);
        match self
            .store
            .insert_if_absent(&key, self.replay_ttl(), now)
            .await
        {
            Ok(true) => {}
            Ok(false) => return Err(PreDecapError::PartnerNonceReused),
            Err(_) => return Err(PreDecapError::Internal),
        }
        Ok(
            serde_json::json!({ "sealed_access_token": sealed, "exp": exp })
                .to_string()
                .into_bytes(),
        )
    }

    /// `POST /v1/exchange`: opens the encapsulated AT→VT exchange request and returns the
    /// encapsulated response (HTTP 200).
    ///
    /// Errors before decapsulation: [`PreDecapError`] (`TOO_LARGE`, `TRUNCATED`,
    /// `UNSUPPORTED_SUITE`, `KEY_UNKNOWN`, `INVALID_KEY`, `DECRYPT_FAILED`). After it, the
    /// response carries `ExchangeResponse::Refused` with, in the order checked:
    /// `UNSUPPORTED_VERSION` / `MALFORMED`, `CLOCK_SKEW`, `AT_INVALID`, `AT_EXPIRED`, `PRODUCT_UNKNOWN`,
    /// `PRODUCT_NOT_ALLOWED`, `REPLAYED`, `AT_USED`, `INTERNAL`. Only the AT_USED check
    /// consumes the AT, and only on success: an exchange refused or failed for any reason
    /// leaves it usable. A request id may be stored by an exchange that then fails.
    pub async fn handle_exchange(
        &self,
        body: &[u8],
        now: u64,
    ) -> Result<SealedResponse, PreDecapError> {
        if body.len() > MAX_REQUEST_LEN {
            return Err(PreDecapError::TooLarge);
        }
        let (plaintext, ctx) = decapsulate_request(&self.keys(), Channel::Exchange, body)?;
        let req = match ExchangeRequest::decode(&plaintext) {
            Ok(r) => r,
            Err(e) => return refuse_exchange(&ctx, message_code(e)),
        };
        drop(plaintext);
        if !self.window_ok(req.client_time, now) {
            return refuse_exchange(&ctx, codes::CLOCK_SKEW);
        }
        let ticket_keys = self.ticket_keys();
        let Some(at) = AccessClaims::open(&ticket_keys, req.subject_token.as_bytes()) else {
            return refuse_exchange(&ctx, codes::AT_INVALID);
        };
        if !self.partners.contains_key(&at.partner) {
            return refuse_exchange(&ctx, codes::AT_INVALID);
        }
        let at_deadline = at.exp.saturating_add(self.config.clock_skew);
        if now >= at_deadline {
            return refuse_exchange(&ctx, codes::AT_EXPIRED);
        }
        let Some(page) = self.products.get(&req.product) else {
            return refuse_exchange(&ctx, codes::PRODUCT_UNKNOWN);
        };
        if !at.products.contains(&req.product) {
            return refuse_exchange(&ctx, codes::PRODUCT_NOT_ALLOWED);
        }
        // Everything that can fail is prepared before the AT is consumed.
        let exp = now.saturating_add(self.config.vt_ttl);
        let Some(vt_id) = random_id() else {
            return refuse_exchange(&ctx, codes::INTERNAL);
        };
        let vt = IssuedClaims {
            id: vt_id,
            iat: now,
            exp,
            partner: at.partner.clone(),
            subject: at.subject.clone(),
            product: req.product.clone(),
            session_secret: ctx.session_secret().clone(),
        };
        let Some(key) = ticket_keys.first() else {
            return refuse_exchange(&ctx, codes::INTERNAL);
        };
        let Some(issued_token) = vt.seal(key) else {
            return refuse_exchange(&ctx, codes::INTERNAL);
        };
        let Ok(msg) = (ExchangeResponse::Issued {
            issued_token,
            exp,
            page: page.clone(),
        })
        .encode() else {
            return refuse_exchange(&ctx, codes::INTERNAL);
        };
        // Sealed now (it needs the CSPRNG), so that no failure can follow the consumption of
        // the AT: after the `at:` insert below only `Ok` is returned.
        let Ok(sealed_issued) = ctx.seal_response(&msg) else {
            return refuse_exchange(&ctx, codes::INTERNAL);
        };
        drop(msg);
        let rq_key = store_key(b"rq:", &[&req.request_id]);
        match self
            .store
            .insert_if_absent(&rq_key, self.replay_ttl(), now)
            .await
        {
            Ok(true) => {}
            Ok(false) => return refuse_exchange(&ctx, codes::REPLAYED),
            Err(_) => return refuse_exchange(&ctx, codes::INTERNAL),
        }
        let at_key = store_key(b"at:", &[&at.id]);
        match self
            .store
            .insert_if_absent(&at_key, at_deadline - now, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => return refuse_exchange(&ctx, codes::AT_USED),
            Err(_) => return refuse_exchange(&ctx, codes::INTERNAL),
        }
        Ok(SealedResponse {
            body: sealed_issued,
            code: None,
        })
    }

    /// `POST /v1/call`: opens an encapsulated service call, checks its VT and binder, runs the
    /// service and returns the encapsulated response (HTTP 200).
    ///
    /// Errors before decapsulation: as [`handle_exchange`](Self::handle_exchange). After it,
    /// `CallResponse::Refused` with, in the order checked: `UNSUPPORTED_VERSION` /
    /// `MALFORMED`, `CLOCK_SKEW`, `VT_INVALID`, `VT_EXPIRED`, `VT_NOT_BOUND`,
    /// `RATE_LIMITED` (more than [`GatewayConfig::calls_per_minute`] calls with this VT in its
    /// current minute), `REPLAYED`, `SERVICE_UNKNOWN`, `SERVICE_REJECTED`, `INTERNAL`. The
    /// request id is stored before the service runs: a call refused or failed after that (even
    /// with `INTERNAL` or HTTP 500) cannot be retried with the same request id.
    pub async fn handle_call(
        &self,
        body: &[u8],
        now: u64,
    ) -> Result<SealedResponse, PreDecapError> {
        if body.len() > MAX_REQUEST_LEN {
            return Err(PreDecapError::TooLarge);
        }
        let (plaintext, ctx) = decapsulate_request(&self.keys(), Channel::Call, body)?;
        let (req, binder) = match CallRequest::decode(&plaintext) {
            Ok(r) => r,
            Err(e) => return refuse_call(&ctx, message_code(e)),
        };
        drop(plaintext);
        if !self.window_ok(req.client_time, now) {
            return refuse_call(&ctx, codes::CLOCK_SKEW);
        }
        let Some(vt) = IssuedClaims::open(&self.ticket_keys(), req.issued_token.as_bytes()) else {
            return refuse_call(&ctx, codes::VT_INVALID);
        };
        if now >= vt.exp.saturating_add(self.config.clock_skew) {
            return refuse_call(&ctx, codes::VT_EXPIRED);
        }
        if !req.verify_binder(&vt.session_secret, &binder) {
            return refuse_call(&ctx, codes::VT_NOT_BOUND);
        }
        // The budget is charged before the request id is stored, so a session over its budget
        // adds nothing to the replay store.
        let rl_key = store_key(b"rl:", &[&vt.id]);
        match self.store.increment(&rl_key, CALL_BUDGET_WINDOW, now).await {
            Ok(n) if n <= self.config.calls_per_minute => {}
            Ok(_) => return refuse_call(&ctx, codes::RATE_LIMITED),
            Err(_) => return refuse_call(&ctx, codes::INTERNAL),
        }
        let rq_key = store_key(b"rq:", &[&req.request_id]);
        match self
            .store
            .insert_if_absent(&rq_key, self.replay_ttl(), now)
            .await
        {
            Ok(true) => {}
            Ok(false) => return refuse_call(&ctx, codes::REPLAYED),
            Err(_) => return refuse_call(&ctx, codes::INTERNAL),
        }
        let Some(service) = self.services.get(&req.service) else {
            return refuse_call(&ctx, codes::SERVICE_UNKNOWN);
        };
        let call_ctx = CallContext {
            partner: &vt.partner,
            subject: &vt.subject,
            product: &vt.product,
            now,
        };
        let answer = match service.call(&call_ctx, &req.body) {
            Ok(body) => CallResponse::Ok { body },
            Err(ServiceError::Rejected) => return refuse_call(&ctx, codes::SERVICE_REJECTED),
            Err(_) => return refuse_call(&ctx, codes::INTERNAL),
        };
        let Ok(msg) = answer.encode() else {
            return refuse_call(&ctx, codes::INTERNAL);
        };
        let body = ctx
            .seal_response(&msg)
            .map_err(|_| PreDecapError::Internal)?;
        Ok(SealedResponse { body, code: None })
    }

    /// Checks a request's `Content-Type` against the channel's request media type
    /// (parameters after `;` ignored, case-insensitive).
    ///
    /// Errors: [`PreDecapError::UnsupportedMediaType`].
    pub fn check_media_type(
        channel: Channel,
        content_type: Option<&str>,
    ) -> Result<(), PreDecapError> {
        let essence = content_type
            .and_then(|c| c.split(';').next())
            .map(str::trim)
            .unwrap_or("");
        if essence.eq_ignore_ascii_case(channel.request_media_type()) {
            Ok(())
        } else {
            Err(PreDecapError::UnsupportedMediaType)
        }
    }
}
