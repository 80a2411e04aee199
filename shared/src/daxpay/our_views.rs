//! Typed views of the answers of our own endpoints (no DaxPay SDK model): pay orders, groups,
//! notices. Times are epoch seconds; accounts are masked.

use crate::domain::{
    AllocationOrder, AllocationStatus, Channel, Group, Notice, NoticeAttempt, PayOrder, PayStatus,
    ReceiverType, Topic, mask_account,
};
use serde::Serialize;

/// Ours: a pay order as the feed stored it (`/unipay/query/payOrder`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PayOrderView<'a> {
    pub order_no: &'a str,
    pub biz_order_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_order_no: Option<&'a str>,
    pub title: &'a str,
    pub channel: Channel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'a str>,
    pub amount: i64,
    pub status: PayStatus,
    pub allocation: bool,
    pub auto_allocation: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alloc_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation_no: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_allocation_error: Option<&'a str>,
    /// Fen refunded so far (the refund feed).
    pub refunded: i64,
}

/// Ours: what a pay order can still split (`/unipay/query/allocatable`, SPEC §4.10). Fen;
/// `freezeDeadline` in epoch seconds.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocatableView<'a> {
    pub order_no: &'a str,
    pub biz_order_no: &'a str,
    pub channel: Channel,
    /// Paid.
    pub amount: i64,
    pub refunded: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation_no: Option<&'a str>,
    /// Split or being split by its allocation.
    pub allocated: i64,
    /// Ours: still frozen and splittable (0 once finished: the rest went to the merchant).
    pub allocatable: i64,
    /// The channel's own figure, when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_allocatable: Option<i64>,
    /// Why there is no channel figure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_error: Option<&'a str>,
    /// When the channel releases the frozen funds to the merchant if nothing is split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeze_deadline: Option<i64>,
}

impl<'a> From<&'a PayOrder> for PayOrderView<'a> {
    fn from(o: &'a PayOrder) -> Self {
        Self {
            order_no: &o.order_no,
            biz_order_no: &o.biz_order_no,
            out_order_no: o.out_order_no.as_deref(),
            title: &o.title,
            channel: o.channel,
            method: o.method.as_deref(),
            amount: o.amount,
            status: o.status,
            allocation: o.allocation,
            auto_allocation: o.auto_allocation,
            alloc_status: o.alloc_status(),
            allocation_no: o.allocation_no.as_deref(),
            refund_status: o.refund_status.as_deref(),
            attach: o.attach.as_deref(),
            pay_time: o.pay_time,
            auto_allocation_error: o.auto_allocation_error.as_deref(),
            refunded: o.refunded,
        }
    }
}

/// Ours: a group was created or deleted.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupNoView<'a> {
    pub group_no: &'a str,
}

/// Ours: a group's name or members changed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRatesView<'a> {
    pub group_no: &'a str,
    pub total_rate: i64,
}

/// Ours: a channel's default group was set or cleared.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultGroupView<'a> {
    pub group_no: &'a str,
    pub channel: Channel,
}

/// Ours: groups (`/unipay/allocation/group/query`).
#[derive(Debug, Serialize)]
pub struct GroupsView<'a> {
    pub groups: Vec<GroupView<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupView<'a> {
    pub group_no: &'a str,
    pub name: &'a str,
    pub channel: Channel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<&'a str>,
    pub default_group: bool,
    pub total_rate: i64,
    pub receivers: Vec<GroupMemberView<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMemberView<'a> {
    pub receiver_no: &'a str,
    pub rate: i64,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
}

impl<'a> GroupView<'a> {
    pub fn new(g: &'a Group, default_group_no: Option<&str>) -> Self {
        Self {
            group_no: &g.group_no,
            name: &g.name,
            channel: g.channel,
            remark: g.remark.as_deref(),
            default_group: default_group_no == Some(g.group_no.as_str()),
            total_rate: g.total_rate(),
            receivers: g
                .members
                .iter()
                .map(|m| GroupMemberView {
                    receiver_no: &m.receiver_no,
                    rate: m.rate,
                    receiver_type: m.receiver_type,
                    receiver_account: mask_account(&m.receiver_account),
                })
                .collect(),
        }
    }
}

