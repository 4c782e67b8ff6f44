//! `h5-mock-gateway`: the h5-access gateway's HTTP layer (`h5_access::gateway::http`, the
//! router a provider mounts) plus demo and test routes, for the browser tests and the demo.
//! Routes, flags and behaviour: README.md "Mock gateway" and docs/PROTOCOL.md §7.
//!
//! Not a production server: the demo partner's launch route and the test hooks hand out
//! access tokens to anyone who asks.

mod services;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use h5_access::gateway::http::{self, read_body};
use h5_access::gateway::{
    starts_json_object, Gateway, GatewayConfig, KeySet, Partner, PartnerRequest, PreDecapError,
    ReplayStore, TicketKey, UpstreamService, ACCESS_TOKEN_PATH,
};
use h5_access::partner::PartnerCredentials;
use h5_access::protocol::{KeyConfig, KeyPair};
use hkdf::Hkdf;
use serde::Deserialize;
use sha2::Sha256;
use tower::ServiceExt as _;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate as _};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeader;
use zeroize::Zeroizing;

/// The demo partner's id.
pub const DEMO_PARTNER_ID: &str = "demo-partner";
/// The subject (partner user id) `/demo/partner/launch` issues ATs for.
pub const DEMO_SUBJECT: &str = "demo-user";
/// Largest `ttl_seconds` (either sign) `/test/access-token` accepts: one hour.
pub const MAX_TEST_TTL: i64 = 3600;
/// How long `/test/slow/...` delays every response.
pub const SLOW_DELAY: Duration = Duration::from_secs(3);
/// The committed default catalogue (tests/mock-gateway/products.json).
pub const DEFAULT_PRODUCTS: &str = include_str!("../products.json");
/// Default time a client has to send a request's complete headers before the connection is
/// closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a request has from its headers to its complete response (body reading
/// included) before it is answered 408 `REQUEST_TIMEOUT`. The `/test/slow/` delay (3 s) fits.
pub const REQUEST_TIMEOUT: Duration = http::REQUEST_TIMEOUT;

/// Server options (the CLI flags of the binary). `Debug` omits the seed (every key derives
/// from it): it prints `seed: <set>` or `<unset>`.
#[derive(Clone, Default)]
pub struct Options {
    /// Derive HPKE keys, ticket keys and the demo partner secret from this string instead of
    /// the CSPRNG.
    pub seed: Option<String>,
    /// Products catalogue JSON text (default [`DEFAULT_PRODUCTS`]).
    pub products_json: Option<String>,
    /// AT lifetime in seconds (default 300).
    pub at_ttl: Option<u64>,
    /// VT lifetime in seconds (default 900).
    pub vt_ttl: Option<u64>,
    /// Enable the `/test/...` routes.
    pub test_hooks: bool,
    /// Serve this directory's files at `/` (never a file that resolves outside it).
    pub serve: Option<PathBuf>,
    /// Whole-request timeout (default [`REQUEST_TIMEOUT`]).
    pub request_timeout: Option<Duration>,
    /// HPKE and ticket keys from a key file (`h5_access::gateway::KeySet`) instead of the seed
    /// or the CSPRNG; the seed still derives the demo partner secret.
    pub keys: Option<KeySet>,
    /// More services, each answered by an HTTP backend (`--upstream name=url`).
    pub upstreams: Vec<(String, UpstreamService)>,
    /// Per-VT call budget, calls per minute (default 120).
    pub calls_per_minute: Option<u64>,
    /// The state store (default: an in-process [`MemoryStore`](h5_access::gateway::MemoryStore));
    /// e.g. a [`RedisStore`](h5_access::gateway::RedisStore) shared by several instances.
    pub store: Option<Arc<dyn ReplayStore>>,
    /// A per-client rate limit on every route ([`http::rate_limit`]); none by default.
    pub rate_limit: Option<http::RateLimitConfig>,
    /// Partner accounts besides the demo partner (`--partner`, [`parse_partner_spec`]); their
    /// products must be in the catalogue.
    pub partners: Vec<Partner>,
}

