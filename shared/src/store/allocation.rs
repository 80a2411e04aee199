//! Allocation orders, their details and the bizAllocationNo claim. One Query on
//! `ALLOC#<allocationNo>` reads an order with all its details; every change of an order is a
//! write conditioned on its version.

use super::conditional;
use super::{Item, Store, StoreError, db_err, get_n, get_s, key, n, need, pay_key, s};
use crate::daxpay::Spelling;
use crate::model::{
    AllocationDetail, AllocationOrder, AllocationResult, AllocationStatus, Channel, DetailResult,
    Due, DueKind, Notice, NoticeAttempt, ReceiverType,
};
use crate::schema::{DUE_AT, DUE_PK, PK, SK};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use std::collections::HashMap;

const ALLOC_PREFIX: &str = "ALLOC#";
pub fn alloc_pk(allocation_no: &str) -> String {
    format!("{ALLOC_PREFIX}{allocation_no}")
}
/// The allocationNo an order's partition key names.
pub fn allocation_no_of(pk: &str) -> Option<&str> {
    pk.strip_prefix(ALLOC_PREFIX)
}
pub(crate) const ORDER_SK: &str = "ORDER";
const DETAIL_PREFIX: &str = "DETAIL#";
pub fn claim_pk(biz_allocation_no: &str) -> String {
    format!("BIZALLOC#{biz_allocation_no}")
}
pub(crate) const CLAIM_SK: &str = "BIZALLOC";
pub(crate) fn claim_key(biz_allocation_no: &str) -> Item {
    key(claim_pk(biz_allocation_no), CLAIM_SK)
}

/// The record that a bizAllocationNo is taken, and by which request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub allocation_no: String,
    pub digest: String,
}

/// Why creating an allocation did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateConflict {
    /// The generated allocationNo exists (generate another).
    AllocationNoTaken,
    /// Someone claimed the bizAllocationNo first.
    BizAllocationNoTaken,
    /// The pay order was allocated meanwhile, or is no longer allocatable.
    PayOrderTaken,
}

pub(crate) fn claim_from_item(item: &Item) -> Result<Claim, StoreError> {
    Ok(Claim {
        allocation_no: need(get_s(item, "allocationNo"), "allocationNo")?,
        digest: need(get_s(item, "digest"), "digest")?,
    })
}

fn order_to_item(o: &AllocationOrder, version: i64) -> Item {
    let mut item = key(alloc_pk(&o.allocation_no), ORDER_SK);
    let fields = [
        ("type", Some("allocation_order".to_owned())),
        ("allocationNo", Some(o.allocation_no.clone())),
        ("bizAllocationNo", Some(o.biz_allocation_no.clone())),
        ("outAllocationNo", o.out_allocation_no.clone()),
        ("orderNo", Some(o.order_no.clone())),
        ("bizOrderNo", Some(o.biz_order_no.clone())),
        ("outOrderNo", Some(o.out_order_no.clone())),
        ("title", Some(o.title.clone())),
        ("channel", Some(o.channel.code().to_owned())),
        ("description", o.description.clone()),
        ("status", Some(o.status.code().to_owned())),
        ("result", Some(o.result.code().to_owned())),
        ("errorCode", o.error_code.clone()),
        ("errorMsg", o.error_msg.clone()),
        ("notifyUrl", o.notify_url.clone()),
        ("attach", o.attach.clone()),
        ("digest", Some(o.digest.clone())),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            item.insert(name.into(), s(v));
        }
    }
    item.insert("amount".into(), n(o.amount));
    item.insert("createdAt".into(), n(o.created_at));
    if let Some(t) = o.finish_time {
        item.insert("finishTime".into(), n(t));
    }
    item.insert("syncAttempts".into(), n(o.sync_attempts));
    if o.flagged {
        item.insert("flagged".into(), AttributeValue::Bool(true));
    }
    item.insert("spelling".into(), s(o.spelling.code()));
    if o.not_notify {
        item.insert("notNotify".into(), AttributeValue::Bool(true));
    }
    insert_due(&mut item, o.due);
    item.insert("ver".into(), n(version));
    item
}

