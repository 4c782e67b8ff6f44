//! Issue 14: what an attack pass on the mock gateway found, one regression test per finding,
//! over raw loopback TCP (so the exact bytes the stack sends are checked). Each test states
//! what it saw before the fix.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::num::NonZeroU32;
use std::time::Duration;

use h5_access::gateway::http::{self, RateLimitConfig, ServeConfig};
use h5_mock_gateway::{app, Options};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const SEED: &str = "hardening-tests";

fn options() -> Options {
    Options {
        seed: Some(SEED.into()),
        test_hooks: true,
        ..Options::default()
    }
}

/// Serves the mock's router with the library's accept loop; returns `host:port`.
async fn start(options: Options, config: ServeConfig) -> String {
    let router = app(&options).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(http::serve(
        listener,
        router,
        config,
        std::future::pending(),
    ));
    addr
}

/// Writes `raw` on a fresh connection and reads until the server closes it (or 10 s pass).
async fn raw(addr: &str, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    read_all(&mut s).await
}

async fn read_all(s: &mut TcpStream) -> String {
    String::from_utf8_lossy(&read_bytes(s).await).into_owned()
}

async fn read_bytes(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 4096];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    buf
}

/// The status line's code, a header's value (lower-case name) and the body of one reply.
fn parse(reply: &str) -> (u16, Vec<(String, String)>, String) {
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((reply, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether any `Vary` header of the answer lists `field` (a compressing server adds its own
/// `Vary: accept-encoding` line beside the CORS layer's).
fn varies_on(headers: &[(String, String)], field: &str) -> bool {
    headers
        .iter()
        .filter(|(k, _)| k == "vary")
        .any(|(_, v)| v.split(',').any(|f| f.trim() == field))
}

/// Asserts a problem document with `status` and `code`, and returns the headers.
fn assert_problem(reply: &str, status: u16, code: &str) -> Vec<(String, String)> {
    let (s, headers, body) = parse(reply);
    assert_eq!(s, status, "{reply:?}");
    assert_eq!(
        header(&headers, "content-type"),
        Some(h5_access::client::PROBLEM_MEDIA_TYPE),
        "{reply:?}"
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], code, "{reply:?}");
    assert_eq!(v["status"], status, "{reply:?}");
    headers
}

/// §3: every error the stack makes is a problem document with a `code`, CORS headers included
/// (§5) for an allowed origin. Before the fix: 404 and 405 had empty bodies, 414 and 431 went
/// through (hyper's limits are 64 KiB URIs and ~400 KiB of headers) and no CORS header was on
/// the 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_errors_are_problem_documents() {
    let addr = start(options(), ServeConfig::default()).await;
    let origin = "Origin: http://127.0.0.1:9\r\n";
    let r = raw(
        &addr,
        format!("GET /no/such/route HTTP/1.1\r\nHost: {addr}\r\n{origin}Connection: close\r\n\r\n")
            .as_bytes(),
    )
    .await;
    let h = assert_problem(&r, 404, "NOT_FOUND");
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("http://127.0.0.1:9")
    );
    assert!(varies_on(&h, "origin"), "{r:?}");

    let r = raw(
        &addr,
        format!("GET /v1/exchange HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await;
    let h = assert_problem(&r, 405, "METHOD_NOT_ALLOWED");
    assert_eq!(header(&h, "allow"), Some("POST"));

    let long = "a".repeat(http::MAX_URI_LEN + 1);
    let r = raw(
        &addr,
        format!("GET /{long} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert_problem(&r, 414, "URI_TOO_LONG");

    let big = "b".repeat(http::MAX_HEADER_BYTES);
    let r = raw(
        &addr,
        format!(
            "GET /v1/keys HTTP/1.1\r\nHost: {addr}\r\nX-Big: {big}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_problem(&r, 431, "HEADERS_TOO_LARGE");

    // The router's own 400 (an extractor rejection is not possible on these routes; a bad
    // JSON body of the demo route is the gateway's PARTNER_BAD_REQUEST): still a code.
    let r = raw(
        &addr,
        format!(
            "POST /demo/partner/launch HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1\r\n\
             Content-Type: application/json\r\nConnection: close\r\n\r\n["
        )
        .as_bytes(),
    )
    .await;
    assert_problem(&r, 400, "PARTNER_BAD_REQUEST");
}

/// §1: the header buffer per connection is bounded (32 KiB by default). Before the fix,
/// hyper's default of ~400 KiB let a 100 KiB header block be buffered whole (and reach the
/// router). Now hyper refuses it itself: 431 with no body, connection closed (the one error
/// answer that is not a problem document: docs/PROTOCOL.md §7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_buffer_is_bounded() {
    let addr = start(options(), ServeConfig::default()).await;
    let big = "c".repeat(100 * 1024);
    let r = raw(
        &addr,
        format!("GET /v1/keys HTTP/1.1\r\nHost: {addr}\r\nX-Big: {big}\r\n\r\n").as_bytes(),
    )
    .await;
    let (status, _, body) = parse(&r);
    assert_eq!(status, 431, "{r:?}");
    assert_eq!(body, "");
}

/// §1: at most `max_connections` connections are open at once; one accepted past it is closed
/// without an answer, and a slot freed is reused. Before the fix there was no limit (a third
/// connection was served).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit() {
    let config = ServeConfig::default()
        .with_max_connections(2)
        .with_header_read_timeout(Duration::from_secs(60));
    let addr = start(options(), config).await;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    // Two idle connections, each proven accepted by a keep-alive answer.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 "));
        held.push(s);
    }
    let r = raw(&addr, request.as_bytes()).await;
    assert_eq!(r, "", "a third connection is closed unanswered");
    drop(held.pop());
    // The freed slot is released when its connection task ends: retry a bounded number of
    // times.
    let mut served = false;
    for _ in 0..100 {
        let r = raw(&addr, request.as_bytes()).await;
        if r.starts_with("HTTP/1.1 200 ") {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "a freed slot is reused");
}

/// §1: a per-client rate limit (off by default in the mock, `--rate-limit`): past the burst,
/// 429 TOO_MANY_REQUESTS with Retry-After. Before the fix there was no rate limit at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_client_rate_limit() {
    let addr = start(
        Options {
            rate_limit: Some(RateLimitConfig {
                period: Duration::from_secs(3600),
                burst: NonZeroU32::new(3).unwrap(),
            }),
            ..options()
        },
        ServeConfig::default(),
    )
    .await;
    let request = format!("GET /v1/keys HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    for _ in 0..3 {
        let r = raw(&addr, request.as_bytes()).await;
        assert!(r.starts_with("HTTP/1.1 200 "), "{r:?}");
    }
    for _ in 0..3 {
        let r = raw(&addr, request.as_bytes()).await;
        let h = assert_problem(&r, 429, "TOO_MANY_REQUESTS");
        let wait: u64 = header(&h, "retry-after").unwrap().parse().unwrap();
        assert!((1..=3600).contains(&wait), "{wait}");
    }
}

/// §3: the demo and test routes refuse a non-loopback Host (DNS rebinding). Before the fix any
/// Host was served: a page on evil.example rebound to 127.0.0.1 could mint ATs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_and_test_routes_want_a_loopback_host() {
    let addr = start(options(), ServeConfig::default()).await;
    let body = r#"{"product":"wealth-01"}"#;
    for host in ["evil.example", "evil.example:80", "127.0.0.1.evil.example"] {
        for path in [
            "/demo/partner/launch",
            "/test/access-token",
            "/test/rotate-keys",
        ] {
            let r = raw(
                &addr,
                format!(
                    "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await;
            assert_problem(&r, 403, "HOST_NOT_ALLOWED");
        }
    }
    let port = addr.rsplit(':').next().unwrap();
    for host in [addr.clone(), format!("localhost:{port}"), "[::1]".into()] {
        let r = raw(
            &addr,
            format!(
                "POST /demo/partner/launch HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 200 "), "{host}: {r:?}");
    }
    // The gateway's own routes and /healthz are for any Host (a provider serves them under its
    // own name).
    for path in ["/v1/keys", "/healthz"] {
        let r = raw(
            &addr,
            format!("GET {path} HTTP/1.1\r\nHost: gateway.example\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 200 "), "{r:?}");
    }
}

/// §1: `/test/access-token` bounds `ttl_seconds` to ±MAX_TEST_TTL. Before the fix any value was
/// accepted (an AT expiring at u64::MAX, whose used-AT entry never expires).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_token_ttl_is_bounded() {
    let addr = start(options(), ServeConfig::default()).await;
    let mint = |ttl: i64| {
        let body = format!(r#"{{"subject":"u-1","products":["wealth-01"],"ttl_seconds":{ttl}}}"#);
        format!(
            "POST /test/access-token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let max = h5_mock_gateway::MAX_TEST_TTL;
    for ttl in [max + 1, -max - 1, i64::MAX, i64::MIN] {
        let r = raw(&addr, mint(ttl).as_bytes()).await;
        assert_problem(&r, 400, "PARTNER_BAD_REQUEST");
    }
    for ttl in [max, -max, 300] {
        let r = raw(&addr, mint(ttl).as_bytes()).await;
        assert!(r.starts_with("HTTP/1.1 200 "), "{ttl}: {r:?}");
    }
}

/// §5: without a seed or key file the mock picks its first key id at random (1–255), so a
/// restart most likely does not reuse the previous run's id for a different key. Before the
/// fix random mode always used key id 1 (all 20 starts here had id 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_mode_key_ids_vary() {
    let mut ids = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let (_, gateway) = h5_mock_gateway::app_and_gateway(&Options::default()).unwrap();
        let id = gateway.current_key_id();
        assert_ne!(id, 0);
        ids.insert(id);
    }
    // All 20 equal has probability 255^-19 with random ids.
    assert!(ids.len() > 1, "{ids:?}");
    // With a seed the ids stay fixed (1, 2, … on rotation).
    let (_, gateway) = h5_mock_gateway::app_and_gateway(&options()).unwrap();
    assert_eq!(gateway.current_key_id(), 1);
}

/// §4: partner credentials given to the mock (`--partner`, several), so a partner checks its
/// own §10 signing against it; the demo partner's secret follows the documented rule. Before
/// the fix the only partner was the demo one, with a secret derived by an undocumented rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_from_the_command_line() {
    use h5_access::partner::PartnerCredentials;
    let dir = std::env::temp_dir().join(format!("h5-hardening-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secrets = [
        (
            "acme",
            b"acme-secret-0123456789abcdef\n".to_vec(),
            "wealth-01",
        ),
        (
            "globex",
            b"globex-secret-0123456789".to_vec(),
            "wealth-01,loan-02",
        ),
    ];
    let mut partners = Vec::new();
    for (id, secret, products) in &secrets {
        let path = dir.join(id);
        std::fs::write(&path, secret).unwrap();
        let spec = format!("{id}:file={}:{products}", path.display());
        let p = h5_mock_gateway::parse_partner_spec(&spec).unwrap();
        assert_eq!(p.id(), *id);
        assert_eq!(p.products().join(","), *products);
        partners.push(p);
    }
    for bad in [
        "acme",
        "acme:file=/nonexistent/h5:wealth-01",
        "acme:plain=abc:wealth-01",
        "acme:env=H5_HARDENING_UNSET_VARIABLE:wealth-01",
    ] {
        let e = h5_mock_gateway::parse_partner_spec(bad).unwrap_err();
        assert!(e.0.starts_with("--partner"), "{e}");
    }
    let short = dir.join("short");
    std::fs::write(&short, b"too-short").unwrap();
    assert!(
        h5_mock_gateway::parse_partner_spec(&format!("x:file={}:wealth-01", short.display()))
            .is_err()
    );
    let addr = start(
        Options {
            partners,
            ..options()
        },
        ServeConfig::default(),
    )
    .await;
    for (id, secret, products) in &secrets {
        let secret = secret.strip_suffix(b"\n").unwrap_or(secret);
        let creds = PartnerCredentials::new(*id, secret.to_vec()).unwrap();
        let list: Vec<&str> = products.split(',').collect();
        let body = PartnerCredentials::access_token_request_body("u-1", &list);
        let auth = creds
            .sign_now("POST", "/v1/partner/access-token", body.as_bytes())
            .unwrap();
        let r = raw(
            &addr,
            format!(
                "POST /v1/partner/access-token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await;
        let (status, _, json) = parse(&r);
        assert_eq!(status, 200, "{id}: {r:?}");
        assert!(creds.open_access_token_response(json.as_bytes()).is_ok());
    }
    std::fs::remove_dir_all(&dir).unwrap();

    // The demo partner's secret: HKDF-SHA256(salt "h5-mock-gateway seed v1", ikm = seed,
    // info "demo partner secret"), 32 bytes.
    let mut expect = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(b"h5-mock-gateway seed v1"), SEED.as_bytes())
        .expand(b"demo partner secret", &mut expect)
        .unwrap();
    assert_eq!(h5_mock_gateway::demo_partner_secret(SEED), expect.to_vec());
}

/// §5: CORS on every answer (problem documents included, so the SDK sees the 422 stale-key
/// signal instead of a CORS failure), `Vary: Origin`, a disallowed origin's preflight gets no
/// `Access-Control-Allow-Origin`, and sealed answers are `Cache-Control: no-store`. Before the
/// fix sealed answers had no Cache-Control.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_and_cache_headers() {
    use h5_access::client::{first_config, seal_exchange};
    let addr = start(options(), ServeConfig::default()).await;
    // The key list.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        format!("GET /v1/keys HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let bytes = read_bytes(&mut s).await;
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let (_, h, _) = parse(&String::from_utf8_lossy(&bytes[..split]));
    assert_eq!(header(&h, "cache-control"), Some("public, max-age=300"));
    let list = &bytes[split..];
    let cfg = first_config(list).unwrap();
    // The client core's exchange request (its path, media type and bytes), written raw.
    let req = seal_exchange(&cfg, "not-a-real-AT", "wealth-01", [7; 16], http::now())
        .unwrap()
        .http_request();
    let send = |key_id_shift: bool| {
        let mut body = req.body.clone();
        if key_id_shift {
            body[0] = body[0].wrapping_add(100);
        }
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://localhost:5\r\n\
             Content-Type: {}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            req.path,
            req.content_type.unwrap(),
            body.len()
        )
        .into_bytes();
        head.extend_from_slice(&body);
        head
    };
    // A sealed refusal (AT_INVALID inside): 200, no-store, CORS.
    let r = raw(&addr, &send(false)).await;
    let (status, h, _) = parse(&r);
    assert_eq!(status, 200);
    assert_eq!(header(&h, "cache-control"), Some("no-store"));
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("http://localhost:5")
    );
    // The stale-key signal carries CORS headers too.
    let r = raw(&addr, &send(true)).await;
    let h = assert_problem(&r, 422, "KEY_UNKNOWN");
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("http://localhost:5")
    );
    assert!(varies_on(&h, "origin"), "{r:?}");
    // A preflight from a disallowed origin: answered, without Access-Control-Allow-Origin.
    let r = raw(
        &addr,
        format!(
            "OPTIONS /v1/exchange HTTP/1.1\r\nHost: {addr}\r\nOrigin: https://evil.example\r\n\
             Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    let (status, h, _) = parse(&r);
    assert_eq!(status, 200, "{r:?}");
    assert_eq!(header(&h, "access-control-allow-origin"), None);
}

/// §4/§5: what PROTOCOL §7 now says of the mock's services, checked in-process: `quote` takes
/// integers only and exactly its two fields, computes in exact integer arithmetic at the top of
/// its range, answers the catalogue's `rate_bps` and `total_cents = amount + interest`; a
/// non-JSON body is SERVICE_REJECTED for `quote` and `echo`, ignored by `profile`; `echo`
/// returns the same bytes; `profile` masks a 2-character subject entirely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_contracts() {
    use h5_access::client::{
        first_config, random_request_id, seal_exchange, ClientError, ErrorCode,
    };
    let (_, gw) = h5_mock_gateway::app_and_gateway(&options()).unwrap();
    let now = http::now();
    let cfg = first_config(&gw.key_config_list()).unwrap();
    let session = |subject: &str, product: &str| {
        let at = gw
            .mint_access_token(
                h5_mock_gateway::DEMO_PARTNER_ID,
                subject,
                &[product.to_owned()],
                now,
                now + 300,
            )
            .unwrap();
        // Sealed by the client core, handed to the gateway in-process.
        seal_exchange(
            &cfg,
            at.token.as_str(),
            product,
            random_request_id().unwrap(),
            now,
        )
        .unwrap()
    };
    let mut sessions = Vec::new();
    for (subject, product) in [("u-1", "card-03"), ("ab", "wealth-01")] {
        let pending = session(subject, product);
        let res = gw.handle_exchange(pending.request(), now).await.unwrap();
        sessions.push(pending.open_exchange(&res.body).unwrap());
    }
    let answer = |n: usize, service: &str, body: &str| {
        let pending = sessions[n]
            .seal_call(&cfg, service, body, random_request_id().unwrap(), now)
            .unwrap();
        let gw = gw.clone();
        async move {
            let res = gw.handle_call(pending.request(), now).await.unwrap();
            pending.open_call(&res.body)
        }
    };
    // card-03's catalogue rate is 1825 bps; the largest amount over the longest term.
    let body = answer(0, "quote", r#"{"amount_cents":1000000000000,"months":360}"#)
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["rate_bps"], 1825);
    // 10^12 × 1825 × 360 / 120000 exactly (the product is 6.57 × 10^17).
    assert_eq!(v["interest_cents"], 5_475_000_000_000u64);
    assert_eq!(v["total_cents"], 6_475_000_000_000u64);
    // The sealed refusal, as the client core reports it.
    let rejected: Result<String, _> = Err(ClientError::from_gateway_code("SERVICE_REJECTED"));
    assert_eq!(rejected.as_ref().unwrap_err().code, ErrorCode::ServiceError);
    for body in [
        r#"{"amount_cents":1.5,"months":12}"#,
        r#"{"amount_cents":1e3,"months":12}"#,
        r#"{"amount_cents":"100","months":12}"#,
        r#"{"amount_cents":100,"months":12,"extra":1}"#,
        r#"{"amount_cents":100}"#,
        r#"{"amount_cents":100,"months":361}"#,
        "not json",
    ] {
        assert_eq!(answer(0, "quote", body).await, rejected, "{body}");
    }
    assert_eq!(answer(0, "echo", "not json").await, rejected);
    let odd = "{ \"b\" : [1, 2.50] ,\"a\":null }";
    assert_eq!(answer(0, "echo", odd).await.unwrap(), odd);
    let body = answer(1, "profile", "not json").await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["display_name"], "**");
}

/// `POST path` on a fresh connection with `Host: host`, `extra` header lines (each ending in
/// CRLF) and `body`; the whole reply.
async fn post(addr: &str, target: &str, host: &str, extra: &str, body: &str) -> String {
    raw(
        addr,
        format!(
            "POST {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
}

/// The `GET /v1/keys` body (the current key first): what a refused rotation must leave as it is.
async fn key_list(addr: &str) -> String {
    let r = raw(
        addr,
        format!("GET /v1/keys HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200 "), "{r:?}");
    r.split_once("\r\n\r\n").unwrap().1.to_owned()
}

/// F7 (a): a web page on another site cannot drive a developer's local mock with a "simple"
/// cross-site POST (no CORS preflight: `text/plain`, a form's `x-www-form-urlencoded`). Before
/// the fix `/test/rotate-keys` and `/demo/partner/launch` served it (the keys rotated, an AT was
/// minted). Now an `Origin` outside loopback (or `null`, or two of them), or without an
/// `Origin` a `Sec-Fetch-Site` other than `same-origin`/`none`, is 403 `CROSS_SITE_REFUSED`
/// and the keys stay; and the routes want `application/json` (415 `UNSUPPORTED_MEDIA_TYPE`
/// otherwise), which a page elsewhere cannot send without a preflight it does not pass. Loopback
/// pages (the demo, the browser suites on another loopback port) and clients without those
/// headers are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_requests_to_demo_and_test_routes_are_refused() {
    let addr = start(options(), ServeConfig::default()).await;
    let keys = key_list(&addr).await;
    let launch = r#"{"product":"wealth-01"}"#;
    let mint = r#"{"subject":"u-1","products":["wealth-01"]}"#;
    let routes = [
        ("/demo/partner/launch", launch),
        ("/test/access-token", mint),
        ("/test/rotate-keys", ""),
    ];
    for (path, body) in routes {
        for extra in [
            "Origin: https://evil.example\r\nContent-Type: text/plain\r\n",
            "Origin: https://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\n",
            "Origin: https://evil.example\r\nContent-Type: application/json\r\n",
            "Origin: null\r\nContent-Type: text/plain\r\n",
            "Origin: http://127.0.0.1.evil.example\r\nContent-Type: text/plain\r\n",
            "Origin: http://127.0.0.1:5\r\nOrigin: https://evil.example\r\nContent-Type: application/json\r\n",
            "Sec-Fetch-Site: cross-site\r\nContent-Type: text/plain\r\n",
            "Sec-Fetch-Site: same-site\r\nContent-Type: application/json\r\n",
            "Sec-Fetch-Site: cross-site\r\nContent-Type: application/json\r\n",
        ] {
            let r = post(&addr, path, &addr, extra, body).await;
            let h = assert_problem(&r, 403, "CROSS_SITE_REFUSED");
            let acao = header(&h, "access-control-allow-origin");
            assert!(acao.is_none_or(|o| o == "http://127.0.0.1:5"), "{r:?}");
        }
        // No Origin, no Sec-Fetch-Site (curl), but not JSON.
        for ctype in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let r = post(
                &addr,
                path,
                &addr,
                &format!("Content-Type: {ctype}\r\n"),
                body,
            )
            .await;
            assert_problem(&r, 415, "UNSUPPORTED_MEDIA_TYPE");
        }
        let r = post(&addr, path, &addr, "", body).await;
        assert_problem(&r, 415, "UNSUPPORTED_MEDIA_TYPE");
    }
    assert_eq!(
        key_list(&addr).await,
        keys,
        "no refused request rotated the keys"
    );

    // Loopback pages and plain clients are served: the demo's page (same origin), a page on
    // another loopback origin (the browser suites; cross-site to the browser, a loopback Origin),
    // a navigation-like `none`, a client without either header, `; charset=utf-8`.
    let port = addr.rsplit(':').next().unwrap();
    for (path, body) in [routes[0], routes[1]] {
        for extra in [
            format!("Origin: http://{addr}\r\nSec-Fetch-Site: same-origin\r\n"),
            format!("Origin: http://localhost:{port}\r\nSec-Fetch-Site: cross-site\r\n"),
            "Origin: http://[::1]:5173\r\nSec-Fetch-Site: same-site\r\n".to_owned(),
            "Sec-Fetch-Site: none\r\n".to_owned(),
            String::new(),
        ] {
            for ctype in ["application/json", "Application/JSON; charset=utf-8"] {
                let extra = format!("{extra}Content-Type: {ctype}\r\n");
                let r = post(&addr, path, &addr, &extra, body).await;
                assert!(r.starts_with("HTTP/1.1 200 "), "{path} {extra:?}: {r:?}");
            }
        }
    }
    let r = post(
        &addr,
        "/test/rotate-keys",
        &addr,
        "Origin: http://127.0.0.1:5\r\nContent-Type: application/json\r\n",
        "",
    )
    .await;
    let (status, h, body) = parse(&r);
    assert_eq!(status, 200, "{r:?}");
    assert_eq!(body, r#"{"current_key_id":2}"#);
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("http://127.0.0.1:5")
    );
    assert_ne!(key_list(&addr).await, keys);
}

/// F7 (b): the Host check cannot be passed around with an absolute-form request target
/// (`POST http://evil.example/… HTTP/1.1`, whose authority a server must use instead of `Host`)
/// or a second `Host` header. Before the fix both reached `/test/rotate-keys` with a loopback
/// `Host` beside them. Now both are 403 `HOST_NOT_ALLOWED` and the keys stay; an absolute-form
/// target naming the loopback host is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_form_and_duplicate_host_are_refused() {
    let addr = start(options(), ServeConfig::default()).await;
    let keys = key_list(&addr).await;
    let json = "Content-Type: application/json\r\n";
    for target in [
        "http://evil.example/test/rotate-keys",
        "http://evil.example:80/test/rotate-keys",
        &format!("http://user@{addr}/test/rotate-keys"),
        "http://127.0.0.1.evil.example/test/rotate-keys",
    ] {
        let r = post(&addr, target, &addr, json, "").await;
        assert_problem(&r, 403, "HOST_NOT_ALLOWED");
    }
    for extra in [
        "Host: evil.example\r\n".to_owned(),
        format!("Host: {addr}\r\n"),
    ] {
        let r = post(
            &addr,
            "/test/rotate-keys",
            &addr,
            &format!("{extra}{json}"),
            "",
        )
        .await;
        assert_problem(&r, 403, "HOST_NOT_ALLOWED");
    }
    assert_eq!(
        key_list(&addr).await,
        keys,
        "no refused request rotated the keys"
    );
    let r = post(
        &addr,
        &format!("http://{addr}/test/rotate-keys"),
        &addr,
        json,
        "",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200 "), "{r:?}");
}

/// F5: the rate limit counts every request a client makes, the ones answered before the router
/// included: a declared oversize body's 413 and CORS preflights. Before the fix the limiter sat
/// inside the size check and the CORS layer, so both were free (the fourth request here was
/// served 200). Its 429 still carries the CORS headers a page needs to read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_counts_refusals_and_preflights() {
    let addr = start(
        Options {
            rate_limit: Some(RateLimitConfig {
                period: Duration::from_secs(3600),
                burst: NonZeroU32::new(3).unwrap(),
            }),
            ..options()
        },
        ServeConfig::default(),
    )
    .await;
    let origin = "http://localhost:5";
    let oversize = format!(
        "POST /v1/exchange HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n"
    );
    let preflight = format!(
        "OPTIONS /v1/exchange HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n"
    );
    let h = assert_problem(&raw(&addr, oversize.as_bytes()).await, 413, "TOO_LARGE");
    assert_eq!(header(&h, "access-control-allow-origin"), Some(origin));
    for _ in 0..2 {
        let r = raw(&addr, preflight.as_bytes()).await;
        let (status, h, _) = parse(&r);
        assert_eq!(status, 200, "{r:?}");
        assert_eq!(header(&h, "access-control-allow-origin"), Some(origin));
    }
    // The budget (3) is used up: a GET from the page is 429, readable by it.
    let r = raw(
        &addr,
        format!("GET /v1/keys HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await;
    let h = assert_problem(&r, 429, "TOO_MANY_REQUESTS");
    assert_eq!(header(&h, "access-control-allow-origin"), Some(origin));
    assert!(varies_on(&h, "origin"), "{r:?}");
    let wait: u64 = header(&h, "retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    // A disallowed origin's 429 gets no grant.
    let r = raw(
        &addr,
        format!("GET /v1/keys HTTP/1.1\r\nHost: {addr}\r\nOrigin: https://evil.example\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await;
    let h = assert_problem(&r, 429, "TOO_MANY_REQUESTS");
    assert_eq!(header(&h, "access-control-allow-origin"), None);
    // Further preflights and oversize POSTs are refused too (not answered for free).
    assert_problem(
        &raw(&addr, preflight.as_bytes()).await,
        429,
        "TOO_MANY_REQUESTS",
    );
    assert_problem(
        &raw(&addr, oversize.as_bytes()).await,
        429,
        "TOO_MANY_REQUESTS",
    );
}

/// A connection to `addr` from the loopback address `from` (Linux routes all of 127.0.0.0/8 to
/// `lo`, so 127.0.0.2 is a second client).
async fn connect_from(from: &str, addr: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(addr.parse().unwrap()).await.unwrap()
}

/// A keep-alive request on `s`, answered 200: proves the connection was accepted and served.
async fn served(s: &mut TcpStream, addr: &str) -> bool {
    if s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 512];
    match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
        Ok(Ok(n)) => buf[..n].starts_with(b"HTTP/1.1 200 "),
        _ => false,
    }
}

/// F3: one client cannot hold every connection slot: past `max_connections_per_ip` its new
/// connections are closed unanswered while another client's are served, and a slot it frees is
/// its own again. Before the fix the only cap was the global one (here 8), which one client's
/// connections filled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_client_connection_limit() {
    let config = ServeConfig::default()
        .with_max_connections(8)
        .with_max_connections_per_ip(2)
        .with_header_read_timeout(Duration::from_secs(60));
    assert_eq!(ServeConfig::default().max_connections_per_ip, 64);
    let addr = start(options(), config).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect_from("127.0.0.1", &addr).await;
        assert!(served(&mut s, &addr).await);
        held.push(s);
    }
    for _ in 0..3 {
        let mut s = connect_from("127.0.0.1", &addr).await;
        assert!(
            !served(&mut s, &addr).await,
            "a third connection of 127.0.0.1 is closed"
        );
        assert_eq!(read_all(&mut s).await, "");
    }
    // Another client is served, up to its own cap.
    let mut other = Vec::new();
    for _ in 0..2 {
        let mut s = connect_from("127.0.0.2", &addr).await;
        assert!(served(&mut s, &addr).await, "127.0.0.2 is served");
        other.push(s);
    }
    let mut s = connect_from("127.0.0.2", &addr).await;
    assert!(!served(&mut s, &addr).await);
    // A slot 127.0.0.1 frees is released when its connection task ends: a bounded retry.
    drop(held.pop());
    let mut again = false;
    for _ in 0..100 {
        let mut s = connect_from("127.0.0.1", &addr).await;
        if served(&mut s, &addr).await {
            again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again, "a freed slot is reused");
}

/// F3: the header read timeout also closes a new connection that sends nothing, and a kept-alive
/// one that sends nothing after an answer, so idle connections do not hold their client's
/// slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_by_the_header_read_timeout() {
    let config = ServeConfig::default()
        .with_max_connections_per_ip(1)
        .with_header_read_timeout(Duration::from_millis(500));
    let addr = start(options(), config).await;
    let started = std::time::Instant::now();
    let mut idle = connect_from("127.0.0.1", &addr).await;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf))
        .await
        .expect("closed within 5 s")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer: {:?}", &buf[..n]);
    assert!(started.elapsed() >= Duration::from_millis(400));
    // Kept alive after one answer, then silent.
    let mut kept = None;
    for _ in 0..100 {
        let mut s = connect_from("127.0.0.1", &addr).await;
        if served(&mut s, &addr).await {
            kept = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut kept = kept.expect("the idle connection's slot is free again");
    let n = tokio::time::timeout(Duration::from_secs(5), kept.read(&mut buf))
        .await
        .expect("closed within 5 s")
        .unwrap_or(0);
    assert_eq!(n, 0);
}
