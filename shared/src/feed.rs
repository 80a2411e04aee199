//! The pay-order feed (SPEC §4.1): DaxPay's signed payment notice, as a DaxPay gateway POSTs it
//! to a merchant's notifyUrl, becomes (or updates) the pay order we split.
//!
//! The notice is verified over every member received (a newer gateway may add members; they are
//! signed, and ignored). DaxPay serializes `Long` values as strings, so times and amounts are
//! accepted as JSON integers or as strings of digits.

use crate::error::ValidationError;
use crate::json::{self, JsonError};
use crate::model::{Channel, PayOrder, PayStatus};
use crate::request::{MAX_AMOUNT, check_len};
use crate::sign::Signer;
use serde_json::{Map, Value};

/// Why a notice was not taken. Answered as plain text after `FAIL: `.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoticeError {
    #[error("malformed notice: {0}")]
    Malformed(String),
    #[error("invalid notice: {0}")]
    Invalid(ValidationError),
    #[error("signature verification failed")]
    BadSignature,
}

/// Parses and verifies a pay notice. Nothing is written by this function.
pub fn parse_pay_notice(
    body: &[u8],
    signer: &Signer,
    require_sign: bool,
) -> Result<PayOrder, NoticeError> {
    let raw = json::parse_object(body).map_err(|e| match e {
        JsonError::DuplicateKey(k) => {
            NoticeError::Invalid(ValidationError::new(k, "appears more than once"))
        }
        other => NoticeError::Malformed(other.to_string()),
    })?;
    let order = pay_order_from_notice(&raw).map_err(NoticeError::Invalid)?;
    if require_sign && !signer.verify(&raw) {
        return Err(NoticeError::BadSignature);
    }
    Ok(order)
}

fn string(
    raw: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    match raw.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            check_len(field, s, max)?;
            Ok(Some(s.clone()))
        }
        Some(_) => Err(ValidationError::new(field, "must be a string")),
    }
}

fn required(raw: &Map<String, Value>, field: &str, max: usize) -> Result<String, ValidationError> {
    match string(raw, field, max)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(ValidationError::new(field, "is required")),
    }
}

fn integer(raw: &Map<String, Value>, field: &str) -> Result<Option<i64>, ValidationError> {
    let bad = || ValidationError::new(field, "must be an integer");
    match raw.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map(Some).map_err(|_| bad())
        }
        Some(_) => Err(bad()),
    }
}

fn boolean(raw: &Map<String, Value>, field: &str) -> Result<bool, ValidationError> {
    match raw.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ValidationError::new(field, "must be true or false")),
    }
}

fn code<T>(
    raw: &Map<String, Value>,
    field: &str,
    parse: fn(&str) -> Option<T>,
    all: &[&str],
) -> Result<T, ValidationError> {
    let value = required(raw, field, 20)?;
    parse(&value)
        .ok_or_else(|| ValidationError::new(field, format!("must be one of {}", all.join(", "))))
}

fn pay_order_from_notice(raw: &Map<String, Value>) -> Result<PayOrder, ValidationError> {
    let channels: Vec<&str> = Channel::ALL.iter().map(|c| c.code()).collect();
    let statuses: Vec<&str> = PayStatus::ALL.iter().map(|c| c.code()).collect();
    let amount =
        integer(raw, "amount")?.ok_or_else(|| ValidationError::new("amount", "is required"))?;
    if !(1..=MAX_AMOUNT).contains(&amount) {
        return Err(ValidationError::new(
            "amount",
            format!("must be an integer amount in fen from 1 to {MAX_AMOUNT}"),
        ));
    }
    let pay_time = integer(raw, "payTime")?;
    if pay_time.is_some_and(|t| t <= 0) {
        return Err(ValidationError::new("payTime", "must be epoch seconds"));
    }
    Ok(PayOrder {
        order_no: required(raw, "orderNo", 32)?,
        biz_order_no: required(raw, "bizOrderNo", 100)?,
        out_order_no: string(raw, "outOrderNo", 150)?,
        title: string(raw, "title", 100)?.unwrap_or_default(),
        channel: code(raw, "channel", Channel::from_code, &channels)?,
        method: string(raw, "method", 20)?,
        amount,
        status: code(raw, "status", PayStatus::from_code, &statuses)?,
        allocation: boolean(raw, "allocation")?,
        auto_allocation: boolean(raw, "autoAllocation")?,
        refund_status: string(raw, "refundStatus", 20)?,
        attach: string(raw, "attach", 500)?,
        pay_time,
        allocation_no: None,
        auto_allocation_error: None,
    })
}

/// What a notice does to a stored pay order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    Unchanged,
    Update(Box<PayOrder>),
    /// The notice contradicts what we hold; the reason is safe to show.
    Conflict(String),
}

