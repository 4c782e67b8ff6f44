//! Test kit for the fleet suites: real `redis-server` processes (single and a 3-master
//! cluster) on free loopback ports, `h5-mock-gateway` processes pointed at them, a delaying
//! loopback proxy, and a small client building encapsulated requests. Every process started
//! here is killed when its guard drops (also when a test fails).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use h5_access::partner::PartnerCredentials;
use h5_access::protocol::{
    encapsulate_request, CallRequest, CallResponse, Channel, ClientContext, ExchangeRequest,
    ExchangeResponse, KeyConfig, SessionSecret, Token,
};
use h5_mock_gateway::{demo_partner_secret, DEMO_PARTNER_ID};
use serde_json::{json, Value};

pub const SEED: &str = "fleet-tests";
pub const PRODUCT: &str = "wealth-01";
const EXCHANGE_REQ: &str = "application/vnd.h5-access.exchange-req";
const CALL_REQ: &str = "application/vnd.h5-access.call-req";

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn rid() -> [u8; 16] {
    let mut r = [0u8; 16];
    getrandom::fill(&mut r).unwrap();
    r
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).unwrap();
        let name = format!(
            "h5-fleet-{tag}-{}-{}",
            std::process::id(),
            u64::from_le_bytes(r)
        );
        let p = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port `p` on 127.0.0.1 that is free, with `p + 10000` free too (a cluster node's bus
/// port). Ports are handed out from one counter per test process (random start in
/// 20000..45000), so two tests of this binary never pick the same one; bounded.
pub fn free_port_pair() -> u16 {
    use std::sync::atomic::AtomicU32;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let mut r = [0u8; 2];
    getrandom::fill(&mut r).unwrap();
    let start = 20_000 + u32::from(u16::from_le_bytes(r)) % 25_000;
    let _ = NEXT.compare_exchange(0, start, Ordering::SeqCst, Ordering::SeqCst);
    for _ in 0..2_000 {
        let p = NEXT.fetch_add(1, Ordering::SeqCst);
        let p = u16::try_from(20_000 + (p - 20_000) % 25_000).unwrap();
        let a = TcpListener::bind(("127.0.0.1", p));
        let b = TcpListener::bind(("127.0.0.1", p + 10_000));
        if a.is_ok() && b.is_ok() {
            return p;
        }
    }
    panic!("no free port pair found");
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// One `redis-server` on 127.0.0.1 (`--save ''`; append-only with fsync always when
/// `durable`), killed on drop.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    durable: bool,
    dir: TempDir,
    extra: Vec<String>,
}

impl RedisServer {
    pub fn start(durable: bool) -> Self {
        Self::start_with(durable, &[])
    }

    pub fn start_with(durable: bool, extra: &[&str]) -> Self {
        let mut s = Self {
            port: free_port_pair(),
            child: None,
            durable,
            dir: TempDir::new("redis"),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        s.spawn_on_a_free_port();
        s
    }

    /// Spawns, moving to another port (bounded: 5 tries) if another process took this one.
    fn spawn_on_a_free_port(&mut self) {
        for _ in 0..5 {
            if self.try_spawn() {
                return;
            }
            self.port = free_port_pair();
        }
        panic!("redis-server could not bind a free port");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits for its PONG; `false` if it exited first (port taken).
    fn try_spawn(&mut self) -> bool {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--protected-mode", "no"])
            .arg("--dir")
            .arg(&self.dir.0);
        if self.durable {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        cmd.args(&self.extra);
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server; scripts/bootstrap.sh)");
        self.child = Some(child);
        for _ in 0..200 {
            // The PONG must come from this server: if another process held the port, ours has
            // exited (bind failure).
            let alive = self
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
            if !alive {
                self.child = None;
                return false;
            }
            if redis_cli(self.port, &["ping"]).is_some_and(|s| s.trim() == "PONG") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server on {} did not answer PING", self.port);
    }

    /// SIGKILL: no shutdown save, connections reset.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill(&mut c);
        }
    }

    /// Starts it again on the same port (and, durable, from the same append-only file).
    pub fn restart(&mut self) {
        self.kill();
        assert!(
            self.try_spawn(),
            "port {} taken while Redis was down",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `redis-cli -p port args…`'s standard output (panics if it fails).
pub fn redis_cli_out(port: u16, args: &[&str]) -> String {
    redis_cli(port, args).expect("redis-cli failed")
}

fn redis_cli(port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Three `redis-server --cluster-enabled yes` masters joined by `redis-cli --cluster create`
/// (all 16384 slots, no replicas), killed on drop.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start() -> Self {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let dir = TempDir::new("cluster");
            let conf = dir.0.join("nodes.conf");
            let conf = conf.to_str().unwrap().to_owned();
            let mut n = RedisServer {
                port: free_port_pair(),
                child: None,
                durable: false,
                dir,
                extra: vec![
                    "--cluster-enabled".into(),
                    "yes".into(),
                    "--cluster-config-file".into(),
                    conf,
                    "--cluster-node-timeout".into(),
                    "5000".into(),
                ],
            };
            n.spawn_on_a_free_port();
            nodes.push(n);
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let mut args = vec!["--cluster", "create"];
        args.extend(addrs.iter().map(String::as_str));
        args.extend(["--cluster-replicas", "0", "--cluster-yes"]);
        let status = Command::new("redis-cli")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "redis-cli --cluster create failed");
        for n in &nodes {
            let mut ok = false;
            for _ in 0..200 {
                if redis_cli(n.port, &["cluster", "info"])
                    .is_some_and(|s| s.contains("cluster_state:ok"))
                {
                    ok = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(ok, "cluster node {} never reached cluster_state:ok", n.port);
        }
        Self { nodes }
    }

    /// `redis://…` of every node, comma-separated (the mock's `--redis` with
    /// `--redis-cluster`).
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(RedisServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Number of keys on each master (`DBSIZE`).
    pub fn key_counts(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .map(|n| {
                redis_cli(n.port, &["dbsize"])
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap()
            })
            .collect()
    }
}

/// A TCP proxy on 127.0.0.1 to `upstream` that holds every chunk coming back from upstream
/// for `delay_ms` (settable while running): Redis made slow. Stops with its runtime.
pub struct SlowProxy {
    pub port: u16,
    pub delay_ms: Arc<AtomicU64>,
}

impl SlowProxy {
    pub async fn start(upstream: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let delay_ms = Arc::new(AtomicU64::new(0));
        let d = delay_ms.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let d = d.clone();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = tokio::io::copy(&mut cr, &mut sw);
                    let down = async move {
                        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match sr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            let ms = d.load(Ordering::Relaxed);
                            if ms > 0 {
                                tokio::time::sleep(Duration::from_millis(ms)).await;
                            }
                            if cw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    tokio::select! {
                        _ = up => {},
                        () = down => {},
                    }
                });
            }
        });
        Self { port, delay_ms }
    }

    pub fn set_delay(&self, d: Duration) {
        self.delay_ms
            .store(u64::try_from(d.as_millis()).unwrap(), Ordering::Relaxed);
    }
}

/// One `h5-mock-gateway` process (`--seed SEED --test-hooks`), killed on drop.
pub struct Instance {
    pub base: String,
    child: Child,
    pub http: reqwest::Client,
}

impl Instance {
    /// Starts the binary with `args` added to `--listen 127.0.0.1:0 --seed SEED --test-hooks`.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// [`start`](Self::start) with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        use std::io::BufRead as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_h5-mock-gateway"))
            .args(["--listen", "127.0.0.1:0", "--seed", SEED, "--test-hooks"])
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let Some(base) = line.trim().strip_prefix("h5-mock-gateway listening on ") else {
            kill(&mut child);
            panic!("gateway did not start: {line:?}");
        };
        Self {
            base: base.to_owned(),
            child,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    /// Sends SIGHUP (the mock reloads its key file).
    pub fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The key ids `/v1/keys` lists, current first.
    pub async fn key_ids(&self) -> Vec<u8> {
        let res = self
            .http
            .get(format!("{}/v1/keys", self.base))
            .send()
            .await
            .unwrap();
        KeyConfig::decode_list(&res.bytes().await.unwrap())
            .unwrap()
            .iter()
            .map(KeyConfig::key_id)
            .collect()
    }

    /// The body of `GET path`.
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        res.bytes().await.unwrap().to_vec()
    }

    /// Polls `/v1/keys` (bounded: 100 × 50 ms) until it lists `want`.
    pub async fn wait_for_key_ids(&self, want: &[u8]) {
        for _ in 0..100 {
            if self.key_ids().await == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(self.key_ids().await, want, "key file not reloaded");
    }

    /// Whether the process is still running (it did not panic or exit).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, as a crash or a deploy would.
    pub fn kill(mut self) {
        kill(&mut self.child);
    }

    pub async fn post(
        &self,
        path: &str,
        ctype: &str,
        body: Vec<u8>,
        auth: Option<&str>,
    ) -> (u16, Vec<u8>) {
        let mut rb = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", ctype)
            .body(body);
        if let Some(a) = auth {
            rb = rb.header("authorization", a);
        }
        let res = rb.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.bytes().await.unwrap().to_vec())
    }

    pub async fn key(&self) -> KeyConfig {
        let res = self
            .http
            .get(format!("{}/v1/keys", self.base))
            .send()
            .await
            .unwrap();
        KeyConfig::decode_list(&res.bytes().await.unwrap())
            .unwrap()
            .remove(0)
    }

    /// An AT minted by the test hook (no store involved).
    pub async fn test_at(&self, subject: &str) -> String {
        let body = json!({"subject": subject, "products": [PRODUCT]}).to_string();
        let (status, body) = self
            .post(
                "/test/access-token",
                "application/json",
                body.into_bytes(),
                None,
            )
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let v: Value = serde_json::from_slice(&body).unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    }

    /// Sends encapsulated exchange bytes; expects HTTP 200 and opens the answer.
    pub async fn exchange_raw(&self, req: &[u8], ctx: &ClientContext) -> ExchangeResponse {
        let (status, body) = self
            .post("/v1/exchange", EXCHANGE_REQ, req.to_vec(), None)
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        ExchangeResponse::decode(&ctx.open_response(&body).unwrap()).unwrap()
    }

    pub async fn call_raw(&self, req: &[u8], ctx: &ClientContext) -> CallResponse {
        let (status, body) = self.post("/v1/call", CALL_REQ, req.to_vec(), None).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        CallResponse::decode(&ctx.open_response(&body).unwrap()).unwrap()
    }

    /// A signed access-token request as the demo partner: `(authorization, body)`.
    pub fn partner_request(subject: &str) -> (String, String) {
        let creds = PartnerCredentials::new(DEMO_PARTNER_ID, demo_partner_secret(SEED)).unwrap();
        let body = PartnerCredentials::access_token_request_body(subject, &[PRODUCT]);
        let auth = creds
            .sign_now("POST", "/v1/partner/access-token", body.as_bytes())
            .unwrap();
        (auth, body)
    }

    /// Sends a partner request; `(status, code)` where code is `OK` for a 200 whose sealed AT
    /// opens, else the problem document's code.
    pub async fn partner(&self, auth: &str, body: &str) -> (u16, String) {
        let (status, res) = self
            .post(
                "/v1/partner/access-token",
                "application/json",
                body.as_bytes().to_vec(),
                Some(auth),
            )
            .await;
        if status == 200 {
            let creds =
                PartnerCredentials::new(DEMO_PARTNER_ID, demo_partner_secret(SEED)).unwrap();
            creds.open_access_token_response(&res).unwrap();
            return (status, "OK".into());
        }
        let v: Value = serde_json::from_slice(&res).unwrap();
        (status, v["code"].as_str().unwrap().to_owned())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

pub fn exchange_request(cfg: &KeyConfig, at: &str) -> (Vec<u8>, ClientContext) {
    let pt = ExchangeRequest {
        request_id: rid(),
        client_time: now(),
        product: PRODUCT.into(),
        subject_token: Token::new(at.as_bytes().to_vec()).unwrap(),
    }
    .encode()
    .unwrap();
    encapsulate_request(cfg, Channel::Exchange, &pt).unwrap()
}

pub fn call_request(
    cfg: &KeyConfig,
    vt: &Token,
    secret: &SessionSecret,
    body: &str,
) -> (Vec<u8>, ClientContext) {
    call_request_to(cfg, vt, secret, "echo", body)
}

pub fn call_request_to(
    cfg: &KeyConfig,
    vt: &Token,
    secret: &SessionSecret,
    service: &str,
    body: &str,
) -> (Vec<u8>, ClientContext) {
    let pt = CallRequest {
        request_id: rid(),
        client_time: now(),
        issued_token: vt.clone(),
        service: service.into(),
        body: body.into(),
    }
    .encode(secret)
    .unwrap();
    encapsulate_request(cfg, Channel::Call, &pt).unwrap()
}

/// `"ISSUED"` or the refusal code.
pub fn exchange_code(r: &ExchangeResponse) -> &str {
    match r {
        ExchangeResponse::Issued { .. } => "ISSUED",
        ExchangeResponse::Refused { code } => code,
        _ => "?",
    }
}

/// `"OK"` or the refusal code.
pub fn call_code(r: &CallResponse) -> &str {
    match r {
        CallResponse::Ok { .. } => "OK",
        CallResponse::Refused { code } => code,
        _ => "?",
    }
}

pub fn vt_of(r: ExchangeResponse) -> Token {
    match r {
        ExchangeResponse::Issued { issued_token, .. } => issued_token,
        other => panic!("expected Issued, got {other:?}"),
    }
}

/// Exchanges `at` on `gw`: `(response, session secret)`.
pub async fn exchange(gw: &Instance, at: &str) -> (ExchangeResponse, SessionSecret) {
    let (req, ctx) = exchange_request(&gw.key().await, at);
    let r = gw.exchange_raw(&req, &ctx).await;
    (r, ctx.into_session_secret())
}

/// 32 bytes as base64url without padding (key file values).
pub fn b64(bytes: &[u8; 32]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A key file: HPKE keys `(id, private key byte)` and ticket keys `(id, secret byte)`, each
/// key 32 copies of its byte; current first.
pub fn key_file(hpke: &[(u8, u8)], ticket: &[(u8, u8)]) -> String {
    let hpke: Vec<Value> = hpke
        .iter()
        .map(|&(id, b)| json!({"key_id": id, "private_key": b64(&[b; 32])}))
        .collect();
    let ticket: Vec<Value> = ticket
        .iter()
        .map(|&(id, b)| json!({"key_id": id, "secret": b64(&[b; 32])}))
        .collect();
    json!({"hpke_keys": hpke, "ticket_keys": ticket}).to_string()
}
