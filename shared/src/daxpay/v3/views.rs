//! DaxPay 3.0.0-beta4's answer models, member for member in their declaration order (its
//! SDK's `model.allocation` classes, which its server's results match): amounts in yuan,
//! rates in percent, times `yyyy-MM-dd HH:mm:ss` Beijing time, its codes, accounts masked.

use super::codes::{receiver_type, relation_type, status};
use crate::domain::numbers::beijing_timestamp;
use crate::domain::{Allocation, AllocationOrder, Receiver, mask_account};
use alloc_protocol::beta4::Val;

fn text(s: &str) -> Val {
    Val::Str(s.to_owned())
}

fn opt(s: Option<&str>) -> Val {
    s.map_or(Val::Null, text)
}

/// Fen as a decimal of yuan.
fn yuan(fen: i64) -> Val {
    Val::Dec(crate::domain::money::fen_to_yuan(fen))
}

/// Basis points as a decimal of percent (`1000` → `10`).
fn percent(bp: i64) -> Val {
    Val::Dec(crate::domain::money::fen_to_yuan(bp))
}

fn time(epoch: Option<i64>) -> Val {
    epoch.map_or(Val::Null, |t| Val::Str(beijing_timestamp(t)))
}

/// `AllocationModel` (start, finish).
pub fn allocation(o: &AllocationOrder) -> Val {
    Val::Obj(vec![
        ("allocNo", text(&o.allocation_no)),
        ("bizAllocNo", text(&o.biz_allocation_no)),
        ("status", text(status(o.status))),
        ("result", text(o.result.code())),
    ])
}

/// `AllocSyncModel`.
pub fn synced(o: &AllocationOrder) -> Val {
    Val::Obj(vec![
        ("status", text(status(o.status))),
        ("result", text(o.result.code())),
    ])
}

/// `AllocOrderModel` with its `AllocDetailModel`s.
pub fn order(a: &Allocation) -> Val {
    let o = &a.order;
    let details = a
        .details
        .iter()
        .map(|d| {
            Val::Obj(vec![
                ("receiverNo", text(&d.receiver_no)),
                ("amount", yuan(d.amount)),
                ("rate", percent(d.rate)),
                ("receiverType", text(receiver_type(d.receiver_type))),
                (
                    "receiverAccount",
                    Val::Str(mask_account(&d.receiver_account)),
                ),
                ("receiverName", opt(d.receiver_name.as_deref())),
                ("result", text(d.result.code())),
                ("errorCode", opt(d.error_code.as_deref())),
                ("errorMsg", opt(d.error_msg.as_deref())),
                ("finishTime", time(d.finish_time)),
            ])
        })
        .collect();
    Val::Obj(vec![
        ("allocNo", text(&o.allocation_no)),
        ("bizAllocNo", text(&o.biz_allocation_no)),
        ("outAllocNo", opt(o.out_allocation_no.as_deref())),
        ("orderNo", text(&o.order_no)),
        ("bizOrderNo", text(&o.biz_order_no)),
        ("outOrderNo", text(&o.out_order_no)),
        ("title", text(&o.title)),
        ("channel", text(o.channel.code())),
        ("amount", yuan(o.amount)),
        ("description", opt(o.description.as_deref())),
        ("status", text(status(o.status))),
        ("result", text(o.result.code())),
        ("errorCode", opt(o.error_code.as_deref())),
        ("errorMsg", opt(o.error_msg.as_deref())),
        ("finishTime", time(o.finish_time)),
        ("details", Val::List(details)),
    ])
}

/// `AllocReceiverModel` (receiver list).
pub fn receivers(list: &[Receiver]) -> Val {
    let items = list
        .iter()
        .map(|r| {
            Val::Obj(vec![
                ("receiverNo", text(&r.receiver_no)),
                ("channel", text(r.channel.code())),
                ("receiverType", text(receiver_type(r.receiver_type))),
                (
                    "receiverAccount",
                    Val::Str(mask_account(&r.receiver_account)),
                ),
                ("receiverName", opt(r.receiver_name.as_deref())),
                ("relationType", Val::Str(relation_type(r.relation_type))),
                ("relationName", opt(r.relation_name.as_deref())),
            ])
        })
        .collect();
    Val::Obj(vec![("receivers", Val::List(items))])
}
