//! The verified `data` of each endpoint's answer, typed. Renamed members are read in either
//! spelling (`allocationNo` or `allocNo`, ...); members a newer service adds are ignored.
//! Amounts are fen, rates basis points; accounts come masked (`2088****0011`). Times: the
//! DaxPay query models carry `yyyy-MM-dd HH:mm:ss` text (Beijing time), the service's own
//! endpoints epoch seconds.

use crate::codes::{
    AllocationResult, AllocationStatus, Channel, DetailResult, PayStatus, ReceiverType,
    RelationType, ReturnStatus, SyncOutcome,
};
use serde::Deserialize;
use serde_json::{Map, Value};

/// An answer with only the common members (sync, receiver add and remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Done {}

/// DaxPay's `AllocationModel` (start, finish).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Allocation {
    #[serde(alias = "allocNo")]
    pub allocation_no: String,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: String,
    pub status: AllocationStatus,
}

/// DaxPay's `AllocOrderModel` (query order).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocOrder {
    #[serde(alias = "allocNo")]
    pub allocation_no: String,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: String,
    #[serde(alias = "outAllocNo", default)]
    pub out_allocation_no: Option<String>,
    pub order_no: String,
    pub biz_order_no: String,
    #[serde(default)]
    pub out_order_no: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    pub channel: Channel,
    pub amount: i64,
    #[serde(default)]
    pub description: Option<String>,
    pub status: AllocationStatus,
    pub result: AllocationResult,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_msg: Option<String>,
    /// `yyyy-MM-dd HH:mm:ss`, Beijing time.
    #[serde(default)]
    pub finish_time: Option<String>,
    #[serde(default)]
    pub details: Vec<AllocDetail>,
}

/// DaxPay's `AllocOrderDetailModel`: one receiver's share.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocDetail {
    pub receiver_no: String,
    pub amount: i64,
    pub rate: i64,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    #[serde(default)]
    pub receiver_name: Option<String>,
    pub result: DetailResult,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_msg: Option<String>,
    #[serde(default)]
    pub finish_time: Option<String>,
}

/// DaxPay's `AllocReceiversModel` (query receivers).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Receivers {
    #[serde(default)]
    pub receivers: Vec<Receiver>,
}

/// DaxPay's `AllocReceiverModel`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receiver {
    pub receiver_no: String,
    pub channel: Channel,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    #[serde(default)]
    pub receiver_name: Option<String>,
    pub relation_type: RelationType,
    #[serde(default)]
    pub relation_name: Option<String>,
}

/// An order's merchant notices and their delivery attempts (query notices).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notices {
    #[serde(alias = "allocNo")]
    pub allocation_no: String,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: String,
    pub status: AllocationStatus,
    /// Stuck past the service's maximum age and no longer polled: for a human.
    pub flagged: bool,
    #[serde(default)]
    pub notices: Vec<Notice>,
}

/// One notice: of an order's status, or of a return's (`return_no`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// The status reported: an order's (`finish`, ...) or a return's (`return_success`, ...).
    pub status: String,
    #[serde(default)]
    pub return_no: Option<String>,
    pub url: String,
    pub delivered: bool,
    /// Epoch seconds of the next attempt, while not delivered.
    #[serde(default)]
    pub next_at: Option<i64>,
    #[serde(default)]
    pub attempts: Vec<NoticeAttempt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoticeAttempt {
    pub number: i64,
    /// Epoch seconds.
    pub at: i64,
    pub delivered: bool,
    #[serde(default)]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub error: Option<String>,
}

/// A notice was queued to be sent again (resend notice).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resent {
    #[serde(alias = "allocNo")]
    pub allocation_no: String,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: String,
    /// The status whose notice is sent again.
    pub status: AllocationStatus,
    pub next_at: i64,
}

