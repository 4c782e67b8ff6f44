//! The HTTP shapes of the client: which requests it makes (docs/PROTOCOL.md §7) and how an
//! answer is read (status, `Content-Type`, body caps) before anything is decrypted.

use alloc::string::String;
use alloc::vec::Vec;

use super::error::{ClientError, ErrorCode};
use crate::protocol::{Channel, MAX_RESPONSE_LEN};

/// Media type of a key configuration list (RFC 9458 §3.2), `GET /v1/keys`.
pub const KEYS_MEDIA_TYPE: &str = "application/ohttp-keys";
/// Media type of the gateway's error bodies (RFC 9457).
pub const PROBLEM_MEDIA_TYPE: &str = "application/problem+json";
/// The RFC 9457 problem type of a request made to an unknown or stale key: the RFC 9458 §5.3
/// signal, sent with status 422.
pub const STALE_KEY_PROBLEM_TYPE: &str =
    "https://iana.org/assignments/http-problem-types#ohttp-key";
/// Longest answer body read for a 200, bytes: an encapsulated response at its protocol maximum
/// ([`MAX_RESPONSE_LEN`], 526,400; docs/PROTOCOL.md §4.2). Key configuration lists are held to
/// it too.
pub const MAX_ANSWER_LEN: usize = MAX_RESPONSE_LEN;
/// Longest error (problem) body read for any other status, bytes: 16 KiB. A longer one gives
/// `HTTP_STATUS` with the status alone.
pub const MAX_PROBLEM_LEN: usize = 16 * 1024;

/// The HTTP method of a client request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `GET /v1/keys`.
    Get,
    /// `POST /v1/exchange`, `POST /v1/call`.
    Post,
}

impl Method {
    /// The method's name, `"GET"` or `"POST"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request the client sends, relative to the gateway's base URL. `Debug` prints no body.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// GET or POST.
    pub method: Method,
    /// The path below the gateway base URL: `/v1/keys`, `/v1/exchange` or `/v1/call`.
    pub path: &'static str,
    /// The `Content-Type` of the body (POST only).
    pub content_type: Option<&'static str>,
    /// The `Accept` header: the one media type a 200 must carry.
    pub accept: &'static str,
    /// The body: the encapsulated request `hdr (7) ‖ enc (32) ‖ ct` (POST), empty for GET.
    pub body: Vec<u8>,
}

impl core::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl HttpRequest {
    /// `GET /v1/keys`, `Accept: application/ohttp-keys`.
    pub fn keys() -> Self {
        Self {
            method: Method::Get,
            path: "/v1/keys",
            content_type: None,
            accept: KEYS_MEDIA_TYPE,
            body: Vec::new(),
        }
    }

    /// `POST /v1/exchange` or `/v1/call` with an encapsulated request on `channel`
    /// (`Content-Type` its request media type, `Accept` its response media type).
    pub fn encapsulated(channel: Channel, body: Vec<u8>) -> Self {
        Self {
            method: Method::Post,
            path: match channel {
                Channel::Call => "/v1/call",
                _ => "/v1/exchange",
            },
            content_type: Some(channel.request_media_type()),
            accept: channel.response_media_type(),
            body,
        }
    }
}

/// The most body bytes read for an answer of `status`: [`MAX_ANSWER_LEN`] for a 200,
/// [`MAX_PROBLEM_LEN`] for any other. A driver refuses a declared `Content-Length` over it
/// before reading, stops reading as soon as the body passes it, and hands the answer over with
/// `body: None`.
pub const fn body_cap(status: u16) -> usize {
    if status == 200 {
        MAX_ANSWER_LEN
    } else {
        MAX_PROBLEM_LEN
    }
}

/// An answer as a driver received it.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header, `""` if absent.
    pub content_type: String,
    /// The body, or `None` when it was longer than [`body_cap`]`(status)`.
    pub body: Option<Vec<u8>>,
    /// The `Cache-Control` header, `""` if absent (read for a key list: [`max_age`]).
    pub cache_control: String,
    /// When the request was sent, if before [`Transport::send`](super::Transport::send) was
    /// called (an answer the driver prefetched, e.g. the loader's early `GET /v1/keys`): seconds
    /// since the Unix epoch on the transport's clock. `None`: sent by this `send` (the client
    /// takes the time it called `send`).
    pub sent_at: Option<u64>,
}

impl core::fmt::Debug for HttpAnswer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpAnswer")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .field("cache_control", &self.cache_control)
            .field("sent_at", &self.sent_at)
            .finish()
    }
}

/// The two fields of an RFC 9457 problem document the client reads, as the driver's JSON parser
/// found them: each only when it is an own string member of a JSON object (so nothing
/// inherited is taken for a field).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Problem {
    /// `type`: the problem type URI.
    pub problem_type: Option<String>,
    /// `code`: the gateway's own code (docs/PROTOCOL.md §6).
    pub code: Option<String>,
}

/// Largest freshness lifetime taken from a `max-age`, seconds: 2^31 (RFC 9111 §1.2.2, a larger
/// delta-seconds is read as this).
pub const MAX_MAX_AGE: u64 = 1 << 31;

