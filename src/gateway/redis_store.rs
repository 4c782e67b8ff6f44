//! A [`ReplayStore`] in Redis (cargo feature `redis`): the state a fleet of gateway instances
//! shares, so that each one refuses the others' replays and a restart forgets nothing
//! (docs/PROTOCOL.md §11).
//!
//! * `insert_if_absent` is `SET <prefix><key> 1 NX EX <ttl>` (Redis answers `OK` or nil).
//! * `increment` is one Lua script: `INCR`, then `EXPIRE <ttl>` when the count is 1, so a
//!   counter never lives without its expiry.
//!
//! Both are single-key commands, so they work unchanged against a Redis Cluster (every key
//! hashes to one slot; no multi-key command or transaction is ever sent). Expiry runs on
//! Redis's clock: the `ttl_seconds` are relative, and the gateway's `now` is not sent.
//!
//! Fail closed: every command is bounded by the command timeout; a timeout, a connection
//! error or an unexpected reply resolves to [`StoreError`] and the gateway refuses the
//! request. The connection manager (single Redis) and the cluster connection reconnect by
//! themselves, so once Redis answers again the gateway serves again without a restart.
//!
//! Eviction: every key carries a TTL, so under a `volatile-*` or `allkeys-*` `maxmemory-policy`
//! Redis may evict a used-AT or replay key early and the same AT would then issue a second VT.
//! The store therefore requires `maxmemory-policy noeviction` on every node (every master of a
//! cluster): [`RedisStore::connect`] refuses another policy with
//! [`RedisOpenError::EvictionPolicy`], and a store from [`RedisStore::open`] checks it before its
//! first command and refuses every request while the policy is another one. The policy is read
//! with `CONFIG GET maxmemory-policy`, or, where `CONFIG` is disabled or renamed (managed Redis),
//! from `INFO memory` (`maxmemory_policy`). [`RedisStoreConfig::with_eviction_allowed`] skips the
//! check for a provider who knowingly accepts the risk. A node reconfigured after the check is
//! not noticed.

use core::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterConfig;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, Script};

use super::log_limit::LogLimiter;
use super::store::{ReplayStore, StoreError, StoreFuture, MAX_KEY_LEN};

/// Default key prefix: every key the gateway writes starts with `h5:`.
pub const DEFAULT_KEY_PREFIX: &str = "h5:";
/// Default bound on one store command (connecting included): 500 ms.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest key prefix accepted, in bytes.
pub const MAX_KEY_PREFIX_LEN: usize = 64;

/// The `increment` script: `INCR`, and `EXPIRE` on the first increment of a window (one key:
/// cluster-safe). `KEYS[1]` the counter, `ARGV[1]` the window in seconds.
const INCREMENT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
";

/// Longest TTL sent to Redis, in seconds (about 68 years; Redis refuses larger `EX` values
/// once multiplied to milliseconds overflow).
const MAX_TTL: u64 = i32::MAX as u64;

/// How to reach Redis. `Debug` prints the number of URLs, never the URLs (they may carry a
/// password).
#[derive(Clone)]
#[non_exhaustive]
pub struct RedisStoreConfig {
    /// `redis://[user:password@]host:port[/db]` (or `rediss://`, `unix://`): one URL for a
    /// single Redis; for a cluster, one or more seed nodes.
    pub urls: Vec<String>,
    /// Whether `urls` are Redis Cluster nodes.
    pub cluster: bool,
    /// Prefix of every key (default [`DEFAULT_KEY_PREFIX`]), at most
    /// [`MAX_KEY_PREFIX_LEN`] bytes. Give each gateway deployment sharing one Redis its own.
    /// A prefix containing `{…}` makes it a cluster hash tag: all keys then land in one slot.
    pub key_prefix: Vec<u8>,
    /// Bound on each command, connecting included (default [`DEFAULT_COMMAND_TIMEOUT`]).
    pub command_timeout: Duration,
    /// Serve even when Redis's `maxmemory-policy` is not `noeviction` (default `false`: refuse).
    /// An evicted key lets a used AT issue a second VT and a replay through (PROTOCOL.md §12).
    pub allow_eviction: bool,
}

impl fmt::Debug for RedisStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreConfig")
            .field("urls", &self.urls.len())
            .field("cluster", &self.cluster)
            .field("key_prefix", &String::from_utf8_lossy(&self.key_prefix))
            .field("command_timeout", &self.command_timeout)
            .field("allow_eviction", &self.allow_eviction)
            .finish()
    }
}

