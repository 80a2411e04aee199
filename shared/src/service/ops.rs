//! Operations endpoints (SPEC §4.12, ours, merchant-signed): the orders flagged for a human,
//! and the orders of a status and day, a page at a time; and a sync of many orders at once (a
//! sync job each, queued). None scans: a list reads one page of a sparse index (`flagged`,
//! `byDay`) and one batch of orders.

use super::Outcome;
use crate::app::App;
use crate::daxpay::ops_params::{FlaggedParams, OrderListParams, SyncManyParams};
use crate::daxpay::ops_views::{OrderLineView, SyncLineView};
use crate::daxpay::request::Verified;
use crate::daxpay::{ApiError, Spelling, views};
use crate::domain::{AllocationOrder, AllocationStatus, Refusal};
use crate::infra::job::Job;
use crate::store::OrderCursor;
use serde_json::{Map, Value};

/// `POST /unipay/query/flaggedAllocations`: `{orders: [...], nextCursor}`, newest first; pass
/// `nextCursor` back as `cursor` for the next page (absent on the last).
pub async fn flagged(app: App, req: Verified<FlaggedParams>) -> Result<Outcome, ApiError> {
    let p = &req.params;
    let after = cursor(p.cursor.as_deref())?;
    let (orders, next) = app
        .store
        .flagged_page(p.page_size(), after.as_ref())
        .await?;
    Ok(page(&orders, next, req.common.spelling))
}

/// `POST /unipay/query/allocationOrders`: the orders of `status` created on `day` (Beijing
/// time), `{orders: [...], nextCursor}` as the flagged list. Refused where the deployment
/// keeps no order lists (`ORDER_LISTS`).
pub async fn by_day(app: App, req: Verified<OrderListParams>) -> Result<Outcome, ApiError> {
    if !app.store.keeps_order_lists() {
        return Ok(Refusal::OrderListsOff.into());
    }
    let p = &req.params;
    let after = cursor(p.cursor.as_deref())?;
    let (orders, next) = app
        .store
        .day_page(p.status, &p.day, p.page_size(), after.as_ref())
        .await?;
    Ok(page(&orders, next, req.common.spelling))
}

fn cursor(text: Option<&str>) -> Result<Option<OrderCursor>, ApiError> {
    match text.filter(|c| !c.is_empty()) {
        Some(text) => OrderCursor::parse(text).map(Some).ok_or_else(|| {
            ApiError::invalid("cursor", "must be a nextCursor this endpoint answered")
        }),
        None => Ok(None),
    }
}

fn page(orders: &[AllocationOrder], next: Option<OrderCursor>, spelling: Spelling) -> Outcome {
    let mut data = Map::new();
    data.insert(
        "orders".into(),
        lines(orders.iter().map(OrderLineView::from), spelling),
    );
    if let Some(next) = next {
        data.insert("nextCursor".into(), Value::String(next.text()));
    }
    Outcome::Ok(data)
}

/// `POST /unipay/sync/allocations`: for each order named, `queued` (a sync job was queued:
/// the channel is asked as soon as the worker takes it), `not_found`, or `not_processing` with
/// the order's status (nothing to ask). A flagged order is asked again too.
pub async fn sync_many(app: App, req: Verified<SyncManyParams>) -> Result<Outcome, ApiError> {
    let numbers = &req.params.allocation_nos;
    let Some(queue) = &app.queue else {
        return Err(ApiError::System("no job queue is configured".into()));
    };
    let orders = app.store.orders(numbers).await?;
    let mut jobs = Vec::new();
    let mut out = Vec::with_capacity(numbers.len());
    for (no, order) in numbers.iter().zip(&orders) {
        let (outcome, status) = match order {
            None => ("not_found", None),
            Some(o) if o.status == AllocationStatus::Processing => {
                jobs.push(queue.message(Job::Sync {
                    allocation_no: no.clone(),
                }));
                ("queued", None)
            }
            Some(o) => ("not_processing", Some(o.status)),
        };
        out.push(SyncLineView {
            allocation_no: no,
            outcome,
            status,
        });
    }
    let sent = queue
        .send_all(&jobs)
        .await
        .map_err(|e| ApiError::System(e.to_string()))?;
    if sent < jobs.len() {
        return Err(ApiError::System(format!(
            "{} of {} sync jobs were not queued",
            jobs.len() - sent,
            jobs.len()
        )));
    }
    tracing::info!(
        queued = jobs.len(),
        asked = numbers.len(),
        "sync of many orders queued"
    );
    let mut data = Map::new();
    data.insert("orders".into(), lines(out.iter(), req.common.spelling));
    Ok(Outcome::Ok(data))
}

/// Listed views, each in the request's field names.
fn lines<T: serde::Serialize>(items: impl Iterator<Item = T>, spelling: Spelling) -> Value {
    Value::Array(
        items
            .map(|item| Value::Object(views::data(&item, spelling)))
            .collect(),
    )
}
