//! DaxPay's signed refund notice (SPEC §4.9), as a DaxPay gateway POSTs it to a merchant's
//! notifyUrl when a refund ends: the members of the SDK's `RefundNoticeModel` (2.0.7 and 2.0.8;
//! 2.0.8 adds `status`, the gateway sends it in both). Verified over every member received,
//! like the pay notice; times and amounts as JSON integers or strings of digits.

use super::envelope::ValidationError;
use super::pay_notice::{PayNoticeError, code, integer, parse_signed, required};
use super::request::optional_string;
use crate::domain::money::Fen;
use crate::domain::{Channel, Refund, RefundStatus};
use serde_json::{Map, Value};

/// Parses and verifies a refund notice. Nothing is written by this function.
pub fn parse_refund_notice(
    body: &[u8],
    signed: impl Fn(&Map<String, Value>) -> bool,
) -> Result<Refund, PayNoticeError> {
    parse_signed(body, signed, refund_from_notice)
}

fn refund_from_notice(raw: &Map<String, Value>) -> Result<Refund, ValidationError> {
    let channels: Vec<&str> = Channel::ALL.iter().map(|c| c.code()).collect();
    let statuses: Vec<&str> = RefundStatus::ALL.iter().map(|c| c.code()).collect();
    let amount =
        integer(raw, "amount")?.ok_or_else(|| ValidationError::new("amount", "is required"))?;
    let amount = Fen::new(amount)
        .map_err(|rule| ValidationError::new("amount", rule))?
        .get();
    let finish_time = integer(raw, "finishTime")?;
    if finish_time.is_some_and(|t| t <= 0) {
        return Err(ValidationError::new("finishTime", "must be epoch seconds"));
    }
    Ok(Refund {
        refund_no: required(raw, "refundNo", 32)?,
        biz_refund_no: optional_string(raw, "bizRefundNo", 100)?,
        out_refund_no: optional_string(raw, "outRefundNo", 150)?,
        order_no: required(raw, "orderNo", 32)?,
        biz_order_no: optional_string(raw, "bizOrderNo", 100)?,
        channel: code(raw, "channel", Channel::from_code, &channels)?,
        amount,
        status: code(raw, "status", RefundStatus::from_code, &statuses)?,
        reason: optional_string(raw, "reason", 150)?,
        finish_time,
        error_code: optional_string(raw, "errorCode", 50)?,
        error_msg: optional_string(raw, "errorMsg", 500)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daxpay::sign::Signer;
    use crate::daxpay::sign::{Secret, SignType};
    use serde_json::json;

    fn signer() -> Signer {
        Signer::new(SignType::Md5, Secret::new("123456"))
    }

    fn notice() -> Value {
        // the members of RefundNoticeModel (2.0.8) with DaxPay's Long-as-string times
        json!({"orderNo": "P1", "bizOrderNo": "B1", "outOrderNo": "T1", "title": "t",
               "refundNo": "R1", "bizRefundNo": "BR1", "outRefundNo": "OR1", "channel": "wechat_pay",
               "orderAmount": 10000, "amount": 2500, "reason": "客户退货", "finishTime": "1719475300",
               "createTime": "1719475290", "status": "success", "attach": null, "errorCode": null,
               "errorMsg": null, "code": 0, "resTime": 1719475301})
    }

    fn signed(mut v: Value) -> Vec<u8> {
        if let Value::Object(m) = &mut v {
            signer().sign_in_place(m);
        }
        v.to_string().into_bytes()
    }

    #[test]
    fn parses_a_signed_refund_notice() {
        let r = parse_refund_notice(&signed(notice()), |m| signer().verify(m));
        let r = r.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.amount, r.status), (2500, RefundStatus::Success));
        assert_eq!(r.finish_time, Some(1_719_475_300));
        assert_eq!(r.biz_refund_no.as_deref(), Some("BR1"));
    }

    #[test]
    fn refuses_tampered_and_invalid_refund_notices() {
        let mut body = notice();
        if let Value::Object(m) = &mut body {
            signer().sign_in_place(m);
        }
        body["amount"] = json!(9999);
        let r = parse_refund_notice(body.to_string().as_bytes(), |m| signer().verify(m));
        assert_eq!(r, Err(PayNoticeError::BadSignature));
        let mut no_status = notice();
        no_status["status"] = Value::Null;
        let r = parse_refund_notice(&signed(no_status), |m| signer().verify(m));
        assert!(matches!(r, Err(PayNoticeError::Invalid(e)) if e.field == "status"));
        let mut no_refund = notice();
        no_refund["refundNo"] = json!("");
        let r = parse_refund_notice(&signed(no_refund), |m| signer().verify(m));
        assert!(matches!(r, Err(PayNoticeError::Invalid(e)) if e.field == "refundNo"));
    }
}
