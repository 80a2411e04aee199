//! Business parameters of every merchant endpoint (SPEC §2), with their lengths and ranges.
//! Both field spellings are accepted (`allocationNo`/`allocNo`, ...); giving both is refused.
//! Common members (`clientIp`, `nonceStr`, `sign`, `reqTime`) are checked in [`super::request`].
//! Receivers and groups have theirs in [`super::receiver_params`].

use super::envelope::ValidationError;
use super::request::{Params, check_opt_len, check_required};
use crate::domain::money::{Fen, MAX_RECEIVERS};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

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
    pub amount: Fen,
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
        let mut seen = HashSet::with_capacity(self.receivers.as_ref().map_or(0, Vec::len));
        for (i, r) in self.receivers.iter().flatten().enumerate() {
            // the field's name is only written out for an error
            let field = || format!("receivers[{i}].receiverNo");
            check_required("", &r.receiver_no, 32).map_err(|e| ValidationError {
                field: field(),
                ..e
            })?;
            if !seen.insert(r.receiver_no.as_str()) {
                return Err(ValidationError::new(field(), "is listed more than once"));
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

    /// The digest of the business fields (everything but `sign`, `nonceStr`, `reqTime` and
    /// `clientIp`, which are not part of `StartParams`), spelling-independent: a repeated
    /// bizAllocationNo is the same start only when the digests match (SPEC §4.2 step 2).
    ///
    /// `2:` and the hex SHA-256 of [`StartParams::digest_text`]. Orders started before this
    /// form kept the first one, which [`StartParams::matches_digest`] still recognises.
    pub fn digest(&self) -> String {
        let mut hex = String::with_capacity(DIGEST_PREFIX.len() + 64);
        hex.push_str(DIGEST_PREFIX);
        hex.push_str(&hex::encode(Sha256::digest(self.digest_text())));
        hex
    }

    /// Whether `stored`, the digest kept with an order, was made from these parameters;
    /// `digest` is theirs ([`StartParams::digest`], computed once per request).
    pub fn matches_digest(&self, stored: &str, digest: &str) -> bool {
        if stored.starts_with(DIGEST_PREFIX) {
            stored == digest
        } else {
            stored == self.first_digest()
        }
    }

    /// The text digested: every business field in a fixed order, each a tag (absent or
    /// present) and, when present, its length and bytes, so that two different parameter sets
    /// never give the same text. Less than half the JSON text, and written without escaping.
    fn digest_text(&self) -> Vec<u8> {
        // (A request is at most a few MB: every length fits in 32 bits.)
        fn len(text: &mut Vec<u8>, n: usize) {
            text.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
        }
        fn put(text: &mut Vec<u8>, field: Option<&str>) {
            match field {
                None => text.push(0),
                Some(value) => {
                    text.push(1);
                    len(text, value.len());
                    text.extend_from_slice(value.as_bytes());
                }
            }
        }
        let receivers = self.receivers.as_deref();
        let listed: usize =
            receivers.map_or(0, |r| r.iter().map(|x| 12 + x.receiver_no.len()).sum());
        let mut text = Vec::with_capacity(640 + listed);
        text.extend_from_slice(b"start\0");
        put(&mut text, Some(&self.biz_allocation_no));
        put(&mut text, self.order_no.as_deref());
        put(&mut text, self.biz_order_no.as_deref());
        put(&mut text, self.description.as_deref());
        put(&mut text, self.group_no.as_deref());
        put(&mut text, self.notify_url.as_deref());
        put(&mut text, self.attach.as_deref());
        text.push(match self.not_notify {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
        match receivers {
            None => text.push(0),
            Some(list) => {
                text.push(1);
                len(&mut text, list.len());
                for r in list {
                    len(&mut text, r.receiver_no.len());
                    text.extend_from_slice(r.receiver_no.as_bytes());
                    text.extend_from_slice(&r.amount.get().to_le_bytes());
                }
            }
        }
        text
    }

    /// The first form of the digest: hex SHA-256 of the parameters as serde_json writes them.
    fn first_digest(&self) -> String {
        let mut text = Vec::with_capacity(256 + 64 * self.receivers.as_ref().map_or(0, Vec::len));
        if serde_json::to_writer(&mut text, self).is_err() {
            text.clear();
        }
        hex::encode(Sha256::digest(&text))
    }
}

/// What starts every digest of the second form (the first was 64 hex digits alone).
const DIGEST_PREFIX: &str = "2:";

/// An allocation order named by our number or the merchant's: finish (seed 002), sync (seed
/// 000), the order and notice queries.
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
    pub status: Option<crate::domain::AllocationStatus>,
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

/// Only absolute `http`/`https` URLs with a host. (Address checks happen when sending.)
pub fn check_http_url(field: &str, url: &str) -> Result<(), ValidationError> {
    crate::domain::notice::check_http_url(url).map_err(|rule| ValidationError::new(field, rule))
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::daxpay::request::Verifier;
    use crate::daxpay::sign::{Secret, SignType, Signer};
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
                    amount: Fen::new(6000).unwrap_or_else(|e| panic!("{e}"))
                }][..]
            )
        );
        assert_eq!(v.common.client_ip.as_deref(), Some("127.0.0.1"));
    }

    fn start(v: Value) -> StartParams {
        match serde_json::from_value(v) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    fn seed_start() -> StartParams {
        start(json!({
            "bizAllocationNo": "A29729", "orderNo": "DEVP24060123574963000003",
            "description": "测试分账", "receivers": [{"receiverNo": "123", "amount": 6000}],
            "attach": "88899"
        }))
    }

    /// An order started before the digest's second form keeps matching the same start, and
    /// only it: its stored digest is the SHA-256 of the parameters' JSON text (pinned here).
    #[test]
    fn digests_of_the_first_form_still_match() {
        const FIRST: &str = "212569d2ccc33b7eaca7fa19ceadadd976855cc55986b3f36799a0e431756bb2";
        let p = seed_start();
        let digest = p.digest();
        assert!(p.matches_digest(FIRST, &digest));
        let mut other = p.clone();
        other.attach = Some("88898".into());
        assert!(!other.matches_digest(FIRST, &other.digest()));
        // nor is a first-form digest taken for the second form, or the other way round
        assert!(!p.matches_digest(&digest[2..], &digest));
        assert!(!p.matches_digest(&format!("2:{FIRST}"), &digest));
    }

    /// Any change to a business field changes the digest, spelling does not, and the second
    /// form matches only itself.
    #[test]
    fn the_digest_tells_every_parameter_apart() {
        let p = seed_start();
        let digest = p.digest();
        assert!(digest.starts_with("2:") && digest.len() == 66, "{digest}");
        assert!(p.matches_digest(&digest, &digest));
        let same = start(json!({
            "bizAllocNo": "A29729", "orderNo": "DEVP24060123574963000003",
            "description": "测试分账", "receivers": [{"receiverNo": "123", "amount": 6000}],
            "attach": "88899", "bizOrderNo": null
        }));
        assert_eq!(
            same.digest(),
            digest,
            "spelling and explicit nulls do not count"
        );
        let changes: [fn(&mut StartParams); 16] = [
            |p| p.biz_allocation_no.push('0'),
            |p| p.order_no = None,
            |p| p.biz_order_no = Some(String::new()),
            |p| p.description = Some("测试分".into()),
            |p| p.group_no = Some("g".into()),
            |p| p.notify_url = Some("https://m.example/n".into()),
            |p| p.attach = None,
            |p| p.not_notify = Some(false),
            |p| p.not_notify = Some(true),
            |p| p.receivers = None,
            |p| p.receivers = Some(Vec::new()),
            |p| {
                if let Some(r) = p.receivers.as_mut() {
                    r[0].receiver_no = "1234".into();
                }
            },
            |p| {
                if let (Some(r), Ok(amount)) = (p.receivers.as_mut(), Fen::new(6001)) {
                    r[0].amount = amount;
                }
            },
            |p| {
                if let Some(r) = p.receivers.as_mut() {
                    r.push(r[0].clone());
                }
            },
            // the same bytes moved from one field to the next are still a change
            |p| {
                p.order_no = Some("DEVP2406012357496300000".into());
                p.description = Some("3测试分账".into());
            },
            |p| {
                p.attach = Some(String::new());
                p.notify_url = Some(String::new());
            },
        ];
        let mut seen = std::collections::HashSet::from([digest.clone()]);
        for (i, change) in changes.iter().enumerate() {
            let mut q = p.clone();
            change(&mut q);
            let d = q.digest();
            assert!(!p.matches_digest(&d, &digest), "change {i}");
            assert!(seen.insert(d), "change {i} collides with another");
        }
        // the order of the receivers counts
        let two = |a: &str, b: &str| {
            start(
                json!({"bizAllocationNo": "A", "orderNo": "P", "receivers": [
                {"receiverNo": a, "amount": 1}, {"receiverNo": b, "amount": 2}]}),
            )
        };
        assert_ne!(two("x", "y").digest(), two("y", "x").digest());
        assert_ne!(two("xy", "").digest(), two("x", "y").digest());
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
}

#[cfg(test)]
mod robustness {
    use super::*;
    use crate::daxpay::request::Verifier;
    use crate::daxpay::sign::{Secret, SignType, Signer};

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
