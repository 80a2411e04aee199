//! Business parameters of the receiver and group endpoints (SPEC §4.8), with their lengths and
//! ranges.

use super::envelope::ValidationError;
use super::request::{Params, check_opt_len, check_required};
use crate::domain::money::{FULL_RATE, MAX_RECEIVERS, Rate};
use crate::domain::{Channel, ReceiverType, RelationType};
use serde::Deserialize;
use std::collections::HashSet;

/// `POST /unipay/allocation/receiver/add`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReceiverAddParams {
    pub receiver_no: String,
    pub channel: Channel,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    pub receiver_name: Option<String>,
    pub relation_type: RelationType,
    pub relation_name: Option<String>,
}

impl Params for ReceiverAddParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_required("receiverNo", &self.receiver_no, 32)?;
        check_sharing_channel("channel", self.channel)?;
        if self.receiver_type.channel() != self.channel {
            return Err(ValidationError::new(
                "receiverType",
                format!(
                    "{} is not a receiver type of channel {}",
                    self.receiver_type, self.channel
                ),
            ));
        }
        check_required("receiverAccount", &self.receiver_account, 100)?;
        check_opt_len("receiverName", &self.receiver_name, 100)?;
        if self.receiver_type == ReceiverType::WxMerchant
            && self
                .receiver_name
                .as_deref()
                .is_none_or(|n| n.trim().is_empty())
        {
            return Err(ValidationError::new(
                "receiverName",
                "is required for wx_merchant (the merchant's full name)",
            ));
        }
        check_opt_len("relationName", &self.relation_name, 50)?;
        if self.relation_type == RelationType::Custom
            && self
                .relation_name
                .as_deref()
                .is_none_or(|n| n.trim().is_empty())
        {
            return Err(ValidationError::new(
                "relationName",
                "is required when relationType is CUSTOM",
            ));
        }
        Ok(())
    }
}

/// `POST /unipay/allocation/receiver/remove`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReceiverRemoveParams {
    pub receiver_no: String,
}

impl Params for ReceiverRemoveParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_required("receiverNo", &self.receiver_no, 32)
    }
}

/// `POST /unipay/query/allocationReceiver`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QueryReceiverParams {
    pub channel: Option<Channel>,
    pub receiver_no: Option<String>,
}

impl Params for QueryReceiverParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_opt_len("receiverNo", &self.receiver_no, 32)?;
        if self.channel.is_none() && self.receiver_no.as_deref().is_none_or(str::is_empty) {
            return Err(ValidationError::new(
                "channel",
                "所属通道和接收方编号不可同时为空 (channel or receiverNo is required)",
            ));
        }
        Ok(())
    }
}

/// `POST /unipay/allocation/group/create` and `/update` (update keeps the channel).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupSaveParams {
    pub group_no: String,
    pub name: String,
    pub channel: Channel,
    pub remark: Option<String>,
}

impl Params for GroupSaveParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_required("groupNo", &self.group_no, 20)?;
        check_required("name", &self.name, 50)?;
        check_sharing_channel("channel", self.channel)?;
        check_opt_len("remark", &self.remark, 200)
    }
}

/// `POST /unipay/allocation/group/delete`, `/setDefault`, `/clearDefault`, `/query`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupRef {
    pub group_no: String,
}

impl Params for GroupRef {
    fn validate(&self) -> Result<(), ValidationError> {
        check_required("groupNo", &self.group_no, 20)
    }
}

/// `POST /unipay/allocation/group/bind`: add receivers to a group (or change their rates).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupBindParams {
    pub group_no: String,
    pub receivers: Vec<ReceiverRate>,
}

/// A receiver's share of a group in basis points (1/10000).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReceiverRate {
    pub receiver_no: String,
    pub rate: Rate,
}

impl Params for GroupBindParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_required("groupNo", &self.group_no, 20)?;
        if self.receivers.is_empty() || self.receivers.len() > MAX_RECEIVERS {
            return Err(ValidationError::new(
                "receivers",
                format!("must list 1 to {MAX_RECEIVERS} receivers"),
            ));
        }
        let mut seen = HashSet::new();
        let mut total = 0i64;
        for (i, r) in self.receivers.iter().enumerate() {
            let field = format!("receivers[{i}].receiverNo");
            check_required(&field, &r.receiver_no, 32)?;
            if !seen.insert(r.receiver_no.as_str()) {
                return Err(ValidationError::new(field, "is listed more than once"));
            }
            total += r.rate.get();
        }
        if total > FULL_RATE {
            return Err(ValidationError::new(
                "receivers",
                format!("rates add up to {total}, more than {FULL_RATE}"),
            ));
        }
        Ok(())
    }
}

/// `POST /unipay/allocation/group/unbind`: remove receivers from a group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupUnbindParams {
    pub group_no: String,
    pub receiver_nos: Vec<String>,
}

