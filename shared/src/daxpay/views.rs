//! One typed view per answer (SPEC §2.4). Views of DaxPay endpoints carry exactly the members
//! of the SDK model the merchant's SDK deserialises (and re-signs to verify), written with
//! 2.0.7 names and respelled per request by [`data`]; views of our own endpoints keep their
//! documented fields. Receiver accounts are always masked. Absent values are left out.

use super::spelling::{Spelling, respell};
use crate::domain::{
    AllocationDetail, AllocationOrder, AllocationResult, AllocationStatus, Channel, DetailResult,
    Receiver, ReceiverType, RelationType, mask_account,
};
use serde::Serialize;
use serde_json::{Map, Value};

/// The `data` members of an answer in `spelling` (before `code`, `resTime` and `sign`).
pub fn data<T: Serialize>(view: &T, spelling: Spelling) -> Map<String, Value> {
    let mut map = match serde_json::to_value(view) {
        Ok(Value::Object(map)) => map,
        // views are structs of strings and numbers: they always serialize to an object
        _ => Map::new(),
    };
    respell(spelling, &mut map);
    map
}

/// Answers whose SDK model has only the common members (`AllocSyncModel`,
/// `AllocReceiverAddModel`, `AllocReceiverRemoveModel`).
#[derive(Debug, Serialize)]
pub struct Common {}

/// `AllocationModel` (start, finish).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocationView<'a> {
    pub allocation_no: &'a str,
    pub biz_allocation_no: &'a str,
    pub status: AllocationStatus,
}

impl<'a> From<&'a AllocationOrder> for AllocationView<'a> {
    fn from(o: &'a AllocationOrder) -> Self {
        Self {
            allocation_no: &o.allocation_no,
            biz_allocation_no: &o.biz_allocation_no,
            status: o.status,
        }
    }
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time: how DaxPay's server wrote a `LocalDateTime`, and the
/// only text the SDK's query models parse (a number is read as epoch milliseconds).
fn local_date_time(epoch_secs: Option<i64>) -> Option<String> {
    epoch_secs.map(crate::domain::numbers::beijing_timestamp)
}

/// `AllocOrderModel` (query order).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocOrderView<'a> {
    pub allocation_no: &'a str,
    pub biz_allocation_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_allocation_no: Option<&'a str>,
    pub order_no: &'a str,
    pub biz_order_no: &'a str,
    pub out_order_no: &'a str,
    pub title: &'a str,
    pub channel: Channel,
    pub amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub status: AllocationStatus,
    pub result: AllocationResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<String>,
    pub details: Vec<AllocOrderDetailView<'a>>,
}

/// `AllocOrderDetailModel`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocOrderDetailView<'a> {
    pub receiver_no: &'a str,
    pub amount: i64,
    pub rate: i64,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_name: Option<&'a str>,
    pub result: DetailResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<String>,
}

impl<'a> AllocOrderView<'a> {
    pub fn new(o: &'a AllocationOrder, details: &'a [AllocationDetail]) -> Self {
        Self {
            allocation_no: &o.allocation_no,
            biz_allocation_no: &o.biz_allocation_no,
            out_allocation_no: o.out_allocation_no.as_deref(),
            order_no: &o.order_no,
            biz_order_no: &o.biz_order_no,
            out_order_no: &o.out_order_no,
            title: &o.title,
            channel: o.channel,
            amount: o.amount,
            description: o.description.as_deref(),
            status: o.status,
            result: o.result,
            error_code: o.error_code.as_deref(),
            error_msg: o.error_msg.as_deref(),
            finish_time: local_date_time(o.finish_time),
            details: details
                .iter()
                .map(|d| AllocOrderDetailView {
                    receiver_no: &d.receiver_no,
                    amount: d.amount,
                    rate: d.rate,
                    receiver_type: d.receiver_type,
                    receiver_account: mask_account(&d.receiver_account),
                    receiver_name: d.receiver_name.as_deref(),
                    result: d.result,
                    error_code: d.error_code.as_deref(),
                    error_msg: d.error_msg.as_deref(),
                    finish_time: local_date_time(d.finish_time),
                })
                .collect(),
        }
    }
}

/// `AllocNoticeModel`: the merchant notice body (times in epoch seconds, as DaxPay sent them).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocNoticeView<'a> {
    pub allocation_no: &'a str,
    pub biz_allocation_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_allocation_no: Option<&'a str>,
    pub order_no: &'a str,
    pub biz_order_no: &'a str,
    pub title: &'a str,
    pub channel: Channel,
    pub amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub status: AllocationStatus,
    pub result: AllocationResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<&'a str>,
    pub details: Vec<AllocDetailNoticeView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<&'a str>,
}

/// `AllocDetailNoticeModel`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocDetailNoticeView<'a> {
    pub receiver_no: &'a str,
    pub amount: i64,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_name: Option<&'a str>,
    pub result: DetailResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<i64>,
}

impl<'a> AllocNoticeView<'a> {
    pub fn new(o: &'a AllocationOrder, details: &'a [AllocationDetail]) -> Self {
        Self {
            allocation_no: &o.allocation_no,
            biz_allocation_no: &o.biz_allocation_no,
            out_allocation_no: o.out_allocation_no.as_deref(),
            order_no: &o.order_no,
            biz_order_no: &o.biz_order_no,
            title: &o.title,
            channel: o.channel,
            amount: o.amount,
            description: o.description.as_deref(),
            status: o.status,
            result: o.result,
            finish_time: o.finish_time,
            attach: o.attach.as_deref(),
            details: details
                .iter()
                .map(|d| AllocDetailNoticeView {
                    receiver_no: &d.receiver_no,
                    amount: d.amount,
                    receiver_type: d.receiver_type,
                    receiver_account: mask_account(&d.receiver_account),
                    receiver_name: d.receiver_name.as_deref(),
                    result: d.result,
                    error_code: d.error_code.as_deref(),
                    error_msg: d.error_msg.as_deref(),
                    finish_time: d.finish_time,
                })
                .collect(),
            error_code: o.error_code.as_deref(),
            error_msg: o.error_msg.as_deref(),
        }
    }
}

/// `AllocReceiversModel` (query receivers).
#[derive(Debug, Serialize)]
pub struct ReceiversView<'a> {
    pub receivers: Vec<ReceiverView<'a>>,
}

/// `AllocReceiverModel`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverView<'a> {
    pub receiver_no: &'a str,
    pub channel: Channel,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_name: Option<&'a str>,
    pub relation_type: RelationType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation_name: Option<&'a str>,
}

impl<'a> From<&'a Receiver> for ReceiverView<'a> {
    fn from(r: &'a Receiver) -> Self {
        Self {
            receiver_no: &r.receiver_no,
            channel: r.channel,
            receiver_type: r.receiver_type,
            receiver_account: mask_account(&r.receiver_account),
            receiver_name: r.receiver_name.as_deref(),
            relation_type: r.relation_type,
            relation_name: r.relation_name.as_deref(),
        }
    }
}
