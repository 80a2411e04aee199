//! Pay orders as the feed delivered them (SPEC §4.1), with their bizOrderNo pointer; the
//! allocation mark belongs to the start transaction and is never written here otherwise.

use super::item::{Item, get_bool, get_n, get_s, insert_due, n, need, opt_s, s};
use super::keys::Scope;
use super::keys::{deadline_key, pay_biz_key, pay_key};
use super::{Store, StoreError, conditional, db_err};
use crate::domain::RACES;
use crate::domain::pay_order::{Merge, merge_notice};
use crate::domain::{Channel, Due, DueKind, Notice, PayOrder, PayStatus};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

/// What a pay notice did to the stored pay order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedOutcome {
    Created,
    Updated,
    /// Nothing to change (a repeated or stale notice).
    Unchanged,
}

fn pay_order_to_item(sc: &Scope, p: &PayOrder, version: i64, now: i64) -> Item {
    let mut item = pay_key(sc, &p.order_no);
    item.insert("type".into(), s("pay_order"));
    item.insert("orderNo".into(), s(&p.order_no));
    item.insert("bizOrderNo".into(), s(&p.biz_order_no));
    item.insert("title".into(), s(&p.title));
    item.insert("channel".into(), s(p.channel.code()));
    item.insert("amount".into(), n(p.amount));
    item.insert("status".into(), s(p.status.code()));
    item.insert("allocation".into(), AttributeValue::Bool(p.allocation));
    item.insert(
        "autoAllocation".into(),
        AttributeValue::Bool(p.auto_allocation),
    );
    let optional = [
        ("outOrderNo", &p.out_order_no),
        ("method", &p.method),
        ("refundStatus", &p.refund_status),
        ("attach", &p.attach),
        ("allocationNo", &p.allocation_no),
        ("account", &p.account),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            item.insert(name.into(), s(v));
        }
    }
    if let Some(t) = p.pay_time {
        item.insert("payTime".into(), n(t));
    }
    item.insert("ver".into(), n(version));
    item.insert("updatedAt".into(), n(now));
    item
}

pub(super) fn pay_order_from_item(item: &Item) -> Result<(PayOrder, i64), StoreError> {
    let channel = need(get_s(item, "channel"), "channel")?;
    let status = need(get_s(item, "status"), "status")?;
    let order = PayOrder {
        order_no: need(get_s(item, "orderNo"), "orderNo")?,
        biz_order_no: need(get_s(item, "bizOrderNo"), "bizOrderNo")?,
        out_order_no: get_s(item, "outOrderNo"),
        title: get_s(item, "title").unwrap_or_default(),
        channel: need(Channel::from_code(&channel), "channel")?,
        method: get_s(item, "method"),
        amount: need(get_n(item, "amount"), "amount")?,
        status: need(PayStatus::from_code(&status), "status")?,
        allocation: get_bool(item, "allocation").unwrap_or(false),
        auto_allocation: get_bool(item, "autoAllocation").unwrap_or(false),
        refund_status: get_s(item, "refundStatus"),
        attach: get_s(item, "attach"),
        pay_time: get_n(item, "payTime"),
        allocation_no: get_s(item, "allocationNo"),
        auto_allocation_error: get_s(item, "autoAllocationError"),
        refunded: get_n(item, "refunded").unwrap_or(0),
        account: get_s(item, "account"),
    };
    Ok((order, need(get_n(item, "ver"), "ver")?))
}

impl Store {
    /// Makes a frozen pay order's freeze-deadline watch due at `at` (SPEC §4.11), once: a watch
    /// already written (or done) is left as it is.
    pub async fn watch_deadline(&self, order_no: &str, at: i64) -> Result<(), StoreError> {
        let mut item = deadline_key(&self.scope, order_no);
        item.insert("type".into(), s("deadline"));
        item.insert("orderNo".into(), s(order_no));
        insert_due(
            &mut item,
            Some(Due {
                kind: DueKind::Deadline,
                at,
            }),
        );
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional(result).map(|_| ())
    }

