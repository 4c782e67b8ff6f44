//! `h5-bench-load`: a bounded HTTP load test of the AT→VT exchange against `h5-mock-gateway`
//! on 127.0.0.1 only.
//!
//! 1. Starts the gateway binary on `127.0.0.1:0` (pinned with `taskset -c <server-cpu>` when
//!    `taskset` exists), or targets `--url` (a loopback URL only).
//! 2. Outside the timed section: fetches `/v1/keys`, issues one fresh AT per exchange through
//!    `POST /test/access-token`, and encapsulates one fresh exchange request per AT.
//! 3. Fires a warm-up, then the measured requests with bounded concurrency and a hard time cap.
//! 4. Afterwards opens every response: an exchange counts as an error unless it is HTTP 200 and
//!    opens to `ExchangeResponse::Issued`.
//!
//! Prints one JSON object (exchanges/s, per server CPU-second, p50/p99 latency, errors).

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use h5_access::client::{
    first_config, random_request_id, read_answer, seal_exchange, Answer, HttpAnswer, HttpRequest,
    Pending, Problem,
};
use h5_access::protocol::{KeyConfig, Token};
use serde_json::json;
use tokio::io::AsyncBufReadExt as _;

const PRODUCT: &str = "wealth-01";

/// Bounded HTTP load test of h5-mock-gateway's /v1/exchange on 127.0.0.1.
#[derive(Parser, Debug)]
#[command(name = "h5-bench-load", version)]
struct Args {
    /// The h5-mock-gateway binary to start (ignored with --url).
    #[arg(long, default_value = "target/release/h5-mock-gateway")]
    gateway_bin: String,
    /// Target a running gateway instead (must be http://127.0.0.1:PORT and have --test-hooks).
    #[arg(long)]
    url: Option<String>,
    /// Measured exchanges.
    #[arg(long, default_value_t = 5000)]
    requests: usize,
    /// Warm-up exchanges (not measured).
    #[arg(long, default_value_t = 500)]
    warmup: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Hard cap on the measured section, seconds (unsent requests are reported).
    #[arg(long, default_value_t = 60)]
    time_cap: u64,
    /// CPU the started gateway is pinned to with taskset.
    #[arg(long, default_value_t = 1)]
    server_cpu: usize,
    /// RUST_LOG for the started gateway (its per-request access log goes to --server-log).
    #[arg(long, default_value = "info")]
    server_rust_log: String,
    /// File receiving the started gateway's stderr.
    #[arg(long, default_value = "target/bench/gateway-load.log")]
    server_log: String,
    /// Start the gateway with its state in Redis at this URL (loopback only:
    /// redis://127.0.0.1:PORT) instead of in process memory.
    #[arg(long)]
    redis: Option<String>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

type Fallible<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// utime + stime of a process (all threads), seconds, from /proc/<pid>/stat.
fn cpu_seconds(pid: u32, clk_tck: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / clk_tck)
}

fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

struct Server {
    child: Option<tokio::process::Child>,
    pid: Option<u32>,
    base: String,
    pinned: Option<usize>,
}