impl RedisStoreConfig {
    /// A single Redis at `url`, with the default prefix and timeout.
    pub fn single(url: impl Into<String>) -> Self {
        Self {
            urls: vec![url.into()],
            cluster: false,
            key_prefix: DEFAULT_KEY_PREFIX.as_bytes().to_vec(),
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            allow_eviction: false,
        }
    }

    /// A Redis Cluster reached through the seed nodes `urls`.
    pub fn cluster(urls: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            urls: urls.into_iter().map(Into::into).collect(),
            cluster: true,
            ..Self::single("")
        }
    }

    /// Sets the key prefix.
    pub fn with_key_prefix(mut self, prefix: impl Into<Vec<u8>>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Sets the command timeout.
    pub fn with_command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// `true`: skip the `maxmemory-policy noeviction` check (see [`Self::allow_eviction`]); only
    /// for a provider who knowingly accepts that evicted keys reopen replays.
    pub fn with_eviction_allowed(mut self, allow: bool) -> Self {
        self.allow_eviction = allow;
        self
    }
}

/// Why [`RedisStore::open`] refused its configuration. Never carries the URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisConfigError {
    /// No URL given, or more than one for a single Redis.
    UrlCount,
    /// A URL does not parse as a Redis connection URL.
    BadUrl,
    /// The key prefix is longer than [`MAX_KEY_PREFIX_LEN`].
    PrefixTooLong,
    /// The command timeout is zero.
    ZeroTimeout,
}

impl fmt::Display for RedisConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RedisConfigError::UrlCount => {
                "a single Redis needs exactly one URL, a cluster at least one"
            }
            RedisConfigError::BadUrl => "not a Redis URL (redis://host:port)",
            RedisConfigError::PrefixTooLong => "Redis key prefix longer than 64 bytes",
            RedisConfigError::ZeroTimeout => "Redis command timeout is zero",
        })
    }
}

impl core::error::Error for RedisConfigError {}

/// Why [`RedisStore::connect`] refused to serve. Never carries a URL or a password.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisOpenError {
    /// The configuration is refused ([`RedisConfigError`]).
    Config(RedisConfigError),
    /// Redis did not answer the policy check within the command timeout, or not at all.
    Unreachable,
    /// A node runs with this `maxmemory-policy` (e.g. `allkeys-lru`), not `noeviction`: keys
    /// could be evicted before their TTL (override: [`RedisStoreConfig::with_eviction_allowed`]).
    EvictionPolicy(String),
    /// Neither `CONFIG GET maxmemory-policy` nor `INFO memory` told the policy.
    PolicyUnknown,
}

impl RedisOpenError {
    /// Stable upper-case code.
    pub fn code(&self) -> &'static str {
        match self {
            RedisOpenError::Config(_) => "REDIS_CONFIG",
            RedisOpenError::Unreachable => "REDIS_UNREACHABLE",
            RedisOpenError::EvictionPolicy(_) => "REDIS_EVICTION_POLICY",
            RedisOpenError::PolicyUnknown => "REDIS_POLICY_UNKNOWN",
        }
    }
}

impl fmt::Display for RedisOpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisOpenError::Config(e) => e.fmt(f),
            RedisOpenError::Unreachable => f.write_str("Redis did not answer the policy check"),
            RedisOpenError::EvictionPolicy(p) => write!(
                f,
                "Redis maxmemory-policy is {p}, not noeviction: used tokens could be evicted \
                 and replayed (set maxmemory-policy noeviction)"
            ),
            RedisOpenError::PolicyUnknown => {
                f.write_str("Redis maxmemory-policy unknown (CONFIG GET and INFO memory failed)")
            }
        }
    }
}

impl core::error::Error for RedisOpenError {}

impl From<RedisConfigError> for RedisOpenError {
    fn from(e: RedisConfigError) -> Self {
        RedisOpenError::Config(e)
    }
}

/// The `maxmemory_policy` line of an `INFO memory` reply.
fn policy_from_info(info: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix("maxmemory_policy:"))
        .map(|p| p.trim().to_owned())
}

/// The value of a `CONFIG GET maxmemory-policy` reply (RESP2 pair array or RESP3 map).
fn policy_from_config(v: redis::Value) -> Option<String> {
    let m: std::collections::HashMap<String, String> = redis::from_redis_value(v).ok()?;
    m.get("maxmemory-policy").cloned()
}

