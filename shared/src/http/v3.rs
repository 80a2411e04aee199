//! DaxPay 3.0.0-beta4's allocation endpoints (SPEC §8.2): `/unipay/alloc/...`. The app is the
//! body's `appId` (and, under `/app/{appId}`, must be the path's); the request is verified as
//! beta4 signs it, run through the same services as a 2.0.x one, and answered as beta4's
//! server answers: `{code, msg, data, sign, resTime, traceId}`, signed over the whole envelope.
//! A refusal has its beta4 code; an unknown app is answered as a wrong signature is.

use super::merchant::claim_nonce;
use super::{Target, response};
use crate::app::{App, TenantError};
use crate::daxpay::request::{Params, Verified};
use crate::daxpay::v3::codes::{envelope as code, refusal_code};
use crate::daxpay::v3::params::{
    AllocReceiverAddParam, AllocReceiverRemoveParam, AllocRef, AllocationParam,
    QueryAllocReceiverParam,
};
use crate::daxpay::v3::{request, views};
use crate::daxpay::{ApiError, ValidationError};
use crate::domain::numbers::beijing_timestamp;
use crate::service::{Model, Outcome, orders, receivers, start};
use alloc_protocol::beta4::Answer;
use lambda_http::{Body, Response};
use serde_json::json;
use std::future::Future;

/// beta4's allocation endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocOp {
    Start,
    Finish,
    Sync,
    Query,
    ReceiverAdd,
    ReceiverRemove,
    ReceiverList,
}

fn json_answer(text: String) -> Response<Body> {
    response(200, "application/json", text)
}

/// An answer beta4 gives outside its signing step (an unreadable body, an app it cannot find
/// or that is disabled, a system error): `{msg, code, data, traceId}`, unsigned.
fn unsigned(code: i64, msg: &str, trace_id: &str) -> Response<Body> {
    json_answer(json!({"msg": msg, "code": code, "data": null, "traceId": trace_id}).to_string())
}

/// A request refused before its app is known (an unsigned 10506, or 10505 for a body that is
/// not JSON).
pub(crate) fn refused_unsigned(e: &ApiError, trace_id: &str) -> Response<Body> {
    let code = if matches!(e, ApiError::Malformed(_)) {
        code::MALFORMED
    } else {
        code::VALIDATION
    };
    unsigned(code, &e.to_string(), trace_id)
}

/// A signed answer of `app`.
fn signed(
    app: &App,
    code: i64,
    msg: String,
    data: Option<alloc_protocol::beta4::Val>,
    trace_id: &str,
) -> Response<Body> {
    let answer = Answer {
        code,
        msg,
        data,
        res_time: beijing_timestamp(app.clock.now()),
        trace_id: Some(trace_id.to_owned()),
    };
    json_answer(app.verifier.signer.signed_beta4_answer(&answer))
}

/// A request that failed verification or the system, as beta4 answers it.
fn failed(app: &App, e: &ApiError, trace_id: &str) -> Response<Body> {
    match e {
        ApiError::Malformed(_) => unsigned(code::MALFORMED, &e.to_string(), trace_id),
        ApiError::Invalid(_) => signed(app, code::VALIDATION, e.to_string(), None, trace_id),
        ApiError::BadSignature => signed(app, code::SIGN, e.to_string(), None, trace_id),
        ApiError::AppDisabled => unsigned(code::APP_DISABLED, &e.to_string(), trace_id),
        ApiError::UnknownPath { .. } => unsigned(code::NOT_FOUND, &e.to_string(), trace_id),
        ApiError::System(cause) => {
            tracing::error!(cause = %cause, "system error");
            unsigned(code::SYSTEM, "系统错误", trace_id)
        }
    }
}

