//! Answers of the operations endpoints (ours, SPEC §4.12). Times are epoch seconds; each listed
//! order is written in the request's field names, as the top level is.

use crate::domain::{AllocationOrder, AllocationResult, AllocationStatus, Channel};
use serde::Serialize;

/// One order of a list: enough to decide what to do with it (sync, finish, ask the channel).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineView<'a> {
    pub allocation_no: &'a str,
    pub biz_allocation_no: &'a str,
    pub order_no: &'a str,
    pub channel: Channel,
    pub amount: i64,
    pub status: AllocationStatus,
    pub result: AllocationResult,
    pub created_at: i64,
    pub sync_attempts: i64,
}

impl<'a> From<&'a AllocationOrder> for OrderLineView<'a> {
    fn from(o: &'a AllocationOrder) -> Self {
        Self {
            allocation_no: &o.allocation_no,
            biz_allocation_no: &o.biz_allocation_no,
            order_no: &o.order_no,
            channel: o.channel,
            amount: o.amount,
            status: o.status,
            result: o.result,
            created_at: o.created_at,
            sync_attempts: o.sync_attempts,
        }
    }
}

/// What a sync of many orders did with one of them: `queued` when a sync job was queued (the
/// order is still processing), otherwise why not (`not_found`, or the order is no longer
/// processing: its `status`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncLineView<'a> {
    pub allocation_no: &'a str,
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AllocationStatus>,
}