#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A [`ReplayStore`] in Redis or a Redis Cluster. Cheap to share (`Arc` it once); every
/// command uses the one multiplexed connection (per node).
pub struct RedisStore {
    connection: Connection,
    prefix: Vec<u8>,
    timeout: Duration,
    increment: Script,
    /// `true` once every node was seen with `noeviction` (or the check is overridden).
    policy_ok: std::sync::atomic::AtomicBool,
    /// Failure log lines: at most one a second, with the count left out (an outage fails
    /// every request; docs/PROTOCOL.md §11).
    fail_log: LogLimiter,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field(
                "cluster",
                &matches!(self.connection, Connection::Cluster(_)),
            )
            .field("key_prefix", &String::from_utf8_lossy(&self.prefix))
            .field("command_timeout", &self.timeout)
            .finish()
    }
}

impl RedisStore {
    /// Prepares the store without connecting: the first command connects, so a gateway can
    /// start while Redis is down (its requests are refused until Redis answers). Must be
    /// called inside a Tokio runtime (the connection tasks are spawned on it). Before its first
    /// command the store checks `maxmemory-policy` (module docs) and refuses every request
    /// ([`StoreError::Unavailable`]) until every node runs `noeviction`; prefer
    /// [`connect`](Self::connect), which reports a wrong policy at start.
    ///
    /// Errors: [`RedisConfigError`].
    pub fn open(config: RedisStoreConfig) -> Result<Self, RedisConfigError> {
        if config.urls.is_empty() || (!config.cluster && config.urls.len() != 1) {
            return Err(RedisConfigError::UrlCount);
        }
        if config.key_prefix.len() > MAX_KEY_PREFIX_LEN {
            return Err(RedisConfigError::PrefixTooLong);
        }
        if config.command_timeout.is_zero() {
            return Err(RedisConfigError::ZeroTimeout);
        }
        let t = config.command_timeout;
        let connection = if config.cluster {
            let client =
                redis::cluster::ClusterClientBuilder::new(config.urls.iter().map(String::as_str))
                    .connection_timeout(t)
                    .response_timeout(t)
                    .retries(1)
                    .build()
                    .map_err(|_| RedisConfigError::BadUrl)?;
            let cfg = ClusterConfig::new()
                .set_connection_timeout(t)
                .set_response_timeout(t);
            Connection::Cluster(client.get_pending_async_connection_with_config(cfg))
        } else {
            let client = redis::Client::open(config.urls[0].as_str())
                .map_err(|_| RedisConfigError::BadUrl)?;
            // One quick reconnection attempt per failed command; the command timeout bounds
            // the whole. The next command tries again, so recovery needs no restart.
            let cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(t))
                .set_response_timeout(Some(t))
                .set_number_of_retries(1)
                .set_min_delay(Duration::from_millis(10))
                .set_max_delay(t);
            Connection::Single(
                ConnectionManager::new_lazy_with_config(client, cfg)
                    .map_err(|_| RedisConfigError::BadUrl)?,
            )
        };
        Ok(Self {
            connection,
            prefix: config.key_prefix,
            timeout: t,
            increment: Script::new(INCREMENT_SCRIPT),
            policy_ok: std::sync::atomic::AtomicBool::new(config.allow_eviction),
            fail_log: LogLimiter::new(),
        })
    }

    /// [`open`](Self::open), then checks now that every node (every master of a cluster) runs
    /// with `maxmemory-policy noeviction`, unless [`RedisStoreConfig::with_eviction_allowed`].
    ///
    /// Errors: [`RedisOpenError`]: `Config`, `Unreachable` (no answer within the command
    /// timeout), `EvictionPolicy` (the policy a node reported), `PolicyUnknown`.
    pub async fn connect(config: RedisStoreConfig) -> Result<Self, RedisOpenError> {
        let store = Self::open(config)?;
        store.check_policy().await?;
        Ok(store)
    }

    /// Checks the eviction policy once; afterwards a no-op.
    async fn check_policy(&self) -> Result<(), RedisOpenError> {
        use std::sync::atomic::Ordering;
        if self.policy_ok.load(Ordering::Acquire) {
            return Ok(());
        }
        let policies = match tokio::time::timeout(self.timeout, self.read_policies()).await {
            Ok(r) => r?,
            Err(_) => return Err(RedisOpenError::Unreachable),
        };
        if policies.is_empty() {
            return Err(RedisOpenError::PolicyUnknown);
        }
        if let Some(bad) = policies.into_iter().find(|p| p != "noeviction") {
            return Err(RedisOpenError::EvictionPolicy(bad));
        }
        self.policy_ok.store(true, Ordering::Release);
        Ok(())
    }

    /// Every node's `maxmemory-policy`: `CONFIG GET`, else `INFO memory`.
    async fn read_policies(&self) -> Result<Vec<String>, RedisOpenError> {
        let mut config = redis::cmd("CONFIG");
        config.arg("GET").arg("maxmemory-policy");
        if let Some(p) = self
            .route(&config)
            .await?
            .into_iter()
            .map(|v| v.and_then(policy_from_config))
            .collect::<Option<Vec<_>>>()
        {
            return Ok(p);
        }
        // CONFIG disabled, renamed or not permitted (managed Redis): INFO.
        let mut info = redis::cmd("INFO");
        info.arg("memory");
        self.route(&info)
            .await?
            .into_iter()
            .map(|v| {
                v.and_then(|v| redis::from_redis_value::<String>(v).ok())
                    .and_then(|s| policy_from_info(&s))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(RedisOpenError::PolicyUnknown)
    }

    /// Sends `cmd` to the single Redis, or to every master of the cluster: one reply per node,
    /// `None` for a node's server error (e.g. unknown command). A transport failure is
    /// [`RedisOpenError::Unreachable`].
    async fn route(&self, cmd: &Cmd) -> Result<Vec<Option<redis::Value>>, RedisOpenError> {
        use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo};
        let node = |v: redis::Value| match v {
            redis::Value::ServerError(_) => None,
            v => Some(v),
        };
        let r = match &self.connection {
            Connection::Single(c) => cmd.query_async(&mut c.clone()).await.map(|v| vec![node(v)]),
            Connection::Cluster(c) => c
                .clone()
                .route_command(
                    cmd.clone(),
                    RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None)),
                )
                .await
                .map(|v| match v {
                    redis::Value::Map(nodes) => nodes.into_iter().map(|(_, v)| node(v)).collect(),
                    other => vec![node(other)],
                }),
        };
        match r {
            Ok(v) => Ok(v),
            Err(e)
                if e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal() =>
            {
                Err(RedisOpenError::Unreachable)
            }
            // A server error (CONFIG renamed, NOPERM): the caller falls back.
            Err(_) => Ok(vec![None]),
        }
    }

    /// Refuses the request while the eviction policy is not known to be `noeviction`.
    async fn ensure_policy(&self) -> Result<(), StoreError> {
        match self.check_policy().await {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Some(suppressed) = self.fail_log.admit() {
                    tracing::error!(
                        code = e.code(),
                        suppressed,
                        "redis store: {e}; refusing requests"
                    );
                }
                Err(StoreError::Unavailable)
            }
        }
    }

    fn key(&self, key: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + key.len().min(MAX_KEY_LEN));
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(key);
        k
    }

    /// Runs `cmd` under the command timeout.
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        self.ensure_policy().await?;
        let run = async {
            match &self.connection {
                Connection::Single(c) => cmd.query_async(&mut c.clone()).await,
                Connection::Cluster(c) => cmd.query_async(&mut c.clone()).await,
            }
        };
        finish(
            &self.fail_log,
            tokio::time::timeout(self.timeout, run).await,
        )
    }

    async fn increment_script(&self, key: &[u8], ttl: u64) -> Result<u64, StoreError> {
        self.ensure_policy().await?;
        let mut invocation = self.increment.key(self.key(key));
        invocation.arg(ttl);
        let run = async {
            match &self.connection {
                Connection::Single(c) => invocation.invoke_async(&mut c.clone()).await,
                Connection::Cluster(c) => invocation.invoke_async(&mut c.clone()).await,
            }
        };
        finish(
            &self.fail_log,
            tokio::time::timeout(self.timeout, run).await,
        )
    }
}

