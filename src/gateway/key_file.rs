//! Keys a fleet shares: the HPKE keys and the ticket keys from one JSON key file (or the same
//! JSON in an environment variable), reloadable without a restart ([`Gateway::apply_keys`]).
//!
//! Format (UTF-8 JSON, at most [`MAX_KEY_FILE_LEN`] bytes; the first entry of each list is
//! current, the optional second one previous; unknown members are refused):
//!
//! ```json
//! {
//!   "hpke_keys":   [{"key_id": 2, "private_key": "<base64url, 32 bytes>"},
//!                   {"key_id": 1, "private_key": "<base64url, 32 bytes>"}],
//!   "ticket_keys": [{"key_id": 2, "secret": "<base64url, 32 bytes>"}]
//! }
//! ```
//!
//! * `private_key`: an X25519 private key (RFC 9180 §7.1.2 `DeserializePrivateKey`), 32 bytes,
//!   base64url without padding (padding is accepted). Any 32 random bytes are a valid key.
//! * `secret`: a ticket key's 32 secret bytes (docs/PROTOCOL.md §8), same encoding.
//! * `key_id`: 0..=255; the two entries of one list must differ.
//!
//! Generate a value with `head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='`.
//! The file text and the decoded bytes are zeroized after parsing; no error names a value.

use core::fmt;

use base64::Engine as _;
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::protocol::KeyPair;

use super::core::Gateway;
use super::error::ConfigError;
use super::tokens::TicketKey;

/// Largest key file accepted: 16 KiB.
pub const MAX_KEY_FILE_LEN: usize = 16 * 1024;

/// Why a key file was refused. Names the position or the list, never a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file could not be read.
    Unreadable,
    /// Longer than [`MAX_KEY_FILE_LEN`].
    TooLarge,
    /// Not the JSON object above (line and column of the first problem).
    Malformed {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A list has no entry or more than two.
    KeyCount,
    /// A `private_key` or `secret` is not base64url of exactly 32 bytes.
    BadKey,
    /// The HPKE keys share a key id.
    DuplicateKeyId(u8),
    /// The ticket keys share a key id.
    DuplicateTicketKeyId(u8),
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::Unreadable => f.write_str("key file cannot be read"),
            KeyFileError::TooLarge => f.write_str("key file is over 16 KiB"),
            KeyFileError::Malformed { line, column } => {
                write!(
                    f,
                    "key file is not the expected JSON (line {line}, column {column})"
                )
            }
            KeyFileError::KeyCount => {
                f.write_str("hpke_keys and ticket_keys need one or two entries each")
            }
            KeyFileError::BadKey => f.write_str("a key is not base64url of 32 bytes"),
            KeyFileError::DuplicateKeyId(id) => write!(f, "duplicate HPKE key id {id}"),
            KeyFileError::DuplicateTicketKeyId(id) => write!(f, "duplicate ticket key id {id}"),
        }
    }
}

impl core::error::Error for KeyFileError {}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct HpkeEntry {
    key_id: u8,
    private_key: String,
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct TicketEntry {
    key_id: u8,
    secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    hpke_keys: Vec<HpkeEntry>,
    ticket_keys: Vec<TicketEntry>,
}

/// The keys of one key file: current and previous HPKE keys and ticket keys. `Debug` prints
/// the key ids only.
#[derive(Clone)]
pub struct KeySet {
    /// Current HPKE key (advertised first in `/v1/keys`).
    pub hpke: KeyPair,
    /// Previous HPKE key, still accepted.
    pub previous_hpke: Option<KeyPair>,
    /// Current ticket key (seals new tokens).
    pub ticket: TicketKey,
    /// Previous ticket key, still opens tokens.
    pub previous_ticket: Option<TicketKey>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("hpke", &self.hpke.key_id())
            .field(
                "previous_hpke",
                &self.previous_hpke.as_ref().map(KeyPair::key_id),
            )
            .field("ticket", &self.ticket.id())
            .field(
                "previous_ticket",
                &self.previous_ticket.as_ref().map(TicketKey::id),
            )
            .finish()
    }
}

fn decode_32(text: &str) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let trimmed = text.trim_end_matches('=');
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(trimmed)
            .map_err(|_| KeyFileError::BadKey)?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(KeyFileError::BadKey);
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}

fn pair<T>(mut v: Vec<T>) -> Result<(T, Option<T>), KeyFileError> {
    if v.is_empty() || v.len() > 2 {
        return Err(KeyFileError::KeyCount);
    }
    let previous = if v.len() == 2 { v.pop() } else { None };
    let current = v.pop().ok_or(KeyFileError::KeyCount)?;
    Ok((current, previous))
}

