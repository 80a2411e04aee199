//! DaxPay's signed payment notice (SPEC §4.1), as a DaxPay gateway POSTs it
//! to a merchant's notifyUrl, becomes (or updates) the pay order we split.
//!
//! The notice is verified over every member received (a newer gateway may add members; they are
//! signed, and ignored). DaxPay serializes `Long` values as strings, so times and amounts are
//! accepted as JSON integers or as strings of digits.

use super::envelope::ValidationError;
use super::json::{self, JsonError};
use super::request::optional_string;
use crate::domain::money::Fen;
use crate::domain::{Channel, PayOrder, PayStatus};
use serde_json::{Map, Value};

/// Why a notice was not taken. Answered as plain text after `FAIL: `.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayNoticeError {
    #[error("malformed notice: {0}")]
    Malformed(String),
    #[error("invalid notice: {0}")]
    Invalid(ValidationError),
    #[error("signature verification failed")]
    BadSignature,
}

/// Parses a pay notice and checks its signature with `signed` (whether the members received
/// carry a good signature). Nothing is written by this function.
pub fn parse_pay_notice(
    body: &[u8],
    signed: impl Fn(&Map<String, Value>) -> bool,
) -> Result<PayOrder, PayNoticeError> {
    parse_signed(body, signed, pay_order_from_notice)
}

/// A DaxPay notice (pay or refund): strict JSON, its members read by `read` (whose refusal
/// names the field), then the signature over every member received.
pub(super) fn parse_signed<T>(
    body: &[u8],
    signed: impl Fn(&Map<String, Value>) -> bool,
    read: fn(&Map<String, Value>) -> Result<T, ValidationError>,
) -> Result<T, PayNoticeError> {
    let raw = json::parse_object(body).map_err(|e| match e {
        JsonError::DuplicateKey(k) => {
            PayNoticeError::Invalid(ValidationError::new(k, "appears more than once"))
        }
        other => PayNoticeError::Malformed(other.to_string()),
    })?;
    let value = read(&raw).map_err(PayNoticeError::Invalid)?;
    if !signed(&raw) {
        return Err(PayNoticeError::BadSignature);
    }
    Ok(value)
}

pub(super) fn required(
    raw: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<String, ValidationError> {
    match optional_string(raw, field, max)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(ValidationError::new(field, "is required")),
    }
}

pub(super) fn integer(
    raw: &Map<String, Value>,
    field: &str,
) -> Result<Option<i64>, ValidationError> {
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

pub(super) fn code<T>(
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
    let amount = Fen::new(amount)
        .map_err(|rule| ValidationError::new("amount", rule))?
        .get();
    let pay_time = integer(raw, "payTime")?;
    if pay_time.is_some_and(|t| t <= 0) {
        return Err(ValidationError::new("payTime", "must be epoch seconds"));
    }
    Ok(PayOrder {
        order_no: required(raw, "orderNo", 32)?,
        biz_order_no: required(raw, "bizOrderNo", 100)?,
        out_order_no: optional_string(raw, "outOrderNo", 150)?,
        title: optional_string(raw, "title", 100)?.unwrap_or_default(),
        channel: code(raw, "channel", Channel::from_code, &channels)?,
        method: optional_string(raw, "method", 20)?,
        amount,
        status: code(raw, "status", PayStatus::from_code, &statuses)?,
        allocation: boolean(raw, "allocation")?,
        auto_allocation: boolean(raw, "autoAllocation")?,
        refund_status: optional_string(raw, "refundStatus", 20)?,
        attach: optional_string(raw, "attach", 500)?,
        pay_time,
        allocation_no: None,
        auto_allocation_error: None,
        refunded: 0,
        account: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daxpay::sign::Signer;
    use crate::daxpay::sign::{Secret, SignType};
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
        match parse_pay_notice(&signed(notice(status.code())), |m| signer().verify(m)) {
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
        let r = parse_pay_notice(body.to_string().as_bytes(), |m| signer().verify(m));
        assert_eq!(r, Err(PayNoticeError::BadSignature));
        let mut bad = notice("success");
        bad["amount"] = json!(0);
        let r = parse_pay_notice(&signed(bad), |m| signer().verify(m));
        assert!(matches!(r, Err(PayNoticeError::Invalid(e)) if e.field == "amount"));
        let mut bad = notice("paid");
        bad["channel"] = json!("ali_pay");
        let r = parse_pay_notice(&signed(bad), |m| signer().verify(m));
        assert!(matches!(r, Err(PayNoticeError::Invalid(e)) if e.field == "status"));
        let r = parse_pay_notice(b"{\"orderNo\":", |m| signer().verify(m));
        assert!(matches!(r, Err(PayNoticeError::Malformed(_))));
    }
}
