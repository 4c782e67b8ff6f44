//! The gateway's own tokens: the access token (AT) it issues to partners and the issued token
//! (VT) it hands the page. Both are tickets sealed by the gateway with ChaCha20-Poly1305 under
//! a ticket key, so the gateway needs no table to recognise them (docs/PROTOCOL.md §8).
//!
//! Wire form: `base64url-nopad(version (1) = 0x01 ‖ kind (1) ‖ key_id (1) ‖ nonce (12) ‖
//! ciphertext ‖ tag (16))`, `kind` = `0x41` ('A') for an AT, `0x56` ('V') for a VT, the first
//! three bytes being the AEAD's associated data.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead as _, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::protocol::codec::{put_u8_prefixed, Reader};
use crate::protocol::params::MAX_TOKEN_LEN;
use crate::protocol::{SessionSecret, Token};

/// Token format version.
const TOKEN_VERSION: u8 = 1;
/// `kind` byte of an access token.
const KIND_AT: u8 = b'A';
/// `kind` byte of an issued token.
const KIND_VT: u8 = b'V';
const HEADER_LEN: usize = 3;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Bytes of a token's unique id.
pub const TOKEN_ID_LEN: usize = 16;
/// Longest subject (the partner's user id), in bytes of printable ASCII.
pub const MAX_SUBJECT_LEN: usize = 128;
/// Most products one AT may carry.
pub const MAX_AT_PRODUCTS: usize = 8;
/// HKDF-Extract salt deriving the AT and VT keys from a ticket key.
const TICKET_SALT: &[u8] = b"h5-access ticket v1";

/// A 32-byte gateway ticket key with a one-byte id (for rotation). The AT and VT sealing keys
/// are derived from it with HKDF-SHA256 (salt `"h5-access ticket v1"`, info `"AT"` / `"VT"`).
///
/// Zeroized on drop; `Debug` prints only the id.
#[derive(Clone)]
pub struct TicketKey {
    id: u8,
    at_key: Zeroizing<[u8; 32]>,
    vt_key: Zeroizing<[u8; 32]>,
}

impl core::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TicketKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl TicketKey {
    /// Whether `other` holds the same secret (both derived keys compared in constant time,
    /// `subtle`); the ids are not compared.
    pub(crate) fn same_secret(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq as _;
        let at = self.at_key.as_slice().ct_eq(other.at_key.as_slice());
        let vt = self.vt_key.as_slice().ct_eq(other.vt_key.as_slice());
        bool::from(at & vt)
    }

    /// Builds a ticket key from 32 secret bytes.
    pub fn from_bytes(id: u8, secret: &[u8; 32]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(TICKET_SALT), secret);
        let mut at_key = Zeroizing::new([0u8; 32]);
        let mut vt_key = Zeroizing::new([0u8; 32]);
        // 32-byte outputs: cannot fail.
        let _ = hk.expand(b"AT", at_key.as_mut());
        let _ = hk.expand(b"VT", vt_key.as_mut());
        Self { id, at_key, vt_key }
    }

    /// A fresh random ticket key; `None` if the CSPRNG fails.
    pub fn generate(id: u8) -> Option<Self> {
        let mut secret = Zeroizing::new([0u8; 32]);
        getrandom::fill(secret.as_mut()).ok()?;
        Some(Self::from_bytes(id, &secret))
    }

    /// The key id carried in every token this key seals.
    pub fn id(&self) -> u8 {
        self.id
    }

    fn key(&self, kind: u8) -> &[u8; 32] {
        if kind == KIND_AT {
            &self.at_key
        } else {
            &self.vt_key
        }
    }
}

/// The content of an access token. `Debug` prints the times, the partner and the products,
/// never the subject or the id.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// Unique id: the key of the used-AT set.
    pub id: [u8; TOKEN_ID_LEN],
    /// Issue time, seconds since the Unix epoch.
    pub iat: u64,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// The partner it was issued to.
    pub partner: String,
    /// The partner's user id.
    pub subject: String,
    /// The products it may be exchanged for.
    pub products: Vec<String>,
}

impl core::fmt::Debug for AccessClaims {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AccessClaims")
            .field("iat", &self.iat)
            .field("exp", &self.exp)
            .field("partner", &self.partner)
            .field("products", &self.products)
            .finish_non_exhaustive()
    }
}

