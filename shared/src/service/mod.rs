//! Use cases: a typed command in, a domain result or a [`Refusal`] out. Each loads what it
//! needs from the store, calls a channel when it must, lets a pure domain function decide,
//! and saves with a conditional write (re-reading after a lost race).

pub mod admin;
mod admin_accounts;
mod admin_apps;
mod admin_provider_accounts;
pub mod admin_providers;
pub mod app_auth;
pub mod callbacks;
pub mod deadline;
pub mod due;
pub mod groups;
pub mod lifecycle;
pub mod notices;
pub mod ops;
pub mod orders;
pub mod pay_orders;
pub mod receivers;
pub mod reconcile;
pub mod reconcile_api;
mod reconcile_confirm;
pub mod return_life;
pub mod returns;
pub mod start;

use crate::app::App;
use crate::daxpay::ApiError;
use crate::daxpay::params::AllocationRef;
use crate::domain::{Allocation, AllocationOrder, Receiver, Refusal};
use crate::store::{StoreError, StoredAllocation};
use serde_json::{Map, Value};

/// What a merchant endpoint's business logic decided.
#[derive(Debug)]
pub enum Outcome {
    /// Accepted: the result fields of `data` of one of our own endpoints (`code`, `resTime` and
    /// `sign` are added).
    Ok(Map<String, Value>),
    /// Accepted: the answer of a DaxPay endpoint, in domain terms; the adapter of the dialect
    /// that asked writes it as that dialect's SDK model (the services never learn which).
    Model(Box<Model>),
    /// A business refusal after verification: `data.code = 1` with its message, signed.
    Refused(Refusal),
}

/// The answer of a DaxPay endpoint that more than one dialect has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Model {
    /// An order (start, finish): `AllocationModel`.
    Allocation(AllocationOrder),
    /// An order with its details (query): `AllocOrderModel`.
    Order(Allocation),
    /// An order after a sync: `AllocSyncModel`.
    Synced(AllocationOrder),
    /// A receiver added or removed: a model with no members.
    Done,
    /// Receivers (query, list): `AllocReceiversModel`.
    Receivers(Vec<Receiver>),
}

impl From<Refusal> for Outcome {
    fn from(r: Refusal) -> Self {
        Outcome::Refused(r)
    }
}

/// A storage failure is a system error: its cause is logged, never shown.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::System(e.to_string())
    }
}

/// Puts an order's numbers on the current span (the request's or the job's).
pub(crate) fn record_numbers(allocation_no: Option<&str>, biz_allocation_no: Option<&str>) {
    let span = tracing::Span::current();
    if let Some(a) = allocation_no {
        span.record("allocationNo", a);
    }
    if let Some(b) = biz_allocation_no {
        span.record("bizAllocationNo", b);
    }
}

/// Finds the order a request names (allocationNo wins over bizAllocationNo).
pub(crate) async fn find(
    app: &App,
    r: &AllocationRef,
) -> Result<Option<StoredAllocation>, ApiError> {
    let allocation_no = match r.allocation_no.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => a.to_owned(),
        None => {
            let biz = r.biz_allocation_no.as_deref().unwrap_or_default();
            match app.store.claim(biz).await? {
                Some(c) => c.allocation_no,
                None => return Ok(None),
            }
        }
    };
    let stored = app.store.allocation(&allocation_no).await?;
    if let Some(s) = &stored {
        record_numbers(
            Some(&s.order().allocation_no),
            Some(&s.order().biz_allocation_no),
        );
    }
    Ok(stored)
}

/// The order again, after a write lost a race.
pub(crate) async fn reload(app: &App, allocation_no: &str) -> Result<StoredAllocation, ApiError> {
    app.store
        .allocation(allocation_no)
        .await?
        .ok_or_else(|| ApiError::System(format!("allocation {allocation_no} vanished")))
}