/// Sets the sparse `due` index attributes (absent when nothing is due).
pub(crate) fn insert_due(item: &mut Item, due: Option<Due>) {
    if let Some(d) = due {
        item.insert(DUE_PK.into(), s(d.kind.partition()));
        item.insert(DUE_AT.into(), n(d.at));
    }
}

pub(crate) fn due_of(item: &Item) -> Option<Due> {
    Some(Due {
        kind: DueKind::from_partition(&get_s(item, DUE_PK)?)?,
        at: get_n(item, DUE_AT)?,
    })
}

const NOTICE_PREFIX: &str = "NOTICE#";
pub fn notice_sk(status: AllocationStatus) -> String {
    format!("{NOTICE_PREFIX}{status}")
}
/// The status a notice's sort key names.
pub fn notice_status_of(sk: &str) -> Option<AllocationStatus> {
    AllocationStatus::from_code(sk.strip_prefix(NOTICE_PREFIX)?)
}

fn attempt_to_value(a: &NoticeAttempt) -> AttributeValue {
    let mut m = HashMap::from([
        ("number".to_owned(), n(a.number)),
        ("at".to_owned(), n(a.at)),
        ("delivered".to_owned(), AttributeValue::Bool(a.delivered)),
    ]);
    if let Some(st) = a.status {
        m.insert("status".into(), n(i64::from(st)));
    }
    if let Some(e) = &a.error {
        m.insert("error".into(), s(e));
    }
    AttributeValue::M(m)
}

fn attempt_from_value(v: &AttributeValue) -> Option<NoticeAttempt> {
    let m = v.as_m().ok()?;
    Some(NoticeAttempt {
        number: get_n(m, "number")?,
        at: get_n(m, "at")?,
        delivered: matches!(m.get("delivered"), Some(AttributeValue::Bool(true))),
        status: get_n(m, "status").and_then(|x| u16::try_from(x).ok()),
        error: get_s(m, "error"),
    })
}

fn notice_to_item(notice: &Notice) -> Item {
    let mut item = key(alloc_pk(&notice.allocation_no), &notice_sk(notice.status));
    item.insert("allocationNo".into(), s(&notice.allocation_no));
    item.insert("status".into(), s(notice.status.code()));
    item.insert("url".into(), s(&notice.url));
    item.insert("body".into(), s(&notice.body));
    item.insert("delivered".into(), AttributeValue::Bool(notice.delivered));
    item.insert("attemptCount".into(), n(notice.attempts.len() as i64));
    item.insert(
        "attempts".into(),
        AttributeValue::L(notice.attempts.iter().map(attempt_to_value).collect()),
    );
    if let Some(at) = notice.next_at {
        item.insert("nextAt".into(), n(at));
    }
    item.insert(
        "schedule".into(),
        AttributeValue::L(notice.schedule.iter().map(|d| n(*d)).collect()),
    );
    item.insert("maxAttempts".into(), n(notice.max_attempts));
    insert_due(&mut item, notice.due);
    item
}

fn notice_from_item(item: &Item) -> Result<Notice, StoreError> {
    let code = |name: &str| need(get_s(item, name), name);
    let attempts = match item.get("attempts") {
        Some(AttributeValue::L(list)) => list.iter().filter_map(attempt_from_value).collect(),
        _ => Vec::new(),
    };
    Ok(Notice {
        allocation_no: code("allocationNo")?,
        status: need(AllocationStatus::from_code(&code("status")?), "status")?,
        url: code("url")?,
        body: code("body")?,
        delivered: matches!(item.get("delivered"), Some(AttributeValue::Bool(true))),
        attempts,
        next_at: get_n(item, "nextAt"),
        due: due_of(item),
        // notices written before the schedule was stored follow DaxPay's
        schedule: match item.get("schedule") {
            Some(AttributeValue::L(list)) => list
                .iter()
                .filter_map(|v| v.as_n().ok().and_then(|x| x.parse().ok()))
                .collect(),
            _ => crate::config::DAXPAY_NOTIFY_DELAYS.to_vec(),
        },
        max_attempts: get_n(item, "maxAttempts")
            .unwrap_or(crate::config::DAXPAY_NOTIFY_DELAYS.len() as i64 + 1),
    })
}