/// `<set>` / `<unset>` for a secret in `Debug` output.
pub struct Redacted(pub bool);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0 { "<set>" } else { "<unset>" })
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("seed", &Redacted(self.seed.is_some()))
            .field("products_json", &self.products_json)
            .field("at_ttl", &self.at_ttl)
            .field("vt_ttl", &self.vt_ttl)
            .field("test_hooks", &self.test_hooks)
            .field("serve", &self.serve)
            .field("request_timeout", &self.request_timeout)
            .field("keys", &self.keys)
            .field("upstreams", &self.upstreams)
            .field("calls_per_minute", &self.calls_per_minute)
            .field("store", &self.store.as_ref().map(|_| "<custom>"))
            .field("rate_limit", &self.rate_limit)
            .field("partners", &self.partners)
            .finish()
    }
}

/// Why the server could not be built.
#[derive(Debug)]
pub struct SetupError(pub String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

#[derive(Deserialize)]
struct Catalogue {
    products: Vec<ProductEntry>,
}

#[derive(Deserialize)]
struct ProductEntry {
    id: String,
    /// Annual rate in basis points, used by the `quote` service.
    rate_bps: u64,
    /// The page as the catalogue writes it: its text, so that its key order is kept (a
    /// `serde_json::Value` would sort the keys).
    page: Box<serde_json::value::RawValue>,
}

/// JSON text without its insignificant whitespace, everything else (key order, escapes) as it is.
fn minify_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// Key material: from the seed (deterministic) or the CSPRNG.
struct KeySource {
    seed: Option<Zeroizing<Vec<u8>>>,
    /// Where key ids start: 0 with a seed (ids 1, 2, …), a random 0..=254 without one, so a
    /// restart with fresh random keys most likely does not reuse the key id of the previous
    /// run's key (a page holding that config would get DECRYPT_FAILED instead of the 422
    /// stale-key signal: docs/PROTOCOL.md §3.3).
    id_offset: u32,
}

impl KeySource {
    fn bytes(&self, label: &str) -> Result<Zeroizing<[u8; 32]>, SetupError> {
        let mut out = Zeroizing::new([0u8; 32]);
        match &self.seed {
            Some(seed) => {
                let hk = Hkdf::<Sha256>::new(Some(b"h5-mock-gateway seed v1"), seed);
                hk.expand(label.as_bytes(), out.as_mut())
                    .map_err(|_| SetupError("hkdf".into()))?;
            }
            None => getrandom::fill(out.as_mut()).map_err(|_| SetupError("csprng".into()))?,
        }
        Ok(out)
    }

    fn hpke_key(&self, generation: u32) -> Result<KeyPair, SetupError> {
        let ikm = self.bytes(&format!("hpke key {generation}"))?;
        // Key ids 1, 2, 3, … from the offset (wrapping, never 0).
        let id = (generation.wrapping_add(self.id_offset) % 255) as u8 + 1;
        Ok(KeyPair::derive(id, ikm.as_ref()))
    }
}

/// Reads a `--partner` value, `ID:SOURCE:PRODUCTS`: the partner id, where its secret is
/// (`file=PATH`: the file's bytes without a final line break; `env=NAME`: the environment
/// variable's bytes) and its products, comma-separated. The secret is at least 16 bytes.
///
/// Errors: [`SetupError`] naming the part that is wrong (never the secret).
pub fn parse_partner_spec(spec: &str) -> Result<Partner, SetupError> {
    let bad = |why: &str| {
        SetupError(format!(
            "--partner: {why} (format ID:file=PATH:PRODUCTS or ID:env=NAME:PRODUCTS)"
        ))
    };
    let (id, rest) = spec.split_once(':').ok_or_else(|| bad("no ':'"))?;
    let (source, products) = rest.rsplit_once(':').ok_or_else(|| bad("no products"))?;
    let secret = if let Some(path) = source.strip_prefix("file=") {
        let mut bytes = std::fs::read(path)
            .map_err(|e| SetupError(format!("--partner {id}: cannot read {path}: {e}")))?;
        while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
            bytes.pop();
        }
        bytes
    } else if let Some(name) = source.strip_prefix("env=") {
        std::env::var_os(name)
            .ok_or_else(|| {
                SetupError(format!(
                    "--partner {id}: environment variable {name} is not set"
                ))
            })?
            .into_encoded_bytes()
    } else {
        return Err(bad("the secret source is neither file=PATH nor env=NAME"));
    };
    let products: Vec<&str> = products.split(',').filter(|p| !p.is_empty()).collect();
    if products.is_empty() {
        return Err(bad("no products"));
    }
    Partner::new(id, secret, products).map_err(|e| SetupError(format!("--partner: {e}")))
}

