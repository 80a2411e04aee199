//! Every key of the table, built and read back here only: the rest of the store asks for
//! items in domain terms.

use super::item::{Item, key};
use crate::domain::{AllocationStatus, Channel};

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
pub(super) fn detail_sk(receiver_no: &str) -> String {
    format!("{DETAIL_PREFIX}{receiver_no}")
}
pub(super) fn claim_pk(biz_allocation_no: &str) -> String {
    format!("BIZALLOC#{biz_allocation_no}")
}
pub(super) fn claim_key(biz_allocation_no: &str) -> Item {
    key(claim_pk(biz_allocation_no), CLAIM_SK)
}
pub(super) fn notice_sk(status: AllocationStatus) -> String {
    format!("{NOTICE_PREFIX}{status}")
}
pub(super) fn is_notice_sk(sk: &str) -> bool {
    sk.starts_with(NOTICE_PREFIX)
}
/// The status a notice's sort key names.
pub(super) fn notice_status_of(sk: &str) -> Option<AllocationStatus> {
    AllocationStatus::from_code(sk.strip_prefix(NOTICE_PREFIX)?)
}
pub(super) fn notice_key(allocation_no: &str, status: AllocationStatus) -> Item {
    key(alloc_pk(allocation_no), &notice_sk(status))
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
