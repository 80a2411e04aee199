//! DynamoDB storage. Every uniqueness rule and every state change is a conditional write; a
//! writer that loses a race re-reads and decides again. No Scan anywhere.

use crate::feed::{Merge, merge_notice};
use crate::model::{Channel, PayOrder, PayStatus};
use crate::schema::{PK, SK, TTL};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use std::collections::HashMap;

pub mod allocation;
pub mod conflict;
pub mod receivers;

pub use allocation::{Claim, CreateConflict};

pub type Item = HashMap<String, AttributeValue>;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data says no (a conflicting write); the message is safe to show the caller.
    #[error("{0}")]
    Conflict(String),
    /// DynamoDB failed or answered something unexpected. Logged, never shown.
    #[error("dynamodb: {0}")]
    Db(String),
}

pub(crate) fn db_err<E: std::error::Error + 'static>(e: E) -> StoreError {
    StoreError::Db(DisplayErrorContext(e).to_string())
}

/// The outcome of a conditional write: `Ok(true)` written, `Ok(false)` its condition did not
/// hold (the caller re-reads and decides again), `Err` anything else.
pub(crate) fn conditional<O, E>(
    result: Result<O, aws_sdk_dynamodb::error::SdkError<E>>,
) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .and_then(|se| se.code())
                .is_some_and(|c| c == "ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(db_err(e)),
    }
}

/// How many times a conditional read-decide-write is retried after losing a race.
const MAX_RACE_RETRIES: usize = 8;

/// What a pay notice did to the stored pay order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedOutcome {
    Created,
    Updated,
    /// Nothing to change (a repeated or stale notice).
    Unchanged,
}

/// The table and its client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: Client,
    table: String,
}

const PAY_PREFIX: &str = "PAY#";
pub fn pay_pk(order_no: &str) -> String {
    format!("{PAY_PREFIX}{order_no}")
}
/// The orderNo a pay order's partition key names.
pub fn order_no_of(pk: &str) -> Option<&str> {
    pk.strip_prefix(PAY_PREFIX)
}
pub(crate) const PAY_SK: &str = "PAY";
pub fn pay_biz_pk(biz_order_no: &str) -> String {
    format!("PAYBIZ#{biz_order_no}")
}
const PAY_BIZ_SK: &str = "PAYBIZ";
pub fn nonce_pk(nonce: &str, req_time: i64) -> String {
    format!("NONCE#{req_time}#{nonce}")
}
const NONCE_SK: &str = "NONCE";
pub(crate) fn pay_key(order_no: &str) -> Item {
    key(pay_pk(order_no), PAY_SK)
}
pub(crate) fn pay_biz_key(biz_order_no: &str) -> Item {
    key(pay_biz_pk(biz_order_no), PAY_BIZ_SK)
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
pub(crate) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

pub(crate) fn get_s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}
pub(crate) fn get_n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}
pub(crate) fn get_bool(item: &Item, name: &str) -> Option<bool> {
    match item.get(name) {
        Some(AttributeValue::Bool(v)) => Some(*v),
        _ => None,
    }
}
pub(crate) fn need<T>(v: Option<T>, what: &str) -> Result<T, StoreError> {
    v.ok_or_else(|| StoreError::Db(format!("stored item lacks a valid `{what}`")))
}

fn pay_order_to_item(p: &PayOrder, version: i64, now: i64) -> Item {
    let mut item = pay_key(&p.order_no);
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

pub(crate) fn pay_order_from_item(item: &Item) -> Result<(PayOrder, i64), StoreError> {
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
    };
    Ok((order, need(get_n(item, "ver"), "ver")?))
}

impl Store {
    /// A store over `table`. The client is given the retry classifier that sends a write
    /// again when it met a transaction in progress ([`conflict`]).
    pub fn new(db: Client, table: impl Into<String>) -> Self {
        let config = db
            .config()
            .to_builder()
            .retry_classifier(conflict::RetryTransactionConflicts)
            .build();
        Self {
            db: Client::from_conf(config),
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Records a (nonceStr, reqTime) pair. `Ok(false)`: seen before, the request is a replay.
    /// The item expires through TTL after `expires_at`; until TTL removes it, the `reqTime`
    /// window already refuses anything that old.
    pub async fn claim_nonce(
        &self,
        nonce: &str,
        req_time: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let mut item = key(nonce_pk(nonce, req_time), NONCE_SK);
        item.insert(TTL.into(), n(expires_at));
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional(result)
    }

    pub(crate) async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(db_err)?;
        Ok(out.item)
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
            .set_key(Some(pay_key(order_no)))
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
            .set_key(Some(pay_key(order_no)))
            .update_expression("REMOVE duePk, dueAt")
            .condition_expression("#ver = :expected")
            .expression_attribute_names("#ver", "ver")
            .expression_attribute_values(":expected", n(version))
            .send()
            .await;
        conditional(result).map(|_| ())
    }

    /// Strongly consistent reads of many items in one round trip (retrying unprocessed keys),
    /// keyed by `pk`. At most 100 keys.
    pub(crate) async fn get_many(
        &self,
        keys: Vec<Item>,
    ) -> Result<HashMap<String, Item>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = HashMap::new();
        let mut pending = keys;
        pending.dedup();
        for _ in 0..MAX_RACE_RETRIES {
            if pending.is_empty() {
                break;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(db_err)?;
            let out = self
                .db
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(db_err)?;
            for item in out
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default()
            {
                if let Some(pk) = get_s(&item, PK) {
                    found.insert(pk, item);
                }
            }
            pending = out
                .unprocessed_keys
                .unwrap_or_default()
                .remove(&self.table)
                .map(|k| k.keys)
                .unwrap_or_default();
        }
        if !pending.is_empty() {
            return Err(StoreError::Db("batch read left keys unprocessed".into()));
        }
        Ok(found)
    }

    /// Runs a transaction. `Ok(None)`: done. `Ok(Some(i))`: cancelled because the condition of
    /// item `i` failed (the caller re-reads and decides again).
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<usize>, StoreError> {
        let result = self
            .db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(e) => {
                let failed = e.as_service_error().and_then(|se| match se {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => c
                        .cancellation_reasons()
                        .iter()
                        .position(|r| r.code() == Some("ConditionalCheckFailed")),
                    _ => None,
                });
                match failed {
                    Some(i) => Ok(Some(i)),
                    None => Err(db_err(e)),
                }
            }
        }
    }

