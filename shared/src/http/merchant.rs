//! Merchant endpoints (SPEC §2.2, §2.3, §3, §8.2): find the app, verify (parse, validate,
//! sign, reqTime, nonce replay), run the use case as that app, answer in the signed envelope.

use super::{Target, response};
use crate::app::{App, TenantError};
use crate::daxpay::envelope::{refusal_data, signed, unsigned};
use crate::daxpay::request::{Common, MAX_FUTURE_SECS, Params, Verified};
use crate::daxpay::{ApiError, ValidationError};
use crate::daxpay::{Spelling, views};
use crate::service::{Model, Outcome};
use lambda_http::{Body, Response};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// Verifies a merchant request for the app its path names, runs `logic` on it as that app and
/// wraps the outcome in the envelope.
///
/// An unknown app is verified like any other, with a secret nobody holds: it is answered as a
/// wrong signature is, after the same checks in the same order, so nothing tells whether an
/// app id exists. A disabled app (or merchant) is refused once its signature verifies, before
/// anything is written.
///
/// Only parsing the parameters and the use case depend on the endpoint: finding the app, the
/// replay check and the answer are one copy each (`open`, `claim`, `answer`), not one per
/// endpoint in the api binary.
pub async fn merchant<T, F, Fut>(at: &Target<'_>, body: &[u8], logic: F) -> Response<Body>
where
    T: Params,
    F: FnOnce(App, Verified<T>) -> Fut,
    Fut: Future<Output = Result<Outcome, ApiError>>,
{
    let trace_id = at.trace_id;
    let (app, disabled) = match open(at).await {
        Ok(found) => found,
        Err(e) => return error(&e, trace_id),
    };
    let app = &app;
    let verified = match app.verifier.verify::<T>(body, app.clock.now()) {
        Ok(_) if disabled => return error(&ApiError::AppDisabled, trace_id),
        Ok(v) => v,
        Err(e) => return error(&e, trace_id),
    };
    if !T::CLAIMS_NONCE
        && let Err(e) = claim(app, &verified.common).await
    {
        return error(&e, trace_id);
    }
    let spelling = verified.common.spelling;
    answer(app, spelling, logic(app.clone(), verified).await, trace_id)
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The app the path names and whether it is disabled; a stranger (an app verifying with a
/// secret nobody holds) for an unknown one.
fn open<'a>(at: &'a Target<'a>) -> Boxed<'a, Result<(App, bool), ApiError>> {
    Box::pin(async move {
        match at.stack.app(at.app_id).await {
            Ok(app) => Ok((app, false)),
            Err(TenantError::Disabled(app)) => Ok((*app, true)),
            Err(TenantError::Unknown) => Ok((at.stack.stranger(), false)),
            Err(TenantError::System(cause)) => Err(ApiError::System(cause)),
        }
    })
}

/// Refuses a replayed (nonceStr, reqTime) pair of a verified request, claiming it otherwise:
/// the last step of verification, so nothing is written for a request that fails another. A
/// use case that claims the nonce in its own first write ([`Params::CLAIMS_NONCE`]) is left to.
pub(super) async fn claim_nonce<T: Params>(
    app: &App,
    verified: Verified<T>,
) -> Result<Verified<T>, ApiError> {
    if !T::CLAIMS_NONCE {
        claim(app, &verified.common).await?;
    }
    Ok(verified)
}

/// Claims the request's (nonceStr, reqTime) pair, if it has a nonce.
fn claim<'a>(app: &'a App, common: &'a Common) -> Boxed<'a, Result<(), ApiError>> {
    Box::pin(async move {
        let Some(nonce) = common.nonce_str.as_deref().filter(|n| !n.is_empty()) else {
            return Ok(());
        };
        let req_time = common.req_time;
        let expires_at = req_time + app.verifier.req_timeout_secs + MAX_FUTURE_SECS;
        if !app.store.use_nonce(nonce, req_time, expires_at).await? {
            return Err(ValidationError::new(
                "nonceStr",
                "重复请求 (this nonceStr was already used with this reqTime)",
            )
            .into());
        }
        Ok(())
    })
}

/// The signed envelope of what the use case decided.
#[inline(never)]
fn answer(
    app: &App,
    spelling: Spelling,
    outcome: Result<Outcome, ApiError>,
    trace_id: &str,
) -> Response<Body> {
    let signer = &app.verifier.signer;
    match outcome {
        Ok(Outcome::Ok(data)) => json(&signed(signer, data, 0, app.clock.now(), trace_id)),
        Ok(Outcome::Model(model)) => {
            let data = v2_model(&model, spelling);
            json(&signed(signer, data, 0, app.clock.now(), trace_id))
        }
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

/// A DaxPay model answer as the 2.0.x SDKs read it, in the request's generation of names.
fn v2_model(model: &Model, spelling: Spelling) -> serde_json::Map<String, Value> {
    match model {
        Model::Allocation(order) => views::data(&views::AllocationView::from(order), spelling),
        Model::Order(a) => views::data(&views::AllocOrderView::new(&a.order, &a.details), spelling),
        Model::Synced(_) | Model::Done => views::data(&views::Common {}, spelling),
        Model::Receivers(list) => views::data(
            &views::ReceiversView {
                receivers: list.iter().map(views::ReceiverView::from).collect(),
            },
            spelling,
        ),
    }
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