/// The content of an issued token. Holds the session secret: `Debug` omits it.
#[derive(Clone)]
pub struct IssuedClaims {
    /// Unique id.
    pub id: [u8; TOKEN_ID_LEN],
    /// Issue time, seconds since the Unix epoch.
    pub iat: u64,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// The partner whose AT was exchanged.
    pub partner: String,
    /// The partner's user id.
    pub subject: String,
    /// The product the session is for.
    pub product: String,
    /// The session secret exported in the exchange: calls must be bound to it.
    pub session_secret: SessionSecret,
}

impl core::fmt::Debug for IssuedClaims {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuedClaims")
            .field("exp", &self.exp)
            .field("product", &self.product)
            .finish_non_exhaustive()
    }
}

/// `[A-Za-z0-9._-]`, 1..=64 bytes (product, service and partner names).
pub(crate) use crate::protocol::messages::valid_name;

/// Printable ASCII (0x21..=0x7e), 1..=128 bytes.
pub(crate) fn valid_subject(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_SUBJECT_LEN && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// Appends a `len (1) ‖ UTF-8 bytes` string (`None` over 255 bytes; callers validate first).
fn put_str(out: &mut Vec<u8>, s: &str) -> Option<()> {
    put_u8_prefixed(out, s.as_bytes()).ok()
}

/// A `len (1) ‖ UTF-8 bytes` string.
fn read_str(r: &mut Reader<'_>) -> Option<String> {
    let bytes = r.u8_prefixed(usize::from(u8::MAX)).ok()?;
    core::str::from_utf8(bytes).ok().map(str::to_owned)
}

fn seal(key: &TicketKey, kind: u8, plaintext: &[u8]) -> Option<Token> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).ok()?;
    let header = [TOKEN_VERSION, kind, key.id];
    let aead = ChaCha20Poly1305::new(key.key(kind).into());
    let ct = aead
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: plaintext,
                aad: &header,
            },
        )
        .ok()?;
    let mut raw = Vec::with_capacity(HEADER_LEN + NONCE_LEN + ct.len());
    raw.extend_from_slice(&header);
    raw.extend_from_slice(&nonce);
    raw.extend_from_slice(&ct);
    Token::new(URL_SAFE_NO_PAD.encode(raw)).ok()
}

fn open(keys: &[TicketKey], kind: u8, token: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    if raw.len() < HEADER_LEN + NONCE_LEN + TAG_LEN {
        return None;
    }
    let (header, rest) = raw.split_at(HEADER_LEN);
    if header[0] != TOKEN_VERSION || header[1] != kind {
        return None;
    }
    let key = keys.iter().find(|k| k.id == header[2])?;
    let (nonce, ct) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let aead = ChaCha20Poly1305::new(key.key(kind).into());
    aead.decrypt(
        (&nonce).into(),
        Payload {
            msg: ct,
            aad: header,
        },
    )
    .ok()
    .map(Zeroizing::new)
}

impl AccessClaims {
    /// Seals the claims into an AT under `key`. `None` if a field is out of range or the
    /// CSPRNG fails.
    pub fn seal(&self, key: &TicketKey) -> Option<Token> {
        if !valid_name(&self.partner)
            || !valid_subject(&self.subject)
            || self.products.is_empty()
            || self.products.len() > MAX_AT_PRODUCTS
            || !self.products.iter().all(|p| valid_name(p))
        {
            return None;
        }
        let mut pt = Vec::with_capacity(256);
        pt.extend_from_slice(&self.id);
        pt.extend_from_slice(&self.iat.to_be_bytes());
        pt.extend_from_slice(&self.exp.to_be_bytes());
        put_str(&mut pt, &self.partner)?;
        put_str(&mut pt, &self.subject)?;
        pt.push(self.products.len() as u8);
        for p in &self.products {
            put_str(&mut pt, p)?;
        }
        seal(key, KIND_AT, &pt)
    }

    /// Opens an AT sealed under any of `keys`. `None` if it is not genuine.
    pub fn open(keys: &[TicketKey], token: &[u8]) -> Option<Self> {
        let pt = open(keys, KIND_AT, token)?;
        let mut r = Reader::new(&pt);
        let id = r.array().ok()?;
        let iat = r.u64().ok()?;
        let exp = r.u64().ok()?;
        let partner = read_str(&mut r)?;
        let subject = read_str(&mut r)?;
        let n = usize::from(r.u8().ok()?);
        let mut products = Vec::with_capacity(n);
        for _ in 0..n {
            products.push(read_str(&mut r)?);
        }
        if !r.is_empty() {
            return None;
        }
        Some(Self {
            id,
            iat,
            exp,
            partner,
            subject,
            products,
        })
    }
}

