//! The merchant endpoints on an existing order: query (`AllocOrderModel`), sync (seed 000) and
//! finish (seed 002).

use super::lifecycle::{finish_order, sync_order};
use super::{Outcome, find};
use crate::app::App;
use crate::daxpay::params::AllocationRef;
use crate::daxpay::request::Verified;
use crate::daxpay::{ApiError, views};
use crate::domain::Refusal;

/// `POST /unipay/query/allocationOrder`: `AllocOrderModel`, accounts masked.
pub async fn query(app: App, req: Verified<AllocationRef>) -> Result<Outcome, ApiError> {
    Ok(match find(&app, &req.params).await? {
        Some(s) => Outcome::Ok(views::data(
            &views::AllocOrderView::new(s.order(), &s.allocation.details),
            req.common.spelling,
        )),
        None => Refusal::OrderNotFound.into(),
    })
}

/// `POST /unipay/sync/allocation`: `AllocSyncModel` has only the common members (seed 000);
/// the order's status after the sync is what the query answers.
pub async fn sync(app: App, req: Verified<AllocationRef>) -> Result<Outcome, ApiError> {
    let Some(stored) = find(&app, &req.params).await? else {
        return Ok(Refusal::OrderNotFound.into());
    };
    sync_order(&app, stored, None).await?;
    Ok(Outcome::Ok(views::data(
        &views::Common {},
        req.common.spelling,
    )))
}

/// `POST /unipay/allocation/finish`: `AllocationModel`.
pub async fn finish(app: App, req: Verified<AllocationRef>) -> Result<Outcome, ApiError> {
    let Some(stored) = find(&app, &req.params).await? else {
        return Ok(Refusal::OrderNotFound.into());
    };
    Ok(match finish_order(&app, stored).await? {
        Ok(s) => Outcome::Ok(views::data(
            &views::AllocationView::from(s.order()),
            req.common.spelling,
        )),
        Err(refusal) => refusal.into(),
    })
}