    pub(crate) fn put(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(db_err)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Every item whose `hash` attribute is `value`, on the table or an index, all pages.
    pub(crate) async fn query_all(
        &self,
        index: Option<&str>,
        hash: &str,
        value: &str,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .db
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression("#h = :h")
                .expression_attribute_names("#h", hash)
                .expression_attribute_values(":h", s(value))
                .consistent_read(consistent)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(db_err)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// The pay order with this `orderNo`, and its version.
    pub async fn pay_order(&self, order_no: &str) -> Result<Option<(PayOrder, i64)>, StoreError> {
        match self.get(key(pay_pk(order_no), PAY_SK)).await? {
            Some(item) => pay_order_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    /// The pay order with this `bizOrderNo` (two reads: the pointer, then the order).
    pub async fn pay_order_by_biz(
        &self,
        biz_order_no: &str,
    ) -> Result<Option<(PayOrder, i64)>, StoreError> {
        let Some(pointer) = self.get(key(pay_biz_pk(biz_order_no), PAY_BIZ_SK)).await? else {
            return Ok(None);
        };
        let order_no = need(get_s(&pointer, "orderNo"), "orderNo")?;
        self.pay_order(&order_no).await
    }

    /// Upserts a pay order from a verified pay notice (SPEC §4.1): idempotent, never regresses
    /// a paid order, never touches the allocation mark. A notice whose identity (bizOrderNo,
    /// channel, amount, outOrderNo) contradicts the stored order is refused as a conflict.
    /// When the pay order wants auto allocation, it becomes due `auto_delay` seconds after its
    /// payTime (or now).
    pub async fn apply_pay_notice(
        &self,
        notice: &PayOrder,
        now: i64,
        auto_delay: i64,
    ) -> Result<FeedOutcome, StoreError> {
        let due_at = |o: &PayOrder| o.pay_time.unwrap_or(now).max(0) + auto_delay;
        for _ in 0..MAX_RACE_RETRIES {
            match self.pay_order(&notice.order_no).await? {
                None => {
                    let due = notice.wants_auto_allocation().then(|| due_at(notice));
                    if self.create_pay_order(notice, now, due).await? {
                        return Ok(FeedOutcome::Created);
                    }
                }
                Some((existing, version)) => match merge_notice(&existing, notice) {
                    Merge::Conflict(why) => return Err(StoreError::Conflict(why)),
                    Merge::Unchanged => return Ok(FeedOutcome::Unchanged),
                    Merge::Update(merged) => {
                        let due = merged.wants_auto_allocation().then(|| due_at(&merged));
                        if self.replace_pay_order(&merged, version, now, due).await? {
                            return Ok(FeedOutcome::Updated);
                        }
                    }
                },
            }
        }
        Err(StoreError::Db(format!(
            "pay order {}: still losing races after {MAX_RACE_RETRIES} attempts",
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
        let mut item = pay_order_to_item(order, 1, now);
        item.insert("createdAt".into(), n(now));
        allocation::insert_due(
            &mut item,
            due.map(|at| crate::model::Due {
                kind: crate::model::DueKind::AutoAllocate,
                at,
            }),
        );
        let mut pointer = key(pay_biz_pk(&order.biz_order_no), PAY_BIZ_SK);
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
            .set_key(Some(key(pay_pk(&order.order_no), PAY_SK)))
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
                    .expression_attribute_values(
                        ":duePk",
                        s(crate::model::DueKind::AutoAllocate.partition()),
                    )
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

pub(crate) fn opt_s(v: &Option<String>) -> AttributeValue {
    v.as_deref().map_or(AttributeValue::Null(true), s)
}
