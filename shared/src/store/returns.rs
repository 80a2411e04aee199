//! Returns (SPEC §4.9) in their order's partition, with a tally per receiver (what it has
//! returned or is returning, and how many times) that every new return is checked against
//! and moves in the same transaction: two returns racing for the last of a receiver's money
//! cannot both be written. The bizReturnNo claim makes the merchant's number unique.

use super::item::{Item, due_of, get_n, get_s, insert_due, n, need, s};
use super::keys::Scope;
use super::keys::{return_claim_key, return_key, return_no_key, returned_key};
use super::notices::notice_to_item;
use super::{Store, StoreError, db_err};
use crate::domain::{Channel, Notice, ReceiverType, ReturnOrder, ReturnStatus, Returned, Spelling};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

/// The record that a bizReturnNo is taken, and by which request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnClaim {
    pub allocation_no: String,
    pub return_no: String,
    pub digest: String,
}

/// Why a return was not created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnConflict {
    /// The generated returnNo exists (generate another).
    ReturnNoTaken,
    /// Someone claimed the bizReturnNo first.
    BizReturnNoTaken,
    /// The receiver's tally moved (another return): read again and check again.
    TallyMoved,
}

fn return_to_item(sc: &Scope, r: &ReturnOrder, version: i64) -> Item {
    let mut item = return_key(sc, &r.allocation_no, &r.return_no);
    let fields = [
        ("type", Some("return".to_owned())),
        ("returnNo", Some(r.return_no.clone())),
        ("bizReturnNo", Some(r.biz_return_no.clone())),
        ("allocationNo", Some(r.allocation_no.clone())),
        ("bizAllocationNo", Some(r.biz_allocation_no.clone())),
        ("orderNo", Some(r.order_no.clone())),
        ("outOrderNo", Some(r.out_order_no.clone())),
        ("channel", Some(r.channel.code().to_owned())),
        ("receiverNo", Some(r.receiver_no.clone())),
        ("receiverType", Some(r.receiver_type.code().to_owned())),
        ("receiverAccount", Some(r.receiver_account.clone())),
        ("description", r.description.clone()),
        ("status", Some(r.status.code().to_owned())),
        ("outReturnNo", r.out_return_no.clone()),
        ("errorCode", r.error_code.clone()),
        ("errorMsg", r.error_msg.clone()),
        ("notifyUrl", r.notify_url.clone()),
        ("attach", r.attach.clone()),
        ("bizRefundNo", r.biz_refund_no.clone()),
        ("refundNo", r.refund_no.clone()),
        ("digest", Some(r.digest.clone())),
        ("spelling", Some(r.spelling.code().to_owned())),
        ("account", r.account.clone()),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            item.insert(name.into(), s(v));
        }
    }
    item.insert("amount".into(), n(r.amount));
    item.insert("createdAt".into(), n(r.created_at));
    // found by its day for reconciliation (SPEC §4.13)
    item.insert(
        super::schema::BY_DAY_PK.into(),
        s(super::reconcile::all_day_key(sc, r.created_at)),
    );
    item.insert("syncAttempts".into(), n(r.sync_attempts));
    if let Some(t) = r.finish_time {
        item.insert("finishTime".into(), n(t));
    }
    insert_due(&mut item, r.due);
    item.insert("ver".into(), n(version));
    item
}

pub(super) fn return_from_item(item: &Item) -> Result<(ReturnOrder, i64), StoreError> {
    let code = |name: &str| need(get_s(item, name), name);
    let r = ReturnOrder {
        return_no: code("returnNo")?,
        biz_return_no: code("bizReturnNo")?,
        allocation_no: code("allocationNo")?,
        biz_allocation_no: code("bizAllocationNo")?,
        order_no: code("orderNo")?,
        out_order_no: code("outOrderNo")?,
        channel: need(Channel::from_code(&code("channel")?), "channel")?,
        receiver_no: code("receiverNo")?,
        receiver_type: need(
            ReceiverType::from_code(&code("receiverType")?),
            "receiverType",
        )?,
        receiver_account: code("receiverAccount")?,
        amount: need(get_n(item, "amount"), "amount")?,
        description: get_s(item, "description"),
        status: need(ReturnStatus::from_code(&code("status")?), "status")?,
        out_return_no: get_s(item, "outReturnNo"),
        error_code: get_s(item, "errorCode"),
        error_msg: get_s(item, "errorMsg"),
        finish_time: get_n(item, "finishTime"),
        notify_url: get_s(item, "notifyUrl"),
        attach: get_s(item, "attach"),
        biz_refund_no: get_s(item, "bizRefundNo"),
        refund_no: get_s(item, "refundNo"),
        digest: code("digest")?,
        spelling: get_s(item, "spelling")
            .and_then(|c| Spelling::from_code(&c))
            .unwrap_or(Spelling::V207),
        created_at: get_n(item, "createdAt").unwrap_or_default(),
        due: due_of(item),
        sync_attempts: get_n(item, "syncAttempts").unwrap_or_default(),
        account: get_s(item, "account"),
    };
    Ok((r, need(get_n(item, "ver"), "ver")?))
}