/// How long a key list served with `cache_control` (a `Cache-Control` header value, `""` if
/// absent) may be used before it is fetched again, seconds (RFC 9111 §5.2.2,
/// docs/PROTOCOL.md §3.3): its first `max-age` directive (digits, optionally quoted; capped at
/// [`MAX_MAX_AGE`]). 0, meaning "fetch it again before every seal", when there is no `max-age`,
/// when the first one is not digits, or when a `no-store` or `no-cache` directive is present
/// (with or without an argument). Directive names compare case-insensitively; `s-maxage` and
/// every other directive are ignored. `Age` is not read (a cross-origin page cannot see it
/// without `Access-Control-Expose-Headers`, and the SDK's requests bypass the browser cache).
pub fn max_age(cache_control: &str) -> u64 {
    // As bytes, like `is_media_type` (no `str` pattern or Unicode trimming in the wasm).
    let mut first: Option<u64> = None;
    for directive in cache_control.as_bytes().split(|b| *b == b',') {
        let eq = directive.iter().position(|b| *b == b'=');
        let name = trim_ows(
            directive
                .get(..eq.unwrap_or(directive.len()))
                .unwrap_or_default(),
        );
        if name.eq_ignore_ascii_case(b"no-store") || name.eq_ignore_ascii_case(b"no-cache") {
            return 0;
        }
        if first.is_none() && name.eq_ignore_ascii_case(b"max-age") {
            let value = eq.and_then(|i| directive.get(i + 1..)).unwrap_or_default();
            let digits = match trim_ows(value) {
                [b'"', inner @ .., b'"'] => inner,
                other => other,
            };
            let mut n: u64 = 0;
            for b in digits {
                n = n
                    .saturating_mul(10)
                    .saturating_add(u64::from(b.wrapping_sub(b'0')));
            }
            let ok = !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
            first = Some(if ok { n.min(MAX_MAX_AGE) } else { 0 });
        }
    }
    first.unwrap_or(0)
}

/// `bytes` without the HTTP whitespace (SP, HTAB) around it.
fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// What an answer is, once read.
#[derive(Clone, PartialEq, Eq)]
pub enum Answer {
    /// A 200 of the expected media type: its body.
    Body(Vec<u8>),
    /// The RFC 9458 §5.3 stale-key signal: 422 with the `ohttp-key` problem type.
    StaleKey,
}

impl core::fmt::Debug for Answer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Answer::Body(b) => f.debug_struct("Body").field("len", &b.len()).finish(),
            Answer::StaleKey => f.write_str("StaleKey"),
        }
    }
}

/// Whether a `Content-Type` is `expected`: its type/subtype (parameters dropped, surrounding
/// whitespace trimmed) compared case-insensitively.
pub fn is_media_type(content_type: &str, expected: &str) -> bool {
    // As bytes: HTTP whitespace (SP, HTAB) trimmed, everything from the first `;` dropped.
    let bytes = content_type.as_bytes();
    let end = bytes.iter().position(|b| *b == b';').unwrap_or(bytes.len());
    trim_ows(bytes.get(..end).unwrap_or_default()).eq_ignore_ascii_case(expected.as_bytes())
}

/// Reads an answer to a request that accepts `expected`.
///
/// `parse_problem` parses a problem body (called only for a non-200 whose media type is
/// `application/problem+json`; bytes that are not UTF-8 JSON give `Problem::default()`).
///
/// Returns [`Answer::Body`] for a 200 of `expected`, [`Answer::StaleKey`] for the RFC 9458
/// §5.3 signal. Errors: `BAD_RESPONSE` (a 200 of another media type, e.g. a captive portal; a
/// 200 over [`MAX_ANSWER_LEN`]; a status under 100), `HTTP_STATUS` with `status` and the
/// problem's `code` when it looks like a code (any other status, HTML or empty bodies from
/// proxies included; a body over [`MAX_PROBLEM_LEN`]: the status alone).
pub fn read_answer(
    answer: HttpAnswer,
    expected: &str,
    parse_problem: &dyn Fn(&[u8]) -> Problem,
) -> Result<Answer, ClientError> {
    let Some(body) = answer.body else {
        return Err(if answer.status == 200 {
            ClientError::new(ErrorCode::BadResponse)
        } else {
            ClientError::http_status(answer.status, None)
        });
    };
    if answer.status == 200 {
        return if is_media_type(&answer.content_type, expected) {
            Ok(Answer::Body(body))
        } else {
            // Not the gateway's (a captive portal's sign-in page): the gateway never saw it.
            let mut e = ClientError::new(ErrorCode::BadResponse).retryable(true);
            e.reason = Some(super::error::reason::NOT_GATEWAY);
            Err(e)
        };
    }
    let problem = if is_media_type(&answer.content_type, PROBLEM_MEDIA_TYPE) {
        parse_problem(&body)
    } else {
        Problem::default()
    };
    if answer.status == 422 && problem.problem_type.as_deref() == Some(STALE_KEY_PROBLEM_TYPE) {
        return Ok(Answer::StaleKey);
    }
    if answer.status < 100 {
        return Err(ClientError::new(ErrorCode::BadResponse));
    }
    Err(ClientError::http_status(
        answer.status,
        problem.code.as_deref(),
    ))
}
