//! The merchant endpoints on an existing order: query (`AllocOrderModel`), sync (seed 000) and
//! finish (seed 002).

use super::lifecycle::{finish_order, sync_order};
use super::{Model, Outcome, find};
use crate::app::App;
use crate::daxpay::ApiError;
use crate::daxpay::params::AllocationRef;
use crate::daxpay::request::Verified;
use crate::domain::Refusal;

/// `POST /unipay/query/allocationOrder`: `AllocOrderModel`, accounts masked.
pub async fn query(app: App, req: Verified<AllocationRef>) -> Result<Outcome, ApiError> {
    Ok(match find(&app, &req.params).await? {
        Some(s) => Outcome::Model(Box::new(Model::Order(s.allocation))),
        None => Refusal::OrderNotFound.into(),
    })
}

/// `POST /unipay/sync/allocation`: `AllocSyncModel` has only the common members (seed 000);
/// the order's status after the sync is what the query answers.
pub async fn sync(app: App, req: Verified<AllocationRef>) -> Result<Outcome, ApiError> {
    let Some(stored) = find(&app, &req.params).await? else {
        return Ok(Refusal::OrderNotFound.into());
    };
    let synced = sync_order(&app, stored, None).await?;
    Ok(Outcome::Model(Box::new(Model::Synced(
        synced.allocation.order,
    ))))
}

/// `POST /unipay/allocation/finish`: `AllocationModel`.
pub async fn finish(app: App, req: Verified<AllocationRef>) -> Result<Outcome, ApiError> {
    let Some(stored) = find(&app, &req.params).await? else {
        return Ok(Refusal::OrderNotFound.into());
    };
    Ok(match finish_order(&app, stored).await? {
        Ok(s) => Outcome::Model(Box::new(Model::Allocation(s.allocation.order))),
        Err(refusal) => refusal.into(),
    })
}
