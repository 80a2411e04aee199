//! Use cases: a typed command in, a domain result or a [`Refusal`] out. Each loads what it
//! needs from the store, calls a channel when it must, lets a pure domain function decide,
//! and saves with a conditional write (re-reading after a lost race).

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
pub mod return_life;
pub mod returns;
pub mod start;

use crate::app::App;
use crate::daxpay::ApiError;
use crate::daxpay::params::AllocationRef;
use crate::domain::Refusal;
use crate::store::{StoreError, StoredAllocation};
use serde_json::{Map, Value};

/// What a merchant endpoint's business logic decided.
#[derive(Debug)]
pub enum Outcome {
    /// Accepted: the result fields of `data` (`code`, `resTime` and `sign` are added).
    Ok(Map<String, Value>),
    /// A business refusal after verification: `data.code = 1` with its message, signed.
    Refused(Refusal),
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
