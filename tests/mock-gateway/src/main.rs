//! `h5-mock-gateway`: see `--help` and README.md "Mock gateway".

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use h5_access::gateway::{
    Gateway, KeySet, RedisOpenError, RedisStore, RedisStoreConfig, ReplayStore, UpstreamService,
};
use h5_mock_gateway::{app_and_gateway, Options, Redacted, HEADER_READ_TIMEOUT};

/// Environment variable holding a key file's JSON text, used when `--key-file` is not given.
const KEYS_ENV: &str = "H5_GATEWAY_KEYS";

/// A small real h5-access gateway for tests and the demo.
#[derive(Parser)]
#[command(name = "h5-mock-gateway", version)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, env = "H5_GATEWAY_LISTEN", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Derive the HPKE keys, ticket key and demo partner secret from this string (fixed keys
    /// for tests); random keys otherwise.
    #[arg(long, env = "H5_GATEWAY_SEED", hide_env_values = true)]
    seed: Option<String>,
    /// Products catalogue JSON file (default: the built-in tests/mock-gateway/products.json).
    #[arg(long, env = "H5_GATEWAY_PRODUCTS")]
    products: Option<PathBuf>,
    /// AT lifetime, seconds.
    #[arg(long, env = "H5_GATEWAY_AT_TTL", default_value_t = 300)]
    at_ttl: u64,
    /// VT lifetime, seconds.
    #[arg(long, env = "H5_GATEWAY_VT_TTL", default_value_t = 900)]
    vt_ttl: u64,
    /// Serve this directory's static files at `/` (for the demo).
    #[arg(long, env = "H5_GATEWAY_SERVE")]
    serve: Option<PathBuf>,
    /// Enable the test-only routes under /test/.
    #[arg(long, env = "H5_GATEWAY_TEST_HOOKS")]
    test_hooks: bool,
    /// Load the HPKE keys and ticket keys from this JSON key file (format: README.md "Keys for
    /// a fleet"); reloaded on SIGHUP (a file that fails to load leaves the keys unchanged).
    /// The seed (or the CSPRNG) still makes the demo partner secret. Without it, the same JSON
    /// may be given in the environment variable H5_GATEWAY_KEYS (read once, not reloaded).
    #[arg(long, env = "H5_GATEWAY_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Add a service answered by an HTTP backend: `NAME=URL` (repeatable), e.g.
    /// `--upstream orders=http://127.0.0.1:9000/orders`. The backend gets the call's JSON body
    /// and the verified context in h5-* headers (README.md "Gateway integration").
    #[arg(long = "upstream", value_name = "NAME=URL")]
    upstreams: Vec<String>,
    /// Bound on one upstream call (connect, send, whole answer), milliseconds.
    #[arg(long, env = "H5_GATEWAY_UPSTREAM_TIMEOUT_MS", default_value_t = 5000)]
    upstream_timeout_ms: u64,
    /// Per-VT call budget, calls per minute.
    #[arg(long, env = "H5_GATEWAY_CALLS_PER_MINUTE", default_value_t = 120)]
    calls_per_minute: u64,
    /// Keep the gateway state (replay cache, used ATs, partner nonces, call budgets) in Redis
    /// at this URL (`redis://host:port`), shared with every instance using the same Redis and
    /// prefix; in process memory otherwise. With --redis-cluster: comma-separated seed nodes.
    #[arg(long, env = "H5_GATEWAY_REDIS", hide_env_values = true)]
    redis: Option<String>,
    /// --redis names Redis Cluster nodes.
    #[arg(long, env = "H5_GATEWAY_REDIS_CLUSTER", requires = "redis")]
    redis_cluster: bool,
    /// Prefix of every Redis key.
    #[arg(long, env = "H5_GATEWAY_REDIS_PREFIX", default_value = h5_access::gateway::DEFAULT_KEY_PREFIX)]
    redis_prefix: String,
    /// Bound on each Redis command (connecting included), milliseconds; past it the request
    /// is refused.
    #[arg(long, env = "H5_GATEWAY_REDIS_TIMEOUT_MS", default_value_t = 500)]
    redis_timeout_ms: u64,
    /// Serve even if Redis's maxmemory-policy is not noeviction (evicted keys reopen replays).
    #[arg(long, env = "H5_GATEWAY_REDIS_ALLOW_EVICTION", requires = "redis")]
    redis_allow_eviction: bool,
    /// Most connections open at once; a connection past it is closed as soon as it is accepted.
    #[arg(long, env = "H5_GATEWAY_MAX_CONNECTIONS", default_value_t = 512)]
    max_connections: usize,
    /// Most connections one client (IPv4 address, IPv6 /64) may have open at once; one past it
    /// is closed as soon as it is accepted, other clients are served.
    #[arg(long, env = "H5_GATEWAY_MAX_CONNECTIONS_PER_IP", default_value_t = 64)]
    max_connections_per_ip: usize,
    /// Per-client rate limit (peer IP; IPv6 by /64): requests per second, refilled evenly;
    /// 0 (the default) is no limit. Past it: 429 TOO_MANY_REQUESTS.
    #[arg(long, env = "H5_GATEWAY_RATE_LIMIT", default_value_t = 0)]
    rate_limit: u32,
    /// With --rate-limit: requests a client may send at once (default: the per-second rate).
    #[arg(long, env = "H5_GATEWAY_RATE_LIMIT_BURST")]
    rate_limit_burst: Option<u32>,
    /// A partner account besides the demo partner, `ID:file=PATH:PRODUCTS` or
    /// `ID:env=NAME:PRODUCTS` (secret ≥ 16 bytes from that file or variable; products
    /// comma-separated, from the catalogue). Repeat for several.
    #[arg(long = "partner", value_name = "ID:SOURCE:PRODUCTS")]
    partners: Vec<String>,
}