fn order_from_item(item: &Item) -> Result<(AllocationOrder, i64), StoreError> {
    let code = |name: &str| need(get_s(item, name), name);
    let order = AllocationOrder {
        allocation_no: code("allocationNo")?,
        biz_allocation_no: code("bizAllocationNo")?,
        out_allocation_no: get_s(item, "outAllocationNo"),
        order_no: code("orderNo")?,
        biz_order_no: code("bizOrderNo")?,
        out_order_no: code("outOrderNo")?,
        title: get_s(item, "title").unwrap_or_default(),
        channel: need(Channel::from_code(&code("channel")?), "channel")?,
        amount: need(get_n(item, "amount"), "amount")?,
        description: get_s(item, "description"),
        status: need(AllocationStatus::from_code(&code("status")?), "status")?,
        result: need(AllocationResult::from_code(&code("result")?), "result")?,
        error_code: get_s(item, "errorCode"),
        error_msg: get_s(item, "errorMsg"),
        finish_time: get_n(item, "finishTime"),
        notify_url: get_s(item, "notifyUrl"),
        attach: get_s(item, "attach"),
        digest: code("digest")?,
        created_at: get_n(item, "createdAt").unwrap_or_default(),
        due: due_of(item),
        sync_attempts: get_n(item, "syncAttempts").unwrap_or_default(),
        flagged: matches!(item.get("flagged"), Some(AttributeValue::Bool(true))),
        // orders stored before the spelling was recorded were all answered in 2.0.7 names
        spelling: get_s(item, "spelling")
            .and_then(|c| Spelling::from_code(&c))
            .unwrap_or_default(),
        not_notify: matches!(item.get("notNotify"), Some(AttributeValue::Bool(true))),
    };
    Ok((order, need(get_n(item, "ver"), "ver")?))
}

fn detail_to_item(allocation_no: &str, d: &AllocationDetail) -> Item {
    let mut item = key(
        alloc_pk(allocation_no),
        &format!("{DETAIL_PREFIX}{}", d.receiver_no),
    );
    item.insert("receiverNo".into(), s(&d.receiver_no));
    item.insert("amount".into(), n(d.amount));
    item.insert("rate".into(), n(d.rate));
    item.insert("receiverType".into(), s(d.receiver_type.code()));
    item.insert("receiverAccount".into(), s(&d.receiver_account));
    item.insert("result".into(), s(d.result.code()));
    for (name, value) in [
        ("receiverName", &d.receiver_name),
        ("errorCode", &d.error_code),
        ("errorMsg", &d.error_msg),
    ] {
        if let Some(v) = value {
            item.insert(name.into(), s(v));
        }
    }
    if let Some(t) = d.finish_time {
        item.insert("finishTime".into(), n(t));
    }
    item
}

fn detail_from_item(item: &Item) -> Result<AllocationDetail, StoreError> {
    let code = |name: &str| need(get_s(item, name), name);
    Ok(AllocationDetail {
        receiver_no: code("receiverNo")?,
        amount: need(get_n(item, "amount"), "amount")?,
        rate: get_n(item, "rate").unwrap_or_default(),
        receiver_type: need(
            ReceiverType::from_code(&code("receiverType")?),
            "receiverType",
        )?,
        receiver_account: code("receiverAccount")?,
        receiver_name: get_s(item, "receiverName"),
        result: need(DetailResult::from_code(&code("result")?), "result")?,
        error_code: get_s(item, "errorCode"),
        error_msg: get_s(item, "errorMsg"),
        finish_time: get_n(item, "finishTime"),
    })
}

/// An order as stored: the order, its version, its details (ordered by receiverNo) and its
/// merchant notices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAllocation {
    pub order: AllocationOrder,
    pub version: i64,
    pub details: Vec<AllocationDetail>,
    pub notices: Vec<Notice>,
}