/// A receiver's tally item: (receiverNo, what it returned).
pub(super) fn returned_from_item(item: &Item) -> Result<(String, Returned), StoreError> {
    Ok((
        need(get_s(item, "receiverNo"), "receiverNo")?,
        Returned {
            amount: get_n(item, "returned").unwrap_or_default(),
            count: get_n(item, "returnCount").unwrap_or_default(),
        },
    ))
}

impl Store {
    /// The claim of a bizReturnNo, if any.
    pub async fn return_claim(
        &self,
        biz_return_no: &str,
    ) -> Result<Option<ReturnClaim>, StoreError> {
        let Some(item) = self
            .get(return_claim_key(&self.scope, biz_return_no))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(ReturnClaim {
            allocation_no: need(get_s(&item, "allocationNo"), "allocationNo")?,
            return_no: need(get_s(&item, "returnNo"), "returnNo")?,
            digest: need(get_s(&item, "digest"), "digest")?,
        }))
    }

    /// The allocationNo of the order a returnNo belongs to.
    pub async fn return_allocation_no(
        &self,
        return_no: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(return_no_key(&self.scope, return_no))
            .await?
            .and_then(|item| get_s(&item, "allocationNo")))
    }

    /// A return and its version.
    pub async fn return_order(
        &self,
        allocation_no: &str,
        return_no: &str,
    ) -> Result<Option<(ReturnOrder, i64)>, StoreError> {
        match self
            .get(return_key(&self.scope, allocation_no, return_no))
            .await?
        {
            Some(item) => return_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Writes a new return, its bizReturnNo claim and the receiver's tally moved from `seen`
    /// (what was read when the return was checked) by its amount, in one transaction.
    pub async fn create_return(
        &self,
        r: &ReturnOrder,
        seen: Option<Returned>,
    ) -> Result<Result<(), ReturnConflict>, StoreError> {
        let mut claim = return_claim_key(&self.scope, &r.biz_return_no);
        claim.insert("allocationNo".into(), s(&r.allocation_no));
        claim.insert("returnNo".into(), s(&r.return_no));
        claim.insert("digest".into(), s(&r.digest));
        let after = Returned {
            amount: seen.unwrap_or_default().amount + r.amount,
            count: seen.unwrap_or_default().count + 1,
        };
        let mut tally = returned_key(&self.scope, &r.allocation_no, &r.receiver_no);
        tally.insert("type".into(), s("returned"));
        tally.insert("receiverNo".into(), s(&r.receiver_no));
        tally.insert("returned".into(), n(after.amount));
        tally.insert("returnCount".into(), n(after.count));
        let mut tally_put = Put::builder().table_name(&self.table).set_item(Some(tally));
        tally_put = match seen {
            None => tally_put.condition_expression("attribute_not_exists(pk)"),
            Some(before) => tally_put
                .condition_expression("returned = :r AND returnCount = :c")
                .expression_attribute_values(":r", n(before.amount))
                .expression_attribute_values(":c", n(before.count)),
        };
        let mut pointer = return_no_key(&self.scope, &r.return_no);
        pointer.insert("allocationNo".into(), s(&r.allocation_no));
        let items = vec![
            self.put(pointer, Some("attribute_not_exists(pk)"))?,
            self.put(claim, Some("attribute_not_exists(pk)"))?,
            TransactWriteItem::builder()
                .put(tally_put.build().map_err(db_err)?)
                .build(),
            self.put(
                return_to_item(&self.scope, r, 1),
                Some("attribute_not_exists(pk)"),
            )?,
        ];
        Ok(match self.transact(items).await? {
            None => Ok(()),
            Some(0) | Some(3) => Err(ReturnConflict::ReturnNoTaken),
            Some(1) => Err(ReturnConflict::BizReturnNoTaken),
            Some(_) => Err(ReturnConflict::TallyMoved),
        })
    }

    /// Saves a new state of a return read at `version`, with its notice; a failed return gives
    /// its amount back to the receiver's tally in the same transaction. `Ok(false)`: it changed
    /// meanwhile (read again).
    pub async fn save_return(
        &self,
        r: &ReturnOrder,
        version: i64,
        notice: Option<&Notice>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut item = return_to_item(&self.scope, r, version + 1);
        item.insert("updatedAt".into(), n(now));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("ver = :ver")
            .expression_attribute_values(":ver", n(version))
            .build()
            .map_err(db_err)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if r.status == ReturnStatus::Failed {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(returned_key(
                    &self.scope,
                    &r.allocation_no,
                    &r.receiver_no,
                )))
                .update_expression("SET returned = returned - :a")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":a", n(r.amount))
                .build()
                .map_err(db_err)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        if let Some(notice) = notice {
            items.push(self.put(
                notice_to_item(&self.scope, notice),
                Some("attribute_not_exists(pk)"),
            )?);
        }
        Ok(self.transact(items).await?.is_none())
    }
}
