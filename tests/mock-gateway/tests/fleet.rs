//! A fleet of `h5-mock-gateway` processes on one real `redis-server` (and on a 3-master Redis
//! Cluster): single use and replay protection hold across instances and restarts, a Redis
//! outage or a slow Redis refuses every request (fail closed) and the fleet serves again once
//! Redis is back. Each test starts its own Redis on free loopback ports and kills everything
//! it started (guards), docs/PROTOCOL.md §11.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use h5_access::client::{random_request_id, seal_exchange, ClientError, ErrorCode};
use h5_access::protocol::{KeyConfig, KeyPair, SessionSecret, Token};
use support::{
    key_file, now, seal_by_hand, sealed_refusal, ByHand, HandSealed, Instance, RedisCluster,
    RedisServer, SlowProxy, TempDir, PRODUCT,
};

/// A captured exchange of `at` (sealed by hand: its bytes are replayed and every answer read).
fn captured_exchange(cfg: &KeyConfig, at: &str) -> HandSealed {
    seal_by_hand(
        cfg,
        ByHand::Exchange {
            at,
            product: PRODUCT,
        },
    )
}

/// A captured `echo` call with `body` in the session of a [`captured_exchange`].
fn captured_call(cfg: &KeyConfig, vt: &Token, secret: &SessionSecret, body: &str) -> HandSealed {
    seal_by_hand(
        cfg,
        ByHand::Call {
            vt,
            secret,
            service: "echo",
            body,
        },
    )
}

/// The sealed refusals these tests expect.
fn replayed() -> ClientError {
    sealed_refusal(ErrorCode::Replayed, "REPLAYED")
}
fn at_used() -> ClientError {
    sealed_refusal(ErrorCode::AtUsed, "AT_USED")
}
fn internal() -> ClientError {
    sealed_refusal(ErrorCode::GatewayError, "INTERNAL")
}
fn rate_limited() -> ClientError {
    sealed_refusal(ErrorCode::RateLimited, "RATE_LIMITED")
}

/// Starts `n` instances on the store named by `redis_args`.
fn fleet(n: usize, redis_args: &[&str]) -> Vec<Instance> {
    (0..n).map(|_| Instance::start(redis_args)).collect()
}

/// 50 concurrent exchanges of one AT, spread round-robin over `gws`: exactly one VT, 49
/// `AT_USED`.
async fn one_at_one_vt(gws: &[Instance], subject: &str) {
    let at = gws[0].test_at(subject).await;
    let cfg = gws[0].key().await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let pending =
            seal_exchange(&cfg, &at, PRODUCT, random_request_id().unwrap(), now()).unwrap();
        let gw = &gws[i % gws.len()];
        tasks.push(async move { gw.send_exchange(pending).await.map(drop) });
    }
    let codes = futures_util::future::join_all(tasks).await;
    let issued = codes.iter().filter(|c| c.is_ok()).count();
    let used = codes.iter().filter(|c| **c == Err(at_used())).count();
    assert_eq!((issued, used), (1, 49), "{codes:?}");
}

