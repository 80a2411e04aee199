//! Pay orders (SPEC §4.1): stored from DaxPay's pay notices, and shown as stored.

use super::Outcome;
use crate::app::App;
use crate::daxpay::params::QueryPayOrderParams;
use crate::daxpay::request::Verified;
use crate::daxpay::{ApiError, our_views, views};
use crate::domain::{PayOrder, Refusal};
use crate::store::{FeedOutcome, StoreError};

/// Upserts the pay order of a verified pay notice: idempotent, never regresses a paid order,
/// never touches the allocation mark; one that wants auto allocation becomes due after the
/// configured delay.
pub async fn apply_notice(app: &App, order: &PayOrder) -> Result<FeedOutcome, StoreError> {
    app.store
        .apply_pay_notice(order, app.clock.now(), app.jobs.auto_allocation_delay_secs)
        .await
}

/// `POST /unipay/query/payOrder` (ours): the pay order as the feed stored it.
pub async fn query(app: App, req: Verified<QueryPayOrderParams>) -> Result<Outcome, ApiError> {
    let found = match req.params.order_no.as_deref().filter(|s| !s.is_empty()) {
        Some(order_no) => app.store.pay_order(order_no).await?,
        None => match req.params.biz_order_no.as_deref() {
            Some(biz) => app.store.pay_order_by_biz(biz).await?,
            None => None,
        },
    };
    Ok(match found {
        Some((order, _)) => Outcome::Ok(views::data(
            &our_views::PayOrderView::from(&order),
            req.common.spelling,
        )),
        None => Refusal::PayOrderNotFound.into(),
    })
}