/// Maps a command's outcome to the store's: an elapsed timeout or a Redis timeout is
/// [`StoreError::Timeout`], any other failure [`StoreError::Unavailable`]. Logs the error kind
/// (never keys or values) through `log`: at most one line a second, with the number of
/// failures left out since the last one.
fn finish<T, C: governor::clock::Clock>(
    log: &LogLimiter<C>,
    r: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
) -> Result<T, StoreError> {
    let (err, kind) = match r {
        Ok(Ok(v)) => return Ok(v),
        Ok(Err(e)) if e.is_timeout() => (StoreError::Timeout, None),
        Ok(Err(e)) => (StoreError::Unavailable, Some(e.kind())),
        Err(_) => (StoreError::Timeout, None),
    };
    if let Some(suppressed) = log.admit() {
        match kind {
            None => tracing::warn!(suppressed, "redis store: command timed out"),
            Some(kind) => tracing::warn!(?kind, suppressed, "redis store: command failed"),
        }
    }
    Err(err)
}

impl ReplayStore for RedisStore {
    fn insert_if_absent<'a>(
        &'a self,
        key: &'a [u8],
        ttl_seconds: u64,
        _now: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.key(key))
                .arg(1u8)
                .arg("NX")
                .arg("EX")
                .arg(ttl_seconds.clamp(1, MAX_TTL));
            // `OK` when set, nil when a live key exists.
            let reply: Option<String> = self.query(&cmd).await?;
            match reply.as_deref() {
                Some("OK") => Ok(true),
                None => Ok(false),
                Some(_) => Err(StoreError::Unavailable),
            }
        })
    }

    fn contains<'a>(&'a self, key: &'a [u8], _now: u64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut cmd = redis::cmd("EXISTS");
            cmd.arg(self.key(key));
            let n: u64 = self.query(&cmd).await?;
            Ok(n > 0)
        })
    }

    fn increment<'a>(&'a self, key: &'a [u8], ttl_seconds: u64, _now: u64) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            self.increment_script(key, ttl_seconds.clamp(1, MAX_TTL))
                .await
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn config_debug_hides_urls() {
        let c = RedisStoreConfig::single("redis://:hunter2@127.0.0.1:6379");
        let d = format!("{c:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("urls: 1"), "{d}");
    }

    #[tokio::test]
    async fn bad_configs_are_refused() {
        let open = |c| RedisStore::open(c).map(|_| ()).unwrap_err();
        assert_eq!(
            open(RedisStoreConfig::single("http://x")),
            RedisConfigError::BadUrl
        );
        assert_eq!(
            open(RedisStoreConfig::cluster(Vec::<String>::new())),
            RedisConfigError::UrlCount
        );
        let mut two = RedisStoreConfig::single("redis://127.0.0.1:1");
        two.urls.push("redis://127.0.0.1:2".into());
        assert_eq!(open(two), RedisConfigError::UrlCount);
        assert_eq!(
            open(RedisStoreConfig::single("redis://127.0.0.1:1").with_key_prefix(vec![b'p'; 65])),
            RedisConfigError::PrefixTooLong
        );
        assert_eq!(
            open(
                RedisStoreConfig::single("redis://127.0.0.1:1")
                    .with_command_timeout(Duration::ZERO)
            ),
            RedisConfigError::ZeroTimeout
        );
    }

    /// F6: a failing Redis fails every command; the warnings are at most one a second, with
    /// the count left out (the `http` accept loop's limiter, on governor's fake clock here).
    #[test]
    fn failure_warnings_are_rate_limited() {
        use governor::clock::FakeRelativeClock;
        let clock = FakeRelativeClock::default();
        let log = LogLimiter::with_clock(clock.clone());
        let failed = || -> Result<redis::RedisResult<u8>, tokio::time::error::Elapsed> {
            Ok(Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "connection refused",
            ))))
        };
        assert_eq!(finish(&log, failed()), Err(StoreError::Unavailable));
        assert_eq!(log.suppressed(), 0);
        for _ in 0..99 {
            assert_eq!(finish(&log, failed()), Err(StoreError::Unavailable));
        }
        assert_eq!(log.suppressed(), 99);
        clock.advance(Duration::from_secs(1));
        assert_eq!(log.admit(), Some(99));
        assert_eq!(finish(&log, Ok(Ok(7u8))), Ok(7));
        assert_eq!(log.suppressed(), 0);
    }

    #[tokio::test]
    async fn unreachable_redis_fails_closed() {
        // A port nothing listens on: refused at once, well within the timeout.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store = RedisStore::open(RedisStoreConfig::single(format!(
            "redis://127.0.0.1:{port}"
        )))
        .unwrap();
        let r = store.insert_if_absent(b"rq:x", 10, 0).await;
        assert!(
            matches!(r, Err(StoreError::Unavailable | StoreError::Timeout)),
            "{r:?}"
        );
        let r = store.increment(b"rl:x", 10, 0).await;
        assert!(
            matches!(r, Err(StoreError::Unavailable | StoreError::Timeout)),
            "{r:?}"
        );
    }
}
