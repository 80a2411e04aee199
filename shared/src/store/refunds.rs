//! Refunds of a pay order (SPEC §4.9) beside it in its partition; a refund that succeeds adds
//! its amount to the pay order's `refunded` in the same transaction, exactly once.

use super::item::{Item, get_n, get_s, n, need, s};
use super::keys::Scope;
use super::keys::{PAY_SK, pay_key, pay_pk, refund_key, refund_sk};
use super::pay_orders::pay_order_from_item;
use super::schema::{PK, SK};
use super::{FeedOutcome, Store, StoreError, db_err};
use crate::domain::{
    Channel, PayOrder, RACES, Refund, RefundChange, RefundStatus, refund::refund_change,
};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

fn refund_to_item(sc: &Scope, r: &Refund, version: i64, now: i64) -> Item {
    let mut item = refund_key(sc, &r.order_no, &r.refund_no);
    item.insert("type".into(), s("refund"));
    item.insert("refundNo".into(), s(&r.refund_no));
    item.insert("orderNo".into(), s(&r.order_no));
    item.insert("channel".into(), s(r.channel.code()));
    item.insert("amount".into(), n(r.amount));
    item.insert("status".into(), s(r.status.code()));
    let optional = [
        ("bizRefundNo", &r.biz_refund_no),
        ("outRefundNo", &r.out_refund_no),
        ("bizOrderNo", &r.biz_order_no),
        ("reason", &r.reason),
        ("errorCode", &r.error_code),
        ("errorMsg", &r.error_msg),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            item.insert(name.into(), s(v));
        }
    }
    if let Some(t) = r.finish_time {
        item.insert("finishTime".into(), n(t));
    }
    item.insert("ver".into(), n(version));
    item.insert("updatedAt".into(), n(now));
    item
}

pub(super) fn refund_from_item(item: &Item) -> Result<(Refund, i64), StoreError> {
    let channel = need(get_s(item, "channel"), "channel")?;
    let status = need(get_s(item, "status"), "status")?;
    let refund = Refund {
        refund_no: need(get_s(item, "refundNo"), "refundNo")?,
        biz_refund_no: get_s(item, "bizRefundNo"),
        out_refund_no: get_s(item, "outRefundNo"),
        order_no: need(get_s(item, "orderNo"), "orderNo")?,
        biz_order_no: get_s(item, "bizOrderNo"),
        channel: need(Channel::from_code(&channel), "channel")?,
        amount: need(get_n(item, "amount"), "amount")?,
        status: need(RefundStatus::from_code(&status), "status")?,
        reason: get_s(item, "reason"),
        finish_time: get_n(item, "finishTime"),
        error_code: get_s(item, "errorCode"),
        error_msg: get_s(item, "errorMsg"),
    };
    Ok((refund, need(get_n(item, "ver"), "ver")?))
}

impl Store {
    /// Records a verified refund notice (SPEC §4.9): idempotent, a final status is never left,
    /// and a refund that succeeds takes its amount out of the pay order's splittable amount
    /// once. A refund of a pay order we do not hold, of another channel, or more than is left
    /// to refund is refused as a conflict (the sender retries; nothing is written). Returns the
    /// pay order as read beside the outcome.
    pub async fn apply_refund_notice(
        &self,
        refund: &Refund,
        now: i64,
    ) -> Result<(FeedOutcome, PayOrder), StoreError> {
        for _ in 0..RACES {
            // the pay order and its refunds share a partition: one strongly consistent read
            let items = self
                .query_all(None, PK, &pay_pk(&self.scope, &refund.order_no), true)
                .await?;
            let mut stored = None;
            let mut pay = None;
            for item in &items {
                match get_s(item, SK).as_deref() {
                    Some(PAY_SK) => pay = Some(pay_order_from_item(item)?),
                    Some(sk) if sk == refund_sk(&refund.refund_no) => {
                        stored = Some(refund_from_item(item)?)
                    }
                    _ => {}
                }
            }
            let Some((pay, pay_version)) = pay else {
                return Err(StoreError::Conflict(format!(
                    "pay order {} is not known (send its pay notice first)",
                    refund.order_no
                )));
            };
            if pay.channel != refund.channel {
                return Err(StoreError::Conflict(format!(
                    "channel differs from the pay order {}",
                    pay.order_no
                )));
            }
            let counts = match refund_change(stored.as_ref().map(|(r, _)| r), refund) {
                RefundChange::Unchanged => return Ok((FeedOutcome::Unchanged, pay)),
                RefundChange::Conflict(why) => return Err(StoreError::Conflict(why.into())),
                RefundChange::Write { counts } => counts,
            };
            if counts && pay.refunded + refund.amount > pay.amount {
                return Err(StoreError::Conflict(format!(
                    "refunds would exceed the paid amount of {} ({} + {} > {} fen)",
                    pay.order_no, pay.refunded, refund.amount, pay.amount
                )));
            }
            let version = stored.as_ref().map_or(0, |(_, v)| *v);
            let mut put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(refund_to_item(&self.scope, refund, version + 1, now)));
            put = if stored.is_some() {
                put.condition_expression("ver = :ver")
                    .expression_attribute_values(":ver", n(version))
            } else {
                put.condition_expression("attribute_not_exists(pk)")
            };
            let mut items = vec![
                TransactWriteItem::builder()
                    .put(put.build().map_err(db_err)?)
                    .build(),
            ];
            if counts {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(pay_key(&self.scope, &pay.order_no)))
                    .update_expression("SET refunded = :r, ver = ver + :one")
                    .condition_expression("ver = :ver")
                    .expression_attribute_values(":r", n(pay.refunded + refund.amount))
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":ver", n(pay_version))
                    .build()
                    .map_err(db_err)?;
                items.push(TransactWriteItem::builder().update(update).build());
            }
            if self.transact(items).await?.is_none() {
                let outcome = if stored.is_some() {
                    FeedOutcome::Updated
                } else {
                    FeedOutcome::Created
                };
                return Ok((outcome, pay));
            }
        }
        Err(StoreError::Db(format!(
            "refund {}: still losing races after {RACES} attempts",
            refund.refund_no
        )))
    }
}
