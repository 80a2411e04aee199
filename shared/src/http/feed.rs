//! `POST /feed/pay-order` (SPEC §4.1): DaxPay's signed payment notice, answered `SUCCESS` once
//! the pay order is stored (or was already); anything else makes the sender retry: 400 for a
//! bad notice, 401 for a bad signature, 409 when it contradicts the stored order, 500 when it
//! could not be stored.

use super::text;
use crate::app::App;
use crate::daxpay::pay_notice::{PayNoticeError, parse_pay_notice};
use crate::service::pay_orders;
use crate::store::{FeedOutcome, StoreError};
use lambda_http::{Body, Response};
use tracing::Instrument;

pub async fn pay_order(app: &App, body: &[u8]) -> Response<Body> {
    let order = match parse_pay_notice(body, &app.verifier.signer, app.verifier.require_sign) {
        Ok(order) => order,
        Err(e) => {
            tracing::warn!(error = %e, "pay notice refused");
            let status = if e == PayNoticeError::BadSignature {
                401
            } else {
                400
            };
            return text(status, format!("FAIL: {e}"));
        }
    };
    let span = tracing::info_span!("pay_notice", orderNo = %order.order_no, bizOrderNo = %order.biz_order_no);
    async {
        match pay_orders::apply_notice(app, &order).await {
            Ok(outcome) => {
                let outcome = match outcome {
                    FeedOutcome::Created => "created",
                    FeedOutcome::Updated => "updated",
                    FeedOutcome::Unchanged => "unchanged",
                };
                tracing::info!(outcome, status = %order.status, "pay notice applied");
                text(200, "SUCCESS".into())
            }
            Err(StoreError::Conflict(why)) => {
                tracing::warn!(reason = %why, "pay notice conflicts with the stored order");
                text(409, format!("FAIL: {why}"))
            }
            Err(e) => {
                tracing::error!(cause = %e, "pay notice not stored");
                text(500, "FAIL: system error".into())
            }
        }
    }
    .instrument(span)
    .await
}