/// Ours: an order's merchant notices and their delivery attempts
/// (`/unipay/query/allocationNotice`), and whether the order is flagged as stuck.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoticesView<'a> {
    pub allocation_no: &'a str,
    pub biz_allocation_no: &'a str,
    pub status: AllocationStatus,
    pub flagged: bool,
    pub notices: Vec<NoticeView<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoticeView<'a> {
    /// The status the notice reports (an order's, or a return's).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_no: Option<&'a str>,
    pub url: &'a str,
    pub delivered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_at: Option<i64>,
    pub attempts: Vec<AttemptView<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView<'a> {
    pub number: i64,
    pub at: i64,
    pub delivered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

impl<'a> From<&'a NoticeAttempt> for AttemptView<'a> {
    fn from(a: &'a NoticeAttempt) -> Self {
        Self {
            number: a.number,
            at: a.at,
            delivered: a.delivered,
            http_status: a.status,
            error: a.error.as_deref(),
        }
    }
}

impl<'a> NoticesView<'a> {
    pub fn new(o: &'a AllocationOrder, notices: &'a [Notice]) -> Self {
        Self {
            allocation_no: &o.allocation_no,
            biz_allocation_no: &o.biz_allocation_no,
            status: o.status,
            flagged: o.flagged,
            notices: notices
                .iter()
                .map(|n| NoticeView {
                    status: n.topic.status_code(),
                    return_no: match &n.topic {
                        Topic::Return { return_no, .. } => Some(return_no.as_str()),
                        _ => None,
                    },
                    url: &n.url,
                    delivered: n.delivered,
                    next_at: (!n.delivered).then_some(n.next_at).flatten(),
                    attempts: n.attempts.iter().map(AttemptView::from).collect(),
                })
                .collect(),
        }
    }
}

/// Ours: a notice was queued to be sent again (`/unipay/allocation/notice/resend`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResendView<'a> {
    pub allocation_no: &'a str,
    pub biz_allocation_no: &'a str,
    /// The status whose notice is sent again.
    pub status: AllocationStatus,
    pub next_at: i64,
}

/// Ours: a return (`/unipay/allocation/return`, `/unipay/query/allocationReturn`, and the
/// body of its notice). Fen; times in epoch seconds; the account masked. An Alipay return
/// carries its refund plan: the `refund_royalty_parameters` row(s) the payment gateway's
/// `alipay.trade.refund` must carry (`trans_out` is masked here as everywhere: it is the
/// account of the receiver `receiverNo`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnView<'a> {
    pub return_no: &'a str,
    pub biz_return_no: &'a str,
    pub allocation_no: &'a str,
    pub biz_allocation_no: &'a str,
    pub order_no: &'a str,
    pub channel: Channel,
    pub receiver_no: &'a str,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    pub amount: i64,
    pub status: crate::domain::ReturnStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_refund_no: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_no: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_royalty_parameters: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<&'a str>,
}

impl<'a> ReturnView<'a> {
    pub fn new(r: &'a crate::domain::ReturnOrder, plan: Option<serde_json::Value>) -> Self {
        Self {
            return_no: &r.return_no,
            biz_return_no: &r.biz_return_no,
            allocation_no: &r.allocation_no,
            biz_allocation_no: &r.biz_allocation_no,
            order_no: &r.order_no,
            channel: r.channel,
            receiver_no: &r.receiver_no,
            receiver_type: r.receiver_type,
            receiver_account: mask_account(&r.receiver_account),
            amount: r.amount,
            status: r.status,
            description: r.description.as_deref(),
            error_code: r.error_code.as_deref(),
            error_msg: r.error_msg.as_deref(),
            finish_time: r.finish_time,
            biz_refund_no: r.biz_refund_no.as_deref(),
            refund_no: r.refund_no.as_deref(),
            refund_royalty_parameters: plan.map(|p| vec![p]),
            attach: r.attach.as_deref(),
        }
    }
}

/// Ours: an order's returns, and what each receiver returned (`/unipay/query/allocationReturn`
/// by order).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnsView<'a> {
    pub allocation_no: &'a str,
    pub biz_allocation_no: &'a str,
    pub receivers: Vec<ReturnedView<'a>>,
    pub returns: Vec<ReturnView<'a>>,
}

/// One receiver of an order: what it got and what it returned or is returning.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnedView<'a> {
    pub receiver_no: &'a str,
    pub amount: i64,
    pub returned: i64,
    pub return_count: i64,
}