/// Merges a verified notice into the stored pay order:
/// - identity (`bizOrderNo`, `channel`, `amount`, a known `outOrderNo`) must not change;
/// - `status` never leaves `success` (a late `close` does not undo a payment);
/// - once allocated, `allocation` / `autoAllocation` and the allocation mark stay as they are;
/// - absent optional members keep what is stored.
pub fn merge_notice(existing: &PayOrder, notice: &PayOrder) -> Merge {
    let identity = [
        ("bizOrderNo", existing.biz_order_no != notice.biz_order_no),
        ("channel", existing.channel != notice.channel),
        ("amount", existing.amount != notice.amount),
        (
            "outOrderNo",
            matches!((&existing.out_order_no, &notice.out_order_no), (Some(a), Some(b)) if a != b),
        ),
    ];
    if let Some((field, _)) = identity.iter().find(|(_, changed)| *changed) {
        return Merge::Conflict(format!(
            "{field} differs from the stored pay order {}",
            existing.order_no
        ));
    }
    let allocated = existing.allocation_no.is_some();
    let merged = PayOrder {
        order_no: existing.order_no.clone(),
        biz_order_no: existing.biz_order_no.clone(),
        out_order_no: notice
            .out_order_no
            .clone()
            .or_else(|| existing.out_order_no.clone()),
        title: if notice.title.is_empty() {
            existing.title.clone()
        } else {
            notice.title.clone()
        },
        channel: existing.channel,
        method: notice.method.clone().or_else(|| existing.method.clone()),
        amount: existing.amount,
        status: if existing.status == PayStatus::Success {
            PayStatus::Success
        } else {
            notice.status
        },
        allocation: if allocated {
            existing.allocation
        } else {
            notice.allocation
        },
        auto_allocation: if allocated {
            existing.auto_allocation
        } else {
            notice.auto_allocation
        },
        refund_status: notice
            .refund_status
            .clone()
            .or_else(|| existing.refund_status.clone()),
        attach: notice.attach.clone().or_else(|| existing.attach.clone()),
        pay_time: notice.pay_time.or(existing.pay_time),
        allocation_no: existing.allocation_no.clone(),
        auto_allocation_error: existing.auto_allocation_error.clone(),
    };
    if &merged == existing {
        Merge::Unchanged
    } else {
        Merge::Update(Box::new(merged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::{Secret, SignType};
    use serde_json::json;

    fn signer() -> Signer {
        Signer::new(SignType::HmacSha256, Secret::new("123456"))
    }

    fn notice(status: &str) -> Value {
        json!({"orderNo": "P1", "bizOrderNo": "B1", "outOrderNo": "T1", "title": "t",
               "channel": "ali_pay", "method": "qrcode", "amount": 10000, "status": status,
               "allocation": true, "autoAllocation": false, "payTime": "1719475200",
               "refundStatus": null, "code": 0, "resTime": 1719475201})
    }

    fn signed(mut v: Value) -> Vec<u8> {
        if let Value::Object(m) = &mut v {
            signer().sign_in_place(m);
        }
        v.to_string().into_bytes()
    }

    fn order(status: PayStatus) -> PayOrder {
        match parse_pay_notice(&signed(notice(status.code())), &signer(), true) {
            Ok(o) => o,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn parses_a_signed_notice_with_string_times() {
        let o = order(PayStatus::Success);
        assert_eq!(o.pay_time, Some(1_719_475_200));
        assert_eq!(o.amount, 10000);
        assert!(o.allocation && !o.auto_allocation);
    }

    #[test]
    fn refuses_tampered_and_invalid_notices() {
        let mut body = notice("success");
        if let Value::Object(m) = &mut body {
            signer().sign_in_place(m);
        }
        body["amount"] = json!(1);
        let r = parse_pay_notice(body.to_string().as_bytes(), &signer(), true);
        assert_eq!(r, Err(NoticeError::BadSignature));
        let mut bad = notice("success");
        bad["amount"] = json!(0);
        let r = parse_pay_notice(&signed(bad), &signer(), true);
        assert!(matches!(r, Err(NoticeError::Invalid(e)) if e.field == "amount"));
        let mut bad = notice("paid");
        bad["channel"] = json!("ali_pay");
        let r = parse_pay_notice(&signed(bad), &signer(), true);
        assert!(matches!(r, Err(NoticeError::Invalid(e)) if e.field == "status"));
        let r = parse_pay_notice(b"{\"orderNo\":", &signer(), true);
        assert!(matches!(r, Err(NoticeError::Malformed(_))));
    }

    #[test]
    fn close_after_success_does_not_regress() {
        let paid = order(PayStatus::Success);
        let closed = order(PayStatus::Close);
        assert_eq!(merge_notice(&paid, &closed), Merge::Unchanged);
        assert_eq!(merge_notice(&paid, &paid), Merge::Unchanged);
        let progress = order(PayStatus::Progress);
        assert_eq!(
            merge_notice(&progress, &paid),
            Merge::Update(Box::new(paid.clone()))
        );
    }

    #[test]
    fn allocation_mark_survives_and_identity_is_fixed() {
        let mut allocated = order(PayStatus::Success);
        allocated.allocation_no = Some("A1".into());
        let mut later = order(PayStatus::Success);
        later.allocation = false;
        later.refund_status = Some("refunding".into());
        match merge_notice(&allocated, &later) {
            Merge::Update(m) => {
                assert_eq!(m.allocation_no.as_deref(), Some("A1"));
                assert!(m.allocation);
                assert_eq!(m.refund_status.as_deref(), Some("refunding"));
            }
            other => panic!("expected an update, got {other:?}"),
        }
        let mut other_amount = order(PayStatus::Success);
        other_amount.amount = 5;
        assert!(
            matches!(merge_notice(&allocated, &other_amount), Merge::Conflict(m) if m.starts_with("amount"))
        );
    }
}