async fn start_server(args: &Args) -> Fallible<Server> {
    if let Some(url) = &args.url {
        if !url.starts_with("http://127.0.0.1:") {
            return Err("--url must be http://127.0.0.1:PORT (loopback only)".into());
        }
        return Ok(Server {
            child: None,
            pid: None,
            base: url.trim_end_matches('/').to_owned(),
            pinned: None,
        });
    }
    let has_taskset = std::process::Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok();
    let mut gw_args = vec![
        "--listen",
        "127.0.0.1:0",
        "--seed",
        "bench",
        "--test-hooks",
        "--at-ttl",
        "900",
        // The load comes from one address: the per-client cap (64) would close connections
        // past it; the global cap (512) still bounds them.
        "--max-connections-per-ip",
        "512",
    ];
    if let Some(url) = &args.redis {
        if !url.starts_with("redis://127.0.0.1:") {
            return Err("--redis must be redis://127.0.0.1:PORT (loopback only)".into());
        }
        gw_args.extend(["--redis", url.as_str()]);
    }
    let mut cmd = if has_taskset {
        let mut c = tokio::process::Command::new("taskset");
        c.arg("-c")
            .arg(args.server_cpu.to_string())
            .arg(&args.gateway_bin)
            .args(&gw_args);
        c
    } else {
        let mut c = tokio::process::Command::new(&args.gateway_bin);
        c.args(&gw_args);
        c
    };
    if let Some(dir) = std::path::Path::new(&args.server_log).parent() {
        std::fs::create_dir_all(dir)?;
    }
    let log = std::fs::File::create(&args.server_log)?;
    let mut child = cmd
        .env("RUST_LOG", &args.server_rust_log)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()?;
    // taskset execs the gateway: the pid is the gateway's.
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .map_err(|_| "gateway did not start within 30 s")??
        .ok_or("gateway exited before listening")?;
    let base = line
        .strip_prefix("h5-mock-gateway listening on ")
        .ok_or_else(|| format!("unexpected gateway output: {line}"))?
        .to_owned();
    Ok(Server {
        child: Some(child),
        pid,
        base,
        pinned: has_taskset.then_some(args.server_cpu),
    })
}

/// Runs `n` jobs with at most `concurrency` in flight; `f(i)` is job `i`.
async fn bounded<T, F, Fut>(n: usize, concurrency: usize, deadline: Option<Instant>, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let f = Arc::new(f);
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let next = next.clone();
        let f = f.clone();
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                out.push((i, f(i).await));
            }
            out
        }));
    }
    let mut all = Vec::with_capacity(n);
    for w in workers {
        if let Ok(v) = w.await {
            all.extend(v);
        }
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, t)| t).collect()
}

async fn fetch_ats(
    http: &reqwest::Client,
    base: &str,
    n: usize,
    conc: usize,
) -> Fallible<Vec<Token>> {
    let http = http.clone();
    let url = format!("{base}/test/access-token");
    let body =
        json!({"subject": "bench-user", "products": [PRODUCT], "ttl_seconds": 900}).to_string();
    let got = bounded(n, conc, None, move |_| {
        let http = http.clone();
        let url = url.clone();
        let body = body.clone();
        async move {
            let res = http
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .ok()?;
            if !res.status().is_success() {
                return None;
            }
            let v: serde_json::Value = serde_json::from_slice(&res.bytes().await.ok()?).ok()?;
            Token::new(v["access_token"].as_str()?.as_bytes().to_vec()).ok()
        }
    })
    .await;
    let ats: Vec<Token> = got.into_iter().flatten().collect();
    if ats.len() != n {
        return Err(format!("only {} of {n} access tokens issued", ats.len()).into());
    }
    Ok(ats)
}

/// The exchange requests, built by the client core (src/client): one per AT, each with a fresh
/// request id.
fn encapsulate_all(cfg: &KeyConfig, ats: Vec<Token>) -> Fallible<Vec<Pending>> {
    let t = now();
    ats.into_iter()
        .map(|at| {
            let id = random_request_id().map_err(|e| format!("{e:?}"))?;
            seal_exchange(cfg, at.as_str(), PRODUCT, id, t).map_err(|e| format!("{e:?}").into())
        })
        .collect()
}

struct Outcome {
    latency: Duration,
    answer: HttpAnswer,
}

async fn fire(
    http: &reqwest::Client,
    base: &str,
    requests: Vec<HttpRequest>,
    conc: usize,
    deadline: Option<Instant>,
) -> Vec<Option<Outcome>> {
    let http = http.clone();
    let base = base.to_owned();
    let requests = Arc::new(requests);
    let n = requests.len();
    bounded(n, conc, deadline, move |i| {
        let http = http.clone();
        let base = base.clone();
        let requests = requests.clone();
        async move {
            let r = &requests[i];
            let start = Instant::now();
            let res = http
                .post(format!("{base}{}", r.path))
                .header("content-type", r.content_type.unwrap_or_default())
                .header("accept", r.accept)
                .body(r.body.clone())
                .send()
                .await
                .ok()?;
            let status = res.status().as_u16();
            let content_type = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = res.bytes().await.ok()?.to_vec();
            Some(Outcome {
                latency: start.elapsed(),
                answer: HttpAnswer {
                    status,
                    content_type,
                    body: Some(body),
                    cache_control: String::new(),
                    sent_at: None,
                },
            })
        }
    })
    .await
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Nearest-rank percentile.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e3
}

