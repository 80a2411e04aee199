//! Every key of the table, built and read back here only: the rest of the store asks for
//! items in domain terms.

use super::item::{Item, key};
use crate::domain::{Channel, Topic};

const PAY_PREFIX: &str = "PAY#";
const ALLOC_PREFIX: &str = "ALLOC#";
const NOTICE_PREFIX: &str = "NOTICE#";
pub(super) const PAY_SK: &str = "PAY";
const PAY_BIZ_SK: &str = "PAYBIZ";
const NONCE_SK: &str = "NONCE";
pub(super) const ORDER_SK: &str = "ORDER";
pub(super) const DETAIL_PREFIX: &str = "DETAIL#";
const CLAIM_SK: &str = "BIZALLOC";
const RECEIVER_SK: &str = "RECEIVER";
const GROUP_SK: &str = "GROUP";
const DEFAULT_GROUP_SK: &str = "DEFAULTGROUP";

pub(super) fn pay_pk(order_no: &str) -> String {
    format!("{PAY_PREFIX}{order_no}")
}
/// The orderNo a pay order's partition key names.
pub(super) fn order_no_of(pk: &str) -> Option<&str> {
    pk.strip_prefix(PAY_PREFIX)
}
pub(super) fn pay_key(order_no: &str) -> Item {
    key(pay_pk(order_no), PAY_SK)
}
pub(super) const REFUND_PREFIX: &str = "REFUND#";
pub(super) fn refund_sk(refund_no: &str) -> String {
    format!("{REFUND_PREFIX}{refund_no}")
}
pub(super) fn refund_key(order_no: &str, refund_no: &str) -> Item {
    key(pay_pk(order_no), &refund_sk(refund_no))
}
/// The freeze-deadline watch of a frozen pay order (its own due item: the pay order's is
/// its auto allocation's).
pub(super) fn deadline_key(order_no: &str) -> Item {
    key(pay_pk(order_no), "DEADLINE")
}
pub(super) fn pay_biz_pk(biz_order_no: &str) -> String {
    format!("PAYBIZ#{biz_order_no}")
}
pub(super) fn pay_biz_key(biz_order_no: &str) -> Item {
    key(pay_biz_pk(biz_order_no), PAY_BIZ_SK)
}
pub(super) fn nonce_key(nonce: &str, req_time: i64) -> Item {
    key(format!("NONCE#{req_time}#{nonce}"), NONCE_SK)
}
pub(super) fn alloc_pk(allocation_no: &str) -> String {
    format!("{ALLOC_PREFIX}{allocation_no}")
}
/// The allocationNo an order's partition key names.
pub(super) fn allocation_no_of(pk: &str) -> Option<&str> {
    pk.strip_prefix(ALLOC_PREFIX)
}
pub(super) fn order_key(allocation_no: &str) -> Item {
    key(alloc_pk(allocation_no), ORDER_SK)
}
pub(super) const RETURN_PREFIX: &str = "RETURN#";
pub(super) const RETURNED_PREFIX: &str = "RETURNED#";
pub(super) fn return_key(allocation_no: &str, return_no: &str) -> Item {
    key(
        alloc_pk(allocation_no),
        &format!("{RETURN_PREFIX}{return_no}"),
    )
}
/// The return a return item's sort key names.
pub(super) fn return_no_of(sk: &str) -> Option<&str> {
    sk.strip_prefix(RETURN_PREFIX)
}
/// What one receiver of an order has returned (the tally every return is checked against).
pub(super) fn returned_key(allocation_no: &str, receiver_no: &str) -> Item {
    key(
        alloc_pk(allocation_no),
        &format!("{RETURNED_PREFIX}{receiver_no}"),
    )
}
/// Points from a returnNo to its order (and makes the number unique).
pub(super) fn return_no_key(return_no: &str) -> Item {
    key(format!("RETURNNO#{return_no}"), "RETURNNO")
}
pub(super) fn return_claim_key(biz_return_no: &str) -> Item {
    key(format!("BIZRETURN#{biz_return_no}"), "BIZRETURN")
}
pub(super) fn claim_pk(biz_allocation_no: &str) -> String {
    format!("BIZALLOC#{biz_allocation_no}")
}
pub(super) fn claim_key(biz_allocation_no: &str) -> Item {
    key(claim_pk(biz_allocation_no), CLAIM_SK)
}
pub(super) fn is_notice_sk(sk: &str) -> bool {
    sk.starts_with(NOTICE_PREFIX)
}
/// The topic a notice's sort key names.
pub(super) fn notice_topic_of(sk: &str) -> Option<Topic> {
    Topic::parse(sk.strip_prefix(NOTICE_PREFIX)?)
}
/// A notice lives with its subject: an order's in the order's partition, a pay order's in the
/// pay order's.
pub(super) fn notice_key(subject: &str, topic: &Topic) -> Item {
    let pk = match topic {
        Topic::Expiring => pay_pk(subject),
        _ => alloc_pk(subject),
    };
    key(pk, &format!("{NOTICE_PREFIX}{}", topic.code()))
}
pub(super) fn receiver_pk(receiver_no: &str) -> String {
    format!("RECEIVER#{receiver_no}")
}
pub(super) fn receiver_key(receiver_no: &str) -> Item {
    key(receiver_pk(receiver_no), RECEIVER_SK)
}
pub(super) fn receivers_of(channel: Channel) -> String {
    format!("RECEIVERS#{channel}")
}
pub(super) fn group_pk(group_no: &str) -> String {
    format!("GROUP#{group_no}")
}
pub(super) fn group_key(group_no: &str) -> Item {
    key(group_pk(group_no), GROUP_SK)
}
pub(super) fn groups_of(channel: Channel) -> String {
    format!("GROUPS#{channel}")
}
pub(super) fn default_group_pk(channel: Channel) -> String {
    format!("DEFAULTGROUP#{channel}")
}
pub(super) fn default_group_key(channel: Channel) -> Item {
    key(default_group_pk(channel), DEFAULT_GROUP_SK)
}
