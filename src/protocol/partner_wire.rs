//! The partner API's wire details shared by the gateway (which verifies) and the partner helper
//! (which signs and opens): request signing and the sealed-AT delivery (docs/PROTOCOL.md §10).
//! Compiled with the `gateway` or `partner` feature (native only: it uses `std`'s strings and
//! `base64`). The gateway verifies and seals, the partner signs and opens: with one feature
//! alone half of this module is unused.
#![cfg_attr(not(all(feature = "gateway", feature = "partner")), allow(dead_code))]

use chacha20poly1305::aead::{Aead as _, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::kdf::hmac_sha256;
use super::messages::{valid_name, Token};
use super::params::{N_N, N_T};

/// The `Authorization` scheme and first line of the canonical request.
pub(crate) const AUTH_SCHEME: &str = "H5-HMAC-SHA256";
/// HKDF-Extract salt for every key derived from a partner secret.
const PARTNER_SALT: &[u8] = b"h5-access partner v1";
/// HKDF-Expand info of the request-signing key.
const SIGNING_INFO: &[u8] = b"h5-access partner request signing";
/// HKDF-Expand info of the sealed-AT delivery key.
const DELIVERY_INFO: &[u8] = b"h5-access partner AT delivery";
/// AAD prefix of the sealed AT.
const DELIVERY_AAD: &[u8] = b"h5-access sealed AT v1";
/// Bytes of the ChaCha20-Poly1305 nonce of the sealed AT.
pub(crate) const DELIVERY_NONCE_LEN: usize = N_N;
/// Bytes of the Poly1305 tag.
const TAG_LEN: usize = N_T;
/// Shortest and longest nonce accepted in the `Authorization` header.
pub(crate) const NONCE_MIN: usize = 16;
/// Longest nonce.
pub(crate) const NONCE_MAX: usize = 64;

/// The shortest partner secret accepted, in bytes, by the gateway's `Partner::new` and the
/// partner helper's `PartnerCredentials::new` alike.
pub const MIN_SECRET_LEN: usize = 16;

/// An access token (AT) as the partner holds it: what the gateway's access-token endpoint
/// issues and what the partner helper opens from the sealed delivery.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AccessToken {
    /// The AT to hand to the H5 page (base64url ASCII, ≤ 2048 bytes).
    pub token: Token,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// `HKDF-Expand(HKDF-Extract(salt, secret), info, 32)` with the `hkdf` crate (§10). `None`
/// cannot happen for a 32-byte output; callers fail closed on it (no fallback key).
fn derive(secret: &[u8], info: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let (_, hk) = Hkdf::<Sha256>::extract(Some(PARTNER_SALT), secret);
    let mut out = Zeroizing::new([0u8; 32]);
    hk.expand(info, out.as_mut()).ok()?;
    Some(out)
}

fn mac(key: &[u8; 32]) -> Hmac<Sha256> {
    hmac_sha256(key)
}

/// `[A-Za-z0-9._-]`, 1..=64 bytes: the protocol's name rule.
pub(crate) fn valid_partner_id(id: &str) -> bool {
    valid_name(id)
}

/// `[A-Za-z0-9_-]`, 16..=64 bytes.
pub(crate) fn valid_nonce(nonce: &str) -> bool {
    (NONCE_MIN..=NONCE_MAX).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// The canonical request: the lines `H5-HMAC-SHA256`, METHOD (upper case), path, partner id,
/// ts, nonce and the lower-case hex SHA-256 of the body, joined by `\n`, no trailing newline.
pub(crate) fn canonical_request(
    method: &str,
    path: &str,
    partner_id: &str,
    ts: u64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let body_hash = hex(&Sha256::digest(body));
    let ts = ts.to_string();
    let method = method.to_ascii_uppercase();
    let lines = [
        AUTH_SCHEME,
        method.as_str(),
        path,
        partner_id,
        ts.as_str(),
        nonce,
        body_hash.as_str(),
    ];
    lines.join("\n").into_bytes()
}

/// `HMAC-SHA256(signing_key, canonical)`.
pub(crate) fn sign(secret: &[u8], canonical: &[u8]) -> Option<[u8; 32]> {
    let key = derive(secret, SIGNING_INFO)?;
    let mut m = mac(&key);
    m.update(canonical);
    let mut out = [0u8; 32];
    out.copy_from_slice(&m.finalize().into_bytes());
    Some(out)
}

/// Constant-time check of a signature.
pub(crate) fn verify(secret: &[u8], canonical: &[u8], sig: &[u8]) -> bool {
    let Some(key) = derive(secret, SIGNING_INFO) else {
        return false;
    };
    let mut m = mac(&key);
    m.update(canonical);
    m.verify_slice(sig).is_ok()
}

fn delivery_aad(partner_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(DELIVERY_AAD.len() + 1 + partner_id.len());
    aad.extend_from_slice(DELIVERY_AAD);
    aad.push(0);
    aad.extend_from_slice(partner_id.as_bytes());
    aad
}

/// `nonce (12) ‖ ChaCha20-Poly1305(delivery_key, nonce, at, aad)`.
pub(crate) fn seal_for_partner(
    secret: &[u8],
    partner_id: &str,
    at: &[u8],
    nonce: &[u8; DELIVERY_NONCE_LEN],
) -> Option<Vec<u8>> {
    let key = derive(secret, DELIVERY_INFO)?;
    let aead = ChaCha20Poly1305::new(&(*key).into());
    let aad = delivery_aad(partner_id);
    let ct = aead
        .encrypt(nonce.into(), Payload { msg: at, aad: &aad })
        .ok()?;
    let mut out = Vec::with_capacity(DELIVERY_NONCE_LEN + ct.len());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ct);
    Some(out)
}

/// Opens what [`seal_for_partner`] produced.
pub(crate) fn open_for_partner(
    secret: &[u8],
    partner_id: &str,
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < DELIVERY_NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, ct) = sealed.split_at(DELIVERY_NONCE_LEN);
    let mut n = [0u8; DELIVERY_NONCE_LEN];
    n.copy_from_slice(nonce);
    let key = derive(secret, DELIVERY_INFO)?;
    let aead = ChaCha20Poly1305::new(&(*key).into());
    let aad = delivery_aad(partner_id);
    aead.decrypt((&n).into(), Payload { msg: ct, aad: &aad })
        .ok()
        .map(Zeroizing::new)
}

