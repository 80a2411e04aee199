//! Business parameters of every merchant endpoint (SPEC §2), with their lengths and ranges.
//! Both field spellings are accepted (`allocationNo`/`allocNo`, ...); giving both is refused.
//! Common members (`clientIp`, `nonceStr`, `sign`, `reqTime`) are checked in [`crate::request`].

use crate::error::ValidationError;
use crate::model::{Channel, ReceiverType, RelationType};
use crate::request::{Params, check_amount, check_opt_len, check_required};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The most receivers one allocation (or one group) may have: WeChat Pay takes at most 50
/// receivers per split, and one DynamoDB transaction at most 100 items.
pub const MAX_RECEIVERS: usize = 50;

/// `POST /unipay/allocation/start` (seed 001).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StartParams {
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: String,
    pub order_no: Option<String>,
    pub biz_order_no: Option<String>,
    pub description: Option<String>,
    pub group_no: Option<String>,
    pub receivers: Option<Vec<ReceiverAmount>>,
    pub notify_url: Option<String>,
    pub attach: Option<String>,
    /// DaxPay 2.0.7's `notNotify`: `true` sends no merchant notice for this order. (Absent from
    /// the digest text when not given, so orders started before it existed keep their digest.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_notify: Option<bool>,
}

/// One explicit receiver of a start request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReceiverAmount {
    pub receiver_no: String,
    pub amount: i64,
}

impl Params for StartParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_required("bizAllocationNo", &self.biz_allocation_no, 100)?;
        check_opt_len("orderNo", &self.order_no, 32)?;
        check_opt_len("bizOrderNo", &self.biz_order_no, 100)?;
        if self.order_no.is_none() && self.biz_order_no.is_none() {
            return Err(ValidationError::new(
                "orderNo",
                "orderNo or bizOrderNo is required",
            ));
        }
        check_opt_len("description", &self.description, 150)?;
        check_opt_len("groupNo", &self.group_no, 20)?;
        check_opt_len("notifyUrl", &self.notify_url, 200)?;
        if let Some(url) = self.notify_url.as_deref().filter(|u| !u.is_empty()) {
            check_http_url("notifyUrl", url)?;
        }
        check_opt_len("attach", &self.attach, 500)?;
        if self
            .receivers
            .as_ref()
            .is_some_and(|r| r.len() > MAX_RECEIVERS)
        {
            return Err(ValidationError::new(
                "receivers",
                format!("at most {MAX_RECEIVERS} receivers per allocation"),
            ));
        }
        let mut seen = HashSet::new();
        for (i, r) in self.receivers.iter().flatten().enumerate() {
            let field = format!("receivers[{i}].receiverNo");
            check_required(&field, &r.receiver_no, 32)?;
            check_amount(&format!("receivers[{i}].amount"), r.amount)?;
            if !seen.insert(r.receiver_no.as_str()) {
                return Err(ValidationError::new(field, "is listed more than once"));
            }
        }
        Ok(())
    }
}

impl StartParams {
    /// The explicit receivers, if any were given (`[]` counts as none, as it is not signed).
    pub fn explicit_receivers(&self) -> Option<&[ReceiverAmount]> {
        self.receivers.as_deref().filter(|r| !r.is_empty())
    }
}

/// An allocation order named by our number or the merchant's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AllocationRef {
    #[serde(alias = "allocNo")]
    pub allocation_no: Option<String>,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: Option<String>,
}

impl Params for AllocationRef {
    fn validate(&self) -> Result<(), ValidationError> {
        check_opt_len("allocationNo", &self.allocation_no, 32)?;
        check_opt_len("bizAllocationNo", &self.biz_allocation_no, 100)?;
        if self.allocation_no.as_deref().is_none_or(str::is_empty)
            && self.biz_allocation_no.as_deref().is_none_or(str::is_empty)
        {
            return Err(ValidationError::new(
                "allocationNo",
                "分账号与商户分账号不可以同时为空 (allocationNo or bizAllocationNo is required)",
            ));
        }
        Ok(())
    }
}

/// `POST /unipay/allocation/notice/resend`: the order, and which of its notices (default:
/// the notice of its current status).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NoticeResendParams {
    #[serde(alias = "allocNo")]
    pub allocation_no: Option<String>,
    #[serde(alias = "bizAllocNo")]
    pub biz_allocation_no: Option<String>,
    pub status: Option<crate::model::AllocationStatus>,
}

impl NoticeResendParams {
    pub fn order(&self) -> AllocationRef {
        AllocationRef {
            allocation_no: self.allocation_no.clone(),
            biz_allocation_no: self.biz_allocation_no.clone(),
        }
    }
}