/// The demo partner's secret when the server runs with `--seed seed`:
/// `HKDF-SHA256(salt = "h5-mock-gateway seed v1", ikm = seed, info = "demo partner secret")`,
/// 32 bytes (README "Mock gateway").
pub fn demo_partner_secret(seed: &str) -> Vec<u8> {
    let ks = KeySource {
        seed: Some(Zeroizing::new(seed.as_bytes().to_vec())),
        id_offset: 0,
    };
    ks.bytes("demo partner secret")
        .map(|b| b.to_vec())
        .unwrap_or_default()
}

/// The shared state of the demo and test handlers.
pub struct AppState {
    gateway: Arc<Gateway>,
    demo: PartnerCredentials,
    keys: KeySource,
    rotation: Mutex<Rotation>,
}

/// The `/test/rotate-keys` state: the last key generation, and every HPKE key id this process
/// has advertised (PROTOCOL.md §3.3: an id is never reused for another key, so the hook never
/// wraps onto one of them).
struct Rotation {
    generation: u32,
    used: [bool; 256],
}

/// Whether `origin` is a loopback page origin: `http://127.0.0.1`, `http://localhost` or
/// `http://[::1]`, with or without a port. Only those are reflected in CORS responses, so
/// a web page elsewhere (or an opaque `null` origin) cannot use a locally running mock.
pub fn is_loopback_origin(origin: &[u8]) -> bool {
    let Some(rest) = origin.strip_prefix(b"http://") else {
        return false;
    };
    [&b"127.0.0.1"[..], b"localhost", b"[::1]"]
        .iter()
        .any(|host| {
            rest.strip_prefix(*host).is_some_and(|port| {
                port.is_empty()
                    || (port.len() >= 2
                        && port.len() <= 6
                        && port[0] == b':'
                        && port[1..].iter().all(u8::is_ascii_digit))
            })
        })
}

/// Whether a `Host` header names a loopback host: `127.0.0.1`, `localhost` or `[::1]`, with or
/// without a port.
pub fn is_loopback_host(host: &[u8]) -> bool {
    let mut origin = b"http://".to_vec();
    origin.extend_from_slice(host);
    is_loopback_origin(&origin)
}

/// Whether a request names only a loopback host: exactly one `Host` header, naming a loopback
/// host ([`is_loopback_host`]), and, for an absolute-form target (`POST http://host/path`,
/// whose authority a server must prefer to `Host`: RFC 9112 §3.2.2), a loopback authority too.
pub fn names_loopback_host(req: &Request) -> bool {
    let mut hosts = req.headers().get_all(axum::http::header::HOST).iter();
    let (Some(host), None) = (hosts.next(), hosts.next()) else {
        return false;
    };
    is_loopback_host(host.as_bytes())
        && req
            .uri()
            .authority()
            .is_none_or(|a| is_loopback_host(a.as_str().as_bytes()))
}

/// Whether a request may come from a web page outside loopback (a cross-site request forgery
/// against a developer's local mock): it has an `Origin` that is not a loopback page origin
/// ([`is_loopback_origin`], the origins the CORS answers reflect; `null` included) or more than
/// one `Origin`, or, without an `Origin`, a `Sec-Fetch-Site` other than `same-origin` or `none`.
/// A request with neither header (curl, a test client, a backend) is not cross-site.
pub fn is_cross_site(headers: &HeaderMap) -> bool {
    let mut origins = headers.get_all(axum::http::header::ORIGIN).iter();
    match (origins.next(), origins.next()) {
        (Some(origin), None) => !is_loopback_origin(origin.as_bytes()),
        (Some(_), Some(_)) => true,
        (None, _) => headers
            .get_all("sec-fetch-site")
            .iter()
            .any(|v| !matches!(v.as_bytes(), b"same-origin" | b"none")),
    }
}

