//! `POST /v1/exchange`: the AT→VT exchange (docs/PROTOCOL.md §7, §8, §11).

use crate::protocol::codes;
use crate::protocol::{
    decapsulate_request, Channel, ExchangeRequest, ExchangeResponse, ServerContext,
};

use super::core::{
    message_code, random_id, sealed_refusal, store_key, Gateway, SealedResponse, MAX_REQUEST_LEN,
};
use super::error::PreDecapError;
use super::tokens::{AccessClaims, IssuedClaims};

fn refuse_exchange(
    ctx: &ServerContext,
    code: &'static str,
) -> Result<SealedResponse, PreDecapError> {
    let msg = ExchangeResponse::Refused {
        code: code.to_owned(),
    };
    sealed_refusal(ctx, code, msg.encode())
}

impl Gateway {
    /// `POST /v1/exchange`: opens the encapsulated AT→VT exchange request and returns the
    /// encapsulated response (HTTP 200).
    ///
    /// Errors before decapsulation: [`PreDecapError`] (`TOO_LARGE`, `TRUNCATED`,
    /// `UNSUPPORTED_SUITE`, `KEY_UNKNOWN`, `INVALID_KEY`, `DECRYPT_FAILED`). After it, the
    /// response carries `ExchangeResponse::Refused` with, in the order checked:
    /// `UNSUPPORTED_VERSION` / `MALFORMED`, `CLOCK_SKEW`, `AT_INVALID` (also when the AT's
    /// partner account was removed), `AT_EXPIRED`, `PRODUCT_UNKNOWN`, `PRODUCT_NOT_ALLOWED` (not
    /// in the AT, or no longer in the partner's current product list), then, looked up before
    /// anything is stored or sealed, `REPLAYED` / `AT_USED` (the AT is used: by this very
    /// request, or by another), then the atomic steps `REPLAYED`, `AT_USED` (the consumption),
    /// `INTERNAL`. Only that last AT_USED step consumes the AT, and only on success: an exchange
    /// refused or failed for any reason leaves it usable. A request id may be stored by an
    /// exchange that then fails, but only while its AT is unused: the work and state one AT can
    /// cause are one VT seal and one request id per exchange that reaches the store before the
    /// AT is consumed (a used AT costs one store lookup and one refusal seal).
    pub async fn handle_exchange(
        &self,
        body: &[u8],
        now: u64,
    ) -> Result<SealedResponse, PreDecapError> {
        if body.len() > MAX_REQUEST_LEN {
            return Err(PreDecapError::TooLarge);
        }
        let (plaintext, ctx) = decapsulate_request(&self.keys.snapshot(), Channel::Exchange, body)?;
        let req = match ExchangeRequest::decode(&plaintext) {
            Ok(r) => r,
            Err(e) => return refuse_exchange(&ctx, message_code(e)),
        };
        drop(plaintext);
        if !self.window_ok(req.client_time, now) {
            return refuse_exchange(&ctx, codes::CLOCK_SKEW);
        }
        let ticket_keys = self.ticket_keys.snapshot();
        let Some(at) = AccessClaims::open(&ticket_keys, req.subject_token.as_bytes()) else {
            return refuse_exchange(&ctx, codes::AT_INVALID);
        };
        // Authorization as it is now (issue 14 §2): the partner account still exists.
        let Some(partner) = self.partner(&at.partner) else {
            return refuse_exchange(&ctx, codes::AT_INVALID);
        };
        let at_deadline = at.exp.saturating_add(self.config.clock_skew);
        if now >= at_deadline {
            return refuse_exchange(&ctx, codes::AT_EXPIRED);
        }
        let Some(page) = self.products.get(&req.product) else {
            return refuse_exchange(&ctx, codes::PRODUCT_UNKNOWN);
        };
        if !at.products.contains(&req.product) || !partner.products.contains(&req.product) {
            return refuse_exchange(&ctx, codes::PRODUCT_NOT_ALLOWED);
        }
        drop(partner);
        // A used AT is refused before any VT is sealed or any request id stored (issue 14 §1):
        // re-exchanging it with fresh request ids costs a lookup, not state.
        let at_key = store_key(b"at:", &[&at.id]);
        let rq_key = store_key(b"rq:", &[&req.request_id]);
        match self.store.contains(&at_key, now).await {
            Ok(false) => {}
            // A replay of the exchange that used it is told apart from a re-exchange.
            Ok(true) => match self.store.contains(&rq_key, now).await {
                Ok(true) => return refuse_exchange(&ctx, codes::REPLAYED),
                Ok(false) => return refuse_exchange(&ctx, codes::AT_USED),
                Err(_) => return refuse_exchange(&ctx, codes::INTERNAL),
            },
            Err(_) => return refuse_exchange(&ctx, codes::INTERNAL),
        }
        // Everything that can fail is prepared before the AT is consumed.
        let exp = now.saturating_add(self.config.vt_ttl);
        let Some(vt_id) = random_id() else {
            return refuse_exchange(&ctx, codes::INTERNAL);
        };
        let vt = IssuedClaims {
            id: vt_id,
            iat: now,
            exp,
            partner: at.partner.clone(),
            subject: at.subject.clone(),
            product: req.product.clone(),
            session_secret: ctx.session_secret().clone(),
        };
        let Some(key) = ticket_keys.first() else {
            return refuse_exchange(&ctx, codes::INTERNAL);
        };
        let Some(issued_token) = vt.seal(key) else {
            return refuse_exchange(&ctx, codes::INTERNAL);
        };
        let Ok(msg) = (ExchangeResponse::Issued {
            issued_token,
            exp,
            page: page.clone(),
        })
        .encode() else {
            return refuse_exchange(&ctx, codes::INTERNAL);
        };
        // The plaintext holds the VT: zeroized when dropped below.
        let msg = zeroize::Zeroizing::new(msg);
        // Sealed now (it needs the CSPRNG), so that no failure can follow the consumption of
        // the AT: after the `at:` insert below only `Ok` is returned.
        let Ok(sealed_issued) = ctx.seal_response(&msg) else {
            return refuse_exchange(&ctx, codes::INTERNAL);
        };
        drop(msg);
        match self
            .store
            .insert_if_absent(&rq_key, self.replay_ttl(), now)
            .await
        {
            Ok(true) => {}
            Ok(false) => return refuse_exchange(&ctx, codes::REPLAYED),
            Err(_) => return refuse_exchange(&ctx, codes::INTERNAL),
        }
        match self
            .store
            .insert_if_absent(&at_key, at_deadline - now, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => return refuse_exchange(&ctx, codes::AT_USED),
            Err(_) => return refuse_exchange(&ctx, codes::INTERNAL),
        }
        Ok(SealedResponse {
            body: sealed_issued,
            code: None,
        })
    }
}
