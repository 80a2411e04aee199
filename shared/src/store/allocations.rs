//! Allocation orders, their details and the bizAllocationNo claim. One Query on the order's
//! partition reads an order with all its details and notices; every change of an order is a
//! write conditioned on its version.

use super::details::{DETAILS, detail_from_item, details_from_text, details_text};
use super::item::{Item, due_of, get_n, get_s, insert_due, n, need, s};
use super::keys::Scope;
use super::keys::{DETAIL_PREFIX, ORDER_SK, alloc_pk, claim_key, is_notice_sk, pay_key};
use super::keys::{RETURN_PREFIX, RETURNED_PREFIX};
use super::notices::{notice_from_item, notice_to_item};
use super::returns::{return_from_item, returned_from_item};
use super::schema::{BY_DAY_PK, FLAGGED_PK, PK, SK};
use super::{Store, StoreError, db_err};
use crate::domain::{
    Allocation, AllocationDetail, AllocationOrder, AllocationResult, AllocationStatus, Channel,
    Notice, ReturnOrder, Returned, Spelling,
};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

/// The record that a bizAllocationNo is taken, and by which request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub allocation_no: String,
    pub digest: String,
    /// `<reqTime>#<nonceStr>` of the request that made the order, when it had a nonce.
    pub nonce: Option<String>,
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

pub(super) fn claim_from_item(item: &Item) -> Result<Claim, StoreError> {
    Ok(Claim {
        allocation_no: need(get_s(item, "allocationNo"), "allocationNo")?,
        digest: need(get_s(item, "digest"), "digest")?,
        nonce: get_s(item, "nonce"),
    })
}

fn order_to_item(sc: &Scope, a: &Allocation, version: i64, order_lists: bool) -> Item {
    let o = &a.order;
    let mut item = super::keys::order_key(sc, &o.allocation_no);
    item.insert(DETAILS.into(), s(details_text(&a.details)));
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
        ("account", o.account.clone()),
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
        if o.status == AllocationStatus::Processing {
            item.insert(FLAGGED_PK.into(), s(super::keys::flagged_mark(sc)));
        }
    }
    // listed by status and day where order lists are kept, else by day alone (for
    // reconciliation): a key that never changes
    let day = if order_lists {
        super::ops::day_key(sc, o.status, o.created_at)
    } else {
        super::reconcile::all_day_key(sc, o.created_at)
    };
    item.insert(BY_DAY_PK.into(), s(day));
    item.insert("spelling".into(), s(o.spelling.code()));
    if o.not_notify {
        item.insert("notNotify".into(), AttributeValue::Bool(true));
    }
    insert_due(&mut item, o.due);
    item.insert("ver".into(), n(version));
    item
}

/// The order, its details when stored inline (`None`: an order stored before, with detail
/// items), and its version.
type OrderRead = (AllocationOrder, Option<Vec<AllocationDetail>>, i64);

pub(super) fn order_from_item(item: &Item) -> Result<OrderRead, StoreError> {
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
        account: get_s(item, "account"),
        not_notify: matches!(item.get("notNotify"), Some(AttributeValue::Bool(true))),
    };
    let details = get_s(item, DETAILS)
        .map(|t| details_from_text(&t))
        .transpose()?;
    Ok((order, details, need(get_n(item, "ver"), "ver")?))
}

/// An order as stored: the order with its details (ordered by receiverNo), its version and
/// its merchant notices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAllocation {
    pub allocation: Allocation,
    pub version: i64,
    pub notices: Vec<Notice>,
    /// Its returns (SPEC §4.9), each with its version, by returnNo.
    pub returns: Vec<(ReturnOrder, i64)>,
    /// What each receiver returned so far, by receiverNo.
    pub returned: Vec<(String, Returned)>,
}

impl StoredAllocation {
    pub fn order(&self) -> &AllocationOrder {
        &self.allocation.order
    }

    /// What the receiver `receiver_no` returned so far.
    pub fn returned_by(&self, receiver_no: &str) -> Option<Returned> {
        self.returned
            .iter()
            .find(|(no, _)| no == receiver_no)
            .map(|(_, r)| *r)
    }
}

