//! The business parameters of each endpoint, written with 2.0.7 names (the client respells
//! them per its [`Spelling`](crate::Spelling)). Absent options are left out of the request.
//! The common members (`reqTime`, `nonceStr`, `clientIp`, `sign`) are the client's to add.
//! Amounts are fen; rates are basis points (1/10000).

use crate::codes::{AllocationStatus, Channel, ReceiverType, RelationType};
use serde::Serialize;

/// `start`: split a paid order. Receivers, first that applies: the explicit `receivers`, the
/// group `group_no`, the default group of the pay order's channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartRequest {
    /// The merchant's number: a repeat with the same fields answers the same order.
    pub biz_allocation_no: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_order_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receivers: Option<Vec<ReceiverAmount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// `true`: no merchant notice for this order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_notify: Option<bool>,
}

/// One explicit receiver of a start and its amount in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverAmount {
    pub receiver_no: String,
    pub amount: u64,
}

/// An allocation order, by the service's number or the merchant's (finish, sync, the order and
/// notice queries).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_allocation_no: Option<String>,
}

impl OrderRef {
    pub fn allocation_no(no: impl Into<String>) -> Self {
        Self {
            allocation_no: Some(no.into()),
            biz_allocation_no: None,
        }
    }

    pub fn biz_allocation_no(no: impl Into<String>) -> Self {
        Self {
            allocation_no: None,
            biz_allocation_no: Some(no.into()),
        }
    }
}

/// `resend notice`: send an order's notice again (default: its current status's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResendRequest {
    #[serde(flatten)]
    pub order: OrderRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AllocationStatus>,
}

/// `sync many`: 1 to 50 distinct allocation numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncManyRequest {
    pub allocation_nos: Vec<String>,
}

/// A pay order, by the payment gateway's number or the merchant's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PayOrderRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_order_no: Option<String>,
}

impl PayOrderRef {
    pub fn order_no(no: impl Into<String>) -> Self {
        Self {
            order_no: Some(no.into()),
            biz_order_no: None,
        }
    }

    pub fn biz_order_no(no: impl Into<String>) -> Self {
        Self {
            order_no: None,
            biz_order_no: Some(no.into()),
        }
    }
}

/// `flagged orders`: one page (1–100, default 20), after `cursor` (a `nextCursor`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlaggedRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `list orders`: the orders of `status` created on `day` (Beijing time, `yyyy-MM-dd`),
/// newest first, one page (1–100, default 20) after `cursor`. Refused where the deployment
/// keeps no order lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderListRequest {
    pub status: AllocationStatus,
    pub day: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `return`: take `amount` fen back from one receiver of a split order. `biz_return_no` is the
/// idempotency key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnRequest {
    pub biz_return_no: String,
    #[serde(flatten)]
    pub order: OrderRef,
    pub receiver_no: String,
    pub amount: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// Alipay: the merchant's refund that will carry this return's row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_refund_no: Option<String>,
}

/// `query return`: one return (by `return_no` or `biz_return_no`), else every return of an
/// order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_return_no: Option<String>,
    #[serde(flatten)]
    pub order: OrderRef,
}

impl ReturnQuery {
    /// Whether the answer is one return rather than an order's returns.
    pub fn names_one_return(&self) -> bool {
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        given(&self.return_no) || given(&self.biz_return_no)
    }
}

/// `add receiver`: bound at the channel, then stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverAddRequest {
    pub receiver_no: String,
    pub channel: Channel,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_name: Option<String>,
    pub relation_type: RelationType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation_name: Option<String>,
}

/// `remove receiver`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverRef {
    pub receiver_no: String,
}

/// `query receivers`: by channel and/or number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_no: Option<String>,
}

/// `create group` and `update group` (an update keeps the channel: it must be the group's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSaveRequest {
    pub group_no: String,
    pub name: String,
    pub channel: Channel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

/// `delete group`, `set default group`, `clear default group`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRef {
    pub group_no: String,
}

/// `bind receivers`: add receivers to a group, or change their rates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupBindRequest {
    pub group_no: String,
    pub receivers: Vec<ReceiverRate>,
}

/// A receiver's share of a group in basis points (0–10000; a group's total ≤ 10000).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverRate {
    pub receiver_no: String,
    pub rate: u32,
}

/// `unbind receivers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupUnbindRequest {
    pub group_no: String,
    pub receiver_nos: Vec<String>,
}

/// `query groups`: by number and/or channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
}