impl Store {
    /// The claim of a bizAllocationNo, if any.
    pub async fn claim(&self, biz_allocation_no: &str) -> Result<Option<Claim>, StoreError> {
        match self.get(claim_key(biz_allocation_no)).await? {
            Some(item) => claim_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    /// An order with its details, in one strongly consistent Query.
    pub async fn allocation(
        &self,
        allocation_no: &str,
    ) -> Result<Option<StoredAllocation>, StoreError> {
        let items = self
            .query_all(None, PK, &alloc_pk(allocation_no), true)
            .await?;
        let mut order = None;
        let mut details = Vec::new();
        let mut notices = Vec::new();
        for item in &items {
            match get_s(item, SK).as_deref() {
                Some(ORDER_SK) => order = Some(order_from_item(item)?),
                Some(sk) if sk.starts_with(DETAIL_PREFIX) => details.push(detail_from_item(item)?),
                Some(sk) if sk.starts_with("NOTICE#") => notices.push(notice_from_item(item)?),
                _ => {}
            }
        }
        Ok(order.map(|(order, version)| StoredAllocation {
            order,
            version,
            details,
            notices,
        }))
    }

    /// Writes a new order, its details, the bizAllocationNo claim and the pay order's allocation
    /// mark in one transaction (SPEC §4.2 step 6).
    pub async fn create_allocation(
        &self,
        order: &AllocationOrder,
        details: &[AllocationDetail],
    ) -> Result<Result<(), CreateConflict>, StoreError> {
        let mut items = vec![
            self.put(order_to_item(order, 1), Some("attribute_not_exists(pk)"))?,
            {
                let mut claim = claim_key(&order.biz_allocation_no);
                claim.insert("allocationNo".into(), s(&order.allocation_no));
                claim.insert("digest".into(), s(&order.digest));
                self.put(claim, Some("attribute_not_exists(pk)"))?
            },
            {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(pay_key(&order.order_no)))
                    .update_expression(
                        "SET allocationNo = :a, ver = ver + :one REMOVE duePk, dueAt",
                    )
                    .condition_expression(
                        "attribute_exists(pk) AND attribute_not_exists(allocationNo) \
                         AND #status = :success AND allocation = :yes",
                    )
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":a", s(&order.allocation_no))
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":success", s("success"))
                    .expression_attribute_values(":yes", AttributeValue::Bool(true))
                    .build()
                    .map_err(db_err)?;
                TransactWriteItem::builder().update(update).build()
            },
        ];
        for d in details {
            items.push(self.put(detail_to_item(&order.allocation_no, d), None)?);
        }
        Ok(match self.transact(items).await? {
            None => Ok(()),
            Some(0) => Err(CreateConflict::AllocationNoTaken),
            Some(1) => Err(CreateConflict::BizAllocationNoTaken),
            Some(_) => Err(CreateConflict::PayOrderTaken),
        })
    }

    /// Saves a new state of an order (and the details that changed) if it is still at
    /// `version`. `Ok(false)`: someone else changed it first; re-read and decide again.
    /// With `release_pay_order`, the pay order's allocation mark is removed in the same
    /// transaction (a definite channel refusal: the merchant may start again).
    pub async fn save_allocation(
        &self,
        order: &AllocationOrder,
        version: i64,
        changed: &[&AllocationDetail],
        release_pay_order: bool,
        notice: Option<&Notice>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut item = order_to_item(order, version + 1);
        item.insert("updatedAt".into(), n(now));
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("ver = :ver")
            .expression_attribute_values(":ver", n(version))
            .build()
            .map_err(db_err)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        for d in changed {
            items.push(self.put(detail_to_item(&order.allocation_no, d), None)?);
        }
        if let Some(notice) = notice {
            // One notice per order and status: a status is entered at most once.
            items.push(self.put(notice_to_item(notice), Some("attribute_not_exists(pk)"))?);
        }
        if release_pay_order {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(pay_key(&order.order_no)))
                .update_expression("REMOVE allocationNo SET ver = ver + :one")
                .condition_expression("allocationNo = :a")
                .expression_attribute_values(":a", s(&order.allocation_no))
                .expression_attribute_values(":one", n(1))
                .build()
                .map_err(db_err)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        Ok(self.transact(items).await?.is_none())
    }
}