/// The guard of the demo and test routes: refuses a request that does not name only a loopback
/// host ([`names_loopback_host`]; 403 `HOST_NOT_ALLOWED`: a page that rebinds its own DNS name to
/// 127.0.0.1 cannot reach them) and one from a page outside loopback ([`is_cross_site`]; 403
/// `CROSS_SITE_REFUSED`), before the route runs.
async fn local_pages_only(req: Request, next: Next) -> Response {
    if !names_loopback_host(&req) {
        return http::problem(
            StatusCode::FORBIDDEN,
            "HOST_NOT_ALLOWED",
            "demo and test routes answer loopback Host names only",
        );
    }
    if is_cross_site(req.headers()) {
        return http::problem(
            StatusCode::FORBIDDEN,
            "CROSS_SITE_REFUSED",
            "demo and test routes answer loopback pages only",
        );
    }
    next.run(req).await
}

/// Whether the request's `Content-Type` is `application/json` (any case, parameters allowed).
/// The demo and test routes want it: a web page cannot send it to another origin without a CORS
/// preflight, which only loopback page origins pass.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether the file `uri_path` names under `root` (canonical), and the `index.html` of a
/// directory, resolve inside `root` once symlinks are followed. Paths that do not exist pass
/// (the file server answers 404 for them).
fn resolves_inside(root: &Path, uri_path: &str) -> bool {
    let Ok(decoded) = percent_encoding::percent_decode_str(uri_path).decode_utf8() else {
        return false;
    };
    let mut path = root.to_path_buf();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return false,
            s => path.push(s),
        }
    }
    let index = path.join("index.html");
    [path, index]
        .iter()
        .all(|p| match std::fs::canonicalize(p) {
            Ok(real) => real.starts_with(root),
            Err(_) => true,
        })
}

