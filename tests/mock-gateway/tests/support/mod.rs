//! Test kit for the fleet suites: real `redis-server` processes (single and a 3-master
//! cluster) on free loopback ports, `h5-mock-gateway` processes pointed at them, a delaying
//! loopback proxy, and the request side every HTTP suite shares: the client core
//! (`h5_access::client`) over reqwest ([`Reqwest`]), and the one helper that seals what the core
//! will not ([`seal_by_hand`]). Every process started here is killed when its guard drops (also
//! when a test fails).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use h5_access::client::{
    body_cap, random_request_id, read_answer, Answer, Client, ClientError, ErrorCode, HttpAnswer,
    HttpRequest, Method, Pending, Problem, Session, Transport, PROBLEM_MEDIA_TYPE,
};
use h5_access::gateway::OHTTP_KEY_PROBLEM_TYPE;
use h5_access::partner::PartnerCredentials;
use h5_access::protocol::{
    encapsulate_request, CallRequest, CallResponse, Channel, ClientContext, ExchangeRequest,
    ExchangeResponse, KeyConfig, SessionSecret, Token,
};
use h5_mock_gateway::{demo_partner_secret, DEMO_PARTNER_ID};
use serde_json::{json, Value};

pub const SEED: &str = "fleet-tests";
pub const PRODUCT: &str = "wealth-01";

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
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

/// The client core's [`Transport`] over reqwest, doing natively what the browser SDK's `fetch`
/// driver (src/sdk/fetch.rs) does: the core's method, path, `Accept` and `Content-Type`, the
/// body read up to [`body_cap`]`(status)` (a declared `Content-Length` over it refused before
/// reading), `Content-Type` and `Cache-Control` handed over, problem documents parsed with
/// serde_json (own string members `type` and `code` of an object only), the time from
/// `SystemTime`. Unlike the browser driver it follows redirects (the gateway sends none). It
/// also sends what is not the protocol's (partner API, test hooks, the demo) with
/// [`post`](Self::post).
#[derive(Clone, Debug)]
pub struct Reqwest {
    /// `http://127.0.0.1:port`, no trailing slash.
    pub base: String,
    pub http: reqwest::Client,
}

/// A reqwest failure as the browser driver reports a failed `fetch`: TIMEOUT past the
/// client's timeout, NETWORK for anything else.
fn failed(e: reqwest::Error) -> ClientError {
    if e.is_timeout() {
        ClientError::new(ErrorCode::Timeout)
    } else {
        ClientError::new(ErrorCode::Network).retryable(true)
    }
}

impl Transport for Reqwest {
    /// Errors: TIMEOUT (reqwest's timeout), NETWORK (anything else reqwest failed with).
    async fn send(&self, request: HttpRequest) -> Result<HttpAnswer, ClientError> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            _ => reqwest::Method::POST,
        };
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.base, request.path))
            .header("accept", request.accept);
        if let Some(t) = request.content_type {
            rb = rb.header("content-type", t);
        }
        if request.method != Method::Get {
            rb = rb.body(request.body);
        }
        let mut res = rb.send().await.map_err(failed)?;
        let status = res.status().as_u16();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let content_type = header("content-type");
        let cache_control = header("cache-control");
        let cap = body_cap(status);
        let body = if res.content_length().is_some_and(|n| n > cap as u64) {
            None
        } else {
            let mut body = Vec::new();
            let mut over = false;
            while let Some(chunk) = res.chunk().await.map_err(failed)? {
                if body.len() + chunk.len() > cap {
                    over = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            (!over).then_some(body)
        };
        Ok(HttpAnswer {
            status,
            content_type,
            body,
            cache_control,
            sent_at: None,
        })
    }

    fn parse_problem(&self, body: &[u8]) -> Problem {
        let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) else {
            return Problem::default();
        };
        let field = |name: &str| o.get(name).and_then(Value::as_str).map(str::to_owned);
        Problem {
            problem_type: field("type"),
            code: field("code"),
        }
    }

    fn now_seconds(&self) -> u64 {
        now()
    }
}

