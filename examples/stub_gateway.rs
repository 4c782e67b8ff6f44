//! A stand-in for `h5-mock-gateway` (branch `gateway`) with the same command line, output line,
//! HTTP surface and test hooks, so the SDK's browser suites can run before the real mock lands.
//! Test use only: blocking std::net, one thread per connection, state in memory.
//!
//! `cargo run --example stub_gateway -- --listen 127.0.0.1:0` prints
//! `h5-mock-gateway listening on http://127.0.0.1:PORT`.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use h5_access::protocol::{
    codes, decapsulate_request, CallRequest, CallResponse, Channel, EncapsulationError,
    ExchangeRequest, ExchangeResponse, KeyConfig, KeyPair, SessionSecret, Token,
};

struct At {
    products: Vec<String>,
    exp: u64,
    used: bool,
}

struct State {
    keys: Vec<KeyPair>,
    ats: HashMap<Vec<u8>, At>,
    vts: HashMap<Vec<u8>, (SessionSecret, u64)>,
    seen: std::collections::HashSet<[u8; 16]>,
    counter: u64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn page(product: &str) -> Option<String> {
    let (title, subtitle, theme) = match product {
        "wealth-01" => ("Wealth Plus", "Daily liquidity, low risk", "gold"),
        "loan-02" => ("Quick Loan", "Up to 50,000 in minutes", "blue"),
        "card-03" => ("Travel Card", "No foreign fees", "green"),
        _ => return None,
    };
    Some(
        serde_json::json!({
            "title": title, "subtitle": subtitle, "theme": theme,
            "sections": [{"title": "Key facts", "fields": [
                {"label": "Product", "value": product},
                {"label": "Rate", "value": "3.10%"}]}]
        })
        .to_string(),
    )
}

struct Req {
    method: String,
    path: String,
    origin: Option<String>,
    content_type: String,
    body: Vec<u8>,
}

fn read_req(s: &mut TcpStream) -> Option<Req> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut tmp).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let (mut len, mut origin, mut ct) = (0usize, None, String::new());
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let v = v.trim().to_string();
            match k.to_ascii_lowercase().as_str() {
                "content-length" => len = v.parse().unwrap_or(0),
                "origin" => origin = Some(v),
                "content-type" => ct = v,
                _ => {}
            }
        }
    }
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut tmp).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Req {
        method,
        path,
        origin,
        content_type: ct,
        body,
    })
}

fn respond(s: &mut TcpStream, origin: &Option<String>, status: u16, ct: &str, body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\ncache-control: no-store\r\n",
        body.len()
    );
    if !ct.is_empty() {
        head.push_str(&format!("content-type: {ct}\r\n"));
    }
    if let Some(o) = origin {
        head.push_str(&format!(
            "access-control-allow-origin: {o}\r\nvary: origin\r\naccess-control-allow-methods: GET, POST\r\naccess-control-allow-headers: content-type\r\naccess-control-max-age: 600\r\n"
        ));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}

fn problem(status: u16, ty: &str, code: &str) -> (u16, String, Vec<u8>) {
    let body = serde_json::json!({"type": ty, "title": code, "status": status, "code": code});
    (
        status,
        "application/problem+json".into(),
        body.to_string().into_bytes(),
    )
}