impl KeySet {
    /// Parses a key file's text.
    ///
    /// Errors: [`KeyFileError`] (never [`Unreadable`](KeyFileError::Unreadable)).
    pub fn parse(text: &[u8]) -> Result<Self, KeyFileError> {
        if text.len() > MAX_KEY_FILE_LEN {
            return Err(KeyFileError::TooLarge);
        }
        let raw: Raw = serde_json::from_slice(text).map_err(|e| KeyFileError::Malformed {
            line: e.line(),
            column: e.column(),
        })?;
        let hpke = raw
            .hpke_keys
            .iter()
            .map(|e| {
                let sk = decode_32(&e.private_key)?;
                KeyPair::from_private_key(e.key_id, sk.as_ref()).map_err(|_| KeyFileError::BadKey)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tickets = raw
            .ticket_keys
            .iter()
            .map(|e| decode_32(&e.secret).map(|secret| TicketKey::from_bytes(e.key_id, &secret)))
            .collect::<Result<Vec<_>, _>>()?;
        let (hpke, previous_hpke) = pair(hpke)?;
        let (ticket, previous_ticket) = pair(tickets)?;
        if previous_hpke.as_ref().map(KeyPair::key_id) == Some(hpke.key_id()) {
            return Err(KeyFileError::DuplicateKeyId(hpke.key_id()));
        }
        if previous_ticket.as_ref().map(TicketKey::id) == Some(ticket.id()) {
            return Err(KeyFileError::DuplicateTicketKeyId(ticket.id()));
        }
        Ok(Self {
            hpke,
            previous_hpke,
            ticket,
            previous_ticket,
        })
    }

    /// Reads and parses the key file at `path` (the text is zeroized afterwards).
    ///
    /// Errors: [`KeyFileError`].
    pub fn load(path: &std::path::Path) -> Result<Self, KeyFileError> {
        let text = Zeroizing::new(std::fs::read(path).map_err(|_| KeyFileError::Unreadable)?);
        Self::parse(&text)
    }
}

impl Gateway {
    /// Swaps in `keys` (a reload of the key file, e.g. on SIGHUP): HPKE keys and ticket keys
    /// both, each list as a whole. Requests in flight finish with the keys they started with.
    /// A key id the gateway holds now (current or previous) may appear again only with the same
    /// key (docs/PROTOCOL.md §3.3); both lists are checked before either is swapped.
    ///
    /// Errors (nothing changes): [`ConfigError::DuplicateKeyId`],
    /// [`ConfigError::DuplicateTicketKeyId`] ([`KeySet::parse`] already refuses both);
    /// [`ConfigError::KeyIdReused`] (an HPKE key id held now with a different public key),
    /// [`ConfigError::TicketKeyIdReused`] (a ticket key id with a different secret). Each
    /// names the key id, never key material.
    pub fn apply_keys(&self, keys: KeySet) -> Result<(), ConfigError> {
        let KeySet {
            hpke,
            previous_hpke,
            ticket,
            previous_ticket,
        } = keys;
        self.keys
            .check_replace(&hpke, previous_hpke.as_ref())
            .map_err(ConfigError::hpke)?;
        self.ticket_keys
            .check_replace(&ticket, previous_ticket.as_ref())
            .map_err(ConfigError::ticket)?;
        self.set_keys(hpke, previous_hpke)?;
        self.set_ticket_keys(ticket, previous_ticket)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const A: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
    const B: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

    #[test]
    fn parses_current_and_previous() {
        let text = format!(
            r#"{{"hpke_keys":[{{"key_id":2,"private_key":"{B}"}},{{"key_id":1,"private_key":"{A}"}}],
                "ticket_keys":[{{"key_id":7,"secret":"{A}"}}]}}"#
        );
        let k = KeySet::parse(text.as_bytes()).unwrap();
        assert_eq!(k.hpke.key_id(), 2);
        assert_eq!(k.previous_hpke.as_ref().map(KeyPair::key_id), Some(1));
        assert_eq!(k.ticket.id(), 7);
        assert!(k.previous_ticket.is_none());
        assert_eq!(
            k.hpke.config().encode(),
            KeyPair::from_private_key(2, &[2; 32])
                .unwrap()
                .config()
                .encode()
        );
        let dbg = format!("{k:?}");
        assert_eq!(
            dbg,
            "KeySet { hpke: 2, previous_hpke: Some(1), ticket: 7, previous_ticket: None }"
        );
    }

    #[test]
    fn refusals_name_no_key() {
        let cases: &[(String, KeyFileError)] = &[
            (
                format!(r#"{{"hpke_keys":[],"ticket_keys":[{{"key_id":1,"secret":"{A}"}}]}}"#),
                KeyFileError::KeyCount,
            ),
            (
                format!(
                    r#"{{"hpke_keys":[{{"key_id":1,"private_key":"{A}"}},{{"key_id":1,"private_key":"{B}"}}],"ticket_keys":[{{"key_id":1,"secret":"{A}"}}]}}"#
                ),
                KeyFileError::DuplicateKeyId(1),
            ),
            (
                format!(
                    r#"{{"hpke_keys":[{{"key_id":1,"private_key":"{A}"}}],"ticket_keys":[{{"key_id":3,"secret":"{A}"}},{{"key_id":3,"secret":"{B}"}}]}}"#
                ),
                KeyFileError::DuplicateTicketKeyId(3),
            ),
            (
                format!(
                    r#"{{"hpke_keys":[{{"key_id":1,"private_key":"AQID"}}],"ticket_keys":[{{"key_id":1,"secret":"{A}"}}]}}"#
                ),
                KeyFileError::BadKey,
            ),
            (
                format!(
                    r#"{{"hpke_keys":[{{"key_id":1,"private_key":"{A}","x":1}}],"ticket_keys":[{{"key_id":1,"secret":"{A}"}}]}}"#
                ),
                KeyFileError::Malformed {
                    line: 1,
                    column: 89,
                },
            ),
            (
                format!(r#"{{"hpke_keys":[{{"key_id":300,"private_key":"{A}"}}]}}"#),
                KeyFileError::Malformed {
                    line: 1,
                    column: 27,
                },
            ),
        ];
        for (text, want) in cases {
            let got = KeySet::parse(text.as_bytes()).unwrap_err();
            assert_eq!(&got, want, "{text}");
            assert!(!got.to_string().contains(A), "{got}");
        }
        assert_eq!(
            KeySet::parse(&vec![b' '; MAX_KEY_FILE_LEN + 1]).unwrap_err(),
            KeyFileError::TooLarge
        );
        assert_eq!(
            KeySet::load(std::path::Path::new("/nonexistent/h5-keys.json")).unwrap_err(),
            KeyFileError::Unreadable
        );
    }

    /// PROTOCOL §3.3 on reload: an id held now (current or previous) with another key is
    /// refused, naming the id only, and neither list changes (checked before either swaps).
    #[test]
    fn a_reload_never_reuses_a_key_id_for_another_key() {
        let file = |h: &[(u8, &str)], t: &[(u8, &str)]| {
            let list = |v: &[(u8, &str)], name: &str| {
                v.iter()
                    .map(|(id, k)| format!(r#"{{"key_id":{id},"{name}":"{k}"}}"#))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let text = format!(
                r#"{{"hpke_keys":[{}],"ticket_keys":[{}]}}"#,
                list(h, "private_key"),
                list(t, "secret")
            );
            KeySet::parse(text.as_bytes()).unwrap()
        };
        let gw = Gateway::builder(
            KeyPair::from_private_key(1, &[1; 32]).unwrap(),
            TicketKey::from_bytes(1, &[1; 32]),
        )
        .build()
        .unwrap();
        gw.apply_keys(file(&[(2, B), (1, A)], &[(2, B), (1, A)]))
            .unwrap();
        let before = gw.key_config_list();
        let tickets = |gw: &Gateway| {
            let k = gw.ticket_keys.snapshot();
            (
                k.iter().map(TicketKey::id).collect::<Vec<_>>(),
                k[0].same_secret(&TicketKey::from_bytes(2, &[2; 32])),
            )
        };
        // HPKE id 1 (previous) with key B; id 2 (current) with key A.
        let cases = [
            (
                file(&[(3, A), (1, B)], &[(3, A)]),
                ConfigError::KeyIdReused(1),
            ),
            (file(&[(2, A)], &[(2, B)]), ConfigError::KeyIdReused(2)),
            // Ticket id 1 with secret B, the HPKE list fine: nothing swapped either.
            (
                file(&[(3, A), (2, B)], &[(3, A), (1, B)]),
                ConfigError::TicketKeyIdReused(1),
            ),
        ];
        for (set, want) in cases {
            let got = gw.apply_keys(set).unwrap_err();
            assert_eq!(got, want);
            assert_eq!(
                got.code(),
                if matches!(want, ConfigError::KeyIdReused(_)) {
                    "KEY_ID_REUSED"
                } else {
                    "TICKET_KEY_ID_REUSED"
                }
            );
            assert!(
                !got.to_string().contains(A) && !got.to_string().contains(B),
                "{got}"
            );
            assert_eq!(gw.key_config_list(), before);
            assert_eq!(tickets(&gw), (vec![2, 1], true));
        }
        assert_eq!(
            ConfigError::KeyIdReused(1).to_string(),
            "HPKE key id 1 is in use with a different key (a key id is never reused)"
        );
        // The same keys again, swapped, or with a new id: accepted.
        gw.apply_keys(file(&[(1, A), (2, B)], &[(1, A), (2, B)]))
            .unwrap();
        gw.apply_keys(file(&[(3, A), (1, A)], &[(3, A), (1, A)]))
            .unwrap();
        assert_eq!(gw.current_key_id(), 3);
    }
}