/// An answer to a request that is not the protocol's (or is sent with a wrong media type on
/// purpose), read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Reply {
    /// The status, media type and body of an answer the transport read (a body it had to
    /// refuse over the cap panics: the tests' answers are small).
    pub fn of(answer: &HttpAnswer) -> Self {
        Self {
            status: answer.status,
            content_type: answer.content_type.clone(),
            body: answer.body.clone().unwrap(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Asserts a problem document (RFC 9457, `application/problem+json`) with `status` and
    /// `code`, its `status` member the same.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(
            self.status,
            status,
            "{:?}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type, PROBLEM_MEDIA_TYPE);
        let p = self.json();
        assert_eq!(p["code"], code);
        assert_eq!(p["status"], status);
    }
}

/// The client core's error for a refusal the gateway sealed in its answer
/// (docs/PROTOCOL.md §6): `code`, with the gateway's own `gateway_code` (and not retryable,
/// except `RATE_LIMITED`). Asserts that the core maps `gateway_code` to `code`, so a test names
/// both.
pub fn sealed_refusal(code: ErrorCode, gateway_code: &str) -> ClientError {
    let e = ClientError::from_gateway_code(gateway_code);
    assert_eq!(e.code, code, "the core maps {gateway_code} to {:?}", e.code);
    assert_eq!(e.gateway_code.as_deref(), Some(gateway_code));
    e
}

impl Reqwest {
    /// A client of `base` whose requests time out after `timeout`.
    pub fn new(base: String, timeout: Duration) -> Self {
        Self {
            base,
            http: reqwest::Client::builder().timeout(timeout).build().unwrap(),
        }
    }

    /// A client core of this gateway, its key list fetched now (`Client::connect`).
    pub async fn client(&self) -> Client<Reqwest> {
        Client::connect(self.clone()).await.unwrap()
    }

    /// The configuration the core seals to: the first of `GET /v1/keys`.
    pub async fn key(&self) -> KeyConfig {
        self.client().await.key_config()
    }

    /// Exchanges `at` for a session on `product` through the core (a client connected now, a
    /// fresh request id, the current time).
    pub async fn exchange(&self, at: &str, product: &str) -> Result<Session, ClientError> {
        self.client().await.exchange(at, product).await
    }

    /// Calls `service` with `body` in `session` through the core (a client connected now).
    pub async fn call(
        &self,
        session: &Session,
        service: &str,
        body: &str,
    ) -> Result<String, ClientError> {
        self.client().await.call(session, service, body).await
    }

    /// Sends `request` (the core's, or [`HandSealed::http_request`]) and reads the answer with
    /// the core's `read_answer`. A 200 must carry exactly the `Accept` media type (no
    /// parameters, same case). Panics if the transport fails.
    pub async fn read(&self, request: HttpRequest) -> Result<Answer, ClientError> {
        let accept = request.accept;
        let answer = self.send(request).await.unwrap();
        if answer.status == 200 {
            assert_eq!(answer.content_type, accept);
        }
        read_answer(answer, accept, &|b| self.parse_problem(b))
    }

    /// The body of the 200 answer to `request`; panics with the core's error otherwise.
    pub async fn body(&self, request: HttpRequest) -> Vec<u8> {
        match self.read(request).await {
            Ok(Answer::Body(body)) => body,
            other => panic!("expected a 200 answer, got {other:?}"),
        }
    }

    /// Sends the core's sealed exchange and opens its answer (`Pending::open_exchange`).
    pub async fn send_exchange(&self, pending: Pending) -> Result<Session, ClientError> {
        let body = self.body(pending.http_request()).await;
        pending.open_exchange(&body)
    }

    /// Sends the core's sealed call and opens its answer (`Pending::open_call`).
    pub async fn send_call(&self, pending: Pending) -> Result<String, ClientError> {
        let body = self.body(pending.http_request()).await;
        pending.open_call(&body)
    }

    /// Sends a [`seal_by_hand`] exchange and opens its answer (the context is kept: the same
    /// bytes may be sent again).
    pub async fn send_hand_exchange(&self, sealed: &HandSealed) -> Result<Issued, ClientError> {
        sealed.open_exchange(&self.body(sealed.http_request()).await)
    }

    /// Sends a [`seal_by_hand`] call and opens its answer.
    pub async fn send_hand_call(&self, sealed: &HandSealed) -> Result<String, ClientError> {
        sealed.open_call(&self.body(sealed.http_request()).await)
    }

    /// Sends `request` and asserts the gateway refused it before decapsulation: a problem
    /// document with `status` and `code` ([`Reply::assert_problem`]), which the core reads as
    /// HTTP_STATUS with that status and gateway code (retryable: the gateway did not act).
    /// Returns the problem document.
    pub async fn assert_refused(&self, request: HttpRequest, status: u16, code: &str) -> Value {
        let accept = request.accept;
        let answer = self.send(request).await.unwrap();
        let reply = Reply::of(&answer);
        reply.assert_problem(status, code);
        let e = read_answer(answer, accept, &|b| self.parse_problem(b)).unwrap_err();
        assert_eq!(e, ClientError::http_status(status, Some(code)));
        assert_eq!(
            (e.code, e.status, e.gateway_code.as_deref(), e.retryable),
            (ErrorCode::HttpStatus, Some(status), Some(code), true)
        );
        reply.json()
    }

    /// Sends `request` and asserts the RFC 9458 §5.3 stale-key signal: 422 `KEY_UNKNOWN` of the
    /// `ohttp-key` problem type, which the core reads as `Answer::StaleKey` (the signal it
    /// refreshes its keys and retries on).
    pub async fn assert_stale_key(&self, request: HttpRequest) {
        let accept = request.accept;
        let answer = self.send(request).await.unwrap();
        let reply = Reply::of(&answer);
        reply.assert_problem(422, "KEY_UNKNOWN");
        assert_eq!(reply.json()["type"], OHTTP_KEY_PROBLEM_TYPE);
        let read = read_answer(answer, accept, &|b| self.parse_problem(b));
        assert!(matches!(read, Ok(Answer::StaleKey)), "{read:?}");
    }

    /// POSTs `body` as `ctype` to `path` (with `Authorization: auth` if given): requests that
    /// are not the protocol's, and protocol requests with a wrong media type on purpose.
    pub async fn post(&self, path: &str, ctype: &str, body: Vec<u8>, auth: Option<&str>) -> Reply {
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
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Reply {
            status,
            content_type,
            body: res.bytes().await.unwrap().to_vec(),
        }
    }

    /// An AT for `subject` on `products`, valid `ttl` seconds (negative: already expired),
    /// minted by the test hook (`--test-hooks`).
    pub async fn mint_at(&self, subject: &str, products: &[&str], ttl: i64) -> String {
        let r = self
            .post(
                "/test/access-token",
                "application/json",
                json!({"subject": subject, "products": products, "ttl_seconds": ttl})
                    .to_string()
                    .into_bytes(),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()["access_token"].as_str().unwrap().to_owned()
    }
}

/// What [`seal_by_hand`] seals: the requests the client core will not build.
///
/// The core (`seal_exchange`, `Session::seal_call`) seals only well-formed v1 plaintexts; seals
/// a call only with the VT and the session secret of one `Session`, whose secret never leaves
/// it; and its `Pending` opens exactly one answer (opening consumes it, RFC 9458: one response
/// per request). A stale `client_time` or a request id reused on purpose it does build (both
/// are arguments of `seal_exchange` / `seal_call`): those go through the core.
pub enum ByHand<'a> {
    /// An exchange of `at` on `product` whose HPKE context opens every answer to its bytes:
    /// the very same bytes sent again (a captured request replayed to this instance, another,
    /// or a restarted one) and each answer read. Its VT and secret feed [`ByHand::Call`].
    Exchange { at: &'a str, product: &'a str },
    /// A call carrying `vt`, bound with `secret`, the two given apart: another session's
    /// secret, an AT as the VT, or a [`ByHand::Exchange`]'s VT and secret. Its context opens
    /// every answer too (the same bytes replayed).
    Call {
        vt: &'a Token,
        secret: &'a SessionSecret,
        service: &'a str,
        body: &'a str,
    },
    /// Any plaintext on `channel` (not a v1 message, an unsupported version, a call sealed for
    /// the exchange endpoint).
    Plaintext {
        channel: Channel,
        plaintext: &'a [u8],
    },
}

/// A request [`seal_by_hand`] sealed, with the context that opens any number of answers to it.
pub struct HandSealed {
    channel: Channel,
    request: Vec<u8>,
    context: ClientContext,
}

/// An exchange answer a [`HandSealed`] opened: the VT, its expiry and the page data.
#[derive(Debug)]
pub struct Issued {
    pub vt: Token,
    pub exp: u64,
    pub page: String,
}

/// Seals `what` to `cfg` at the protocol level (`encapsulate_request`): the one place these
/// suites build request plaintexts themselves, for what the client core cannot build
/// ([`ByHand`] says why). A fresh request id and the current time where the plaintext has them.
pub fn seal_by_hand(cfg: &KeyConfig, what: ByHand<'_>) -> HandSealed {
    let (channel, plaintext) = match what {
        ByHand::Exchange { at, product } => (
            Channel::Exchange,
            ExchangeRequest {
                request_id: random_request_id().unwrap(),
                client_time: now(),
                product: product.into(),
                subject_token: Token::new(at.as_bytes().to_vec()).unwrap(),
            }
            .encode()
            .unwrap(),
        ),
        ByHand::Call {
            vt,
            secret,
            service,
            body,
        } => (
            Channel::Call,
            CallRequest {
                request_id: random_request_id().unwrap(),
                client_time: now(),
                issued_token: vt.clone(),
                service: service.into(),
                body: body.into(),
            }
            .encode(secret)
            .unwrap(),
        ),
        ByHand::Plaintext { channel, plaintext } => (channel, plaintext.to_vec()),
    };
    let (request, context) = encapsulate_request(cfg, channel, &plaintext).unwrap();
    HandSealed {
        channel,
        request,
        context,
    }
}

impl HandSealed {
    /// The encapsulated request.
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// The core's HTTP request for it (path and media types of its channel).
    pub fn http_request(&self) -> HttpRequest {
        HttpRequest::encapsulated(self.channel, self.request.clone())
    }

    /// The session secret exported from its context (of a [`ByHand::Exchange`]).
    pub fn session_secret(&self) -> SessionSecret {
        self.context.session_secret().clone()
    }

    /// Opens an exchange answer as `Pending::open_exchange` does, the context kept: the VT, or
    /// the refusal mapped by `ClientError::from_gateway_code`; DECRYPT_FAILED, BAD_RESPONSE.
    pub fn open_exchange(&self, body: &[u8]) -> Result<Issued, ClientError> {
        let plaintext = self.context.open_response(body)?;
        match ExchangeResponse::decode(&plaintext)? {
            ExchangeResponse::Issued {
                issued_token,
                exp,
                page,
            } => Ok(Issued {
                vt: issued_token,
                exp,
                page,
            }),
            ExchangeResponse::Refused { code } => Err(ClientError::from_gateway_code(&code)),
            other => panic!("{other:?}"),
        }
    }

    /// Opens a call answer as `Pending::open_call` does, the context kept.
    pub fn open_call(&self, body: &[u8]) -> Result<String, ClientError> {
        let plaintext = self.context.open_response(body)?;
        match CallResponse::decode(&plaintext)? {
            CallResponse::Ok { body } => Ok(body),
            CallResponse::Refused { code } => Err(ClientError::from_gateway_code(&code)),
            other => panic!("{other:?}"),
        }
    }
}

/// One `h5-mock-gateway` process (`--seed SEED --test-hooks`), killed on drop; the request
/// side is its [`Reqwest`] (`Deref`).
pub struct Instance {
    pub gw: Reqwest,
    child: Child,
}

impl std::ops::Deref for Instance {
    type Target = Reqwest;
    fn deref(&self) -> &Reqwest {
        &self.gw
    }
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
            gw: Reqwest::new(base.to_owned(), Duration::from_secs(30)),
            child,
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
        KeyConfig::decode_list(&self.get_bytes("/v1/keys").await)
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

    /// An AT for `subject` on [`PRODUCT`] minted by the test hook (no store involved).
    pub async fn test_at(&self, subject: &str) -> String {
        self.mint_at(subject, &[PRODUCT], 300).await
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
        let r = self
            .post(
                "/v1/partner/access-token",
                "application/json",
                body.as_bytes().to_vec(),
                Some(auth),
            )
            .await;
        if r.status == 200 {
            let creds =
                PartnerCredentials::new(DEMO_PARTNER_ID, demo_partner_secret(SEED)).unwrap();
            creds.open_access_token_response(&r.body).unwrap();
            return (r.status, "OK".into());
        }
        (r.status, r.json()["code"].as_str().unwrap().to_owned())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
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
