//! `POST /v1/call`: a service call with a VT (docs/PROTOCOL.md §7, §9, §11).

use crate::protocol::codes;
use crate::protocol::{decapsulate_request, CallRequest, CallResponse, Channel, ServerContext};

use super::core::{
    message_code, sealed_refusal, store_key, Gateway, SealedResponse, CALL_BUDGET_WINDOW,
    MAX_REQUEST_LEN,
};
use super::error::PreDecapError;
use super::service::{CallContext, ServiceError};
use super::tokens::IssuedClaims;

fn refuse_call(ctx: &ServerContext, code: &'static str) -> Result<SealedResponse, PreDecapError> {
    let msg = CallResponse::Refused {
        code: code.to_owned(),
    };
    sealed_refusal(ctx, code, msg.encode())
}

impl Gateway {
    /// `POST /v1/call`: opens an encapsulated service call, checks its VT and binder, runs the
    /// service and returns the encapsulated response (HTTP 200).
    ///
    /// Errors before decapsulation: as [`handle_exchange`](Self::handle_exchange). After it,
    /// `CallResponse::Refused` with, in the order checked: `UNSUPPORTED_VERSION` /
    /// `MALFORMED`, `CLOCK_SKEW`, `VT_INVALID`, `VT_EXPIRED`, `VT_NOT_BOUND`, `VT_INVALID` (the
    /// VT's partner account was removed), `PRODUCT_NOT_ALLOWED` (the VT's product left the
    /// partner's current product list),
    /// `RATE_LIMITED` (more than [`GatewayConfig::calls_per_minute`] calls with this VT in its
    /// current minute), `REPLAYED`, `SERVICE_UNKNOWN`, `SERVICE_REJECTED`, `INTERNAL`. The
    /// request id is stored before the service runs: a call refused or failed after that (even
    /// with `INTERNAL` or HTTP 500) cannot be retried with the same request id.
    pub async fn handle_call(
        &self,
        body: &[u8],
        now: u64,
    ) -> Result<SealedResponse, PreDecapError> {
        if body.len() > MAX_REQUEST_LEN {
            return Err(PreDecapError::TooLarge);
        }
        let (plaintext, ctx) = decapsulate_request(&self.keys.snapshot(), Channel::Call, body)?;
        let (req, binder) = match CallRequest::decode(&plaintext) {
            Ok(r) => r,
            Err(e) => return refuse_call(&ctx, message_code(e)),
        };
        drop(plaintext);
        if !self.window_ok(req.client_time, now) {
            return refuse_call(&ctx, codes::CLOCK_SKEW);
        }
        let Some(vt) =
            IssuedClaims::open(&self.ticket_keys.snapshot(), req.issued_token.as_bytes())
        else {
            return refuse_call(&ctx, codes::VT_INVALID);
        };
        if now >= vt.exp.saturating_add(self.config.clock_skew) {
            return refuse_call(&ctx, codes::VT_EXPIRED);
        }
        if !req.verify_binder(&vt.session_secret, &binder) {
            return refuse_call(&ctx, codes::VT_NOT_BOUND);
        }
        // Authorization as it is now (issue 14 §2): the partner account still exists and the
        // VT's product is still in its product list and in the catalogue.
        let Some(partner) = self.partner(&vt.partner) else {
            return refuse_call(&ctx, codes::VT_INVALID);
        };
        if !partner.products.contains(&vt.product) || !self.products.contains_key(&vt.product) {
            return refuse_call(&ctx, codes::PRODUCT_NOT_ALLOWED);
        }
        drop(partner);
        // The budget is charged before the request id is stored, so a session over its budget
        // adds nothing to the replay store.
        let rl_key = store_key(b"rl:", &[&vt.id]);
        match self.store.increment(&rl_key, CALL_BUDGET_WINDOW, now).await {
            Ok(n) if n <= self.config.calls_per_minute => {}
            Ok(_) => return refuse_call(&ctx, codes::RATE_LIMITED),
            Err(_) => return refuse_call(&ctx, codes::INTERNAL),
        }
        let rq_key = store_key(b"rq:", &[&req.request_id]);
        match self
            .store
            .insert_if_absent(&rq_key, self.replay_ttl(), now)
            .await
        {
            Ok(true) => {}
            Ok(false) => return refuse_call(&ctx, codes::REPLAYED),
            Err(_) => return refuse_call(&ctx, codes::INTERNAL),
        }
        let Some(service) = self.services.get(&req.service) else {
            return refuse_call(&ctx, codes::SERVICE_UNKNOWN);
        };
        let call_ctx = CallContext {
            partner: &vt.partner,
            subject: &vt.subject,
            product: &vt.product,
            service: &req.service,
            request_id: &req.request_id,
            now,
        };
        let answer = match service.call(&call_ctx, &req.body).await {
            Ok(body) => CallResponse::Ok { body },
            Err(ServiceError::Rejected) => return refuse_call(&ctx, codes::SERVICE_REJECTED),
            Err(_) => return refuse_call(&ctx, codes::INTERNAL),
        };
        let Ok(msg) = answer.encode() else {
            return refuse_call(&ctx, codes::INTERNAL);
        };
        let body = ctx
            .seal_response(&msg)
            .map_err(|_| PreDecapError::Internal)?;
        Ok(SealedResponse { body, code: None })
    }
}
