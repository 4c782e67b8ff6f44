//! Partner accounts ([`Partner`]) and a partner's access-token request as the HTTP layer
//! received it ([`PartnerRequest`]), docs/PROTOCOL.md §10.

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::protocol::partner_wire;

use super::error::ConfigError;
use super::tokens;

/// A partner account: id, shared secret (≥ 16 bytes) and the products it may issue ATs for.
///
/// The secret is zeroized on drop and never printed.
#[derive(Clone)]
pub struct Partner {
    pub(super) id: String,
    pub(super) secret: Zeroizing<Vec<u8>>,
    pub(super) products: Vec<String>,
}

impl core::fmt::Debug for Partner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Partner")
            .field("id", &self.id)
            .field("products", &self.products)
            .finish_non_exhaustive()
    }
}

impl Partner {
    /// A partner account.
    ///
    /// Errors: [`ConfigError::BadPartnerId`], [`ConfigError::WeakPartnerSecret`],
    /// [`ConfigError::BadProductId`].
    pub fn new(
        id: impl Into<String>,
        secret: impl Into<Vec<u8>>,
        products: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, ConfigError> {
        let id = id.into();
        let secret = Zeroizing::new(secret.into());
        if !partner_wire::valid_partner_id(&id) {
            return Err(ConfigError::BadPartnerId(id));
        }
        if secret.len() < partner_wire::MIN_SECRET_LEN {
            return Err(ConfigError::WeakPartnerSecret(id));
        }
        let products: Vec<String> = products.into_iter().map(Into::into).collect();
        if let Some(p) = products.iter().find(|p| !tokens::valid_name(p)) {
            return Err(ConfigError::BadProductId(p.clone()));
        }
        Ok(Self {
            id,
            secret,
            products,
        })
    }

    /// The partner id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A partner's access-token request as the HTTP layer received it. `Debug` prints the method,
/// the path and the lengths of the `Authorization` header and the body, never their content.
#[derive(Clone, Copy)]
pub struct PartnerRequest<'a> {
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// Request path without query, e.g. [`ACCESS_TOKEN_PATH`].
    pub path: &'a str,
    /// The `Authorization` header value, if any.
    pub authorization: Option<&'a str>,
    /// The raw body.
    pub body: &'a [u8],
}

impl core::fmt::Debug for PartnerRequest<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PartnerRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("authorization_len", &self.authorization.map(str::len))
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The access-token request body: `{"subject":"…","products":["…",…]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccessTokenBody {
    pub(super) subject: String,
    pub(super) products: Vec<String>,
}