impl Store {
    /// The notice of an order's status.
    pub async fn notice(
        &self,
        allocation_no: &str,
        status: AllocationStatus,
    ) -> Result<Option<Notice>, StoreError> {
        match self
            .get(key(alloc_pk(allocation_no), &notice_sk(status)))
            .await?
        {
            Some(item) => notice_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Claims attempt number `attempts + 1` of a notice (undelivered, still at `attempts`
    /// attempts), leasing it until `lease_until`. `false`: someone else has it, or it is done.
    pub async fn claim_notice_attempt(
        &self,
        allocation_no: &str,
        status: AllocationStatus,
        attempts: i64,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(alloc_pk(allocation_no), &notice_sk(status))))
            .update_expression("SET attemptCount = :next, dueAt = :lease")
            .condition_expression("attemptCount = :n AND delivered = :no AND nextAt <= :now")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":next", n(attempts + 1))
            .expression_attribute_values(":lease", n(lease_until))
            .expression_attribute_values(":n", n(attempts))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .send()
            .await;
        conditional(result)
    }

    /// Makes a notice due again now, with one more attempt allowed (the merchant asked for it
    /// again). `Ok(false)`: there is no such notice.
    pub async fn resend_notice(
        &self,
        allocation_no: &str,
        status: AllocationStatus,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(alloc_pk(allocation_no), &notice_sk(status))))
            .update_expression(
                "SET delivered = :no, nextAt = :now, duePk = :p, dueAt = :now, \
                 maxAttempts = if_not_exists(maxAttempts, :default) + :one",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":p", s(DueKind::Notify.partition()))
            .expression_attribute_values(
                ":default",
                n(crate::config::DAXPAY_NOTIFY_DELAYS.len() as i64 + 1),
            )
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        conditional(result)
    }

    /// Records a claimed attempt; `next_due`: when to try again (none: delivered or given up).
    pub async fn record_notice_attempt(
        &self,
        allocation_no: &str,
        status: AllocationStatus,
        attempt: &NoticeAttempt,
        next_due: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut update = String::from(
            "SET attempts = list_append(if_not_exists(attempts, :empty), :new), delivered = :d",
        );
        let mut req = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(alloc_pk(allocation_no), &notice_sk(status))))
            .condition_expression("attemptCount = :n")
            .expression_attribute_values(":n", n(attempt.number))
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":new", AttributeValue::L(vec![attempt_to_value(attempt)]))
            .expression_attribute_values(":d", AttributeValue::Bool(attempt.delivered));
        match next_due {
            Some(at) => {
                update.push_str(", dueAt = :at, nextAt = :at");
                req = req.expression_attribute_values(":at", n(at));
            }
            None => update.push_str(" REMOVE duePk, dueAt, nextAt"),
        }
        req.update_expression(update).send().await.map_err(db_err)?;
        Ok(())
    }

    /// Items whose `kind` work is due at `now`, oldest first, one page of at most `limit`.
    pub async fn due_page(
        &self,
        kind: DueKind,
        now: i64,
        limit: i32,
        start: Option<Item>,
    ) -> Result<(Vec<(String, String, i64)>, Option<Item>), StoreError> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(crate::schema::DUE_INDEX)
            .key_condition_expression("#p = :p AND #a <= :now")
            .expression_attribute_names("#p", DUE_PK)
            .expression_attribute_names("#a", DUE_AT)
            .expression_attribute_values(":p", s(kind.partition()))
            .expression_attribute_values(":now", n(now))
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(db_err)?;
        let rows = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| Some((get_s(i, PK)?, get_s(i, SK)?, get_n(i, DUE_AT)?)))
            .collect();
        Ok((rows, out.last_evaluated_key.filter(|k| !k.is_empty())))
    }

    /// Moves an item's due time from `at` to `until` (a lease while its job is queued).
    /// `false`: it changed meanwhile (done, or leased by someone else).
    pub async fn lease_due(
        &self,
        pk: &str,
        sk: &str,
        at: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk.to_owned(), sk)))
            .update_expression("SET dueAt = :until")
            .condition_expression("dueAt = :at")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":at", n(at))
            .send()
            .await;
        conditional(result)
    }
}