impl Params for NoticeResendParams {
    fn validate(&self) -> Result<(), ValidationError> {
        self.order().validate()
    }
}

/// `POST /unipay/allocation/finish` (seed 002).
pub type FinishParams = AllocationRef;
/// `POST /unipay/sync/allocation` (seed 000).
pub type SyncParams = AllocationRef;
/// `POST /unipay/query/allocationOrder`.
pub type QueryAllocationParams = AllocationRef;

/// `POST /unipay/query/payOrder`: a pay order as the feed stored it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QueryPayOrderParams {
    pub order_no: Option<String>,
    pub biz_order_no: Option<String>,
}

impl Params for QueryPayOrderParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_opt_len("orderNo", &self.order_no, 32)?;
        check_opt_len("bizOrderNo", &self.biz_order_no, 100)?;
        if self.order_no.as_deref().is_none_or(str::is_empty)
            && self.biz_order_no.as_deref().is_none_or(str::is_empty)
        {
            return Err(ValidationError::new(
                "orderNo",
                "orderNo or bizOrderNo is required",
            ));
        }
        Ok(())
    }
}

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
    pub rate: i64,
}

/// The most a group may share out, in basis points.
pub const FULL_RATE: i64 = 10_000;

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
            if !(0..=FULL_RATE).contains(&r.rate) {
                return Err(ValidationError::new(
                    format!("receivers[{i}].rate"),
                    format!("must be an integer from 0 to {FULL_RATE} (basis points)"),
                ));
            }
            if !seen.insert(r.receiver_no.as_str()) {
                return Err(ValidationError::new(field, "is listed more than once"));
            }
            total += r.rate;
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

fn check_sharing_channel(field: &str, channel: Channel) -> Result<(), ValidationError> {
    match channel.sharing_refusal() {
        Some(why) => Err(ValidationError::new(field, why)),
        None => Ok(()),
    }
}

