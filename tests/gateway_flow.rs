//! The `gateway` library in-process, with an injected clock: expiry boundaries, clock skew,
//! the pre-decapsulation error table, and a failing store consuming nothing.
#![cfg(all(feature = "gateway", feature = "partner"))]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use h5_access::client::{first_config, seal_exchange, ClientError, Session};
use h5_access::gateway::{
    Gateway, GatewayConfig, Partner, PartnerRequest, PreDecapError, ReplayStore, StoreError,
    StoreFuture, TicketKey, ACCESS_TOKEN_PATH,
};
use h5_access::partner::PartnerCredentials;
use h5_access::protocol::{
    codes, CallRequest, CallResponse, Channel, ExchangeResponse, KeyPair, Token,
};

const T0: u64 = 1_800_000_000;

/// Runs one gateway future to completion (the in-memory store never waits).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}
const SECRET: &[u8] = b"partner-secret-0123456789abcdef";

fn gateway_with(store: Option<Arc<dyn ReplayStore>>) -> Gateway {
    let mut b = Gateway::builder(
        KeyPair::derive(1, &[1; 32]),
        TicketKey::from_bytes(1, &[2; 32]),
    )
    .config(GatewayConfig::default().with_at_ttl(300).with_vt_ttl(900))
    .partner(Partner::new("p1", SECRET.to_vec(), ["prod-a"]).unwrap())
    .product("prod-a", r#"{"title":"A"}"#)
    .service(
        "echo",
        |_: &h5_access::gateway::CallContext<'_>, body: &str| Ok(body.to_owned()),
    );
    if let Some(s) = store {
        b = b.store(s);
    }
    b.build().unwrap()
}

fn rid(n: u8) -> [u8; 16] {
    [n; 16]
}

/// An exchange for `prod-a` built and opened by the client core (src/client), against `gw`
/// in-process: request id `rid(n)`, the client's `client_time`, the gateway's `now`.
fn exchange(
    gw: &Gateway,
    at: &Token,
    n: u8,
    client_time: u64,
    now: u64,
) -> Result<Session, ClientError> {
    let cfg = first_config(&gw.key_config_list()).unwrap();
    let p = seal_exchange(&cfg, at.as_str(), "prod-a", rid(n), client_time).unwrap();
    let res = block_on(gw.handle_exchange(p.request(), now)).unwrap();
    p.open_exchange(&res.body)
}

/// A call of the `echo` service with body `{}` in `session`, built and opened by the client core.
fn call(
    gw: &Gateway,
    session: &Session,
    n: u8,
    client_time: u64,
    now: u64,
) -> Result<String, ClientError> {
    let cfg = first_config(&gw.key_config_list()).unwrap();
    let p = session
        .seal_call(&cfg, "echo", "{}", rid(n), client_time)
        .unwrap();
    let res = block_on(gw.handle_call(p.request(), now)).unwrap();
    p.open_call(&res.body)
}

/// The gateway's own code of a refused exchange or call (docs/PROTOCOL.md §6).
fn code<T: std::fmt::Debug>(r: &Result<T, ClientError>) -> &str {
    r.as_ref()
        .unwrap_err()
        .gateway_code
        .as_deref()
        .expect("a gateway code")
}

fn at(gw: &Gateway, exp: u64) -> Token {
    gw.mint_access_token("p1", "user", &["prod-a".into()], T0, exp)
        .unwrap()
        .token
}

#[test]
fn at_expiry_honours_the_skew() {
    let gw = gateway_with(None);
    // skew is 30 s: usable until exp + 30 (exclusive).
    let t = at(&gw, T0 + 300);
    assert_eq!(
        code(&exchange(&gw, &t, 1, T0 + 330, T0 + 330)),
        codes::AT_EXPIRED
    );
    assert!(exchange(&gw, &t, 2, T0 + 329, T0 + 329).is_ok());
}

#[test]
fn vt_expiry_and_call_clock_skew() {
    let gw = gateway_with(None);
    let t = at(&gw, T0 + 300);
    let session = exchange(&gw, &t, 1, T0, T0).unwrap();
    assert_eq!(session.exp(), T0 + 900);
    assert_eq!(session.page(), r#"{"title":"A"}"#);
    assert_eq!(call(&gw, &session, 2, T0 + 929, T0 + 929).unwrap(), "{}");
    let r = call(&gw, &session, 3, T0 + 930, T0 + 930);
    assert_eq!(code(&r), codes::VT_EXPIRED);
    assert_eq!(r.unwrap_err().code, h5_access::client::ErrorCode::VtExpired);
    let r = call(&gw, &session, 4, T0 + 1000, T0 + 100);
    assert_eq!(code(&r), codes::CLOCK_SKEW);
}

#[test]
fn ticket_key_rotation_keeps_the_previous_key() {
    let gw = gateway_with(None);
    let t = at(&gw, T0 + 300);
    gw.rotate_ticket_key(TicketKey::from_bytes(2, &[3; 32]))
        .unwrap();
    assert!(exchange(&gw, &t, 1, T0, T0).is_ok());
    let t = at(&gw, T0 + 300);
    gw.rotate_ticket_key(TicketKey::from_bytes(3, &[4; 32]))
        .unwrap();
    gw.rotate_ticket_key(TicketKey::from_bytes(4, &[5; 32]))
        .unwrap();
    assert_eq!(code(&exchange(&gw, &t, 2, T0, T0)), codes::AT_INVALID);
}

struct Broken;
impl ReplayStore for Broken {
    fn insert_if_absent<'a>(&'a self, _: &'a [u8], _: u64, _: u64) -> StoreFuture<'a, bool> {
        Box::pin(std::future::ready(Err(StoreError::Unavailable)))
    }
    fn increment<'a>(&'a self, _: &'a [u8], _: u64, _: u64) -> StoreFuture<'a, u64> {
        Box::pin(std::future::ready(Err(StoreError::Unavailable)))
    }
}

#[test]
fn store_failure_refuses_without_consuming() {
    let broken = gateway_with(Some(Arc::new(Broken)));
    let t = at(&broken, T0 + 300);
    assert_eq!(code(&exchange(&broken, &t, 1, T0, T0)), codes::INTERNAL);
    // Partner requests fail closed too.
    let body = PartnerCredentials::access_token_request_body("u", &["prod-a"]);
    let auth = PartnerCredentials::new("p1", SECRET.to_vec())
        .unwrap()
        .sign(
            "POST",
            ACCESS_TOKEN_PATH,
            body.as_bytes(),
            T0,
            "nonce-0123456789ab",
        )
        .unwrap();
    let req = PartnerRequest {
        method: "POST",
        path: ACCESS_TOKEN_PATH,
        authorization: Some(&auth),
        body: body.as_bytes(),
    };
    assert_eq!(
        block_on(broken.issue_access_token(&req, T0)).unwrap_err(),
        PreDecapError::Internal
    );
}

#[test]
fn partner_round_trip_in_process() {
    let gw = gateway_with(None);
    let creds = PartnerCredentials::new("p1", SECRET.to_vec()).unwrap();
    let body = PartnerCredentials::access_token_request_body("user-1", &["prod-a"]);
    let auth = creds
        .sign(
            "POST",
            ACCESS_TOKEN_PATH,
            body.as_bytes(),
            T0,
            "nonce-0123456789ab",
        )
        .unwrap();
    let req = PartnerRequest {
        method: "POST",
        path: ACCESS_TOKEN_PATH,
        authorization: Some(&auth),
        body: body.as_bytes(),
    };
    let json = block_on(gw.issue_access_token(&req, T0 + 10)).unwrap();
    let at = creds.open_access_token_response(&json).unwrap();
    assert_eq!(at.exp, T0 + 310);
    // Another partner cannot open it.
    let other = PartnerCredentials::new("p1", b"another-secret-0123456789".to_vec()).unwrap();
    assert_eq!(
        other.open_access_token_response(&json).unwrap_err().code(),
        "DECRYPT_FAILED"
    );
    // Signed path matters.
    let req2 = PartnerRequest {
        path: "/other",
        ..req
    };
    assert_eq!(
        block_on(gw.issue_access_token(&req2, T0)).unwrap_err(),
        PreDecapError::PartnerSignature
    );
    // Timestamp window is ±300 s.
    assert_eq!(
        block_on(gw.issue_access_token(&req, T0 + 301)).unwrap_err(),
        PreDecapError::PartnerTimestamp
    );
    assert!(exchange(&gw, &at.token, 1, T0 + 20, T0 + 20).is_ok());
}

#[test]
fn pre_decapsulation_error_table() {
    let mut seen = std::collections::HashSet::new();
    for e in PreDecapError::ALL {
        assert!(seen.insert(e.code()), "duplicate {}", e.code());
        let p: serde_json::Value = serde_json::from_str(&e.problem_json()).unwrap();
        assert_eq!(p["code"], e.code());
        assert_eq!(p["status"], e.status());
        assert_eq!(p["title"], e.title());
        assert!((400..600).contains(&e.status()));
        let expected_type = if *e == PreDecapError::KeyUnknown {
            "https://iana.org/assignments/http-problem-types#ohttp-key"
        } else {
            "about:blank"
        };
        assert_eq!(p["type"], expected_type);
    }
    let table: Vec<(&str, u16)> = PreDecapError::ALL
        .iter()
        .map(|e| (e.code(), e.status()))
        .collect();
    assert_eq!(
        table,
        [
            ("TRUNCATED", 400),
            ("UNSUPPORTED_SUITE", 400),
            ("INVALID_KEY", 400),
            ("DECRYPT_FAILED", 400),
            ("KEY_UNKNOWN", 422),
            ("TOO_LARGE", 413),
            ("BAD_BODY", 400),
            ("UNSUPPORTED_MEDIA_TYPE", 415),
            ("PARTNER_AUTH_MALFORMED", 401),
            ("PARTNER_UNKNOWN", 401),
            ("PARTNER_SIGNATURE", 401),
            ("PARTNER_TIMESTAMP", 401),
            ("PARTNER_NONCE_REUSED", 401),
            ("PARTNER_BAD_REQUEST", 400),
            ("PARTNER_PRODUCT_NOT_ALLOWED", 403),
            ("INTERNAL", 500),
        ]
    );
}

#[test]
fn media_type_check() {
    assert!(Channel::Exchange
        .is_request_media_type(Some("Application/vnd.h5-access.exchange-req; x=1")));
    assert!(Channel::Call.is_request_media_type(Some(" application/vnd.h5-access.call-req ")));
    assert!(!Channel::Call.is_request_media_type(Some("application/vnd.h5-access.exchange-req")));
    assert!(!Channel::Call.is_request_media_type(Some("")));
    assert!(!Channel::Call.is_request_media_type(None));
}

#[test]
fn secrets_do_not_show_in_debug() {
    let p = Partner::new("p1", SECRET.to_vec(), ["prod-a"]).unwrap();
    let c = PartnerCredentials::new("p1", SECRET.to_vec()).unwrap();
    let gw = gateway_with(None);
    for s in [
        format!("{p:?}"),
        format!("{c:?}"),
        format!("{gw:?}"),
        format!("{:?}", TicketKey::from_bytes(1, &[2; 32])),
    ] {
        assert!(!s.contains("partner-secret"), "{s}");
        assert!(!s.contains("[2, 2"), "{s}");
    }
}

/// Finding 1: a request whose `client_time` is at the far edge of the window (`T + 300` sent at
/// `T`) is still acceptable by the window at `T + 600`; its request id must still be remembered.
#[test]
fn replay_at_the_window_edge_is_refused() {
    let gw = gateway_with(None);
    let t = at(&gw, T0 + 300);
    let session = exchange(&gw, &t, 1, T0, T0).unwrap();
    let cfg = first_config(&gw.key_config_list()).unwrap();
    // The same request id and client time each time (new encapsulations, same request).
    let send = |now| {
        let p = session
            .seal_call(&cfg, "echo", "{}", rid(9), T0 + 300)
            .unwrap();
        let res = block_on(gw.handle_call(p.request(), now)).unwrap();
        p.open_call(&res.body)
    };
    assert_eq!(send(T0).unwrap(), "{}");
    for now in [T0 + 599, T0 + 600] {
        assert_eq!(code(&send(now)), codes::REPLAYED, "now = T0 + {}", now - T0);
    }
    assert_eq!(code(&send(T0 + 601)), codes::CLOCK_SKEW);

    // An exchange with a long-lived AT: REPLAYED, not merely saved by AT_USED.
    let long = at(&gw, T0 + 10_000);
    let send = |now| {
        let p = seal_exchange(&cfg, long.as_str(), "prod-a", rid(10), T0 + 300).unwrap();
        let res = block_on(gw.handle_exchange(p.request(), now)).unwrap();
        p.open_exchange(&res.body)
    };
    assert!(send(T0).is_ok());
    assert_eq!(code(&send(T0 + 600)), codes::REPLAYED);

    // A partner nonce signed with ts = T0 + 300.
    let body = PartnerCredentials::access_token_request_body("u", &["prod-a"]);
    let auth = PartnerCredentials::new("p1", SECRET.to_vec())
        .unwrap()
        .sign(
            "POST",
            ACCESS_TOKEN_PATH,
            body.as_bytes(),
            T0 + 300,
            "nonce-edge-0123456789",
        )
        .unwrap();
    let req = PartnerRequest {
        method: "POST",
        path: ACCESS_TOKEN_PATH,
        authorization: Some(&auth),
        body: body.as_bytes(),
    };
    assert!(block_on(gw.issue_access_token(&req, T0)).is_ok());
    for now in [T0 + 599, T0 + 600] {
        assert_eq!(
            block_on(gw.issue_access_token(&req, now)).unwrap_err(),
            PreDecapError::PartnerNonceReused
        );
    }
    assert_eq!(
        block_on(gw.issue_access_token(&req, T0 + 601)).unwrap_err(),
        PreDecapError::PartnerTimestamp
    );
}

/// Finding 2: one session cannot fill the replay store; over its per-minute budget a call is
/// refused with RATE_LIMITED and stores nothing.
#[test]
fn per_vt_call_budget() {
    let store = Arc::new(h5_access::gateway::MemoryStore::with_capacity(1_000));
    let gw = Gateway::builder(
        KeyPair::derive(1, &[1; 32]),
        TicketKey::from_bytes(1, &[2; 32]),
    )
    .config(GatewayConfig::default().with_calls_per_minute(5))
    .partner(Partner::new("p1", SECRET.to_vec(), ["prod-a"]).unwrap())
    .product("prod-a", r#"{"title":"A"}"#)
    .service(
        "echo",
        |_: &h5_access::gateway::CallContext<'_>, body: &str| Ok(body.to_owned()),
    )
    .store(store.clone())
    .build()
    .unwrap();
    assert_eq!(GatewayConfig::default().calls_per_minute, 120);
    let t = at(&gw, T0 + 300);
    let session = exchange(&gw, &t, 1, T0, T0).unwrap();
    for n in 0..5 {
        assert_eq!(call(&gw, &session, 10 + n, T0 + 1, T0 + 1).unwrap(), "{}");
    }
    let before = store.len();
    for n in 0..50 {
        let r = call(&gw, &session, 20 + n, T0 + 2, T0 + 2);
        assert_eq!(code(&r), codes::RATE_LIMITED);
        assert_eq!(
            r.unwrap_err().code,
            h5_access::client::ErrorCode::RateLimited
        );
    }
    assert_eq!(store.len(), before, "refused calls store nothing");
    // Another session is not affected.
    let t2 = at(&gw, T0 + 300);
    let session2 = exchange(&gw, &t2, 2, T0 + 2, T0 + 2).unwrap();
    assert_eq!(call(&gw, &session2, 80, T0 + 2, T0 + 2).unwrap(), "{}");
    // The budget's window is one minute from the first call (T0 + 1).
    assert_eq!(call(&gw, &session, 90, T0 + 61, T0 + 61).unwrap(), "{}");
}

/// Finding 5: rotating to the current ticket key id is refused and changes nothing; a builder
/// with a duplicate previous ticket key id does not build.
#[test]
fn ticket_key_rotation_refuses_a_duplicate_id() {
    let gw = gateway_with(None);
    let t = at(&gw, T0 + 300);
    assert_eq!(
        gw.rotate_ticket_key(TicketKey::from_bytes(1, &[9; 32])),
        Err(h5_access::gateway::ConfigError::DuplicateTicketKeyId(1))
    );
    assert!(exchange(&gw, &t, 1, T0, T0).is_ok());
    let err = Gateway::builder(
        KeyPair::derive(1, &[1; 32]),
        TicketKey::from_bytes(4, &[2; 32]),
    )
    .previous_ticket_key(TicketKey::from_bytes(4, &[3; 32]))
    .build()
    .unwrap_err();
    assert_eq!(
        err,
        h5_access::gateway::ConfigError::DuplicateTicketKeyId(4)
    );
}

/// Finding 6: Debug of plaintext-carrying types prints lengths and non-secret fields only.
#[test]
fn plaintext_does_not_show_in_debug() {
    let call = CallRequest {
        request_id: [0xEE; 16],
        client_time: 5,
        issued_token: Token::new("SECRETVT").unwrap(),
        service: "echo".into(),
        body: r#"{"pin":"1234"}"#.into(),
    };
    let issued = ExchangeResponse::Issued {
        issued_token: Token::new("SECRETVT").unwrap(),
        exp: 77,
        page: r#"{"balance":"99887766"}"#.into(),
    };
    let ok = CallResponse::Ok {
        body: r#"{"pin":"1234"}"#.into(),
    };
    let auth = "H5-HMAC-SHA256 partner=p1, ts=1, nonce=nonce-0123456789ab, sig=SIGSIGSIG";
    let req = PartnerRequest {
        method: "POST",
        path: ACCESS_TOKEN_PATH,
        authorization: Some(auth),
        body: br#"{"subject":"alice@example.com"}"#,
    };
    let claims = h5_access::gateway::AccessClaims {
        id: [0xEE; 16],
        iat: 1,
        exp: 301,
        partner: "p1".into(),
        subject: "alice@example.com".into(),
        products: vec!["prod-a".into()],
    };
    let dbg = [
        format!("{call:?}"),
        format!("{issued:?}"),
        format!("{ok:?}"),
        format!("{req:?}"),
        format!("{claims:?}"),
    ];
    for d in &dbg {
        for secret in [
            "1234",
            "SECRETVT",
            "99887766",
            "SIGSIG",
            "nonce-0123",
            "alice",
            "238, 238",
            "EE",
        ] {
            assert!(!d.contains(secret), "{secret} in {d}");
        }
    }
    // The non-secret fields are still there.
    assert!(
        dbg[0].contains("echo") && dbg[0].contains("body_len: 14"),
        "{}",
        dbg[0]
    );
    assert!(dbg[1].contains("exp: 77"), "{}", dbg[1]);
    assert!(dbg[3].contains(ACCESS_TOKEN_PATH), "{}", dbg[3]);
    assert!(
        dbg[4].contains("prod-a") && dbg[4].contains("exp: 301"),
        "{}",
        dbg[4]
    );
    let refused = CallResponse::Refused {
        code: codes::REPLAYED.into(),
    };
    assert!(format!("{refused:?}").contains("REPLAYED"));
}

fn signed_request_result(
    gw: &Gateway,
    body: &str,
    nonce: &str,
    edit: impl Fn(String) -> String,
) -> Result<Vec<u8>, PreDecapError> {
    let auth = PartnerCredentials::new("p1", SECRET.to_vec())
        .unwrap()
        .sign("POST", ACCESS_TOKEN_PATH, body.as_bytes(), T0, nonce)
        .unwrap();
    let auth = edit(auth);
    block_on(gw.issue_access_token(
        &PartnerRequest {
            method: "POST",
            path: ACCESS_TOKEN_PATH,
            authorization: Some(&auth),
            body: body.as_bytes(),
        },
        T0,
    ))
}

/// Finding 7: a partner body must be a JSON object; serde's derive would take an array.
#[test]
fn partner_body_must_be_a_json_object() {
    let gw = gateway_with(None);
    for (i, body) in [
        r#"["user",["prod-a"]]"#,
        r#" ["user",["prod-a"]]"#,
        "null",
        "7",
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            signed_request_result(&gw, body, &format!("nonce-array-{i:08}"), |a| a).unwrap_err(),
            PreDecapError::PartnerBadRequest,
            "{body}"
        );
    }
    // Duplicate keys are still refused; whitespace before the object is fine.
    let dup = r#"{"subject":"u","subject":"v","products":["prod-a"]}"#;
    assert_eq!(
        signed_request_result(&gw, dup, "nonce-dup-000000000", |a| a).unwrap_err(),
        PreDecapError::PartnerBadRequest
    );
    let ok = "\n {\"subject\":\"u\",\"products\":[\"prod-a\"]}";
    assert!(signed_request_result(&gw, ok, "nonce-ok-0000000000", |a| a).is_ok());
}

/// Finding 8: `ts` with leading zeros is refused (the signature covers the canonical value);
/// the scheme name is case-insensitive.
#[test]
fn partner_ts_is_canonical_and_scheme_case_insensitive() {
    let gw = gateway_with(None);
    let body = PartnerCredentials::access_token_request_body("u", &["prod-a"]);
    let zeros = signed_request_result(&gw, &body, "nonce-zeros-0000000", |a| {
        a.replace(&format!("ts={T0}"), &format!("ts=000{T0}"))
    });
    assert_eq!(zeros.unwrap_err(), PreDecapError::PartnerAuthMalformed);
    let lower = signed_request_result(&gw, &body, "nonce-lower-0000000", |a| {
        a.replace("H5-HMAC-SHA256", "h5-hmac-sha256")
    });
    assert!(lower.is_ok(), "{lower:?}");
}

/// The partner nonce is stored only by a request that succeeds: a request refused for its body
/// or its products leaves the nonce usable (it used to be stored before the body was read).
#[test]
fn refused_partner_request_leaves_the_nonce_unused() {
    let gw = gateway_with(None);
    let nonce = "nonce-kept-00000000";
    let bad = r#"["u",["prod-a"]]"#;
    assert_eq!(
        signed_request_result(&gw, bad, nonce, |a| a).unwrap_err(),
        PreDecapError::PartnerBadRequest
    );
    let other = PartnerCredentials::access_token_request_body("u", &["prod-z"]);
    assert_eq!(
        signed_request_result(&gw, &other, nonce, |a| a).unwrap_err(),
        PreDecapError::PartnerProductNotAllowed
    );
    let ok = PartnerCredentials::access_token_request_body("u", &["prod-a"]);
    assert!(signed_request_result(&gw, &ok, nonce, |a| a).is_ok());
    assert_eq!(
        signed_request_result(&gw, &ok, nonce, |a| a).unwrap_err(),
        PreDecapError::PartnerNonceReused
    );
}

/// Partner credentials need the same ≥ 16-byte secret as the gateway's `Partner::new`.
#[test]
fn partner_credentials_refuse_a_short_secret() {
    use h5_access::partner::{PartnerError, MIN_SECRET_LEN};
    assert_eq!(MIN_SECRET_LEN, 16);
    for len in [0, 1, 15] {
        assert_eq!(
            PartnerCredentials::new("p1", vec![7u8; len]).unwrap_err(),
            PartnerError::WeakSecret
        );
        assert!(Partner::new("p1", vec![7u8; len], ["prod-a"]).is_err());
    }
    assert!(PartnerCredentials::new("p1", vec![7u8; 16]).is_ok());
    assert!(Partner::new("p1", vec![7u8; 16], ["prod-a"]).is_ok());
    assert_eq!(PartnerError::WeakSecret.code(), "WEAK_SECRET");
}

/// `Token`'s `==` (constant-time) is still an equality.
#[test]
fn token_equality() {
    let a = Token::new(b"abc.def".to_vec()).unwrap();
    assert_eq!(a, Token::new(b"abc.def".to_vec()).unwrap());
    assert_ne!(a, Token::new(b"abc.deg".to_vec()).unwrap());
    assert_ne!(a, Token::new(b"abc.de".to_vec()).unwrap());
    assert_ne!(a, Token::new(b"abc.defg".to_vec()).unwrap());
}
