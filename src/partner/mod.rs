//! The partner backend's helper (cargo feature `partner`): signs access-token requests to the
//! gateway and opens the AT the gateway returns sealed for the partner (docs/PROTOCOL.md §10).
//!
//! ```
//! use h5_access::partner::PartnerCredentials;
//! let creds =
//!     PartnerCredentials::new("demo-partner", b"0123456789abcdef0123456789abcdef".to_vec())
//!         .unwrap();
//! let body = PartnerCredentials::access_token_request_body("user-42", &["wealth-01"]);
//! let auth = creds.sign_now("POST", "/v1/partner/access-token", body.as_bytes()).unwrap();
//! assert!(auth.starts_with("H5-HMAC-SHA256 partner=demo-partner, ts="));
//! // POST body with `Authorization: {auth}` and `Content-Type: application/json`, then:
//! // let at = creds.open_access_token_response(&response_body)?;
//! ```

use core::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::protocol::code_enum::code_enum;
use crate::protocol::partner_wire;
use crate::protocol::Token;

pub use crate::protocol::partner_wire::{AccessToken, MIN_SECRET_LEN};

code_enum! {
    /// The partner helper's errors.
    pub enum PartnerError {
        /// The nonce is not 16..=64 characters of `[A-Za-z0-9_-]`, or the partner id is invalid.
        BadInput => "BAD_INPUT",
        /// The platform CSPRNG or clock failed.
        Platform => "PLATFORM",
        /// The gateway's response is not the expected JSON.
        MalformedResponse => "MALFORMED_RESPONSE",
        /// The sealed AT does not open with this partner's secret (tampered, or another
        /// partner's).
        DecryptFailed => "DECRYPT_FAILED",
        /// The shared secret is shorter than [`MIN_SECRET_LEN`] bytes (the gateway refuses such
        /// a partner too).
        WeakSecret => "WEAK_SECRET",
    }
}

impl core::error::Error for PartnerError {}

/// A partner's id and shared secret. The secret is zeroized on drop and never printed.
#[derive(Clone)]
pub struct PartnerCredentials {
    id: String,
    secret: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for PartnerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartnerCredentials")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct AccessTokenResponse {
    sealed_access_token: String,
    exp: u64,
}

impl PartnerCredentials {
    /// Credentials for partner `id` with its shared secret (at least [`MIN_SECRET_LEN`] bytes).
    ///
    /// Errors: [`PartnerError::WeakSecret`] (the secret is zeroized before returning).
    pub fn new(id: impl Into<String>, secret: impl Into<Vec<u8>>) -> Result<Self, PartnerError> {
        let secret = Zeroizing::new(secret.into());
        if secret.len() < MIN_SECRET_LEN {
            return Err(PartnerError::WeakSecret);
        }
        Ok(Self {
            id: id.into(),
            secret,
        })
    }

    /// The partner id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The JSON body of an access-token request: `{"subject":"…","products":["…"]}`.
    pub fn access_token_request_body(subject: &str, products: &[&str]) -> String {
        serde_json::json!({ "subject": subject, "products": products }).to_string()
    }

    /// The `Authorization` header value for a request:
    /// `H5-HMAC-SHA256 partner=<id>, ts=<ts>, nonce=<nonce>, sig=<base64url HMAC>`.
    ///
    /// `ts` is seconds since the Unix epoch; `nonce` 16..=64 characters of `[A-Za-z0-9_-]`,
    /// never reused. Errors: [`PartnerError::BadInput`].
    pub fn sign(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        ts: u64,
        nonce: &str,
    ) -> Result<String, PartnerError> {
        if !partner_wire::valid_nonce(nonce) || !partner_wire::valid_partner_id(&self.id) {
            return Err(PartnerError::BadInput);
        }
        let canonical = partner_wire::canonical_request(method, path, &self.id, ts, nonce, body);
        let sig = partner_wire::sign(&self.secret, &canonical).ok_or(PartnerError::Platform)?;
        Ok(partner_wire::format_auth(&self.id, ts, nonce, &sig))
    }

    /// [`sign`](Self::sign) with the system clock and a fresh random 22-character nonce.
    ///
    /// Errors: [`PartnerError::Platform`], [`PartnerError::BadInput`].
    pub fn sign_now(&self, method: &str, path: &str, body: &[u8]) -> Result<String, PartnerError> {
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| PartnerError::Platform)?
            .as_secs();
        self.sign(method, path, body, ts, &random_nonce()?)
    }

    /// Opens a sealed AT (the `sealed_access_token` string).
    ///
    /// Errors: [`PartnerError::MalformedResponse`] (not base64url), [`PartnerError::DecryptFailed`].
    pub fn open_sealed_access_token(&self, sealed: &str) -> Result<Token, PartnerError> {
        let raw = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| PartnerError::MalformedResponse)?;
        let at = partner_wire::open_for_partner(&self.secret, &self.id, &raw)
            .ok_or(PartnerError::DecryptFailed)?;
        Token::new(at.to_vec()).map_err(|_| PartnerError::MalformedResponse)
    }

    /// Parses the gateway's JSON response `{"sealed_access_token":…,"exp":…}` and opens the AT.
    ///
    /// Errors: [`PartnerError::MalformedResponse`], [`PartnerError::DecryptFailed`].
    pub fn open_access_token_response(&self, json: &[u8]) -> Result<AccessToken, PartnerError> {
        let r: AccessTokenResponse =
            serde_json::from_slice(json).map_err(|_| PartnerError::MalformedResponse)?;
        Ok(AccessToken {
            token: self.open_sealed_access_token(&r.sealed_access_token)?,
            exp: r.exp,
        })
    }
}

/// A fresh nonce: base64url of 16 random bytes (22 characters).
///
/// Errors: [`PartnerError::Platform`].
pub fn random_nonce() -> Result<String, PartnerError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|_| PartnerError::Platform)?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}