/// Only absolute `http`/`https` URLs with a host. (Address checks happen when sending.)
pub fn check_http_url(field: &str, url: &str) -> Result<(), ValidationError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    match host {
        Some(h) if !h.is_empty() && !h.contains(char::is_whitespace) => Ok(()),
        _ => Err(ValidationError::new(
            field,
            "must be an absolute http:// or https:// URL",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Verifier;
    use crate::sign::{Secret, SignType, Signer};
    use serde_json::{Value, json};

    const NOW: i64 = 1_719_475_200;

    fn verifier() -> Verifier {
        Verifier {
            signer: Signer::new(SignType::HmacSha256, Secret::new("123456")),
            require_sign: true,
            req_timeout_secs: 300,
        }
    }

    fn signed(mut v: Value) -> Vec<u8> {
        if let Value::Object(m) = &mut v {
            verifier().signer.sign_in_place(m);
        }
        v.to_string().into_bytes()
    }

    fn error_of<T: Params + std::fmt::Debug>(v: Value) -> String {
        match verifier().verify::<T>(&signed(v), NOW) {
            Ok(ok) => format!("accepted: {:?}", ok.params),
            Err(e) => format!("{} {}", e.code(), e),
        }
    }

    #[test]
    fn start_accepts_both_spellings() {
        for key in ["bizAllocationNo", "bizAllocNo"] {
            let body = signed(json!({key: "A1", "orderNo": "P1", "reqTime": NOW}));
            let v = verifier().verify::<StartParams>(&body, NOW);
            assert_eq!(
                v.map(|v| v.params.biz_allocation_no).ok(),
                Some("A1".into())
            );
        }
        assert_eq!(
            error_of::<StartParams>(
                json!({"bizAllocationNo": "A1", "bizAllocNo": "A1", "orderNo": "P1", "reqTime": NOW})
            ),
            "10006 验证参数错误: bizAllocationNo: is given twice (under both spellings)"
        );
    }

    #[test]
    fn start_validation_messages_name_field_and_rule() {
        let cases = [
            (
                json!({"orderNo": "P1", "reqTime": NOW}),
                "bizAllocationNo: is required",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P1", "reqTime": NOW, "foo": 1}),
                "foo: is not a known field",
            ),
            (
                json!({"bizAllocationNo": "x".repeat(101), "orderNo": "P1", "reqTime": NOW}),
                "bizAllocationNo: must be at most 100 characters",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P".repeat(33), "reqTime": NOW}),
                "orderNo: must be at most 32 characters",
            ),
            (
                json!({"bizAllocationNo": "A", "reqTime": NOW}),
                "orderNo: orderNo or bizOrderNo is required",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P", "reqTime": NOW,
                       "receivers": [{"receiverNo": "r", "amount": 0}]}),
                "receivers[0].amount: must be an integer amount in fen from 1 to 100000000000",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P", "reqTime": NOW,
                       "receivers": [{"receiverNo": "r", "amount": -5}]}),
                "receivers[0].amount: must be an integer amount in fen",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P", "reqTime": NOW,
                       "receivers": [{"receiverNo": "r", "amount": "5"}]}),
                "receivers[0].amount: must be an integer",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P", "reqTime": NOW,
                       "receivers": [{"receiverNo": "r", "amount": 1.5}]}),
                "receivers[0].amount: must be an integer",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P", "reqTime": NOW,
                       "receivers": [{"receiverNo": "r", "amount": 1}, {"receiverNo": "r", "amount": 2}]}),
                "receivers[1].receiverNo: is listed more than once",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P", "reqTime": NOW,
                       "receivers": [{"receiverNo": "r", "amount": 1, "rate": 2}]}),
                "receivers[0].rate: is not a known field",
            ),
            (
                json!({"bizAllocationNo": 7, "orderNo": "P", "reqTime": NOW}),
                "bizAllocationNo: must be a string",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P", "reqTime": "1719475200"}),
                "reqTime: must be a positive integer",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P"}),
                "reqTime: 请求时间必填",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P", "reqTime": NOW, "clientIp": "1.2.3"}),
                "clientIp: IP地址不合法",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P", "reqTime": NOW, "nonceStr": "n".repeat(33)}),
                "nonceStr: must be at most 32 characters",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P", "reqTime": NOW, "notifyUrl": "ftp://x"}),
                "notifyUrl: must be an absolute http:// or https:// URL",
            ),
            (
                json!({"bizAllocationNo": "A", "orderNo": "P", "reqTime": NOW, "receivers": {"a": 1}}),
                "receivers: must be an array",
            ),
        ];
        for (body, expected) in cases {
            let got = error_of::<StartParams>(body.clone());
            assert!(
                got.starts_with("10006 验证参数错误: ") && got.contains(expected),
                "{body}: got `{got}`, expected `{expected}`"
            );
        }
    }

    #[test]
    fn seed_start_request_parses() {
        let body = r#"{"bizAllocationNo":"A29729","orderNo":"DEVP24060123574963000003","description":"测试分账","receivers":[{"receiverNo":"123","amount":6000}],"attach":"88899","clientIp":"127.0.0.1","sign":"fbe24cb131ee86ff76b66b8d7909169b26b805ac2195969caf18d0079ba4beea","reqTime":1717261696}"#;
        let v = verifier().verify::<StartParams>(body.as_bytes(), 1_717_261_700);
        let v = match v {
            Ok(v) => v,
            Err(e) => panic!("seed request refused: {e}"),
        };
        assert_eq!(
            v.params.explicit_receivers(),
            Some(
                &[ReceiverAmount {
                    receiver_no: "123".into(),
                    amount: 6000
                }][..]
            )
        );
        assert_eq!(v.common.client_ip.as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn refs_need_one_number() {
        assert!(
            error_of::<AllocationRef>(json!({"reqTime": NOW}))
                .contains("allocationNo: 分账号与商户分账号不可以同时为空")
        );
        assert!(
            error_of::<AllocationRef>(json!({"allocNo": "A1", "reqTime": NOW}))
                .starts_with("accepted")
        );
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

#[cfg(test)]
mod robustness {
    use super::*;
    use crate::request::Verifier;
    use crate::sign::{Secret, SignType, Signer};

    /// Every truncation and many byte corruptions of a valid start request are answered with an
    /// error or a value, never a panic.
    #[test]
    fn mangled_bodies_never_panic() {
        let v = Verifier {
            signer: Signer::new(SignType::Md5, Secret::new("k")),
            require_sign: true,
            req_timeout_secs: 300,
        };
        let body = r#"{"bizAllocationNo":"A1","orderNo":"P1","receivers":[{"receiverNo":"r","amount":6000}],"description":"测试","reqTime":1719475200,"sign":"00"}"#.as_bytes();
        let mut state: u32 = 12345;
        for cut in 0..=body.len() {
            let _ = v.verify::<StartParams>(&body[..cut], 1_719_475_200);
        }
        for _ in 0..5000 {
            let mut mangled = body.to_vec();
            for _ in 0..3 {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let pos = (state >> 8) as usize % mangled.len();
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                mangled[pos] = (state >> 16) as u8;
            }
            let _ = v.verify::<StartParams>(&mangled, 1_719_475_200);
        }
    }
}
