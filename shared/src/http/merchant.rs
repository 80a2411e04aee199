//! Merchant endpoints (SPEC §2.2, §2.3, §3): verify (parse, validate, sign, reqTime, nonce
//! replay), run the use case, answer in the signed envelope.

use super::response;
use crate::app::App;
use crate::daxpay::envelope::{refusal_data, signed, unsigned};
use crate::daxpay::request::{MAX_FUTURE_SECS, Params, Verified};
use crate::daxpay::{ApiError, ValidationError};
use crate::service::Outcome;
use lambda_http::{Body, Response};
use serde_json::Value;
use std::future::Future;

/// Verifies a merchant request, runs `logic` on it and wraps the outcome in the envelope.
pub async fn merchant<T, F, Fut>(app: &App, body: &[u8], trace_id: &str, logic: F) -> Response<Body>
where
    T: Params,
    F: FnOnce(App, Verified<T>) -> Fut,
    Fut: Future<Output = Result<Outcome, ApiError>>,
{
    let now = app.clock.now();
    let verified = match verify(app, body, now).await {
        Ok(v) => v,
        Err(e) => return error(&e, trace_id),
    };
    let signer = &app.verifier.signer;
    match logic(app.clone(), verified).await {
        Ok(Outcome::Ok(data)) => json(&signed(signer, data, 0, app.clock.now(), trace_id)),
        Ok(Outcome::Refused(refusal)) => {
            let msg = refusal.to_string();
            tracing::info!(reason = %msg, "refused");
            json(&signed(
                signer,
                refusal_data(msg),
                1,
                app.clock.now(),
                trace_id,
            ))
        }
        Err(e) => error(&e, trace_id),
    }
}

/// The verification every merchant endpoint shares. Writes nothing unless the request passed
/// every other check (the nonce claim is the last step).
pub async fn verify<T: Params>(app: &App, body: &[u8], now: i64) -> Result<Verified<T>, ApiError> {
    let verified: Verified<T> = app.verifier.verify(body, now)?;
    if let Some(nonce) = verified
        .common
        .nonce_str
        .as_deref()
        .filter(|n| !n.is_empty())
    {
        let req_time = verified.common.req_time;
        let expires_at = req_time + app.verifier.req_timeout_secs + MAX_FUTURE_SECS;
        if !app.store.use_nonce(nonce, req_time, expires_at).await? {
            return Err(ValidationError::new(
                "nonceStr",
                "重复请求 (this nonceStr was already used with this reqTime)",
            )
            .into());
        }
    }
    Ok(verified)
}

fn json(value: &Value) -> Response<Body> {
    response(200, "application/json; charset=utf-8", value.to_string())
}

/// The answer to a request that could not be verified or failed; the cause of a system error
/// is logged with the trace id, never shown.
pub fn error(e: &ApiError, trace_id: &str) -> Response<Body> {
    match e {
        ApiError::System(cause) => tracing::error!(cause = %cause, "system error"),
        other => tracing::info!(code = other.code(), error = %other, "request not verified"),
    }
    json(&unsigned(e, trace_id))
}