impl Params for GroupUnbindParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_required("groupNo", &self.group_no, 20)?;
        if self.receiver_nos.is_empty() || self.receiver_nos.len() > MAX_RECEIVERS {
            return Err(ValidationError::new(
                "receiverNos",
                format!("must list 1 to {MAX_RECEIVERS} receivers"),
            ));
        }
        let mut seen = HashSet::new();
        for (i, no) in self.receiver_nos.iter().enumerate() {
            let field = format!("receiverNos[{i}]");
            check_required(&field, no, 32)?;
            if !seen.insert(no.as_str()) {
                return Err(ValidationError::new(field, "is listed more than once"));
            }
        }
        Ok(())
    }
}

/// `POST /unipay/allocation/group/query`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QueryGroupParams {
    pub group_no: Option<String>,
    pub channel: Option<Channel>,
}

impl Params for QueryGroupParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_opt_len("groupNo", &self.group_no, 20)?;
        if self.channel.is_none() && self.group_no.as_deref().is_none_or(str::is_empty) {
            return Err(ValidationError::new(
                "groupNo",
                "groupNo or channel is required",
            ));
        }
        Ok(())
    }
}

pub(super) fn check_sharing_channel(field: &str, channel: Channel) -> Result<(), ValidationError> {
    match channel.sharing_refusal() {
        Some(why) => Err(ValidationError::new(field, why)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daxpay::request::Verifier;
    use crate::daxpay::sign::{Secret, SignType, Signer};
    use serde_json::{Value, json};

    const NOW: i64 = 1_719_475_200;

    fn signed(mut v: Value) -> Vec<u8> {
        let verifier = verifier();
        if let Value::Object(m) = &mut v {
            verifier.signer.sign_in_place(m);
        }
        v.to_string().into_bytes()
    }

    fn verifier() -> Verifier {
        Verifier {
            signer: Signer::new(SignType::HmacSha256, Secret::new("123456")),
            require_sign: true,
            req_timeout_secs: 300,
            previous: None,
        }
    }

    fn error_of<T: Params + std::fmt::Debug>(v: Value) -> String {
        match verifier().verify::<T>(&signed(v), NOW) {
            Ok(ok) => format!("accepted: {:?}", ok.params),
            Err(e) => format!("{} {}", e.code(), e),
        }
    }

    #[test]
    fn receiver_add_rules() {
        let base = json!({"receiverNo": "r1", "channel": "ali_pay", "receiverType": "ali_user_id",
            "receiverAccount": "2088", "relationType": "PARTNER", "reqTime": NOW});
        assert!(error_of::<ReceiverAddParams>(base.clone()).starts_with("accepted"));
        let mut wrong_type = base.clone();
        wrong_type["receiverType"] = json!("wx_personal");
        assert!(
            error_of::<ReceiverAddParams>(wrong_type)
                .contains("receiverType: wx_personal is not a receiver type of channel ali_pay")
        );
        let mut union = base.clone();
        union["channel"] = json!("union_pay");
        assert!(error_of::<ReceiverAddParams>(union).contains("channel: 云闪付不支持分账"));
        let mut unknown = base.clone();
        unknown["channel"] = json!("paypal");
        assert!(error_of::<ReceiverAddParams>(unknown).contains("channel: must be one of"));
        let mut custom = base;
        custom["relationType"] = json!("CUSTOM");
        assert!(
            error_of::<ReceiverAddParams>(custom)
                .contains("relationName: is required when relationType is CUSTOM")
        );
    }

    #[test]
    fn group_bind_rates() {
        let ok = json!({"groupNo": "g", "receivers": [{"receiverNo": "a", "rate": 6000}, {"receiverNo": "b", "rate": 4000}], "reqTime": NOW});
        assert!(error_of::<GroupBindParams>(ok).starts_with("accepted"));
        let over = json!({"groupNo": "g", "receivers": [{"receiverNo": "a", "rate": 6000}, {"receiverNo": "b", "rate": 4001}], "reqTime": NOW});
        assert!(error_of::<GroupBindParams>(over).contains("receivers: rates add up to 10001"));
        let neg =
            json!({"groupNo": "g", "receivers": [{"receiverNo": "a", "rate": -1}], "reqTime": NOW});
        assert!(
            error_of::<GroupBindParams>(neg)
                .contains("receivers[0].rate: must be an integer from 0 to 10000")
        );
    }

    #[test]
    fn group_unbind_lists() {
        let ok = json!({"groupNo": "g", "receiverNos": ["a", "b"], "reqTime": NOW});
        assert!(error_of::<GroupUnbindParams>(ok).starts_with("accepted"));
        let twice = json!({"groupNo": "g", "receiverNos": ["a", "a"], "reqTime": NOW});
        assert!(
            error_of::<GroupUnbindParams>(twice)
                .contains("receiverNos[1]: is listed more than once")
        );
        let many: Vec<String> = (0..=MAX_RECEIVERS).map(|i| format!("r{i}")).collect();
        let too_many = json!({"groupNo": "g", "receiverNos": many, "reqTime": NOW});
        assert!(
            error_of::<GroupUnbindParams>(too_many)
                .contains("receiverNos: must list 1 to 50 receivers")
        );
    }
}