/// Where `--serve` puts the npm package's files: `/h5-access/<version>/…` (scripts/assemble-demo.mjs),
/// so that each path names one version and may be cached for good.
pub const PACKAGE_PREFIX: &str = "/h5-access/";
/// `Cache-Control` of the versioned package files: what a CDN serves them with.
pub const PACKAGE_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of every other static file (pages, the app's scripts): revalidated each time.
pub const STATIC_CACHE_CONTROL: &str = "no-cache";
/// The H5 page's placeholder for the gateway's key configuration: `--serve` fills its `content`
/// with the current `GET /v1/keys` bytes (base64url), so the page's exchange needs no keys request.
pub const KEYS_PLACEHOLDER: &str = r#"<meta name="h5-access-keys" content="">"#;

/// Static files of `--serve`, refusing (404) anything that resolves outside the root; with
/// [`PACKAGE_CACHE_CONTROL`] under [`PACKAGE_PREFIX`], [`STATIC_CACHE_CONTROL`] elsewhere.
async fn static_files(root: Arc<PathBuf>, req: Request) -> Response {
    if !resolves_inside(&root, req.uri().path()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let cache = if req.uri().path().starts_with(PACKAGE_PREFIX) {
        PACKAGE_CACHE_CONTROL
    } else {
        STATIC_CACHE_CONTROL
    };
    let files = SetResponseHeader::overriding(
        ServeDir::new(root.as_path()),
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static(cache),
    );
    match files.oneshot(req).await {
        Ok(res) => res.map(Body::new),
        Err(e) => match e {},
    }
}

/// `GET /h5/` and `/h5/index.html` of `--serve`: the page with the gateway's current key
/// configuration in its [`KEYS_PLACEHOLDER`] (a page without the placeholder is served as it is).
async fn h5_page(State(s): State<Arc<AppState>>, root: Arc<PathBuf>) -> Response {
    use base64::Engine as _;
    let Ok(html) = tokio::fs::read_to_string(root.join("h5").join("index.html")).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let keys = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.gateway.key_config_list());
    let filled = format!(r#"<meta name="h5-access-keys" content="{keys}">"#);
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, STATIC_CACHE_CONTROL),
        ],
        html.replacen(KEYS_PLACEHOLDER, &filled, 1),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn tamper_exchange(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let res = http::exchange(State(Arc::clone(&s.gateway)), headers, body).await;
    if res.status() != StatusCode::OK {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return PreDecapError::Internal.into_response();
    };
    let mut bytes = bytes.to_vec();
    // Flip one bit of the last byte: inside the AEAD tag, so the client's open must fail.
    if let Some(b) = bytes.last_mut() {
        *b ^= 0x01;
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[derive(Deserialize)]
struct TestTokenBody {
    subject: String,
    products: Vec<String>,
    #[serde(default = "default_ttl")]
    ttl_seconds: i64,
}

fn default_ttl() -> i64 {
    300
}

async fn test_access_token(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !is_json(&headers) {
        return PreDecapError::UnsupportedMediaType.into_response();
    }
    let bytes = match read_body(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if !starts_json_object(&bytes) {
        return PreDecapError::PartnerBadRequest.into_response();
    }
    let Ok(req) = serde_json::from_slice::<TestTokenBody>(&bytes) else {
        return PreDecapError::PartnerBadRequest.into_response();
    };
    // Bounded (issue 14 §1): an AT expiring at u64::MAX would keep its used-AT entry forever.
    if req.ttl_seconds.unsigned_abs() > MAX_TEST_TTL.unsigned_abs() {
        return PreDecapError::PartnerBadRequest.into_response();
    }
    let now = http::now();
    let exp = now.saturating_add_signed(req.ttl_seconds);
    match s
        .gateway
        .mint_access_token(DEMO_PARTNER_ID, &req.subject, &req.products, now, exp)
    {
        Ok(at) => {
            json_ok_value(serde_json::json!({ "access_token": at.token.as_str(), "exp": at.exp }))
        }
        Err(e) => e.into_response(),
    }
}

async fn rotate_keys(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !is_json(&headers) {
        return PreDecapError::UnsupportedMediaType.into_response();
    }
    let mut r = s.rotation.lock().unwrap_or_else(|e| e.into_inner());
    // The ids held now (a key file may have brought others) count as used too.
    for cfg in KeyConfig::decode_list(&s.gateway.key_config_list()).unwrap_or_default() {
        r.used[usize::from(cfg.key_id())] = true;
    }
    // The next generation whose key id was never used: at most 255 ids to try.
    let mut next = r.generation;
    let mut key = None;
    for _ in 0..255 {
        next = next.wrapping_add(1);
        match s.keys.hpke_key(next) {
            Ok(k) if !r.used[usize::from(k.key_id())] => {
                key = Some(k);
                break;
            }
            Ok(_) => {}
            Err(_) => return PreDecapError::Internal.into_response(),
        }
    }
    let Some(key) = key else {
        tracing::error!("rotate-keys: every HPKE key id 1..=255 is used; refused");
        return http::problem(
            StatusCode::CONFLICT,
            "KEY_IDS_EXHAUSTED",
            "no unused HPKE key id left (a key id is never reused)",
        );
    };
    let id = key.key_id();
    if s.gateway.rotate_key(key).is_err() {
        return PreDecapError::Internal.into_response();
    }
    r.used[usize::from(id)] = true;
    r.generation = next;
    tracing::info!(key_id = id, "rotated HPKE key");
    json_ok_value(serde_json::json!({ "current_key_id": id }))
}

#[derive(Deserialize)]
struct LaunchBody {
    product: String,
}

/// Plays the partner backend: signs an access-token request as the demo partner, has the
/// gateway process it in-process, opens the sealed AT.
async fn demo_launch(State(s): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    if !is_json(&headers) {
        return PreDecapError::UnsupportedMediaType.into_response();
    }
    let bytes = match read_body(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if !starts_json_object(&bytes) {
        return PreDecapError::PartnerBadRequest.into_response();
    }
    let Ok(req) = serde_json::from_slice::<LaunchBody>(&bytes) else {
        return PreDecapError::PartnerBadRequest.into_response();
    };
    let body = PartnerCredentials::access_token_request_body(DEMO_SUBJECT, &[&req.product]);
    let Ok(auth) = s.demo.sign_now("POST", ACCESS_TOKEN_PATH, body.as_bytes()) else {
        return PreDecapError::Internal.into_response();
    };
    let preq = PartnerRequest {
        method: "POST",
        path: ACCESS_TOKEN_PATH,
        authorization: Some(&auth),
        body: body.as_bytes(),
    };
    let json = match s.gateway.issue_access_token(&preq, http::now()).await {
        Ok(j) => j,
        Err(e) => return e.into_response(),
    };
    match s.demo.open_access_token_response(&json) {
        Ok(at) => json_ok_value(serde_json::json!({
            "access_token": at.token.as_str(),
            "exp": at.exp,
            "subject": DEMO_SUBJECT,
        })),
        Err(_) => PreDecapError::Internal.into_response(),
    }
}

async fn delay(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    tokio::time::sleep(SLOW_DELAY).await;
    res
}

fn json_ok_value(value: serde_json::Value) -> Response {
    http::json_ok(value.to_string())
}

fn build_gateway(
    options: &Options,
    keys: &KeySource,
) -> Result<(Gateway, PartnerCredentials), SetupError> {
    let catalogue: Catalogue =
        serde_json::from_str(options.products_json.as_deref().unwrap_or(DEFAULT_PRODUCTS))
            .map_err(|e| SetupError(format!("products catalogue: {e}")))?;
    if catalogue.products.is_empty() {
        return Err(SetupError("products catalogue is empty".into()));
    }
    let mut config = GatewayConfig::default();
    if let Some(t) = options.at_ttl {
        config = config.with_at_ttl(t);
    }
    if let Some(t) = options.vt_ttl {
        config = config.with_vt_ttl(t);
    }
    if let Some(n) = options.calls_per_minute {
        config = config.with_calls_per_minute(n);
    }
    let (hpke, previous_hpke, ticket, previous_ticket) = match &options.keys {
        Some(k) => (
            k.hpke.clone(),
            k.previous_hpke.clone(),
            k.ticket.clone(),
            k.previous_ticket.clone(),
        ),
        None => (
            keys.hpke_key(0)?,
            None,
            TicketKey::from_bytes(1, &*keys.bytes("ticket key")?),
            None,
        ),
    };
    let demo_secret = keys.bytes("demo partner secret")?;
    let ids: Vec<String> = catalogue.products.iter().map(|p| p.id.clone()).collect();
    let partner = Partner::new(DEMO_PARTNER_ID, demo_secret.to_vec(), ids.clone())
        .map_err(|e| SetupError(e.to_string()))?;
    let rates: HashMap<String, u64> = catalogue
        .products
        .iter()
        .map(|p| (p.id.clone(), p.rate_bps))
        .collect();
    let mut builder = Gateway::builder(hpke, ticket).config(config);
    if let Some(k) = previous_hpke {
        builder = builder.previous_key(k);
    }
    if let Some(k) = previous_ticket {
        builder = builder.previous_ticket_key(k);
    }
    for p in &options.partners {
        if p.id() == DEMO_PARTNER_ID {
            return Err(SetupError(format!(
                "--partner: {DEMO_PARTNER_ID} is the demo partner's id"
            )));
        }
        if let Some(unknown) = p.products().iter().find(|id| !ids.contains(id)) {
            return Err(SetupError(format!(
                "--partner {}: product {unknown} is not in the catalogue",
                p.id()
            )));
        }
        builder = builder.partner(p.clone());
    }
    builder = builder
        .partner(partner)
        .service("profile", services::profile)
        .service("echo", services::echo)
        .service("quote", services::Quote::new(rates));
    for p in &catalogue.products {
        builder = builder.product(p.id.clone(), minify_json(p.page.get()));
    }
    for (name, service) in &options.upstreams {
        builder = builder.service(name.clone(), service.clone());
    }
    if let Some(store) = &options.store {
        builder = builder.store(Arc::clone(store));
    }
    let gateway = builder.build().map_err(|e| SetupError(e.to_string()))?;
    Ok((
        gateway,
        PartnerCredentials::new(DEMO_PARTNER_ID, demo_secret.to_vec())
            .map_err(|e| SetupError(e.to_string()))?,
    ))
}

/// Builds the application router.
///
/// Errors: [`SetupError`] (bad catalogue, CSPRNG failure).
pub fn app(options: &Options) -> Result<Router, SetupError> {
    app_and_gateway(options).map(|(router, _)| router)
}

/// [`app`], and the gateway behind it (for key reloads: [`Gateway::apply_keys`]).
///
/// Errors: [`SetupError`] (bad catalogue, CSPRNG failure).
pub fn app_and_gateway(options: &Options) -> Result<(Router, Arc<Gateway>), SetupError> {
    let id_offset = match options.seed {
        Some(_) => 0,
        None => {
            let mut b = [0u8; 1];
            getrandom::fill(&mut b).map_err(|_| SetupError("csprng".into()))?;
            u32::from(b[0] % 255)
        }
    };
    let key_source = KeySource {
        seed: options
            .seed
            .as_ref()
            .map(|s| Zeroizing::new(s.as_bytes().to_vec())),
        id_offset,
    };
    let (gateway, demo) = build_gateway(options, &key_source)?;
    let gateway = Arc::new(gateway);
    let state = Arc::new(AppState {
        gateway: Arc::clone(&gateway),
        demo,
        keys: key_source,
        rotation: Mutex::new(Rotation {
            generation: 0,
            used: [false; 256],
        }),
    });

    // The gateway's own routes (the library's router), plus the mock's demo and test routes.
    let v1 = http::routes(Arc::clone(&gateway));
    let mut mock = Router::new().route("/demo/partner/launch", post(demo_launch));
    let root = match &options.serve {
        Some(dir) => {
            Some(Arc::new(std::fs::canonicalize(dir).map_err(|e| {
                SetupError(format!("--serve {}: {e}", dir.display()))
            })?))
        }
        None => None,
    };
    // The demo's H5 page with the current key configuration in it (static, so any Host).
    let mut pages = Router::new();
    if let Some(root) = &root {
        let (a, b) = (Arc::clone(root), Arc::clone(root));
        pages = pages
            .route(
                "/h5/",
                get(move |s: State<Arc<AppState>>| h5_page(s, Arc::clone(&a))),
            )
            .route(
                "/h5/index.html",
                get(move |s: State<Arc<AppState>>| h5_page(s, Arc::clone(&b))),
            );
    }
    if options.test_hooks {
        mock = mock
            .route("/test/tamper/v1/exchange", post(tamper_exchange))
            .route("/test/access-token", post(test_access_token))
            .route("/test/rotate-keys", post(rotate_keys));
    }
    let mock = mock.layer(middleware::from_fn(local_pages_only));
    let mut router = v1
        .clone()
        .merge(mock.with_state(Arc::clone(&state)))
        .merge(pages.with_state(state))
        .route("/healthz", get(healthz));
    if options.test_hooks {
        router = router.nest(
            "/test/slow",
            v1.layer(middleware::from_fn(delay))
                .layer(middleware::from_fn(local_pages_only)),
        );
    }
    if let Some(root) = root {
        router = router.fallback(move |req: Request| static_files(root.clone(), req));
    }
    let limit = options.request_timeout.unwrap_or(REQUEST_TIMEOUT);
    // Compressed (gzip, brotli) where the client accepts it: pages, scripts, the .wasm, JSON and
    // problem documents; never the encrypted bodies (`application/vnd.h5-access.*`) or the key
    // configuration (random bytes: they do not compress).
    let compress = DefaultPredicate::new()
        .and(NotForContentType::const_new("application/vnd.h5-access."))
        .and(NotForContentType::const_new("application/ohttp-keys"));
    let cors = http::cors(|origin| is_loopback_origin(origin.as_bytes()));
    let mut router = http::protect(router, limit)
        .layer(CompressionLayer::new().compress_when(compress))
        .layer(cors.clone());
    // Outermost but for the log: every request counts, 413s and preflights included.
    if let Some(rl) = options.rate_limit {
        router = http::rate_limit(router, rl, Some(cors));
    }
    let router = router.layer(middleware::from_fn(http::access_log));
    Ok((router, gateway))
}

/// Serves `router` on `listener` with the library's bounded accept loop
/// ([`http::serve`], [`http::ServeConfig`] defaults: 512 connections, 32 KiB header buffer)
/// and `header_read_timeout` ([`HEADER_READ_TIMEOUT`] in the binary).
///
/// Errors: none today (accept errors are logged and retried); `io::Result` for the future.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let config = http::ServeConfig::default().with_header_read_timeout(header_read_timeout);
    http::serve(listener, router, config, shutdown).await
}