async fn run(args: Args) -> Fallible<serde_json::Value> {
    let mut server = start_server(&args).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let keys = http
        .get(format!("{}/v1/keys", server.base))
        .send()
        .await?
        .bytes()
        .await?;
    let cfg = first_config(&keys).map_err(|e| format!("{e:?}"))?;

    let total = args.warmup + args.requests;
    let prep = Instant::now();
    let ats = fetch_ats(&http, &server.base, total, args.concurrency).await?;
    let mut reqs = encapsulate_all(&cfg, ats)?;
    let measured = reqs.split_off(args.warmup);
    let warm = reqs;
    let prep_s = prep.elapsed().as_secs_f64();

    // Warm-up (connections, allocator, store), not measured; its responses are checked too.
    let warm_requests = warm.iter().map(Pending::http_request).collect();
    let warm_out = fire(&http, &server.base, warm_requests, args.concurrency, None).await;
    let warm_errors = count_errors(warm_out, warm);

    let requests = measured.iter().map(Pending::http_request).collect();
    let tck = clk_tck();
    let cpu0 = server.pid.and_then(|p| cpu_seconds(p, tck));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.time_cap);
    let out = fire(
        &http,
        &server.base,
        requests,
        args.concurrency,
        Some(deadline),
    )
    .await;
    let wall = start.elapsed().as_secs_f64();
    let cpu1 = server.pid.and_then(|p| cpu_seconds(p, tck));

    let sent = out.len();
    let not_sent = args.requests - sent;
    let mut lat: Vec<Duration> = out.iter().flatten().map(|o| o.latency).collect();
    let errors = count_errors(out, measured);
    lat.sort();
    let ok = sent - errors;
    let server_cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    if let Some(mut child) = server.child.take() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    Ok(json!({
        "target": "POST /v1/exchange on h5-mock-gateway, 127.0.0.1",
        "store": if args.redis.is_some() { "redis" } else { "memory" },
        "requests": args.requests,
        "warmup": args.warmup,
        "concurrency": args.concurrency,
        "time_cap_s": args.time_cap,
        "server_pinned_cpu": server.pinned,
        "server_rust_log": args.server_rust_log,
        "prepare_s": prep_s,
        "sent": sent,
        "not_sent_time_cap": not_sent,
        "ok": ok,
        "errors": errors + not_sent,
        "warmup_errors": warm_errors,
        "wall_s": wall,
        "exchanges_per_s": ok as f64 / wall,
        "server_cpu_s": server_cpu,
        "exchanges_per_server_cpu_s": server_cpu.filter(|c| *c > 0.0).map(|c| ok as f64 / c),
        "latency_ms": {
            "p50": percentile(&lat, 50.0),
            "p99": percentile(&lat, 99.0),
            "max": percentile(&lat, 100.0),
        },
    }))
}

/// Exchanges that failed: transport error, an answer the client core does not read as a body
/// (non-200, wrong media type), a response that does not open, or a refusal.
fn count_errors(out: Vec<Option<Outcome>>, pending: Vec<Pending>) -> usize {
    out.into_iter()
        .zip(pending)
        .map(|(o, p)| {
            let Some(o) = o else { return 1 };
            let accept = p.http_request().accept;
            match read_answer(o.answer, accept, &|_| Problem::default()) {
                Ok(Answer::Body(body)) => usize::from(p.open_exchange(&body).is_err()),
                _ => 1,
            }
        })
        .sum()
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("h5-bench-load: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(v) => {
            println!("{v:#}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("h5-bench-load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
