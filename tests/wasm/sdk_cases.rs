// The client core's cases (src/client), shared by tests/client_core.rs (native) and
// tests/sdk_wasm.rs (wasm in Node.js, Chromium, Firefox ESR and WebKitGTK): the same cases run
// in every one. Sealing and opening against an in-process gateway end (the
// protocol core's decapsulation), answer reading, the retry rule through a scripted
// `Transport`, the error codes. The SDK's JavaScript surface (gloo-net fetch, JSON, the classes)
// is tested by tests/js/ and tests/browser/.

use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use h5_access::client::{
    body_cap, checked_request_id, first_config, random_request_id, reason, is_media_type, max_age, read_answer, sanitize_code, seal_exchange, Answer, Argument, Client,
    ClientError, ErrorCode, HttpAnswer, HttpRequest, Method, Pending, Problem, Transport,
    MAX_ANSWER_LEN, MAX_EXP, MAX_MAX_AGE, MAX_PROBLEM_LEN, STALE_KEY_PROBLEM_TYPE,
};
use h5_access::protocol::{
    codes, decapsulate_request, CallRequest, CallResponse, Channel, ExchangeRequest,
    ExchangeResponse, KeyConfig, KeyPair, ServerContext, Token, MAX_RESPONSE_LEN,
};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as case;
#[cfg(not(target_arch = "wasm32"))]
use core::prelude::v1::test as case;

const NOW: u64 = 1_790_000_000;
const RID: [u8; 16] = [0x42; 16];

fn gateway_key() -> KeyPair {
    KeyPair::derive(7, b"sdk node suite gateway key material......")
}

fn config() -> KeyConfig {
    gateway_key().config().clone()
}

fn keys() -> Vec<u8> {
    KeyConfig::encode_list(&[config()])
}

fn code<T>(r: Result<T, ClientError>) -> ErrorCode {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.code,
    }
}

fn exchange_request(product: &str) -> Pending {
    seal_exchange(&config(), "AT.abc", product, RID, NOW).unwrap()
}

/// The gateway's half of an exchange: decapsulate, check, answer `response`.
fn gateway_exchange(p: &Pending) -> (ExchangeRequest, ServerContext) {
    let (plain, ctx) =
        decapsulate_request(&[gateway_key()], Channel::Exchange, p.request()).unwrap();
    (ExchangeRequest::decode(&plain).unwrap(), ctx)
}

fn issued(ctx: &ServerContext, page: &str) -> Vec<u8> {
    let r = ExchangeResponse::Issued {
        issued_token: Token::new(b"VT.issued".to_vec()).unwrap(),
        exp: 1_790_000_900,
        page: page.to_owned(),
    };
    ctx.seal_response(&r.encode().unwrap()).unwrap()
}