/// Omits the seed (every key derives from it): `seed: <set>` or `<unset>`.
impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Args")
            .field("listen", &self.listen)
            .field("seed", &Redacted(self.seed.is_some()))
            .field("products", &self.products)
            .field("at_ttl", &self.at_ttl)
            .field("vt_ttl", &self.vt_ttl)
            .field("serve", &self.serve)
            .field("test_hooks", &self.test_hooks)
            .field("key_file", &self.key_file)
            .field("upstreams", &self.upstreams.len())
            .field("upstream_timeout_ms", &self.upstream_timeout_ms)
            .field("calls_per_minute", &self.calls_per_minute)
            .field("redis", &Redacted(self.redis.is_some()))
            .field("redis_cluster", &self.redis_cluster)
            .field("redis_prefix", &self.redis_prefix)
            .field("redis_timeout_ms", &self.redis_timeout_ms)
            .field("redis_allow_eviction", &self.redis_allow_eviction)
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("rate_limit", &self.rate_limit)
            .field("rate_limit_burst", &self.rate_limit_burst)
            .field("partners", &self.partners)
            .finish()
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Reloads the key file on every SIGHUP received by `hup`. A file that does not load leaves the
/// keys as they were (logged with the reason, never a key).
#[cfg(unix)]
async fn reload_keys_on_sighup(
    mut hup: tokio::signal::unix::Signal,
    path: PathBuf,
    gateway: std::sync::Arc<Gateway>,
) {
    while hup.recv().await.is_some() {
        let applied = KeySet::load(&path).map(|k| {
            let ids = format!("{k:?}");
            gateway.apply_keys(k).map(|()| ids)
        });
        match applied {
            Ok(Ok(ids)) => tracing::info!(keys = %ids, "key file reloaded"),
            Ok(Err(e)) => tracing::error!(error = %e, "key file refused; keys unchanged"),
            Err(e) => tracing::error!(error = %e, "key file refused; keys unchanged"),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let products_json = match &args.products {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("h5-mock-gateway: cannot read {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let store = match &args.redis {
        Some(urls) => {
            let config = if args.redis_cluster {
                RedisStoreConfig::cluster(urls.split(',').map(str::trim))
            } else {
                RedisStoreConfig::single(urls.trim())
            }
            .with_key_prefix(args.redis_prefix.as_bytes())
            .with_command_timeout(std::time::Duration::from_millis(args.redis_timeout_ms))
            .with_eviction_allowed(args.redis_allow_eviction);
            // A Redis that may evict keys is refused at start; one that does not answer yet is
            // checked before the first request instead (the store refuses until then).
            let store = match RedisStore::connect(config.clone()).await {
                Ok(s) => Ok(s),
                Err(RedisOpenError::Unreachable) => {
                    tracing::warn!("--redis: not reachable yet; requests are refused until it is");
                    RedisStore::open(config).map_err(RedisOpenError::from)
                }
                Err(e) => Err(e),
            };
            match store {
                Ok(s) => Some(std::sync::Arc::new(s) as std::sync::Arc<dyn ReplayStore>),
                Err(e) => {
                    eprintln!("h5-mock-gateway: --redis: {} ({e})", e.code());
                    return ExitCode::FAILURE;
                }
            }
        }
        None => None,
    };
    let redis = store.is_some();
    let keys = match &args.key_file {
        Some(path) => match KeySet::load(path) {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("h5-mock-gateway: --key-file {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        // The same JSON in the environment (a secret store's injection), read once: no reload.
        None => match std::env::var_os(KEYS_ENV) {
            Some(json) => {
                let json = zeroize::Zeroizing::new(json.into_encoded_bytes());
                match KeySet::parse(&json) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        eprintln!("h5-mock-gateway: {KEYS_ENV}: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            None => None,
        },
    };
    let mut upstreams = Vec::new();
    for spec in &args.upstreams {
        let Some((name, url)) = spec.split_once('=') else {
            eprintln!("h5-mock-gateway: --upstream wants NAME=URL");
            return ExitCode::FAILURE;
        };
        match UpstreamService::new(url) {
            Ok(s) => upstreams.push((
                name.to_owned(),
                s.with_timeout(std::time::Duration::from_millis(args.upstream_timeout_ms)),
            )),
            Err(e) => {
                eprintln!("h5-mock-gateway: --upstream {name}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let mut partners = Vec::new();
    for spec in &args.partners {
        match h5_mock_gateway::parse_partner_spec(spec) {
            Ok(p) => partners.push(p),
            Err(e) => {
                eprintln!("h5-mock-gateway: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let options = Options {
        partners,
        seed: args.seed,
        products_json,
        at_ttl: Some(args.at_ttl),
        vt_ttl: Some(args.vt_ttl),
        test_hooks: args.test_hooks,
        serve: args.serve,
        request_timeout: None,
        calls_per_minute: Some(args.calls_per_minute),
        keys,
        upstreams,
        store,
        rate_limit: std::num::NonZeroU32::new(args.rate_limit).map(|per_second| {
            h5_access::gateway::http::RateLimitConfig {
                period: std::time::Duration::from_secs(1) / per_second.get(),
                burst: args
                    .rate_limit_burst
                    .and_then(std::num::NonZeroU32::new)
                    .unwrap_or(per_second),
            }
        }),
    };
    let (router, gateway) = match app_and_gateway(&options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("h5-mock-gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("h5-mock-gateway: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("h5-mock-gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    // SIGHUP is listened for before the address is printed, so a reload request sent as soon as
    // the gateway is up never hits the default action (termination).
    #[cfg(unix)]
    if let Some(path) = args.key_file.clone() {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(hup) => {
                tokio::spawn(reload_keys_on_sighup(hup, path, gateway));
            }
            Err(e) => {
                eprintln!("h5-mock-gateway: cannot listen for SIGHUP: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    #[cfg(not(unix))]
    drop(gateway);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "h5-mock-gateway listening on http://{addr}");
    let _ = out.flush();
    drop(out);
    tracing::info!(%addr, test_hooks = options.test_hooks, seeded = options.seed.is_some(), redis, "listening");
    let serve_config = h5_access::gateway::http::ServeConfig::default()
        .with_header_read_timeout(HEADER_READ_TIMEOUT)
        .with_max_connections(args.max_connections)
        .with_max_connections_per_ip(args.max_connections_per_ip);
    if let Err(e) =
        h5_access::gateway::http::serve(listener, router, serve_config, shutdown_signal()).await
    {
        eprintln!("h5-mock-gateway: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_omits_the_seed() {
        let args = Args::try_parse_from(["h5-mock-gateway", "--seed", "hunter2-seed"]).unwrap();
        let dbg = format!("{args:?}");
        assert!(!dbg.contains("hunter2-seed"), "{dbg}");
        assert!(dbg.contains("seed: <set>"), "{dbg}");
        let mut args = args;
        args.seed = None;
        assert!(format!("{args:?}").contains("seed: <unset>"));
        let args =
            Args::try_parse_from(["h5-mock-gateway", "--redis", "redis://:hunter3@127.0.0.1:1"])
                .unwrap();
        let dbg = format!("{args:?}");
        assert!(!dbg.contains("hunter3"), "{dbg}");
        assert!(dbg.contains("redis: <set>"), "{dbg}");
    }
}