/// A captured exchange, call and partner request, replayed to another instance: all refused;
/// the call budget (4 per minute here) is one budget across the fleet.
async fn replays_across(gws: &[Instance]) {
    assert!(gws.len() >= 2);
    let cfg = gws[0].key().await;
    // Exchange on 0, replay on 1.
    let at = gws[0].test_at("u-replay").await;
    let x = captured_exchange(&cfg, &at);
    let vt = gws[0].send_hand_exchange(&x).await.unwrap().vt;
    assert_eq!(gws[1].send_hand_exchange(&x).await.unwrap_err(), replayed());
    let secret = x.session_secret();
    // Call on 1, replay on 0.
    let c = captured_call(&cfg, &vt, &secret, r#"{"n":1}"#);
    assert_eq!(gws[1].send_hand_call(&c).await.unwrap(), r#"{"n":1}"#);
    assert_eq!(gws[0].send_hand_call(&c).await.unwrap_err(), replayed());
    // The replayed call was charged too (the budget is checked before REPLAYED): 2 of 4 used.
    // Two more calls pass on any instance, the fifth charge is refused everywhere.
    for i in 0..2 {
        let gw = &gws[(i + 1) % gws.len()];
        let c = captured_call(&cfg, &vt, &secret, "{}");
        assert_eq!(gw.send_hand_call(&c).await.unwrap(), "{}", "call {i}");
    }
    for gw in gws {
        let c = captured_call(&cfg, &vt, &secret, "{}");
        assert_eq!(gw.send_hand_call(&c).await.unwrap_err(), rate_limited());
    }
    // Partner nonce on 0, reused on 1.
    let (auth, body) = Instance::partner_request("u-nonce");
    assert_eq!(gws[0].partner(&auth, &body).await, (200, "OK".into()));
    assert_eq!(
        gws[1].partner(&auth, &body).await,
        (401, "PARTNER_NONCE_REUSED".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_and_three_instances_share_one_redis() {
    let redis = RedisServer::start(false);
    let url = redis.url();
    let args = [
        "--redis",
        &url,
        "--calls-per-minute",
        "4",
        "--redis-timeout-ms",
        "5000",
    ];
    let gws = fleet(3, &args);
    one_at_one_vt(&gws[..2], "u-two").await;
    one_at_one_vt(&gws, "u-three").await;
    replays_across(&gws).await;
    // A second deployment on the same Redis with its own prefix shares nothing with the first.
    let other = Instance::start(&[
        "--redis",
        &url,
        "--redis-prefix",
        "other:",
        "--redis-timeout-ms",
        "5000",
    ]);
    let at = gws[0].test_at("u-prefix").await;
    let x = captured_exchange(&gws[0].key().await, &at);
    gws[0].send_hand_exchange(&x).await.unwrap();
    other.send_hand_exchange(&x).await.unwrap();
    assert_eq!(gws[2].send_hand_exchange(&x).await.unwrap_err(), replayed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_instance_forgets_nothing() {
    let redis = RedisServer::start(false);
    let url = redis.url();
    let args = ["--redis", &url, "--redis-timeout-ms", "5000"];
    let gw = Instance::start(&args);
    let cfg = gw.key().await;
    let at = gw.test_at("u-restart").await;
    let x = captured_exchange(&cfg, &at);
    let vt = gw.send_hand_exchange(&x).await.unwrap().vt;
    let secret = x.session_secret();
    let c = captured_call(&cfg, &vt, &secret, r#"{"k":"v"}"#);
    assert_eq!(gw.send_hand_call(&c).await.unwrap(), r#"{"k":"v"}"#);
    let (auth, body) = Instance::partner_request("u-restart");
    assert_eq!(gw.partner(&auth, &body).await, (200, "OK".into()));

    gw.kill();
    let gw = Instance::start(&args);
    assert_eq!(
        gw.key().await.encode(),
        cfg.encode(),
        "same seed, same keys"
    );
    assert_eq!(gw.send_hand_exchange(&x).await.unwrap_err(), replayed());
    // The same AT in a new request: still used.
    assert_eq!(gw.exchange(&at, PRODUCT).await.unwrap_err(), at_used());
    assert_eq!(gw.send_hand_call(&c).await.unwrap_err(), replayed());
    assert_eq!(
        gw.partner(&auth, &body).await,
        (401, "PARTNER_NONCE_REUSED".into())
    );
    // The session itself survives the restart (same ticket key).
    let c = captured_call(&cfg, &vt, &secret, "{}");
    assert_eq!(gw.send_hand_call(&c).await.unwrap(), "{}");
}

/// Retries a fresh exchange (bounded: 100 × 100 ms) until one is issued.
async fn until_served(gw: &Instance, subject: &str) {
    for _ in 0..100 {
        let at = gw.test_at(subject).await;
        if gw.exchange(&at, PRODUCT).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the gateway did not serve again after Redis came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_refuses_everything_then_recovers() {
    // Durable (append-only, fsync always): what was stored survives the Redis restart.
    let mut redis = RedisServer::start(true);
    let url = redis.url();
    let args = ["--redis", &url, "--redis-timeout-ms", "2000"];
    let mut gws = fleet(2, &args);
    let used_at = gws[0].test_at("u-before").await;
    gws[0].exchange(&used_at, PRODUCT).await.unwrap();
    let session = gws[1]
        .exchange(&gws[0].test_at("u-vt").await, PRODUCT)
        .await
        .unwrap();

    // Load running while Redis is killed: every answer is ISSUED or a sealed INTERNAL, and
    // every exchange sent after the kill is INTERNAL. Bounded: at most 400 exchanges.
    let killed = std::sync::atomic::AtomicBool::new(false);
    let load = async {
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for i in 0..400 {
            let was_killed = killed.load(std::sync::atomic::Ordering::SeqCst);
            let gw = &gws[i % 2];
            let at = gw.test_at("u-load").await;
            let code = gw.exchange(&at, PRODUCT).await.err();
            if was_killed {
                after.push(code);
                if after.len() == 20 {
                    break;
                }
            } else {
                before.push(code);
            }
        }
        (before, after)
    };
    let killer = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        redis.kill();
        killed.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let ((before, after), ()) = tokio::join!(load, killer);
    assert!(
        before.iter().all(|c| c.is_none() || *c == Some(internal())),
        "{before:?}"
    );
    assert_eq!(after, vec![Some(internal()); 20]);

    // Redis down: exchanges, calls and partner requests are all refused on every instance.
    let mut accepted = 0;
    for gw in &gws {
        for _ in 0..5 {
            let at = gw.test_at("u-down").await;
            let code = gw.exchange(&at, PRODUCT).await.err();
            accepted += usize::from(code != Some(internal()));
            assert_eq!(code, Some(internal()));
            let call = gw.call(&session, "echo", "{}").await;
            assert_eq!(call.unwrap_err(), internal());
            let (auth, body) = Instance::partner_request("u-down");
            assert_eq!(gw.partner(&auth, &body).await, (500, "INTERNAL".into()));
        }
    }
    assert_eq!(accepted, 0);
    for gw in &mut gws {
        assert!(gw.alive(), "no instance exited or panicked");
    }

    // Redis back (same port, same append-only file): served again without a restart, and what
    // was stored before the outage is still there.
    redis.restart();
    for gw in &gws {
        until_served(gw, "u-after").await;
    }
    assert_eq!(
        gws[1].exchange(&used_at, PRODUCT).await.unwrap_err(),
        at_used()
    );
    assert_eq!(gws[0].call(&session, "echo", "{}").await.unwrap(), "{}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_redis_is_refused_within_the_timeout() {
    let redis = RedisServer::start(false);
    let proxy = SlowProxy::start(redis.port).await;
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let mut gw = Instance::start(&["--redis", &url, "--redis-timeout-ms", "300"]);
    until_served(&gw, "u-fast").await;

    // Every answer from Redis now takes 3 s, ten times the command timeout.
    proxy.set_delay(Duration::from_secs(3));
    let at = gw.test_at("u-slow").await;
    for _ in 0..3 {
        assert_eq!(gw.exchange(&at, PRODUCT).await.unwrap_err(), internal());
    }
    let (auth, body) = Instance::partner_request("u-slow");
    assert_eq!(gw.partner(&auth, &body).await, (500, "INTERNAL".into()));
    assert!(gw.alive());

    // Fast again: served, and the AT the refused exchanges carried was never consumed.
    proxy.set_delay(Duration::ZERO);
    for _ in 0..100 {
        match gw.exchange(&at, PRODUCT).await {
            Ok(_) => return,
            Err(e) => assert_eq!(e, internal()),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not served again once Redis was fast");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_on_a_redis_cluster() {
    let cluster = RedisCluster::start();
    let urls = cluster.urls();
    let args = [
        "--redis",
        &urls,
        "--redis-cluster",
        "--calls-per-minute",
        "4",
        "--redis-timeout-ms",
        "5000",
    ];
    let gws = fleet(3, &args);
    one_at_one_vt(&gws, "u-cluster").await;
    replays_across(&gws).await;
    // A restarted instance still refuses a replay stored before it went down.
    let at = gws[0].test_at("u-cluster-restart").await;
    let x = captured_exchange(&gws[0].key().await, &at);
    gws[0].send_hand_exchange(&x).await.unwrap();
    let mut gws = gws;
    gws.remove(0).kill();
    let again = Instance::start(&args);
    assert_eq!(again.send_hand_exchange(&x).await.unwrap_err(), replayed());
    // The keys spread over the masters (single-key commands, no hash tag in the prefix).
    let counts = cluster.key_counts();
    assert_eq!(counts.len(), 3);
    assert!(counts.iter().all(|&n| n > 0), "{counts:?}");
}

/// The fleet rotation procedure of README.md "Keys for a fleet": both instances load one key
/// file; step 1 adds the new keys as previous everywhere, step 2 makes them current everywhere
/// (SIGHUP, no restart). Tokens and requests made under the old keys stay valid, a token
/// sealed by one instance under the new ticket key opens on the other, a broken file changes
/// nothing, and a key dropped from the file is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_files_are_shared_and_rotated_without_restart() {
    let redis = RedisServer::start(false);
    let url = redis.url();
    let dir = TempDir::new("keys");
    let path = dir.0.join("keys.json");
    let write = |text: String| std::fs::write(&path, text).unwrap();
    write(key_file(&[(1, 0x11)], &[(1, 0x21)]));
    let p = path.to_str().unwrap().to_owned();
    let args = [
        "--redis",
        &url,
        "--key-file",
        &p,
        "--redis-timeout-ms",
        "5000",
    ];
    let gws = [Instance::start(&args), Instance::start(&args)];
    let k1 = KeyPair::from_private_key(1, &[0x11; 32]).unwrap();
    for gw in &gws {
        assert_eq!(gw.key().await.encode(), k1.config().encode());
    }
    let cfg1: KeyConfig = k1.config().clone();
    // An AT sealed with ticket key 1, and an exchange to HPKE key 1 sent only after rotation.
    let at = gws[0].test_at("u-rotate").await;
    let old = seal_exchange(&cfg1, &at, PRODUCT, random_request_id().unwrap(), now()).unwrap();

    // Step 1: the new keys (HPKE 2, ticket 2) as previous on every instance.
    write(key_file(&[(1, 0x11), (2, 0x12)], &[(1, 0x21), (2, 0x22)]));
    for gw in &gws {
        gw.hangup();
        gw.wait_for_key_ids(&[1, 2]).await;
    }
    // Step 2: the new keys current on every instance.
    write(key_file(&[(2, 0x12), (1, 0x11)], &[(2, 0x22), (1, 0x21)]));
    for gw in &gws {
        gw.hangup();
        gw.wait_for_key_ids(&[2, 1]).await;
    }
    // Old HPKE key and old ticket key still accepted; the VT is sealed with ticket key 2 by
    // instance 1 and opened by instance 0.
    let session = gws[1].send_exchange(old).await.unwrap();
    let client = gws[0].client().await;
    assert_eq!(client.key_config().key_id(), 2);
    assert_eq!(client.call(&session, "echo", "{}").await.unwrap(), "{}");

    // A broken file leaves the keys as they were; the instance keeps serving.
    write("{not json".into());
    gws[0].hangup();
    let at2 = gws[0].test_at("u-after-broken").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gws[0].key_ids().await, [2, 1]);
    gws[0].exchange(&at2, PRODUCT).await.unwrap();

    // Next rotation: key 1 leaves the file; a request to it is 422 KEY_UNKNOWN.
    write(key_file(&[(3, 0x13), (2, 0x12)], &[(3, 0x23), (2, 0x22)]));
    gws[0].hangup();
    gws[0].wait_for_key_ids(&[3, 2]).await;
    // The same keys from the environment instead of a file: the same key list.
    let from_env = Instance::start_with_env(
        &["--redis", &url, "--redis-timeout-ms", "5000"],
        &[(
            "H5_GATEWAY_KEYS",
            &key_file(&[(3, 0x13), (2, 0x12)], &[(3, 0x23), (2, 0x22)]),
        )],
    );
    assert_eq!(from_env.key_ids().await, [3, 2]);
    assert_eq!(from_env.key().await.encode(), gws[0].key().await.encode());
    let gone = gws[0].test_at("u-gone").await;
    let req = seal_exchange(&cfg1, &gone, PRODUCT, random_request_id().unwrap(), now()).unwrap();
    gws[0].assert_stale_key(req.http_request()).await;
}

/// `RedisStore` itself against a real Redis and a real cluster: the atomic semantics of
/// docs/PROTOCOL.md §11 (one winner of concurrent inserts, expiry, fixed-window counters with
/// their expiry set by the first increment) and the key prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_semantics_single_and_cluster() {
    use h5_access::gateway::{RedisStore, RedisStoreConfig, ReplayStore};
    let redis = RedisServer::start(false);
    let cluster = RedisCluster::start();
    let configs = [
        RedisStoreConfig::single(redis.url()),
        RedisStoreConfig::cluster(cluster.nodes.iter().map(RedisServer::url)),
    ];
    for config in configs {
        let cluster_mode = config.cluster;
        let store = Arc::new(RedisStore::open(config.with_key_prefix("sem:")).unwrap());
        // 50 concurrent inserts of one key: exactly one winner.
        let wins = futures_util::future::join_all((0..50).map(|_| {
            let s = Arc::clone(&store);
            async move { s.insert_if_absent(b"rq:one", 60, 0).await.unwrap() }
        }))
        .await;
        assert_eq!(
            wins.iter().filter(|w| **w).count(),
            1,
            "cluster {cluster_mode}"
        );
        // Expiry: a 1 s entry is gone after it.
        assert_eq!(store.insert_if_absent(b"rq:short", 1, 0).await, Ok(true));
        assert_eq!(store.insert_if_absent(b"rq:short", 1, 0).await, Ok(false));
        let mut reinserted = false;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if store.insert_if_absent(b"rq:short", 1, 0).await == Ok(true) {
                reinserted = true;
                break;
            }
        }
        assert!(reinserted, "entry never expired");
        // Counters: distinct counts under concurrency, then a new window after expiry.
        let mut counts = futures_util::future::join_all((0..20).map(|_| {
            let s = Arc::clone(&store);
            async move { s.increment(b"rl:vt", 1, 0).await.unwrap() }
        }))
        .await;
        counts.sort_unstable();
        assert_eq!(counts, (1..=20).collect::<Vec<u64>>());
        let mut restarted = false;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if store.increment(b"rl:vt", 1, 0).await == Ok(1) {
                restarted = true;
                break;
            }
        }
        assert!(restarted, "counter window never ended");
    }
    // The prefix is on every key, and a counter has its TTL from the first increment on.
    let single =
        RedisStore::open(RedisStoreConfig::single(redis.url()).with_key_prefix("sem:")).unwrap();
    assert_eq!(single.increment(b"rl:keep", 60, 0).await, Ok(1));
    let keys = support::redis_cli_out(redis.port, &["--scan"]);
    assert!(keys.lines().all(|k| k.starts_with("sem:")), "{keys}");
    assert!(keys.lines().any(|k| k == "sem:rq:one"), "{keys}");
    assert!(keys.lines().any(|k| k == "sem:rl:keep"), "{keys}");
    let ttl: i64 = support::redis_cli_out(redis.port, &["ttl", "sem:rl:keep"])
        .trim()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&ttl), "{ttl}");
}

/// F1: a Redis whose `maxmemory-policy` may evict keys (every key has a TTL) is refused, at
/// `connect` with the exact error and, for a store from `open`, on every request; `noeviction`
/// works; `CONFIG` renamed away falls back to `INFO memory`; the override serves anyway; in a
/// cluster one master with another policy is enough to refuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_may_evict_keys_is_refused() {
    use h5_access::gateway::{
        RedisOpenError, RedisStore, RedisStoreConfig, ReplayStore, StoreError,
    };
    let lru = RedisServer::start_with(false, &["--maxmemory-policy", "allkeys-lru"]);
    let err = RedisStore::connect(RedisStoreConfig::single(lru.url()))
        .await
        .unwrap_err();
    assert_eq!(err, RedisOpenError::EvictionPolicy("allkeys-lru".into()));
    assert_eq!(err.code(), "REDIS_EVICTION_POLICY");
    assert_eq!(
        err.to_string(),
        "Redis maxmemory-policy is allkeys-lru, not noeviction: used tokens could be evicted \
         and replayed (set maxmemory-policy noeviction)"
    );
    // A lazily opened store refuses every request, and writes nothing.
    let lazy = RedisStore::open(RedisStoreConfig::single(lru.url())).unwrap();
    assert_eq!(
        lazy.insert_if_absent(b"rq:x", 60, 0).await,
        Err(StoreError::Unavailable)
    );
    assert_eq!(
        lazy.increment(b"rl:x", 60, 0).await,
        Err(StoreError::Unavailable)
    );
    assert_eq!(
        lazy.contains(b"rq:x", 0).await,
        Err(StoreError::Unavailable)
    );
    assert_eq!(support::redis_cli_out(lru.port, &["dbsize"]).trim(), "0");
    // The documented override.
    let allowed =
        RedisStore::connect(RedisStoreConfig::single(lru.url()).with_eviction_allowed(true))
            .await
            .unwrap();
    assert_eq!(allowed.insert_if_absent(b"rq:x", 60, 0).await, Ok(true));

    // CONFIG renamed away (managed Redis): the policy comes from INFO memory.
    let no_config = RedisServer::start_with(
        false,
        &[
            "--maxmemory-policy",
            "volatile-ttl",
            "--rename-command",
            "CONFIG",
            "",
        ],
    );
    assert_eq!(
        RedisStore::connect(RedisStoreConfig::single(no_config.url()))
            .await
            .unwrap_err(),
        RedisOpenError::EvictionPolicy("volatile-ttl".into())
    );
    let no_config_ok = RedisServer::start_with(false, &["--rename-command", "CONFIG", ""]);
    let store = RedisStore::connect(RedisStoreConfig::single(no_config_ok.url()))
        .await
        .unwrap();
    assert_eq!(store.insert_if_absent(b"rq:y", 60, 0).await, Ok(true));

    // noeviction (Redis's default): serves.
    let ok = RedisServer::start_with(false, &["--maxmemory-policy", "noeviction"]);
    let store = RedisStore::connect(RedisStoreConfig::single(ok.url()))
        .await
        .unwrap();
    assert_eq!(store.insert_if_absent(b"rq:z", 60, 0).await, Ok(true));
    assert_eq!(store.insert_if_absent(b"rq:z", 60, 0).await, Ok(false));

    // Cluster: every master is checked.
    let cluster = RedisCluster::start();
    let urls = || {
        cluster
            .nodes
            .iter()
            .map(RedisServer::url)
            .collect::<Vec<_>>()
    };
    let store = RedisStore::connect(RedisStoreConfig::cluster(urls()))
        .await
        .unwrap();
    assert_eq!(store.insert_if_absent(b"rq:c", 60, 0).await, Ok(true));
    support::redis_cli_out(
        cluster.nodes[2].port,
        &["config", "set", "maxmemory-policy", "volatile-lru"],
    );
    assert_eq!(
        RedisStore::connect(RedisStoreConfig::cluster(urls()))
            .await
            .unwrap_err(),
        RedisOpenError::EvictionPolicy("volatile-lru".into())
    );
}

/// F1, the mock binary: `--redis` on a Redis with `allkeys-lru` exits at start with the code;
/// with `--redis-allow-eviction` it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_refuses_a_redis_that_may_evict_keys() {
    let lru = RedisServer::start_with(false, &["--maxmemory-policy", "allkeys-lru"]);
    let url = lru.url();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_h5-mock-gateway"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "evict",
            "--redis",
            &url,
        ])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "h5-mock-gateway: --redis: REDIS_EVICTION_POLICY (Redis maxmemory-policy is allkeys-lru, \
         not noeviction: used tokens could be evicted and replayed (set maxmemory-policy \
         noeviction))"
    );
    let gw = Instance::start(&["--redis", &url, "--redis-allow-eviction"]);
    let at = gw.test_at("u-evict").await;
    gw.exchange(&at, PRODUCT).await.unwrap();
    gw.kill();
}

/// F4 (PROTOCOL §3.3) through SIGHUP: a key file that gives an id in use (here the previous
/// HPKE id 1) a different key is refused; the keys stay as they were (same ids, same public
/// keys) and the instance keeps serving; the next good file is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_reuses_a_key_id_for_another_key_is_refused() {
    let dir = TempDir::new("keys-reuse");
    let path = dir.0.join("keys.json");
    let write = |text: String| std::fs::write(&path, text).unwrap();
    write(key_file(&[(2, 0x12), (1, 0x11)], &[(2, 0x22), (1, 0x21)]));
    let p = path.to_str().unwrap().to_owned();
    let gw = Instance::start(&["--key-file", &p]);
    let k2 = KeyPair::from_private_key(2, &[0x12; 32]).unwrap();
    assert_eq!(gw.key().await.encode(), k2.config().encode());
    let list = gw.get_bytes("/v1/keys").await;

    for bad in [
        key_file(&[(3, 0x13), (1, 0x99)], &[(3, 0x23), (2, 0x22)]),
        key_file(&[(2, 0x12), (1, 0x11)], &[(3, 0x23), (2, 0x99)]),
    ] {
        write(bad);
        gw.hangup();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(gw.get_bytes("/v1/keys").await, list);
        let at = gw.test_at("u-reuse").await;
        gw.exchange(&at, PRODUCT).await.unwrap();
    }
    write(key_file(&[(3, 0x13), (2, 0x12)], &[(3, 0x23), (2, 0x22)]));
    gw.hangup();
    gw.wait_for_key_ids(&[3, 2]).await;
    gw.kill();
}
