//! An allocation order's details as stored: inside the order's own item, as compact JSON, so
//! one write stores an order with all its details; or, for orders stored before, as one
//! `DETAIL#<receiverNo>` item each in the order's partition.

use super::StoreError;
use super::item::{Item, get_n, get_s, need};
use crate::domain::{AllocationDetail, DetailResult, ReceiverType};

/// The order's details inside its own item: one compact JSON array per detail (see
/// [`details_text`]). Orders stored before kept them as `DETAIL#<receiverNo>` items of the
/// order's partition, which are still read when this attribute is absent.
pub(super) const DETAILS: &str = "details";

/// Details as compact JSON, one array per detail: receiverNo, amount, rate, receiverType,
/// receiverAccount, result, then receiverName, errorCode, errorMsg, finishTime (null when absent,
/// trailing nulls left out). Fifty details take about 4 KB, so an order item with all of them
/// stays far below DynamoDB's 400 KB, and one write stores an order with every detail.
pub(super) fn details_text(details: &[AllocationDetail]) -> String {
    use serde_json::Value;
    let text = |v: &Option<String>| v.as_ref().map_or(Value::Null, |t| Value::String(t.clone()));
    let rows: Vec<Value> = details
        .iter()
        .map(|d| {
            let mut row = vec![
                Value::String(d.receiver_no.clone()),
                Value::from(d.amount),
                Value::from(d.rate),
                Value::String(d.receiver_type.code().to_owned()),
                Value::String(d.receiver_account.clone()),
                Value::String(d.result.code().to_owned()),
                text(&d.receiver_name),
                text(&d.error_code),
                text(&d.error_msg),
                d.finish_time.map_or(Value::Null, Value::from),
            ];
            while row.last().is_some_and(Value::is_null) {
                row.pop();
            }
            Value::Array(row)
        })
        .collect();
    Value::Array(rows).to_string()
}

pub(super) fn details_from_text(text: &str) -> Result<Vec<AllocationDetail>, StoreError> {
    use serde_json::Value;
    let bad = || StoreError::Db(format!("stored item lacks a valid `{DETAILS}`"));
    let rows: Vec<Vec<Value>> = serde_json::from_str(text).map_err(|_| bad())?;
    rows.iter()
        .map(|row| {
            let at = |i: usize| row.get(i).unwrap_or(&Value::Null);
            let string = |i: usize| at(i).as_str().map(str::to_owned);
            Ok(AllocationDetail {
                receiver_no: string(0).ok_or_else(bad)?,
                amount: at(1).as_i64().ok_or_else(bad)?,
                rate: at(2).as_i64().ok_or_else(bad)?,
                receiver_type: string(3)
                    .and_then(|c| ReceiverType::from_code(&c))
                    .ok_or_else(bad)?,
                receiver_account: string(4).ok_or_else(bad)?,
                result: string(5)
                    .and_then(|c| DetailResult::from_code(&c))
                    .ok_or_else(bad)?,
                receiver_name: string(6),
                error_code: string(7),
                error_msg: string(8),
                finish_time: at(9).as_i64(),
            })
        })
        .collect()
}

/// A detail stored as its own item (orders stored before details moved into the order item).
pub(super) fn detail_from_item(item: &Item) -> Result<AllocationDetail, StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_back_as_written() {
        let details = vec![
            AllocationDetail {
                receiver_no: "r1".into(),
                amount: 6000,
                rate: 6000,
                receiver_type: ReceiverType::WxPersonal,
                receiver_account: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
                receiver_name: Some("张三 \"引号\"".into()),
                result: DetailResult::Fail,
                error_code: Some("NO_AUTH".into()),
                error_msg: Some("分账关系不存在".into()),
                finish_time: Some(1_764_000_000),
            },
            AllocationDetail {
                receiver_no: "r2".into(),
                amount: 0,
                rate: 0,
                receiver_type: ReceiverType::AliUserId,
                receiver_account: "2088000000000011".into(),
                receiver_name: None,
                result: DetailResult::Ignore,
                error_code: None,
                error_msg: None,
                finish_time: None,
            },
        ];
        let text = details_text(&details);
        assert!(
            text.ends_with(r#"["r2",0,0,"ali_user_id","2088000000000011","ignore"]]"#),
            "{text}"
        );
        assert_eq!(details_from_text(&text).ok(), Some(details));
        assert!(details_from_text(r#"[["r1","x"]]"#).is_err());
    }
}