/// The parsed `Authorization: H5-HMAC-SHA256 partner=…, ts=…, nonce=…, sig=…` header.
#[derive(Debug)]
pub(crate) struct AuthHeader<'a> {
    pub(crate) partner: &'a str,
    pub(crate) ts: u64,
    pub(crate) nonce: &'a str,
    pub(crate) sig: [u8; 32],
}

/// Formats the header value.
pub(crate) fn format_auth(partner: &str, ts: u64, nonce: &str, sig: &[u8; 32]) -> String {
    use base64::Engine as _;
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig);
    format!("{AUTH_SCHEME} partner={partner}, ts={ts}, nonce={nonce}, sig={sig}")
}

/// Parses the header value: the scheme, then exactly the four parameters in any order, each
/// once. `None` on anything else.
pub(crate) fn parse_auth(value: &str) -> Option<AuthHeader<'_>> {
    use base64::Engine as _;
    // RFC 9110 §11.1: the scheme name is case-insensitive; one or more spaces follow it.
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case(AUTH_SCHEME) {
        return None;
    }
    let rest = rest.trim_start_matches(' ');
    let (mut partner, mut ts, mut nonce, mut sig) = (None, None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        let slot = match k {
            "partner" => &mut partner,
            "ts" => &mut ts,
            "nonce" => &mut nonce,
            "sig" => &mut sig,
            _ => return None,
        };
        if slot.replace(v).is_some() {
            return None;
        }
    }
    let partner = partner?;
    let nonce = nonce?;
    if !valid_partner_id(partner) || !valid_nonce(nonce) {
        return None;
    }
    let ts_str = ts?;
    // Canonical decimal only: the signature covers the normalised value, so "0042" (which
    // parses as 42) would be a second spelling of a signed request.
    if ts_str.is_empty()
        || ts_str.len() > 20
        || !ts_str.bytes().all(|b| b.is_ascii_digit())
        || (ts_str.len() > 1 && ts_str.starts_with('0'))
    {
        return None;
    }
    let ts = ts_str.parse().ok()?;
    let sig_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig?)
        .ok()?;
    let sig: [u8; 32] = sig_bytes.try_into().ok()?;
    Some(AuthHeader {
        partner,
        ts,
        nonce,
        sig,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn header_round_trip() {
        let sig = sign(b"secret-secret-secret", b"x").unwrap();
        let h = format_auth("p-1", 42, "abcdefghijklmnop", &sig);
        let p = parse_auth(&h).unwrap();
        assert_eq!(
            (p.partner, p.ts, p.nonce, p.sig),
            ("p-1", 42, "abcdefghijklmnop", sig)
        );
        assert!(parse_auth(&h.replace("ts=42", "ts=-1")).is_none());
        assert!(parse_auth(&format!("{h}, ts=1")).is_none());
        assert!(parse_auth("Bearer x").is_none());
        assert!(parse_auth(&h.replace("abcdefghijklmnop", "short")).is_none());
        // ts in canonical decimal only.
        assert!(parse_auth(&h.replace("ts=42", "ts=042")).is_none());
        assert!(parse_auth(&h.replace("ts=42", "ts=00")).is_none());
        assert!(parse_auth(&h.replace("ts=42", "ts=+42")).is_none());
        assert_eq!(parse_auth(&h.replace("ts=42", "ts=0")).unwrap().ts, 0);
        // The scheme is case-insensitive (RFC 9110 §11.1).
        let lower = h.replace(AUTH_SCHEME, "h5-hmac-sha256");
        assert_eq!(parse_auth(&lower).unwrap().ts, 42);
        assert!(parse_auth(&h.replace("H5-HMAC-SHA256 ", "H5-HMAC-SHA256  ")).is_some());
        assert!(parse_auth(&h.replace("H5-HMAC-SHA256 ", "H5-HMAC-SHA256")).is_none());
        assert!(parse_auth(&h.replace("H5-HMAC-SHA256", "H5-HMAC-SHA2567")).is_none());
    }

    #[test]
    fn seal_open_round_trip() {
        let sealed = seal_for_partner(b"k", "p", b"AT", &[7; 12]).unwrap();
        assert_eq!(&*open_for_partner(b"k", "p", &sealed).unwrap(), b"AT");
        assert!(open_for_partner(b"k", "q", &sealed).is_none());
        assert!(open_for_partner(b"j", "p", &sealed).is_none());
    }

    #[test]
    fn canonical_layout() {
        let c = canonical_request("post", "/v1/partner/access-token", "p", 7, "n", b"");
        assert_eq!(
            String::from_utf8(c).unwrap(),
            "H5-HMAC-SHA256\nPOST\n/v1/partner/access-token\np\n7\nn\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