impl Store {
    /// The claim of a bizAllocationNo, if any.
    pub async fn claim(&self, biz_allocation_no: &str) -> Result<Option<Claim>, StoreError> {
        match self.get(claim_key(&self.scope, biz_allocation_no)).await? {
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
            .query_all(None, PK, &alloc_pk(&self.scope, allocation_no), true)
            .await?;
        let mut order = None;
        let mut details = Vec::new();
        let mut notices = Vec::new();
        let mut returns = Vec::new();
        let mut returned = Vec::new();
        for item in &items {
            match get_s(item, SK).as_deref() {
                Some(ORDER_SK) => order = Some(order_from_item(item)?),
                Some(sk) if sk.starts_with(DETAIL_PREFIX) => details.push(detail_from_item(item)?),
                Some(sk) if is_notice_sk(sk) => notices.push(notice_from_item(item)?),
                Some(sk) if sk.starts_with(RETURN_PREFIX) => returns.push(return_from_item(item)?),
                Some(sk) if sk.starts_with(RETURNED_PREFIX) => {
                    returned.push(returned_from_item(item)?)
                }
                _ => {}
            }
        }
        Ok(order.map(|(order, inline, version)| StoredAllocation {
            allocation: Allocation {
                order,
                details: inline.unwrap_or(details),
            },
            version,
            notices,
            returns,
            returned,
        }))
    }

    /// Writes a new order with its details (one item), the bizAllocationNo claim (with the
    /// request's nonce) and the pay order's allocation mark in one transaction (SPEC §4.2 step
    /// 6), if the pay order's refunds are still the `refunded` fen the start planned with.
    pub async fn create_allocation(
        &self,
        allocation: &Allocation,
        refunded: i64,
        nonce: Option<&str>,
    ) -> Result<Result<(), CreateConflict>, StoreError> {
        let order = &allocation.order;
        let items = vec![
            self.put(
                order_to_item(&self.scope, allocation, 1, self.order_lists),
                Some("attribute_not_exists(pk)"),
            )?,
            {
                let mut claim = claim_key(&self.scope, &order.biz_allocation_no);
                claim.insert("allocationNo".into(), s(&order.allocation_no));
                claim.insert("digest".into(), s(&order.digest));
                if let Some(n) = nonce {
                    claim.insert("nonce".into(), s(n));
                }
                self.put(claim, Some("attribute_not_exists(pk)"))?
            },
            {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(pay_key(&self.scope, &order.order_no)))
                    .update_expression(
                        "SET allocationNo = :a, ver = ver + :one REMOVE duePk, dueAt",
                    )
                    .condition_expression(
                        "attribute_exists(pk) AND attribute_not_exists(allocationNo) \
                         AND #status = :success AND allocation = :yes \
                         AND (attribute_not_exists(refunded) OR refunded = :refunded)",
                    )
                    .expression_attribute_values(":refunded", n(refunded))
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
        Ok(match self.transact(items).await? {
            None => Ok(()),
            Some(0) => Err(CreateConflict::AllocationNoTaken),
            Some(1) => Err(CreateConflict::BizAllocationNoTaken),
            Some(_) => Err(CreateConflict::PayOrderTaken),
        })
    }

    /// Saves a new state of an order with its details if it is still at `version`.
    /// `Ok(false)`: someone else changed it first; re-read and decide again. With
    /// `release_pay_order`, the pay order's allocation mark is removed in the same transaction
    /// (a definite channel refusal: the merchant may start again); with `notice`, the notice is
    /// written in it too. Without either, it is one conditional write of the order's item.
    pub async fn save_allocation(
        &self,
        allocation: &Allocation,
        version: i64,
        release_pay_order: bool,
        notice: Option<&Notice>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let order = &allocation.order;
        let mut item = order_to_item(&self.scope, allocation, version + 1, self.order_lists);
        item.insert("updatedAt".into(), n(now));
        if notice.is_none() && !release_pay_order {
            let put = self
                .db
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("ver = :ver")
                .expression_attribute_values(":ver", n(version))
                .send()
                .await;
            return super::conditional(put);
        }
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("ver = :ver")
            .expression_attribute_values(":ver", n(version))
            .build()
            .map_err(db_err)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(notice) = notice {
            // One notice per order and status: a status is entered at most once.
            items.push(self.put(
                notice_to_item(&self.scope, notice),
                Some("attribute_not_exists(pk)"),
            )?);
        }
        if release_pay_order {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(pay_key(&self.scope, &order.order_no)))
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