#[case]
fn exchange_and_call_round_trip() {
    let p = exchange_request("wealth-01");
    let http = p.http_request();
    assert_eq!(http.method, Method::Post);
    assert_eq!(http.path, "/v1/exchange");
    assert_eq!(
        http.content_type,
        Some("application/vnd.h5-access.exchange-req")
    );
    assert_eq!(http.accept, "application/vnd.h5-access.exchange-res");
    assert_eq!(http.body, p.request());
    assert_eq!(
        &p.request()[..7],
        &[7, 0x00, 0x20, 0x00, 0x01, 0x00, 0x03],
        "hdr"
    );
    let (req, ctx) = gateway_exchange(&p);
    assert_eq!(req.subject_token.as_bytes(), b"AT.abc");
    assert_eq!(req.product, "wealth-01");
    assert_eq!(req.client_time, NOW);
    assert_eq!(req.request_id, RID);
    let mut session = p.open_exchange(&issued(&ctx, r#"{"title":"T"}"#)).unwrap();
    assert_eq!(session.exp(), 1_790_000_900);
    assert_eq!(session.page(), r#"{"title":"T"}"#);
    assert_eq!(session.take_page(), r#"{"title":"T"}"#);
    assert_eq!(session.take_page(), "", "taken once");

    // A call: carries the VT, bound to the exchange's session secret.
    let call = session
        .seal_call(&config(), "quote", r#"{"a":1}"#, [1; 16], NOW + 5)
        .unwrap();
    let http = call.http_request();
    assert_eq!(http.path, "/v1/call");
    assert_eq!(http.content_type, Some("application/vnd.h5-access.call-req"));
    assert_eq!(http.accept, "application/vnd.h5-access.call-res");
    let (plain, cctx) =
        decapsulate_request(&[gateway_key()], Channel::Call, call.request()).unwrap();
    let (creq, binder) = CallRequest::decode(&plain).unwrap();
    assert_eq!(creq.issued_token.as_bytes(), b"VT.issued");
    assert_eq!(
        (creq.service.as_str(), creq.body.as_str()),
        ("quote", r#"{"a":1}"#)
    );
    assert_eq!((creq.request_id, creq.client_time), ([1; 16], NOW + 5));
    assert!(creq.verify_binder(ctx.session_secret(), &binder), "bound");
    let answer = CallResponse::Ok {
        body: r#"{"ok":true}"#.into(),
    };
    let sealed = cctx.seal_response(&answer.encode().unwrap()).unwrap();
    assert_eq!(call.open_call(&sealed).unwrap(), r#"{"ok":true}"#);

    // Each request is a new encapsulation.
    let a = session.seal_call(&config(), "echo", "1", RID, NOW).unwrap();
    let b = session.seal_call(&config(), "echo", "1", RID, NOW).unwrap();
    assert_ne!(a.request()[7..39], b.request()[7..39], "fresh enc");
}

#[case]
fn tampered_or_truncated_answers() {
    let p = exchange_request("wealth-01");
    let (_, ctx) = gateway_exchange(&p);
    let mut answer = issued(&ctx, "{}");
    *answer.last_mut().unwrap() ^= 1;
    assert_eq!(code(p.open_exchange(&answer)), ErrorCode::DecryptFailed);

    let p = exchange_request("wealth-01");
    assert_eq!(code(p.open_exchange(&[0u8; 47])), ErrorCode::BadResponse);
    // An answer for another request does not open.
    let p2 = exchange_request("wealth-01");
    let (_, ctx2) = gateway_exchange(&p2);
    let p3 = exchange_request("wealth-01");
    assert_eq!(
        code(p3.open_exchange(&issued(&ctx2, "{}"))),
        ErrorCode::DecryptFailed
    );
    // A plaintext that does not decode.
    let p = exchange_request("wealth-01");
    let (_, ctx) = gateway_exchange(&p);
    assert_eq!(
        code(p.open_exchange(&ctx.seal_response(&[1, 9]).unwrap())),
        ErrorCode::BadResponse
    );
}

#[case]
fn answers_over_the_protocol_maximum_are_refused_before_decrypting() {
    // 32 + (1 + 1 + 8 + 2 + 2048 + 4 + 524288) + 16: docs/PROTOCOL.md §4.2.
    assert_eq!(MAX_RESPONSE_LEN, 526_400);
    assert_eq!(MAX_ANSWER_LEN, 526_400);
    assert_eq!(MAX_PROBLEM_LEN, 16_384);
    assert_eq!((body_cap(200), body_cap(422)), (526_400, 16_384));
    let p = exchange_request("wealth-01");
    assert_eq!(
        code(p.open_exchange(&vec![0u8; MAX_RESPONSE_LEN + 1])),
        ErrorCode::BadResponse
    );
    // At the maximum it is decrypted (and fails to authenticate).
    let p = exchange_request("wealth-01");
    assert_eq!(
        code(p.open_exchange(&vec![0u8; MAX_RESPONSE_LEN])),
        ErrorCode::DecryptFailed
    );
    // A full-size issued answer (2048-byte VT, 512 KiB page) is exactly the maximum and opens.
    let p = exchange_request("wealth-01");
    let (_, ctx) = gateway_exchange(&p);
    let r = ExchangeResponse::Issued {
        issued_token: Token::new(vec![b'V'; 2048]).unwrap(),
        exp: 1_790_000_900,
        page: "x".repeat(512 * 1024),
    };
    let sealed = ctx.seal_response(&r.encode().unwrap()).unwrap();
    assert_eq!(sealed.len(), MAX_RESPONSE_LEN);
    assert_eq!(p.open_exchange(&sealed).unwrap().exp(), 1_790_000_900);
}

#[case]
fn a_vt_exp_of_0_or_after_year_9999_is_bad_response() {
    assert_eq!(MAX_EXP, 253_402_300_799, "9999-12-31T23:59:59Z");
    for (exp, ok) in [
        (0, false),
        (1, true),
        (MAX_EXP, true),
        (MAX_EXP + 1, false),
        (u64::MAX, false),
    ] {
        let p = exchange_request("wealth-01");
        let (_, ctx) = gateway_exchange(&p);
        let r = ExchangeResponse::Issued {
            issued_token: Token::new(b"VT.issued".to_vec()).unwrap(),
            exp,
            page: "{}".into(),
        };
        let opened = p.open_exchange(&ctx.seal_response(&r.encode().unwrap()).unwrap());
        if ok {
            assert_eq!(opened.unwrap().exp(), exp);
        } else {
            assert_eq!(code(opened), ErrorCode::BadResponse, "exp {exp}");
        }
    }
}

#[case]
fn refusals_give_the_code_and_the_gateway_code() {
    let p = exchange_request("card-03");
    let (_, ctx) = gateway_exchange(&p);
    let refused = ExchangeResponse::Refused {
        code: codes::PRODUCT_NOT_ALLOWED.into(),
    };
    let sealed = ctx.seal_response(&refused.encode().unwrap()).unwrap();
    let e = p.open_exchange(&sealed).unwrap_err();
    assert_eq!(e.code, ErrorCode::AtRejected);
    assert_eq!(e.gateway_code.as_deref(), Some("PRODUCT_NOT_ALLOWED"));
    assert_eq!((e.status, e.argument), (None, None));
}

#[case]
fn a_rate_limited_call_is_rate_limited() {
    let p = exchange_request("wealth-01");
    let (_, ctx) = gateway_exchange(&p);
    let session = p.open_exchange(&issued(&ctx, "{}")).unwrap();
    let call = session.seal_call(&config(), "quote", "{}", RID, NOW).unwrap();
    let (_, cctx) = decapsulate_request(&[gateway_key()], Channel::Call, call.request()).unwrap();
    let refused = CallResponse::Refused {
        code: codes::RATE_LIMITED.into(),
    };
    let sealed = cctx.seal_response(&refused.encode().unwrap()).unwrap();
    let e = call.open_call(&sealed).unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited);
    assert_eq!(e.gateway_code.as_deref(), Some("RATE_LIMITED"));
    assert!(e.retryable, "a rate-limited call may be sent again");
}

#[case]
fn an_all_zero_request_id_is_unsupported_browser() {
    // What a `crypto.getRandomValues` polyfill that returns its buffer untouched gives.
    assert_eq!(code(checked_request_id([0; 16])), ErrorCode::UnsupportedBrowser);
    let mut one = [0u8; 16];
    one[15] = 1;
    assert_eq!(checked_request_id(one).unwrap(), one);
    let a = random_request_id().unwrap();
    assert_ne!(a, [0; 16]);
    assert_ne!(a, random_request_id().unwrap(), "fresh each time");
}

#[case]
fn bad_inputs_give_their_codes() {
    let c = config();
    let e = seal_exchange(&c, "AT with space", "wealth-01", RID, NOW).unwrap_err();
    assert_eq!((e.code, e.argument), (ErrorCode::AtRejected, None));
    assert_eq!(
        code(seal_exchange(&c, &"A".repeat(2049), "wealth-01", RID, NOW)),
        ErrorCode::AtRejected
    );
    for product in ["bad product!", "", &"p".repeat(65)] {
        let e = seal_exchange(&c, "AT.x", product, RID, NOW).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert_eq!(e.argument, Some(Argument::Product), "{product:?}");
    }
    let p = exchange_request("wealth-01");
    let (_, ctx) = gateway_exchange(&p);
    let session = p.open_exchange(&issued(&ctx, "{}")).unwrap();
    let e = session.seal_call(&c, "no such!", "{}", RID, NOW).unwrap_err();
    assert_eq!(e.argument, Some(Argument::Service));
    let big = "1".repeat(512 * 1024 + 1);
    let e = session.seal_call(&c, "echo", &big, RID, NOW).unwrap_err();
    assert_eq!(
        (e.code, e.argument),
        (ErrorCode::InvalidArgument, Some(Argument::Body))
    );
    assert!(session
        .seal_call(&c, "echo", &big[1..], RID, NOW)
        .is_ok(), "512 KiB is sealed");
}

#[case]
fn key_config_input() {
    let a = KeyPair::derive(7, b"key config input test key material......");
    let b = KeyPair::derive(8, b"second key config input test key material");
    let list = KeyConfig::encode_list(&[a.config().clone(), b.config().clone()]);
    assert_eq!(first_config(&list).unwrap().key_id(), 7);
    // A single RFC 9458 §3.1 configuration is accepted too.
    assert_eq!(first_config(&b.config().encode()).unwrap().key_id(), 8);
    assert_eq!(first_config(&[]).unwrap_err().code, ErrorCode::KeyConfig);
    assert_eq!(
        first_config(&[0, 9, 1]).unwrap_err().code,
        ErrorCode::KeyConfig
    );
}

#[case]
fn every_gateway_code_maps() {
    let expect = |c: &str| match c {
        codes::AT_INVALID | codes::PRODUCT_NOT_ALLOWED | codes::PRODUCT_UNKNOWN => {
            ErrorCode::AtRejected
        }
        codes::AT_EXPIRED => ErrorCode::AtExpired,
        codes::AT_USED => ErrorCode::AtUsed,
        codes::VT_EXPIRED => ErrorCode::VtExpired,
        codes::VT_INVALID | codes::VT_NOT_BOUND => ErrorCode::VtRejected,
        codes::REPLAYED => ErrorCode::Replayed,
        codes::CLOCK_SKEW => ErrorCode::ClockSkew,
        codes::SERVICE_UNKNOWN | codes::SERVICE_REJECTED => ErrorCode::ServiceError,
        codes::RATE_LIMITED => ErrorCode::RateLimited,
        codes::MALFORMED | codes::UNSUPPORTED_VERSION | codes::INTERNAL => ErrorCode::GatewayError,
        other => panic!("gateway code {other} has no expected SDK code in this test"),
    };
    for &c in codes::ALL {
        let e = ClientError::from_gateway_code(c);
        assert_eq!(e.code, expect(c), "{c}");
        assert_eq!(e.gateway_code.as_deref(), Some(c));
        // Decrypted: the gateway acted on the request; only a rate-limited call may be resent.
        assert_eq!(e.retryable, c == codes::RATE_LIMITED, "{c} retryable");
        assert_eq!(e.reason, None, "{c} reason");
    }
    // A code from a newer gateway is still an error, with its code visible.
    let e = ClientError::from_gateway_code("SOMETHING_NEW");
    assert_eq!(e.code, ErrorCode::GatewayError);
    assert_eq!(e.gateway_code.as_deref(), Some("SOMETHING_NEW"));
    // Arbitrary text is never passed on.
    assert_eq!(ClientError::from_gateway_code("<script>").gateway_code, None);
    assert_eq!(sanitize_code(&"A".repeat(65)), None);
    assert_eq!(sanitize_code("lower"), None);
    assert_eq!(sanitize_code("A_1").as_deref(), Some("A_1"));
}

#[case]
fn every_code_and_argument_is_in_the_types_and_the_readme_and_the_js_has_only_its_own() {
    let js = include_str!("../../js/index.js");
    let types = include_str!("../../js/index.d.ts");
    let readme = include_str!("../../README.md");
    for c in ErrorCode::ALL {
        let s = c.as_str();
        assert_eq!(ErrorCode::from_code(s), Some(*c));
        // The loader raises these three itself, before or without the wasm; every other
        // H5AccessError is made of the wasm's fields (src/sdk ErrorFields): no code table in JS.
        let own = matches!(
            c,
            ErrorCode::AtMissing | ErrorCode::UnsupportedBrowser | ErrorCode::LoadFailed
        );
        assert_eq!(
            js.contains(&format!("  {s}: \"{}\"", c.message())),
            own,
            "{s}: in js/index.js OWN with the same message iff the loader raises it"
        );
        assert_eq!(js.contains(c.message()), own, "{s}'s message in js/index.js");
        assert!(types.contains(&format!("\"{s}\"")), "{s} in js/index.d.ts");
        assert!(readme.contains(&format!("| `{s}`")), "{s} in the README's error table");
    }
    assert_eq!(ErrorCode::from_code("WHATEVER"), None);
    for a in Argument::ALL {
        let s = a.as_str();
        assert_eq!(Argument::parse(s), Some(*a));
        assert!(types.contains(&format!("\"{s}\"")), "{s} in js/index.d.ts");
    }
}

// ---- reading answers ----

fn answer(status: u16, content_type: &str, body: Option<&[u8]>) -> HttpAnswer {
    HttpAnswer {
        status,
        content_type: content_type.into(),
        body: body.map(<[u8]>::to_vec),
        cache_control: String::new(),
        sent_at: None,
    }
}

/// A problem parser that sees `{"type": T, "code": C}` in a body "T C" (or nothing).
fn problem(body: &[u8]) -> Problem {
    let text = core::str::from_utf8(body).unwrap_or_default();
    let mut parts = text.splitn(2, ' ');
    Problem {
        problem_type: parts.next().filter(|s| !s.is_empty()).map(Into::into),
        code: parts.next().map(Into::into),
    }
}

const EX_RES: &str = "application/vnd.h5-access.exchange-res";
const PROBLEM: &str = "application/problem+json";

#[case]
fn answers_are_read_by_status_media_type_and_problem() {
    let read = |a: HttpAnswer| read_answer(a, EX_RES, &problem);
    assert_eq!(
        read(answer(200, EX_RES, Some(b"x"))).unwrap(),
        Answer::Body(b"x".to_vec())
    );
    // Parameters and case are ignored.
    assert_eq!(
        read(answer(200, " Application/VND.h5-access.exchange-res ; q=1", Some(b"")))
            .unwrap(),
        Answer::Body(Vec::new())
    );
    // The media type's essence: SP and HTAB around it and any parameters ignored, case too.
    assert!(is_media_type("\tApplication/Problem+JSON \t; charset=utf-8", PROBLEM));
    assert!(is_media_type(PROBLEM, PROBLEM));
    for other in ["", ";", "application/problem+jsonx", "application/problem", "x application/problem+json"] {
        assert!(!is_media_type(other, PROBLEM), "{other:?}");
    }
    // A 200 of another media type (a captive portal): not the gateway's, so retryable; over the
    // cap in the right media type: not retryable.
    for a in [
        answer(200, "text/html", Some(b"<html>")),
        answer(200, "", Some(b"x")),
        answer(200, "application/vnd.h5-access.exchange-res2", Some(b"x")),
    ] {
        let e = read(a).unwrap_err();
        assert_eq!((e.code, e.status), (ErrorCode::BadResponse, None));
        assert_eq!((e.retryable, e.reason), (true, Some(reason::NOT_GATEWAY)));
    }
    let e = read(answer(200, EX_RES, None)).unwrap_err();
    assert_eq!((e.code, e.retryable, e.reason), (ErrorCode::BadResponse, false, None));
    // Any other status is before decapsulation: retryable; without a problem document's code
    // (a proxy's 502 page), reason NOT_GATEWAY.
    let e = read(answer(502, "text/html", Some(b"<html>Bad Gateway"))).unwrap_err();
    assert_eq!((e.code, e.status), (ErrorCode::HttpStatus, Some(502)));
    assert_eq!((e.retryable, e.reason), (true, Some(reason::NOT_GATEWAY)));
    // The stale-key signal: 422 and the ohttp-key problem type, nothing else.
    let stale = format!("{STALE_KEY_PROBLEM_TYPE} KEY_UNKNOWN");
    assert_eq!(
        read(answer(422, PROBLEM, Some(stale.as_bytes()))).unwrap(),
        Answer::StaleKey
    );
    for (status, ty) in [(400, PROBLEM), (422, "text/html"), (422, "application/json")] {
        let e = read(answer(status, ty, Some(stale.as_bytes()))).unwrap_err();
        assert_eq!(e.code, ErrorCode::HttpStatus);
        assert_eq!(e.status, Some(status));
    }
    // HTTP_STATUS with the gateway's code only from a problem document, and only a code.
    let e = read(answer(400, PROBLEM, Some(b"about:blank MALFORMED"))).unwrap_err();
    assert_eq!(e.gateway_code.as_deref(), Some("MALFORMED"));
    assert_eq!((e.retryable, e.reason), (true, None));
    let e = read(answer(400, "text/html", Some(b"about:blank MALFORMED"))).unwrap_err();
    assert_eq!(e.gateway_code, None);
    let e = read(answer(400, PROBLEM, Some(b"about:blank <script>"))).unwrap_err();
    assert_eq!(e.gateway_code, None);
    // An error body over its cap: the status alone.
    let e = read(answer(503, PROBLEM, None)).unwrap_err();
    assert_eq!((e.code, e.status, e.gateway_code), (ErrorCode::HttpStatus, Some(503), None));
}

// ---- the flow: the one stale-key retry ----

/// A scripted gateway: each request gets the next answer; every request is recorded.
#[derive(Debug)]
struct Script {
    answers: RefCell<Vec<Result<HttpAnswer, ClientError>>>,
    seen: RefCell<Vec<HttpRequest>>,
    /// The scripted clock, seconds.
    now: Cell<u64>,
}

impl Script {
    fn new(mut answers: Vec<Result<HttpAnswer, ClientError>>) -> Self {
        answers.reverse();
        Self {
            answers: RefCell::new(answers),
            seen: RefCell::new(Vec::new()),
            now: Cell::new(NOW),
        }
    }

    fn seen(&self) -> Vec<(Method, &'static str)> {
        self.seen.borrow().iter().map(|r| (r.method, r.path)).collect()
    }
}

impl Transport for Script {
    async fn send(&self, request: HttpRequest) -> Result<HttpAnswer, ClientError> {
        self.seen.borrow_mut().push(request);
        self.answers
            .borrow_mut()
            .pop()
            .unwrap_or(Err(ClientError::new(ErrorCode::Network)))
    }

    fn parse_problem(&self, body: &[u8]) -> Problem {
        problem(body)
    }

    fn now_seconds(&self) -> u64 {
        self.now.get()
    }
}

/// Polls a future that never waits (the scripted transport answers at once).
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the scripted flow waited"),
    }
}

fn stale() -> Result<HttpAnswer, ClientError> {
    let body = format!("{STALE_KEY_PROBLEM_TYPE} KEY_UNKNOWN");
    Ok(answer(422, PROBLEM, Some(body.as_bytes())))
}

fn keys_answer(key: &KeyPair) -> Result<HttpAnswer, ClientError> {
    let list = KeyConfig::encode_list(&[key.config().clone()]);
    Ok(answer(200, "application/ohttp-keys", Some(&list)))
}

#[case]
fn connect_fetches_the_keys_and_reads_the_answer() {
    let script = Script::new(vec![keys_answer(&gateway_key())]);
    let client = ready(Client::connect(script)).unwrap();
    assert_eq!(client.key_config(), config());
    assert_eq!(client.transport().seen(), [(Method::Get, "/v1/keys")]);
    assert_eq!(client.transport().seen.borrow()[0], HttpRequest::keys());
    assert_eq!(
        HttpRequest::keys().accept,
        "application/ohttp-keys"
    );
    // A stale-key signal in answer to the keys request itself, or a bad list: KEY_CONFIG.
    for a in [stale(), Ok(answer(200, "application/ohttp-keys", Some(&[0, 9, 1])))] {
        let e = ready(Client::connect(Script::new(vec![a]))).unwrap_err();
        assert_eq!(e.code, ErrorCode::KeyConfig);
    }
    let e = ready(Client::connect(Script::new(vec![Err(ErrorCode::Timeout.into())]))).unwrap_err();
    assert_eq!(e.code, ErrorCode::Timeout);
    assert_eq!(code(Client::with_key_config(Script::new(vec![]), &[1])), ErrorCode::KeyConfig);
}

#[case]
fn a_stale_key_signal_refreshes_once_and_retries_once() {
    let new_key = KeyPair::derive(9, b"the rotated gateway key material........");
    let script = Script::new(vec![stale(), keys_answer(&new_key), stale()]);
    let client = Client::with_key_config(script, &keys()).unwrap();
    let e = ready(client.exchange("AT.x", "wealth-01")).unwrap_err();
    assert_eq!((e.code, e.status), (ErrorCode::KeyConfig, None));
    assert_eq!(
        client.transport().seen(),
        [
            (Method::Post, "/v1/exchange"),
            (Method::Get, "/v1/keys"),
            (Method::Post, "/v1/exchange"),
        ]
    );
    // The retry was sealed to the refreshed key, in a new encapsulation.
    assert_eq!(client.key_config().key_id(), 9);
    let seen = client.transport().seen.borrow();
    assert_eq!((seen[0].body[0], seen[2].body[0]), (7, 9), "key ids");
    assert_ne!(seen[0].body[7..39], seen[2].body[7..39], "new enc");
}

#[case]
fn a_refreshed_exchange_opens() {
    let new_key = KeyPair::derive(9, b"the rotated gateway key material........");
    // The gateway answers the retry, sealed under the new key.
    struct Gateway<'a> {
        inner: Script,
        key: &'a KeyPair,
    }
    impl Transport for Gateway<'_> {
        async fn send(&self, request: HttpRequest) -> Result<HttpAnswer, ClientError> {
            if self.inner.seen.borrow().len() == 2 {
                self.inner.seen.borrow_mut().push(request.clone());
                let (plain, ctx) =
                    decapsulate_request(core::slice::from_ref(self.key), Channel::Exchange, &request.body)
                        .unwrap();
                assert_eq!(ExchangeRequest::decode(&plain).unwrap().product, "wealth-01");
                return Ok(answer(200, EX_RES, Some(&issued(&ctx, r#"{"t":1}"#))));
            }
            self.inner.send(request).await
        }
        fn parse_problem(&self, body: &[u8]) -> Problem {
            problem(body)
        }
        fn now_seconds(&self) -> u64 {
            NOW
        }
    }
    let gw = Gateway {
        inner: Script::new(vec![stale(), keys_answer(&new_key)]),
        key: &new_key,
    };
    let client = Client::with_key_config(gw, &keys()).unwrap();
    let session = ready(client.exchange("AT.x", "wealth-01")).unwrap();
    assert_eq!(session.page(), r#"{"t":1}"#);
    assert_eq!(client.transport().inner.seen.borrow().len(), 3);
}

#[case]
fn nothing_else_is_retried() {
    for a in [
        Err(ClientError::new(ErrorCode::Network)),
        Err(ClientError::new(ErrorCode::Timeout)),
        Ok(answer(500, PROBLEM, Some(b"about:blank INTERNAL"))),
        Ok(answer(422, PROBLEM, Some(b"about:blank KEY_UNKNOWN"))),
        Ok(answer(200, "text/html", Some(b"<html>"))),
        Ok(answer(200, EX_RES, Some(&[0u8; 64]))),
    ] {
        let expected = match &a {
            Err(e) => e.code,
            Ok(x) if x.status == 200 && x.content_type == EX_RES => ErrorCode::DecryptFailed,
            Ok(x) if x.status == 200 => ErrorCode::BadResponse,
            Ok(_) => ErrorCode::HttpStatus,
        };
        let client = Client::with_key_config(Script::new(vec![a]), &keys()).unwrap();
        assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), expected);
        assert_eq!(client.transport().seen().len(), 1, "{expected:?}: one request");
    }
    // Refused locally: no request at all.
    let client = Client::with_key_config(Script::new(vec![]), &keys()).unwrap();
    assert_eq!(code(ready(client.exchange("AT. x", "wealth-01"))), ErrorCode::AtRejected);
    let e = ready(client.exchange("AT.x", "no such product")).unwrap_err();
    assert_eq!(e.argument, Some(Argument::Product));
    assert!(client.transport().seen().is_empty());
}

// ---- the key list's max-age (docs/PROTOCOL.md §3.3) ----

/// A key list answer for `key` served with `Cache-Control: cache_control`.
fn keys_cached(key: &KeyPair, cache_control: &str) -> Result<HttpAnswer, ClientError> {
    let mut a = keys_answer(key)?;
    a.cache_control = cache_control.into();
    Ok(a)
}

const GET_KEYS: (Method, &str) = (Method::Get, "/v1/keys");
const POST_EXCHANGE: (Method, &str) = (Method::Post, "/v1/exchange");

#[case]
fn max_age_is_read_from_cache_control() {
    for (header, expected) in [
        ("public, max-age=300", 300),
        ("max-age=300", 300),
        ("MAX-AGE = 300 , public", 300),
        ("max-age=\"60\"", 60),
        ("max-age=0", 0),
        ("max-age=60, max-age=1", 60),
        ("max-age=99999999999999999999999", MAX_MAX_AGE),
        ("", 0),
        ("public", 0),
        ("s-maxage=300", 0),
        ("max-age=", 0),
        ("max-age=-1", 0),
        ("max-age=1.5", 0),
        ("max-age=abc, max-age=300", 0),
        ("max-age=300, no-store", 0),
        ("No-Cache, max-age=300", 0),
        ("max-age=300, no-cache=\"set-cookie\"", 0),
    ] {
        assert_eq!(max_age(header), expected, "{header:?}");
    }
    assert_eq!(MAX_MAX_AGE, 2_147_483_648);
}

#[case]
fn a_fetched_list_is_refetched_once_when_older_than_its_max_age() {
    let rotated = KeyPair::derive(9, b"the rotated gateway key material........");
    // Fetched at NOW with max-age=300.
    let script = Script::new(vec![
        keys_cached(&gateway_key(), "public, max-age=300"),
        Err(ClientError::new(ErrorCode::Network)), // the exchange at NOW + 299
        keys_cached(&rotated, "public, max-age=300"), // at NOW + 301: refetched first
        Err(ClientError::new(ErrorCode::Network)),
        Err(ClientError::new(ErrorCode::Network)), // NOW + 301 again: fresh from NOW + 301
    ]);
    let client = ready(Client::connect(script)).unwrap();
    client.transport().now.set(NOW + 299);
    assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
    assert_eq!(client.transport().seen(), [GET_KEYS, POST_EXCHANGE]);
    assert_eq!(client.transport().seen.borrow()[1].body[0], 7, "sealed to the first list");
    client.transport().now.set(NOW + 301);
    assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
    assert_eq!(
        client.transport().seen(),
        [GET_KEYS, POST_EXCHANGE, GET_KEYS, POST_EXCHANGE]
    );
    assert_eq!(client.transport().seen.borrow()[3].body[0], 9, "sealed to the refetched list");
    assert_eq!(client.key_config().key_id(), 9);
    // The refetched list counts from its own fetch (NOW + 301): no second refetch.
    assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
    assert_eq!(client.transport().seen().len(), 5);
    assert_eq!(client.transport().seen()[4], POST_EXCHANGE);
}

#[case]
fn a_list_is_stale_at_exactly_its_max_age_and_no_cache_is_zero() {
    for (cache_control, later, refetched) in [
        ("max-age=300", 300, true),
        ("max-age=300", 0, false),
        ("max-age=0", 0, true),
        ("", 0, true),
        ("max-age=300, no-store", 1, true),
    ] {
        let mut answers = vec![keys_cached(&gateway_key(), cache_control)];
        if refetched {
            answers.push(keys_cached(&gateway_key(), cache_control));
        }
        answers.push(Err(ClientError::new(ErrorCode::Network)));
        let client = ready(Client::connect(Script::new(answers))).unwrap();
        client.transport().now.set(NOW + later);
        assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
        let expected: &[(Method, &str)] = if refetched {
            &[GET_KEYS, GET_KEYS, POST_EXCHANGE]
        } else {
            &[GET_KEYS, POST_EXCHANGE]
        };
        assert_eq!(client.transport().seen(), expected, "{cache_control:?} at +{later}");
    }
    // A clock that went back before the fetch: refetched.
    let script = Script::new(vec![
        keys_cached(&gateway_key(), "max-age=300"),
        keys_cached(&gateway_key(), "max-age=300"),
        Err(ClientError::new(ErrorCode::Network)),
    ]);
    let client = ready(Client::connect(script)).unwrap();
    client.transport().now.set(NOW - 1);
    assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
    assert_eq!(client.transport().seen(), [GET_KEYS, GET_KEYS, POST_EXCHANGE]);
}

#[case]
fn a_prefetched_list_counts_from_when_it_was_sent() {
    // The loader sent the keys request at NOW - 10; the client took the answer at NOW.
    let mut early = keys_cached(&gateway_key(), "max-age=300").unwrap();
    early.sent_at = Some(NOW - 10);
    let script = Script::new(vec![
        Ok(early.clone()),
        Err(ClientError::new(ErrorCode::Network)),
        keys_cached(&gateway_key(), "max-age=300"),
        Err(ClientError::new(ErrorCode::Network)),
    ]);
    let client = ready(Client::connect(script)).unwrap();
    client.transport().now.set(NOW + 289);
    assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
    assert_eq!(client.transport().seen(), [GET_KEYS, POST_EXCHANGE]);
    client.transport().now.set(NOW + 290);
    assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
    assert_eq!(
        client.transport().seen(),
        [GET_KEYS, POST_EXCHANGE, GET_KEYS, POST_EXCHANGE]
    );
    // A `sent_at` after the time `send` was called is not believed.
    early.sent_at = Some(NOW + 1_000);
    let script = Script::new(vec![
        Ok(early),
        keys_cached(&gateway_key(), "max-age=300"),
        Err(ClientError::new(ErrorCode::Network)),
    ]);
    let client = ready(Client::connect(script)).unwrap();
    client.transport().now.set(NOW + 300);
    assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
    assert_eq!(client.transport().seen(), [GET_KEYS, GET_KEYS, POST_EXCHANGE]);
}

#[case]
fn a_pinned_key_config_is_never_refetched() {
    let script = Script::new(vec![
        Err(ClientError::new(ErrorCode::Network)),
        Err(ClientError::new(ErrorCode::Network)),
    ]);
    let client = Client::with_key_config(script, &keys()).unwrap();
    for later in [0, 1_000_000] {
        client.transport().now.set(NOW + later);
        assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
    }
    assert_eq!(client.transport().seen(), [POST_EXCHANGE, POST_EXCHANGE]);
    // Replaced after a stale-key signal, the list is a fetched one: its max-age holds.
    let rotated = KeyPair::derive(9, b"the rotated gateway key material........");
    let script = Script::new(vec![
        stale(),
        keys_cached(&rotated, "max-age=300"),
        Err(ClientError::new(ErrorCode::Network)),
        keys_cached(&rotated, "max-age=300"),
        Err(ClientError::new(ErrorCode::Network)),
    ]);
    let client = Client::with_key_config(script, &keys()).unwrap();
    assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
    client.transport().now.set(NOW + 300);
    assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
    assert_eq!(
        client.transport().seen(),
        [POST_EXCHANGE, GET_KEYS, POST_EXCHANGE, GET_KEYS, POST_EXCHANGE]
    );
}

#[case]
fn a_failed_refetch_seals_nothing_and_one_keys_request_per_operation() {
    // The refetch fails: nothing is sealed, the error is the fetch's (retryable: nothing was
    // spent), the old list is kept and the next operation tries again.
    let script = Script::new(vec![
        keys_cached(&gateway_key(), "max-age=300"),
        Err(ClientError::new(ErrorCode::Timeout)),
        Ok(answer(503, PROBLEM, Some(b"about:blank INTERNAL"))),
        Ok(answer(200, "application/ohttp-keys", Some(&[0, 9, 1]))),
        keys_cached(&gateway_key(), "max-age=300"),
        Err(ClientError::new(ErrorCode::Network)),
    ]);
    let client = ready(Client::connect(script)).unwrap();
    client.transport().now.set(NOW + 400);
    let e = ready(client.exchange("AT.x", "wealth-01")).unwrap_err();
    assert_eq!((e.code, e.retryable), (ErrorCode::Timeout, true));
    let e = ready(client.exchange("AT.x", "wealth-01")).unwrap_err();
    assert_eq!((e.code, e.status, e.retryable), (ErrorCode::HttpStatus, Some(503), true));
    let e = ready(client.exchange("AT.x", "wealth-01")).unwrap_err();
    assert_eq!((e.code, e.retryable), (ErrorCode::KeyConfig, false));
    assert_eq!(client.key_config(), config(), "the old list kept");
    assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
    assert_eq!(
        client.transport().seen(),
        [GET_KEYS, GET_KEYS, GET_KEYS, GET_KEYS, GET_KEYS, POST_EXCHANGE]
    );
    // A stale-key signal in answer to a list this operation fetched: KEY_CONFIG, no second
    // keys request.
    let script = Script::new(vec![
        keys_cached(&gateway_key(), "max-age=300"),
        keys_cached(&gateway_key(), "max-age=300"),
        stale(),
    ]);
    let client = ready(Client::connect(script)).unwrap();
    client.transport().now.set(NOW + 300);
    let e = ready(client.exchange("AT.x", "wealth-01")).unwrap_err();
    assert_eq!((e.code, e.status), (ErrorCode::KeyConfig, None));
    assert_eq!(client.transport().seen(), [GET_KEYS, GET_KEYS, POST_EXCHANGE]);
    // The one stale-key retry still holds for a fresh list: 422, refresh, retry.
    let script = Script::new(vec![
        keys_cached(&gateway_key(), "max-age=300"),
        stale(),
        keys_cached(&gateway_key(), "max-age=300"),
        Err(ClientError::new(ErrorCode::Network)),
    ]);
    let client = ready(Client::connect(script)).unwrap();
    client.transport().now.set(NOW + 299);
    assert_eq!(code(ready(client.exchange("AT.x", "wealth-01"))), ErrorCode::Network);
    assert_eq!(
        client.transport().seen(),
        [GET_KEYS, POST_EXCHANGE, GET_KEYS, POST_EXCHANGE]
    );
}