fn handle(state: &Mutex<State>, req: &Req, path: &str) -> (u16, String, Vec<u8>) {
    let mut st = state.lock().unwrap();
    match (req.method.as_str(), path) {
        ("GET", "/v1/keys") => {
            let configs: Vec<KeyConfig> = st.keys.iter().map(|k| k.config().clone()).collect();
            (
                200,
                "application/ohttp-keys".into(),
                KeyConfig::encode_list(&configs),
            )
        }
        ("POST", "/test/access-token") => {
            let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
            let products = v["products"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let ttl = v["ttl_seconds"].as_i64().unwrap_or(300);
            let exp = (now() as i64 + ttl) as u64;
            st.counter += 1;
            let token = format!("AT.stub-{}-{}", st.counter, now());
            st.ats.insert(
                token.clone().into_bytes(),
                At {
                    products,
                    exp,
                    used: false,
                },
            );
            let body = serde_json::json!({"access_token": token, "exp": exp});
            (
                200,
                "application/json".into(),
                body.to_string().into_bytes(),
            )
        }
        ("POST", "/test/rotate-keys") => {
            let id = st.keys[0].key_id().wrapping_add(1);
            st.keys = vec![KeyPair::generate(id).unwrap()];
            (204, String::new(), Vec::new())
        }
        ("POST", "/v1/exchange") | ("POST", "/v1/call") => {
            let channel = if path == "/v1/exchange" {
                Channel::Exchange
            } else {
                Channel::Call
            };
            if req.content_type != channel.request_media_type() {
                return problem(415, "about:blank", "MALFORMED");
            }
            let (plain, ctx) = match decapsulate_request(&st.keys, channel, &req.body) {
                Ok(x) => x,
                Err(EncapsulationError::KeyUnknown) => {
                    return problem(
                        422,
                        "https://iana.org/assignments/http-problem-types#ohttp-key",
                        "KEY_UNKNOWN",
                    )
                }
                Err(e) => return problem(400, "about:blank", e.code()),
            };
            let answer = if channel == Channel::Exchange {
                let r = match ExchangeRequest::decode(&plain) {
                    Ok(r) => r,
                    Err(_) => return problem(400, "about:blank", "MALFORMED"),
                };
                let refuse = |c: &str| ExchangeResponse::Refused { code: c.into() };
                let seen = !st.seen.insert(r.request_id);
                match st.ats.get_mut(r.subject_token.as_bytes()) {
                    _ if seen => refuse(codes::REPLAYED),
                    None => refuse(codes::AT_INVALID),
                    Some(at) if at.exp < now() => refuse(codes::AT_EXPIRED),
                    Some(at) if at.used => refuse(codes::AT_USED),
                    Some(at) if !at.products.contains(&r.product) => {
                        refuse(codes::PRODUCT_NOT_ALLOWED)
                    }
                    Some(at) => match page(&r.product) {
                        None => refuse(codes::PRODUCT_UNKNOWN),
                        Some(page) => {
                            at.used = true;
                            st.counter += 1;
                            let vt = format!("VT.stub-{}", st.counter);
                            let exp = now() + 600;
                            st.vts.insert(
                                vt.clone().into_bytes(),
                                (ctx.session_secret().clone(), exp),
                            );
                            ExchangeResponse::Issued {
                                issued_token: Token::new(vt).unwrap(),
                                exp,
                                page,
                            }
                        }
                    },
                }
                .encode()
                .unwrap()
            } else {
                let (r, binder) = match CallRequest::decode(&plain) {
                    Ok(r) => r,
                    Err(_) => return problem(400, "about:blank", "MALFORMED"),
                };
                let refuse = |c: &str| CallResponse::Refused { code: c.into() };
                let seen = !st.seen.insert(r.request_id);
                match st.vts.get(r.issued_token.as_bytes()) {
                    _ if seen => refuse(codes::REPLAYED),
                    None => refuse(codes::VT_INVALID),
                    Some((_, exp)) if *exp < now() => refuse(codes::VT_EXPIRED),
                    Some((secret, _)) if !r.verify_binder(secret, &binder) => {
                        refuse(codes::VT_NOT_BOUND)
                    }
                    Some(_) if r.service != "quote" => refuse(codes::SERVICE_UNKNOWN),
                    Some(_) => {
                        let v: serde_json::Value =
                            serde_json::from_str(&r.body).unwrap_or_default();
                        match v["amount"].as_f64() {
                            Some(a) => CallResponse::Ok {
                                body: serde_json::json!({"amount": a, "rate": 0.031, "interest": a * 0.031}).to_string(),
                            },
                            None => refuse(codes::SERVICE_REJECTED),
                        }
                    }
                }
                .encode()
                .unwrap()
            };
            (
                200,
                channel.response_media_type().into(),
                ctx.seal_response(&answer).unwrap(),
            )
        }
        _ => (
            404,
            "text/html".into(),
            b"<html><body>not found</body></html>".to_vec(),
        ),
    }
}

fn serve(state: Arc<Mutex<State>>, mut s: TcpStream) {
    let Some(req) = read_req(&mut s) else { return };
    if req.method == "OPTIONS" {
        return respond(&mut s, &req.origin, 204, "", b"");
    }
    let mut path = req.path.clone();
    let mut tamper = false;
    if let Some(rest) = path.strip_prefix("/test/slow") {
        std::thread::sleep(Duration::from_secs(3));
        path = rest.to_string();
    } else if let Some(rest) = path.strip_prefix("/test/tamper") {
        tamper = true;
        path = rest.to_string();
    }
    let (status, ct, mut body) = handle(&state, &req, &path);
    if tamper && path == "/v1/exchange" && status == 200 {
        let i = body.len() / 2;
        body[i] ^= 1;
    }
    respond(&mut s, &req.origin, status, &ct, &body);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let listen = args
        .iter()
        .position(|a| a == "--listen")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&listen).expect("bind");
    let state = Arc::new(Mutex::new(State {
        keys: vec![KeyPair::derive(1, b"h5-access stub gateway key 1 ........")],
        ats: HashMap::new(),
        vts: HashMap::new(),
        seen: Default::default(),
        counter: 0,
    }));
    println!(
        "h5-mock-gateway listening on http://{}",
        listener.local_addr().unwrap()
    );
    for s in listener.incoming().flatten() {
        let st = Arc::clone(&state);
        std::thread::spawn(move || serve(st, s));
    }
}