/// Handles a beta4 allocation request.
pub(crate) async fn alloc(at: &Target<'_>, op: AllocOp, body: &[u8]) -> Response<Body> {
    let t = at.trace_id;
    let head = match request::head(body) {
        Ok(h) => h,
        Err(e) => return refused_unsigned(&e, t),
    };
    tracing::Span::current().record("appId", head.app_id.as_str());
    if let Some(path_app) = at.app_id
        && path_app != head.app_id
    {
        let e = ApiError::invalid(
            "appId",
            format!("is not the app of the path /app/{path_app}"),
        );
        return unsigned(code::VALIDATION, &e.to_string(), t);
    }
    let (app, disabled) = match at.stack.app(Some(&head.app_id)).await {
        Ok(app) => (app, false),
        Err(TenantError::Disabled(app)) => (*app, true),
        Err(TenantError::Unknown) => (at.stack.stranger(), false),
        Err(TenantError::System(cause)) => {
            tracing::error!(cause = %cause, "tenant registry");
            return unsigned(code::SYSTEM, "系统错误", t);
        }
    };
    let call = Call {
        app: &app,
        disabled,
        mch_no: head.mch_no.as_deref(),
        body,
        trace_id: t,
    };
    match op {
        AllocOp::Start => {
            call.run(|p: &AllocationParam| Ok(p.start()), start::start)
                .await
        }
        AllocOp::Finish => call.run(|p: &AllocRef| Ok(p.order()), orders::finish).await,
        AllocOp::Sync => call.run(|p: &AllocRef| Ok(p.order()), orders::sync).await,
        AllocOp::Query => call.run(|p: &AllocRef| Ok(p.order()), orders::query).await,
        AllocOp::ReceiverAdd => call.run(AllocReceiverAddParam::add, receivers::add).await,
        AllocOp::ReceiverRemove => {
            call.run(
                |p: &AllocReceiverRemoveParam| Ok(p.remove()),
                receivers::remove,
            )
            .await
        }
        AllocOp::ReceiverList => {
            call.run(
                |p: &QueryAllocReceiverParam| Ok(p.query()),
                receivers::query,
            )
            .await
        }
    }
}

/// One request for one app.
struct Call<'a> {
    app: &'a App,
    disabled: bool,
    mch_no: Option<&'a str>,
    body: &'a [u8],
    trace_id: &'a str,
}

impl Call<'_> {
    /// Verifies the beta4 parameters `P`, turns them into the service's `T` and answers what
    /// `logic` decided as beta4's model.
    async fn run<P, T, F, Fut>(
        &self,
        convert: impl Fn(&P) -> Result<T, ValidationError>,
        logic: F,
    ) -> Response<Body>
    where
        P: Params,
        F: FnOnce(App, Verified<T>) -> Fut,
        Fut: Future<Output = Result<Outcome, ApiError>>,
    {
        let (app, t) = (self.app, self.trace_id);
        let now = app.clock.now();
        let verified = match request::verify::<P>(&app.verifier, self.body, now) {
            Ok(v) => v,
            Err(e) => return failed(app, &e, t),
        };
        if self.disabled {
            return failed(app, &ApiError::AppDisabled, t);
        }
        if let Some(m) = self.mch_no
            && m != app.tenant.mch_no.as_str()
        {
            let e = ApiError::invalid("mchNo", "is not the merchant of this app");
            return failed(app, &e, t);
        }
        let verified = match claim_nonce(app, verified).await {
            Ok(v) => v,
            Err(e) => return failed(app, &e, t),
        };
        let params = match convert(&verified.params) {
            Ok(p) => p,
            Err(e) => return failed(app, &e.into(), t),
        };
        let request = Verified {
            params,
            common: verified.common,
        };
        answer(app, logic(app.clone(), request).await, t)
    }
}

/// beta4's signed answer to what the use case decided: one copy, not one per operation.
#[inline(never)]
fn answer(app: &App, outcome: Result<Outcome, ApiError>, t: &str) -> Response<Body> {
    match outcome {
        Ok(Outcome::Model(model)) => {
            let data = match *model {
                Model::Allocation(o) => Some(views::allocation(&o)),
                Model::Synced(o) => Some(views::synced(&o)),
                Model::Order(a) => Some(views::order(&a)),
                Model::Receivers(list) => Some(views::receivers(&list)),
                Model::Done => None,
            };
            signed(app, code::OK, "success".into(), data, t)
        }
        Ok(Outcome::Refused(refusal)) => {
            tracing::info!(reason = %refusal, "refused");
            signed(app, refusal_code(&refusal), refusal.to_string(), None, t)
        }
        Ok(Outcome::Ok(_)) => failed(
            app,
            &ApiError::System("a 2.0.x answer to a beta4 request".into()),
            t,
        ),
        Err(e) => failed(app, &e, t),
    }
}