/// A pay order as the feed stored it (query pay order).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayOrder {
    pub order_no: String,
    pub biz_order_no: String,
    #[serde(default)]
    pub out_order_no: Option<String>,
    pub title: String,
    pub channel: Channel,
    #[serde(default)]
    pub method: Option<String>,
    pub amount: i64,
    pub status: PayStatus,
    pub allocation: bool,
    pub auto_allocation: bool,
    #[serde(default)]
    pub alloc_status: Option<String>,
    #[serde(alias = "allocNo", default)]
    pub allocation_no: Option<String>,
    #[serde(default)]
    pub refund_status: Option<String>,
    #[serde(default)]
    pub attach: Option<String>,
    #[serde(default)]
    pub pay_time: Option<i64>,
    #[serde(default)]
    pub auto_allocation_error: Option<String>,
    /// Fen refunded so far.
    pub refunded: i64,
}

/// What a pay order can still split (allocatable): the service's figure beside the channel's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Allocatable {
    pub order_no: String,
    pub biz_order_no: String,
    pub channel: Channel,
    pub amount: i64,
    pub refunded: i64,
    #[serde(alias = "allocNo", default)]
    pub allocation_no: Option<String>,
    pub allocated: i64,
    pub allocatable: i64,
    #[serde(default)]
    pub channel_allocatable: Option<i64>,
    /// Why the channel gave no figure (`订单处理中` while the trade is still settling).
    #[serde(default)]
    pub channel_error: Option<String>,
    /// Epoch seconds.
    #[serde(default)]
    pub freeze_deadline: Option<i64>,
}

/// A page of orders, newest first: flagged for a human (flagged orders), or of a status and
/// day (list orders).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPage {
    #[serde(default)]
    pub orders: Vec<OrderLine>,
    /// Absent on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    #[serde(alias = "allocNo")]
    pub allocation_no: String,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: String,
    pub order_no: String,
    pub channel: Channel,
    pub amount: i64,
    pub status: AllocationStatus,
    pub result: AllocationResult,
    pub created_at: i64,
    pub sync_attempts: i64,
}

/// What a sync of many orders did, in the request's order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SyncMany {
    #[serde(default)]
    pub orders: Vec<SyncLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncLine {
    #[serde(alias = "allocNo")]
    pub allocation_no: String,
    pub outcome: SyncOutcome,
    /// With `not_processing`: the order's status.
    #[serde(default)]
    pub status: Option<AllocationStatus>,
}

/// A return (return, query return by return number).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Return {
    pub return_no: String,
    pub biz_return_no: String,
    #[serde(alias = "allocNo")]
    pub allocation_no: String,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: String,
    pub order_no: String,
    pub channel: Channel,
    pub receiver_no: String,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    pub amount: i64,
    pub status: ReturnStatus,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_msg: Option<String>,
    #[serde(default)]
    pub finish_time: Option<i64>,
    #[serde(default)]
    pub biz_refund_no: Option<String>,
    #[serde(default)]
    pub refund_no: Option<String>,
    /// Alipay: the `refund_royalty_parameters` rows the gateway's refund must carry.
    #[serde(default)]
    pub refund_royalty_parameters: Option<Vec<Map<String, Value>>>,
    #[serde(default)]
    pub attach: Option<String>,
}

/// An order's returns and what each receiver got and returned (query return by order).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Returns {
    #[serde(alias = "allocNo")]
    pub allocation_no: String,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: String,
    #[serde(default)]
    pub receivers: Vec<Returned>,
    #[serde(default)]
    pub returns: Vec<Return>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Returned {
    pub receiver_no: String,
    pub amount: i64,
    pub returned: i64,
    pub return_count: i64,
}

/// The answer of a return query: one return, or an order's.
#[derive(Debug, Clone, PartialEq)]
pub enum ReturnAnswer {
    One(Box<Return>),
    Order(Returns),
}

/// A group was created or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupNo {
    pub group_no: String,
}

/// A group's name or members changed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRates {
    pub group_no: String,
    pub total_rate: i64,
}

/// A channel's default group was set or cleared.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultGroup {
    pub group_no: String,
    pub channel: Channel,
}

/// Groups (query groups).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Groups {
    #[serde(default)]
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub group_no: String,
    pub name: String,
    pub channel: Channel,
    #[serde(default)]
    pub remark: Option<String>,
    pub default_group: bool,
    pub total_rate: i64,
    #[serde(default)]
    pub receivers: Vec<GroupMember>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    pub receiver_no: String,
    pub rate: i64,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
}
