//! `POST /feed/pay-order` (SPEC §4.1) and `POST /feed/refund` (§4.9): DaxPay's signed payment
//! and refund notices, answered `SUCCESS` once stored (or already stored); anything else makes
//! the sender retry: 400 for a bad notice, 401 for a bad signature, 409 when it contradicts what
//! we hold (or names a pay order we do not hold yet), 500 when it could not be stored. A feed
//! is always verified, whatever the app's `reqSign` says (SPEC §8.1): it moves money. The app
//! is the path's (`/app/{appId}/feed/...`, else the default); an unknown app is answered as a
//! bad signature is, a disabled one 403 once its signature verifies.

use super::{Target, text};
use crate::app::{App, TenantError};
use crate::daxpay::pay_notice::{PayNoticeError, parse_pay_notice};
use crate::daxpay::refund_notice::parse_refund_notice;
use crate::service::pay_orders;
use crate::store::{FeedOutcome, StoreError};
use lambda_http::{Body, Response};
use tracing::Instrument;

fn refused(what: &str, e: &PayNoticeError) -> Response<Body> {
    tracing::warn!(error = %e, "{what} refused");
    let status = if *e == PayNoticeError::BadSignature {
        401
    } else {
        400
    };
    text(status, format!("FAIL: {e}"))
}

fn answer(what: &str, result: Result<FeedOutcome, StoreError>, status: &str) -> Response<Body> {
    match result {
        Ok(outcome) => {
            let outcome = match outcome {
                FeedOutcome::Created => "created",
                FeedOutcome::Updated => "updated",
                FeedOutcome::Unchanged => "unchanged",
            };
            tracing::info!(outcome, status, "{what} applied");
            text(200, "SUCCESS".into())
        }
        Err(StoreError::Conflict(why)) => {
            tracing::warn!(reason = %why, "{what} conflicts with what is stored");
            text(409, format!("FAIL: {why}"))
        }
        Err(e) => {
            tracing::error!(cause = %e, "{what} not stored");
            text(500, "FAIL: system error".into())
        }
    }
}

/// The app a feed is for, or the answer that ends it (`Err`) once its signature is checked.
async fn app_of(at: &Target<'_>) -> Result<(App, bool), Response<Body>> {
    match at.stack.app(at.app_id).await {
        Ok(app) => Ok((app, false)),
        Err(TenantError::Disabled(app)) => Ok((*app, true)),
        Err(TenantError::Unknown) => Ok((at.stack.stranger(), false)),
        Err(TenantError::System(cause)) => {
            tracing::error!(cause = %cause, "tenant registry");
            Err(text(500, "FAIL: system error".into()))
        }
    }
}

fn disabled(what: &str) -> Response<Body> {
    tracing::warn!("{what} refused: the app or its merchant is disabled");
    text(403, "FAIL: app disabled".into())
}

pub async fn refund(at: &Target<'_>, body: &[u8]) -> Response<Body> {
    let (app, off) = match app_of(at).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let app = &app;
    let now = app.clock.now();
    let refund = match parse_refund_notice(body, |m| app.verifier.signed(m, now)) {
        Ok(_) if off => return disabled("refund notice"),
        Ok(refund) => refund,
        Err(e) => return refused("refund notice", &e),
    };
    let span = tracing::info_span!("refund_notice", orderNo = %refund.order_no, refundNo = %refund.refund_no);
    async {
        let result = pay_orders::apply_refund(app, &refund).await;
        answer("refund notice", result, refund.status.code())
    }
    .instrument(span)
    .await
}

pub async fn pay_order(at: &Target<'_>, body: &[u8]) -> Response<Body> {
    let (app, off) = match app_of(at).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let app = &app;
    let now = app.clock.now();
    let mut order = match parse_pay_notice(body, |m| app.verifier.signed(m, now)) {
        Ok(_) if off => return disabled("pay notice"),
        Ok(order) => order,
        Err(e) => return refused("pay notice", &e),
    };
    // the account the payment was made under: every later call about it uses it
    order.account = app
        .channels
        .get(order.channel)
        .ok()
        .map(|c| c.account_key());
    let span = tracing::info_span!("pay_notice", orderNo = %order.order_no, bizOrderNo = %order.biz_order_no);
    async {
        let result = pay_orders::apply_notice(app, &order).await;
        answer("pay notice", result, order.status.code())
    }
    .instrument(span)
    .await
}
