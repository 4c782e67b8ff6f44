//! The partner API: `POST /v1/partner/access-token` (docs/PROTOCOL.md §10), and minting an AT
//! in-process.

use crate::protocol::partner_wire;

use super::core::{
    random_id, starts_json_object, store_key, Gateway, IssuedAccessToken, MAX_REQUEST_LEN,
};
use super::error::PreDecapError;
use super::partners::{AccessTokenBody, PartnerRequest};
use super::tokens::{self, AccessClaims, MAX_AT_PRODUCTS};

impl Gateway {
    /// Seals an AT for `partner_id` directly (no partner signature): for a provider issuing
    /// ATs in-process, and for tests (an `exp` in the past gives an expired AT).
    ///
    /// Errors: [`PreDecapError::PartnerUnknown`], [`PreDecapError::PartnerBadRequest`] (bad
    /// subject, no or too many products), [`PreDecapError::PartnerProductNotAllowed`],
    /// [`PreDecapError::Internal`].
    pub fn mint_access_token(
        &self,
        partner_id: &str,
        subject: &str,
        products: &[String],
        now: u64,
        exp: u64,
    ) -> Result<IssuedAccessToken, PreDecapError> {
        let partner = self
            .partners
            .get(partner_id)
            .ok_or(PreDecapError::PartnerUnknown)?;
        if !tokens::valid_subject(subject)
            || products.is_empty()
            || products.len() > MAX_AT_PRODUCTS
            || !products.iter().all(|p| tokens::valid_name(p))
        {
            return Err(PreDecapError::PartnerBadRequest);
        }
        if !products
            .iter()
            .all(|p| partner.products.contains(p) && self.products.contains_key(p))
        {
            return Err(PreDecapError::PartnerProductNotAllowed);
        }
        let claims = AccessClaims {
            id: random_id().ok_or(PreDecapError::Internal)?,
            iat: now,
            exp,
            partner: partner.id.clone(),
            subject: subject.to_owned(),
            products: products.to_vec(),
        };
        let keys = self.ticket_keys.snapshot();
        let key = keys.first().ok_or(PreDecapError::Internal)?;
        let token = claims.seal(key).ok_or(PreDecapError::Internal)?;
        Ok(IssuedAccessToken { token, exp })
    }

    /// `POST /v1/partner/access-token`: verifies the partner's signed request
    /// (docs/PROTOCOL.md §10) and returns the JSON response body
    /// `{"sealed_access_token":"<base64url>","exp":<seconds>}`, the AT sealed for that partner.
    ///
    /// Checks, in order: `Authorization` parses (`PARTNER_AUTH_MALFORMED`), partner known
    /// (`PARTNER_UNKNOWN`), `ts` within the request window (`PARTNER_TIMESTAMP`), signature
    /// (`PARTNER_SIGNATURE`), body (`PARTNER_BAD_REQUEST`), products allowed
    /// (`PARTNER_PRODUCT_NOT_ALLOWED`), then the AT is minted and sealed (`INTERNAL`), and last
    /// nonce unused (`PARTNER_NONCE_REUSED`): a refused or failed request leaves its nonce unused.
    pub async fn issue_access_token(
        &self,
        req: &PartnerRequest<'_>,
        now: u64,
    ) -> Result<Vec<u8>, PreDecapError> {
        if req.body.len() > MAX_REQUEST_LEN {
            return Err(PreDecapError::TooLarge);
        }
        let auth = req
            .authorization
            .and_then(partner_wire::parse_auth)
            .ok_or(PreDecapError::PartnerAuthMalformed)?;
        let partner = self
            .partners
            .get(auth.partner)
            .ok_or(PreDecapError::PartnerUnknown)?;
        if !self.window_ok(auth.ts, now) {
            return Err(PreDecapError::PartnerTimestamp);
        }
        let canonical = partner_wire::canonical_request(
            req.method,
            req.path,
            auth.partner,
            auth.ts,
            auth.nonce,
            req.body,
        );
        if !partner_wire::verify(&partner.secret, &canonical, &auth.sig) {
            return Err(PreDecapError::PartnerSignature);
        }
        // serde's derive also accepts a JSON array for a struct: require an object.
        if !starts_json_object(req.body) {
            return Err(PreDecapError::PartnerBadRequest);
        }
        let body: AccessTokenBody =
            serde_json::from_slice(req.body).map_err(|_| PreDecapError::PartnerBadRequest)?;
        let exp = now.saturating_add(self.config.at_ttl);
        let issued =
            self.mint_access_token(&partner.id, &body.subject, &body.products, now, exp)?;
        let mut nonce = [0u8; partner_wire::DELIVERY_NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| PreDecapError::Internal)?;
        let sealed = partner_wire::seal_for_partner(
            &partner.secret,
            &partner.id,
            issued.token.as_bytes(),
            &nonce,
        )
        .ok_or(PreDecapError::Internal)?;
        use base64::Engine as _;
        let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed);
        // The nonce is stored last: a refused body or a CSPRNG failure above leaves it unused,
        // and after the insert only `Ok` is returned.
        let key = store_key(b"pn:", &[auth.partner.as_bytes(), auth.nonce.as_bytes()]);
        match self
            .store
            .insert_if_absent(&key, self.replay_ttl(), now)
            .await
        {
            Ok(true) => {}
            Ok(false) => return Err(PreDecapError::PartnerNonceReused),
            Err(_) => return Err(PreDecapError::Internal),
        }
        Ok(
            serde_json::json!({ "sealed_access_token": sealed, "exp": exp })
                .to_string()
                .into_bytes(),
        )
    }
}