impl IssuedClaims {
    /// Seals the claims into a VT under `key`. `None` if a field is out of range or the CSPRNG
    /// fails.
    pub fn seal(&self, key: &TicketKey) -> Option<Token> {
        if !valid_name(&self.partner) || !valid_subject(&self.subject) || !valid_name(&self.product)
        {
            return None;
        }
        let mut pt = Zeroizing::new(Vec::with_capacity(256));
        pt.extend_from_slice(&self.id);
        pt.extend_from_slice(&self.iat.to_be_bytes());
        pt.extend_from_slice(&self.exp.to_be_bytes());
        put_str(&mut pt, &self.partner)?;
        put_str(&mut pt, &self.subject)?;
        put_str(&mut pt, &self.product)?;
        pt.extend_from_slice(self.session_secret.expose());
        seal(key, KIND_VT, &pt)
    }

    /// Opens a VT sealed under any of `keys`. `None` if it is not genuine.
    pub fn open(keys: &[TicketKey], token: &[u8]) -> Option<Self> {
        let pt = open(keys, KIND_VT, token)?;
        let mut r = Reader::new(&pt);
        let id = r.array().ok()?;
        let iat = r.u64().ok()?;
        let exp = r.u64().ok()?;
        let partner = read_str(&mut r)?;
        let subject = read_str(&mut r)?;
        let product = read_str(&mut r)?;
        let secret = Zeroizing::new(r.array::<32>().ok()?);
        if !r.is_empty() {
            return None;
        }
        Some(Self {
            id,
            iat,
            exp,
            partner,
            subject,
            product,
            session_secret: SessionSecret::from_bytes(*secret),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn at() -> AccessClaims {
        AccessClaims {
            id: [1; 16],
            iat: 10,
            exp: 310,
            partner: "p".into(),
            subject: "u-1".into(),
            products: vec!["wealth-01".into(), "loan-02".into()],
        }
    }

    #[test]
    fn at_round_trip_and_kind_separation() {
        let k = TicketKey::from_bytes(1, &[9; 32]);
        let t = at().seal(&k).unwrap();
        assert_eq!(
            AccessClaims::open(core::slice::from_ref(&k), t.as_bytes()),
            Some(at())
        );
        // an AT is never a VT
        assert!(IssuedClaims::open(core::slice::from_ref(&k), t.as_bytes()).is_none());
        // unknown ticket key id
        assert!(AccessClaims::open(&[TicketKey::from_bytes(2, &[9; 32])], t.as_bytes()).is_none());
        // every single-character change is refused
        let s = t.as_str().to_owned();
        for i in 0..s.len() {
            let mut b = s.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            assert!(
                AccessClaims::open(core::slice::from_ref(&k), &b).is_none(),
                "flip at {i}"
            );
        }
    }

    #[test]
    fn vt_round_trip() {
        let k = TicketKey::from_bytes(3, &[4; 32]);
        let c = IssuedClaims {
            id: [2; 16],
            iat: 1,
            exp: 901,
            partner: "p".into(),
            subject: "s".into(),
            product: "card-03".into(),
            session_secret: SessionSecret::from_bytes([5; 32]),
        };
        let t = c.seal(&k).unwrap();
        assert!(t.as_bytes().len() <= MAX_TOKEN_LEN);
        let o = IssuedClaims::open(&[k], t.as_bytes()).unwrap();
        assert_eq!(o.session_secret.expose(), &[5; 32]);
        assert_eq!((o.exp, o.product.as_str()), (901, "card-03"));
        assert!(!format!("{o:?}").contains("session"));
    }

    #[test]
    fn largest_at_fits() {
        let k = TicketKey::from_bytes(1, &[9; 32]);
        let c = AccessClaims {
            partner: "p".repeat(64),
            subject: "s".repeat(MAX_SUBJECT_LEN),
            products: vec!["x".repeat(64); MAX_AT_PRODUCTS],
            ..at()
        };
        assert!(c.seal(&k).unwrap().as_bytes().len() <= MAX_TOKEN_LEN);
    }
}
