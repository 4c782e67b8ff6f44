//! The mock services: `profile`, `quote`, `echo`.

use std::collections::HashMap;

use h5_access::gateway::{CallContext, Service, ServiceError, ServiceFuture};
use serde::Deserialize;

/// Masks a display name: keeps the first and last character, stars in between
/// (`"demo-user"` → `"d*******r"`; one or two characters → all stars).
pub fn mask(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.as_slice() {
        [first, middle @ .., last] if !middle.is_empty() => {
            let mut s = String::new();
            s.push(*first);
            s.extend(middle.iter().map(|_| '*'));
            s.push(*last);
            s
        }
        _ => "*".repeat(chars.len()),
    }
}

/// `profile`: the caller's masked display name, from the VT (the body is ignored).
pub fn profile(ctx: &CallContext<'_>, _body: &str) -> Result<String, ServiceError> {
    Ok(serde_json::json!({
        "display_name": mask(ctx.subject),
        "product": ctx.product,
        "partner": ctx.partner,
    })
    .to_string())
}

/// `echo`: answers the body unchanged (it must be JSON).
pub fn echo(_ctx: &CallContext<'_>, body: &str) -> Result<String, ServiceError> {
    serde_json::from_str::<serde_json::Value>(body).map_err(|_| ServiceError::Rejected)?;
    Ok(body.to_owned())
}

/// `quote`: simple interest on `amount_cents` over `months` at the session product's rate.
pub struct Quote {
    rates: HashMap<String, u64>,
}

impl Quote {
    /// Rates in basis points per product id.
    pub fn new(rates: HashMap<String, u64>) -> Self {
        Self { rates }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuoteBody {
    amount_cents: u64,
    months: u64,
}

impl Service for Quote {
    fn call<'a>(&'a self, ctx: &'a CallContext<'a>, body: &'a str) -> ServiceFuture<'a> {
        Box::pin(std::future::ready(self.quote(ctx, body)))
    }
}

impl Quote {
    /// Body `{"amount_cents": 1..=10^12, "months": 1..=360}` → `{"product", "amount_cents",
    /// "months", "rate_bps", "interest_cents", "total_cents"}` with
    /// `interest_cents = floor(amount_cents × rate_bps × months / 120000)`.
    fn quote(&self, ctx: &CallContext<'_>, body: &str) -> Result<String, ServiceError> {
        if !h5_access::gateway::starts_json_object(body.as_bytes()) {
            return Err(ServiceError::Rejected);
        }
        let q: QuoteBody = serde_json::from_str(body).map_err(|_| ServiceError::Rejected)?;
        if !(1..=1_000_000_000_000).contains(&q.amount_cents) || !(1..=360).contains(&q.months) {
            return Err(ServiceError::Rejected);
        }
        let rate = *self.rates.get(ctx.product).ok_or(ServiceError::Rejected)?;
        let interest =
            u128::from(q.amount_cents) * u128::from(rate) * u128::from(q.months) / 120_000;
        let interest = u64::try_from(interest).map_err(|_| ServiceError::Rejected)?;
        Ok(serde_json::json!({
            "product": ctx.product,
            "amount_cents": q.amount_cents,
            "months": q.months,
            "rate_bps": rate,
            "interest_cents": interest,
            "total_cents": q.amount_cents.saturating_add(interest),
        })
        .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask("demo-user"), "d*******r");
        assert_eq!(mask("ab"), "**");
        assert_eq!(mask("u-1"), "u*1");
        assert_eq!(mask(""), "");
    }
}
