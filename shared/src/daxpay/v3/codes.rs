//! DaxPay 3.0.0-beta4's codes (its SDK's `code` enums) beside ours: order statuses
//! (`processing`, `alloc_end`...), receiver types named without their channel (`merchant_no`,
//! `user_id`, `open_id`, `login_name`), relation types in lowercase; and the envelope codes of
//! its answers.

use super::super::envelope::ValidationError;
use crate::domain::{AllocationStatus, Channel, ReceiverType, Refusal, RelationType};

/// An order status as beta4's `AllocationStatusEnum` writes it.
pub fn status(s: AllocationStatus) -> &'static str {
    match s {
        AllocationStatus::Processing => "processing",
        AllocationStatus::End => "alloc_end",
        AllocationStatus::Failed => "alloc_failed",
        AllocationStatus::Finish => "finish",
        AllocationStatus::FinishFailed => "finish_failed",
        AllocationStatus::Ignore => "ignore",
    }
}

/// A receiver type as beta4's `AllocReceiverTypeEnum` writes it.
pub fn receiver_type(t: ReceiverType) -> &'static str {
    match t {
        ReceiverType::WxMerchant => "merchant_no",
        ReceiverType::WxPersonal | ReceiverType::AliOpenId => "open_id",
        ReceiverType::WxPersonalSub => "sub_open_id",
        ReceiverType::AliUserId => "user_id",
        ReceiverType::AliLoginName => "login_name",
    }
}

/// Our receiver type of a beta4 code on `channel`.
pub fn receiver_type_of(channel: Channel, code: &str) -> Result<ReceiverType, ValidationError> {
    let t = match (channel, code) {
        (Channel::WechatPay, "merchant_no") => ReceiverType::WxMerchant,
        (Channel::WechatPay, "open_id") => ReceiverType::WxPersonal,
        (Channel::WechatPay, "sub_open_id") => ReceiverType::WxPersonalSub,
        (Channel::AliPay, "user_id") => ReceiverType::AliUserId,
        (Channel::AliPay, "open_id") => ReceiverType::AliOpenId,
        (Channel::AliPay, "login_name") => ReceiverType::AliLoginName,
        _ => {
            return Err(ValidationError::new(
                "receiverType",
                format!(
                    "{code} is not a receiver type of channel {channel} (wechat_pay: merchant_no, open_id; ali_pay: user_id, open_id, login_name)"
                ),
            ));
        }
    };
    Ok(t)
}

/// A relation type as beta4's `AllocRelationTypeEnum` writes it (lowercase).
pub fn relation_type(r: RelationType) -> String {
    r.code().to_ascii_lowercase()
}

/// Our relation type of a beta4 code.
pub fn relation_type_of(code: &str) -> Result<RelationType, ValidationError> {
    RelationType::from_code(&code.to_ascii_uppercase())
        .filter(|_| code.bytes().all(|b| !b.is_ascii_uppercase()))
        .ok_or_else(|| {
            ValidationError::new(
                "relationType",
                format!("{code} is not a relation type (service_provider, store, staff, store_owner, partner, headquarter, brand, distributor, user, supplier, custom)"),
            )
        })
}

/// beta4's envelope codes.
pub mod envelope {
    /// Accepted.
    pub const OK: i64 = 0;
    /// `SYSTEM_ERROR`.
    pub const SYSTEM: i64 = 10500;
    /// `PARSE_PARAMETERS_ERROR`: the body is not readable.
    pub const MALFORMED: i64 = 10505;
    /// `VALIDATE_PARAMETERS_ERROR`.
    pub const VALIDATION: i64 = 10506;
    /// `DATA_NOT_EXIST`.
    pub const NOT_FOUND: i64 = 10405;
    /// `CONFIG_NOT_ENABLE`: the app is not enabled.
    pub const APP_DISABLED: i64 = 20023;
    /// `VERIFY_SIGN_FAILED`.
    pub const SIGN: i64 = 20052;
    /// `UNCLASSIFIED_ERROR`.
    pub const UNCLASSIFIED: i64 = 20000;
    /// `TRADE_NOT_EXIST`.
    pub const TRADE_NOT_EXIST: i64 = 20041;
    /// `TRADE_STATUS_ERROR`.
    pub const TRADE_STATUS: i64 = 20044;
    /// `OPERATION_FAIL`.
    pub const OPERATION_FAIL: i64 = 20080;
    /// `OPERATION_UNSUPPORTED`.
    pub const UNSUPPORTED: i64 = 20082;
    /// `DATA_ERROR`.
    pub const DATA_ERROR: i64 = 20091;
}

/// The envelope code beta4 gives a business refusal like this one.
pub fn refusal_code(r: &Refusal) -> i64 {
    use envelope::*;
    match r {
        Refusal::PayOrderNotFound => TRADE_NOT_EXIST,
        Refusal::OrderNotFound => NOT_FOUND,
        Refusal::ReceiverNotFound(_) | Refusal::GroupNotFound(_) => DATA_ERROR,
        Refusal::ReceiverExists(_) => OPERATION_FAIL,
        Refusal::ChannelNotConfigured(_) | Refusal::ChannelNotReady { .. } => UNSUPPORTED,
        _ if r.to_string().contains("状态") => TRADE_STATUS,
        _ => UNCLASSIFIED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta4_codes_read_back_as_ours() {
        for t in ReceiverType::ALL {
            assert_eq!(
                receiver_type_of(t.channel(), receiver_type(*t)).ok(),
                Some(*t)
            );
        }
        for r in RelationType::ALL {
            assert_eq!(relation_type_of(&relation_type(*r)).ok(), Some(*r));
        }
        assert!(receiver_type_of(Channel::AliPay, "merchant_no").is_err());
        assert!(relation_type_of("PARTNER").is_err());
        assert_eq!(status(AllocationStatus::End), "alloc_end");
    }
}