    /// The watch is done: it is no longer due. With `notice`, the pay order's expiring notice
    /// is written in the same transaction (once).
    pub async fn end_deadline_watch(
        &self,
        order_no: &str,
        notice: Option<&Notice>,
    ) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(deadline_key(&self.scope, order_no)))
            .update_expression("REMOVE duePk, dueAt")
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(db_err)?;
        let mut items = vec![TransactWriteItem::builder().update(update.clone()).build()];
        if let Some(n) = notice {
            items.push(self.put(
                super::notices::notice_to_item(&self.scope, n),
                Some("attribute_not_exists(pk)"),
            )?);
        }
        match self.transact(items).await? {
            // written before (a repeated job): the watch still ends
            Some(1) => self
                .transact(vec![TransactWriteItem::builder().update(update).build()])
                .await
                .map(|_| ()),
            // done, or there is no watch to end
            _ => Ok(()),
        }
    }

    /// Records why auto allocation could not run and stops it being due (unless the pay order
    /// was allocated meanwhile).
    pub async fn fail_auto_allocation(
        &self,
        order_no: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(pay_key(&self.scope, order_no)))
            .update_expression("SET autoAllocationError = :r, ver = ver + :one REMOVE duePk, dueAt")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(allocationNo)")
            .expression_attribute_values(":r", s(reason))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        // not there, or allocated meanwhile: nothing to record
        conditional(result).map(|_| ())
    }

    /// Stops a pay order read at `version` being due for auto allocation (it no longer wants
    /// it). If the order changed since, the change decides: nothing is written.
    pub async fn clear_pay_order_due(
        &self,
        order_no: &str,
        version: i64,
    ) -> Result<(), StoreError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(pay_key(&self.scope, order_no)))
            .update_expression("REMOVE duePk, dueAt")
            .condition_expression("#ver = :expected")
            .expression_attribute_names("#ver", "ver")
            .expression_attribute_values(":expected", n(version))
            .send()
            .await;
        conditional(result).map(|_| ())
    }

    /// The pay order with this `orderNo`, and its version.
    pub async fn pay_order(&self, order_no: &str) -> Result<Option<(PayOrder, i64)>, StoreError> {
        match self.get(pay_key(&self.scope, order_no)).await? {
            Some(item) => pay_order_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    /// The pay order with this `bizOrderNo` (two reads: the pointer, then the order).
    pub async fn pay_order_by_biz(
        &self,
        biz_order_no: &str,
    ) -> Result<Option<(PayOrder, i64)>, StoreError> {
        let Some(pointer) = self.get(pay_biz_key(&self.scope, biz_order_no)).await? else {
            return Ok(None);
        };
        let order_no = need(get_s(&pointer, "orderNo"), "orderNo")?;
        self.pay_order(&order_no).await
    }

    /// Upserts a pay order from a verified pay notice (SPEC §4.1): idempotent, never regresses
    /// a paid order, never touches the allocation mark. A notice whose identity (bizOrderNo,
    /// channel, amount, outOrderNo) contradicts the stored order is refused as a conflict.
    /// When the pay order wants auto allocation, it becomes due `auto_delay` seconds after its
    /// payTime (or now). Returns the pay order as it now stands beside the outcome.
    pub async fn apply_pay_notice(
        &self,
        notice: &PayOrder,
        now: i64,
        auto_delay: i64,
    ) -> Result<(FeedOutcome, PayOrder), StoreError> {
        let due_at = |o: &PayOrder| o.pay_time.unwrap_or(now).max(0) + auto_delay;
        for _ in 0..RACES {
            match self.pay_order(&notice.order_no).await? {
                None => {
                    let due = notice.wants_auto_allocation().then(|| due_at(notice));
                    if self.create_pay_order(notice, now, due).await? {
                        return Ok((FeedOutcome::Created, notice.clone()));
                    }
                }
                Some((existing, version)) => match merge_notice(&existing, notice) {
                    Merge::Conflict(why) => return Err(StoreError::Conflict(why)),
                    Merge::Unchanged => return Ok((FeedOutcome::Unchanged, existing)),
                    Merge::Update(merged) => {
                        let due = merged.wants_auto_allocation().then(|| due_at(&merged));
                        if self.replace_pay_order(&merged, version, now, due).await? {
                            return Ok((FeedOutcome::Updated, *merged));
                        }
                    }
                },
            }
        }
        Err(StoreError::Db(format!(
            "pay order {}: still losing races after {RACES} attempts",
            notice.order_no
        )))
    }

    /// `Ok(false)`: someone created it first (re-read and merge).
    async fn create_pay_order(
        &self,
        order: &PayOrder,
        now: i64,
        due: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut item = pay_order_to_item(&self.scope, order, 1, now);
        item.insert("createdAt".into(), n(now));
        insert_due(
            &mut item,
            due.map(|at| Due {
                kind: DueKind::AutoAllocate,
                at,
            }),
        );
        let mut pointer = pay_biz_key(&self.scope, &order.biz_order_no);
        pointer.insert("orderNo".into(), s(&order.order_no));
        let pointer_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(pointer))
            .condition_expression("attribute_not_exists(pk) OR orderNo = :o")
            .expression_attribute_values(":o", s(&order.order_no))
            .build()
            .map_err(db_err)?;
        let items = vec![
            self.put(item, Some("attribute_not_exists(pk)"))?,
            TransactWriteItem::builder().put(pointer_put).build(),
        ];
        match self.transact(items).await? {
            None => Ok(true),
            Some(0) => Ok(false),
            Some(_) => Err(StoreError::Conflict(format!(
                "bizOrderNo {} already belongs to another pay order",
                order.biz_order_no
            ))),
        }
    }

    /// Writes `order` if the stored version is still `version`. `Ok(false)`: it moved on.
    async fn replace_pay_order(
        &self,
        order: &PayOrder,
        version: i64,
        now: i64,
        due: Option<i64>,
    ) -> Result<bool, StoreError> {
        // Only the attributes a notice owns are written; the allocation mark (`allocationNo`)
        // belongs to the start transaction and is left as it is. Every name goes through a
        // placeholder (several, like `status` and `attach`, are DynamoDB reserved words).
        let opt_n = |v: Option<i64>| v.map_or(AttributeValue::Null(true), n);
        let values = [
            ("status", s(order.status.code())),
            ("title", s(&order.title)),
            ("allocation", AttributeValue::Bool(order.allocation)),
            (
                "autoAllocation",
                AttributeValue::Bool(order.auto_allocation),
            ),
            ("outOrderNo", opt_s(&order.out_order_no)),
            ("method", opt_s(&order.method)),
            ("refundStatus", opt_s(&order.refund_status)),
            ("attach", opt_s(&order.attach)),
            ("payTime", opt_n(order.pay_time)),
            ("updatedAt", n(now)),
            ("ver", n(version + 1)),
        ];
        let mut req = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(pay_key(&self.scope, &order.order_no)))
            .condition_expression("#ver = :expected")
            .expression_attribute_values(":expected", n(version));
        let mut sets = Vec::new();
        for (i, (name, value)) in values.into_iter().enumerate() {
            sets.push(format!("#a{i} = :v{i}"));
            req = req
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":v{i}"), value);
        }
        let due_clause = match due {
            Some(at) => {
                sets.push("duePk = :duePk, dueAt = :dueAt".into());
                req = req
                    .expression_attribute_values(":duePk", s(DueKind::AutoAllocate.partition()))
                    .expression_attribute_values(":dueAt", n(at));
                ""
            }
            None => " REMOVE duePk, dueAt",
        };
        let result = req
            .expression_attribute_names("#ver", "ver")
            .update_expression(format!("SET {}{due_clause}", sets.join(", ")))
            .send()
            .await;
        conditional(result)
    }
}
