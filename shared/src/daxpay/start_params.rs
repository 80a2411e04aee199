//! `POST /unipay/allocation/start` (seed 001): its parameters, with their lengths and ranges,
//! and the explicit receivers they name. The digest that tells a repeated start from a reused
//! number is in [`super::start_digest`].

use super::envelope::ValidationError;
use super::params::check_http_url;
use super::request::{Params, check_opt_len, check_required};
use crate::domain::money::{Fen, MAX_RECEIVERS};
use serde::{Deserialize, Serialize};
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
    pub receivers: Option<Receivers>,
    pub notify_url: Option<String>,
    pub attach: Option<String>,
    /// DaxPay 2.0.7's `notNotify`: `true` sends no merchant notice for this order. (Absent from
    /// the digest text when not given, so orders started before it existed keep their digest.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_notify: Option<bool>,
    /// DaxPay 3.0.0-beta4's `title` of the allocation (its pay order's when absent). No 2.0.x
    /// request has it, so it is never read from one; a 3.x start sets it.
    #[serde(skip)]
    pub title: Option<String>,
}

/// The explicit receivers of a start request, in the order given: each number with its
/// amount, the numbers held in one string (a start reads up to 50, and one allocation for all
/// of them instead of one each is a tenth of its CPU).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receivers {
    numbers: String,
    /// Where each number ends in `numbers`, and its amount.
    ends: Vec<(usize, Fen)>,
}

/// One explicit receiver of a start request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverAmount<'a> {
    pub receiver_no: &'a str,
    pub amount: Fen,
}

impl Receivers {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of all the numbers together.
    pub fn numbers_len(&self) -> usize {
        self.numbers.len()
    }

    pub fn push(&mut self, receiver_no: &str, amount: Fen) {
        self.numbers.push_str(receiver_no);
        self.ends.push((self.numbers.len(), amount));
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = ReceiverAmount<'_>> + '_ {
        self.ends.iter().enumerate().map(|(i, (end, amount))| {
            let start = i
                .checked_sub(1)
                .and_then(|j| self.ends.get(j))
                .map_or(0, |e| e.0);
            ReceiverAmount {
                // every end was a length of `numbers`, so each range is a whole number
                receiver_no: self.numbers.get(start..*end).unwrap_or_default(),
                amount: *amount,
            }
        })
    }
}

impl<'a> FromIterator<(&'a str, Fen)> for Receivers {
    fn from_iter<I: IntoIterator<Item = (&'a str, Fen)>>(items: I) -> Self {
        let mut receivers = Receivers::default();
        for (receiver_no, amount) in items {
            receivers.push(receiver_no, amount);
        }
        receivers
    }
}

/// A receiver as it is read: the number borrowed from the parsed body where it can be.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReceiverItem<'a> {
    #[serde(borrow)]
    receiver_no: std::borrow::Cow<'a, str>,
    amount: Fen,
}

impl<'de> Deserialize<'de> for Receivers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct List;
        impl<'de> serde::de::Visitor<'de> for List {
            type Value = Receivers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                // serde's wording for a Vec, which the error messages are built on
                f.write_str("a sequence")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Receivers, A::Error> {
                // at most MAX_RECEIVERS pass validation; more are read only to be refused
                let n = seq.size_hint().unwrap_or(0).min(MAX_RECEIVERS);
                let mut receivers = Receivers {
                    numbers: String::with_capacity(16 * n),
                    ends: Vec::with_capacity(n),
                };
                while let Some(item) = seq.next_element::<ReceiverItem<'de>>()? {
                    receivers.push(&item.receiver_no, item.amount);
                }
                Ok(receivers)
            }
        }
        d.deserialize_seq(List)
    }
}

/// Written as a list of `{"receiverNo", "amount"}` objects (the first form of the digest is
/// this JSON text).
impl Serialize for Receivers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for r in self.iter() {
            seq.serialize_element(&r)?;
        }
        seq.end()
    }
}

impl Serialize for ReceiverAmount<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ReceiverAmount", 2)?;
        st.serialize_field("receiverNo", self.receiver_no)?;
        st.serialize_field("amount", &self.amount)?;
        st.end()
    }
}

impl Params for StartParams {
    /// A start claims the nonce with its bizAllocationNo, in the create transaction: a replay
    /// meets the claim and is refused as a replay (SPEC §3).
    const CLAIMS_NONCE: bool = true;

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
        let listed = self.receivers.as_ref();
        let mut seen = HashSet::with_capacity(listed.map_or(0, Receivers::len));
        for (i, r) in listed.into_iter().flat_map(Receivers::iter).enumerate() {
            // the field's name is only written out for an error
            let field = || format!("receivers[{i}].receiverNo");
            check_required("", r.receiver_no, 32).map_err(|e| ValidationError {
                field: field(),
                ..e
            })?;
            if !seen.insert(r.receiver_no) {
                return Err(ValidationError::new(field(), "is listed more than once"));
            }
        }
        Ok(())
    }
}

impl StartParams {
    /// The explicit receivers, if any were given (`[]` counts as none, as it is not signed).
    pub fn explicit_receivers(&self) -> Option<&Receivers> {
        self.receivers.as_ref().filter(|r| !r.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daxpay::params::tests::{NOW, error_of, signed, verifier};
    use serde_json::json;

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

    /// The explicit receivers of `p`, as numbers and amounts.
    fn listed(p: &StartParams) -> Vec<(&str, i64)> {
        let list = p.explicit_receivers().into_iter().flat_map(Receivers::iter);
        list.map(|r| (r.receiver_no, r.amount.get())).collect()
    }

    #[test]
    fn seed_start_request_parses() {
        let body = r#"{"bizAllocationNo":"A29729","orderNo":"DEVP24060123574963000003","description":"测试分账","receivers":[{"receiverNo":"123","amount":6000}],"attach":"88899","clientIp":"127.0.0.1","sign":"fbe24cb131ee86ff76b66b8d7909169b26b805ac2195969caf18d0079ba4beea","reqTime":1717261696}"#;
        let v = verifier().verify::<StartParams>(body.as_bytes(), 1_717_261_700);
        let v = match v {
            Ok(v) => v,
            Err(e) => panic!("seed request refused: {e}"),
        };
        let listed = listed(&v.params);
        assert_eq!(listed, [("123", 6000)]);
        assert_eq!(v.common.client_ip.as_deref(), Some("127.0.0.1"));
    }

    /// The numbers and amounts read are those sent, in their order, escaped or not, and are
    /// written back as the objects they were read from.
    #[test]
    fn receivers_keep_their_numbers_amounts_and_order() {
        let list = json!([
            {"receiverNo": "r2", "amount": 2}, {"receiverNo": "r\u{e9}\"1", "amount": 1},
            {"receiverNo": "中文", "amount": 30}, {"receiverNo": "r2x", "amount": 100000000000i64}
        ]);
        let body = signed(
            json!({"bizAllocationNo": "A", "orderNo": "P", "reqTime": NOW, "receivers": list}),
        );
        let v = verifier().verify::<StartParams>(&body, NOW);
        let Ok(v) = v else {
            panic!("refused: {v:?}");
        };
        let listed = listed(&v.params);
        assert_eq!(
            listed,
            [
                ("r2", 2),
                ("ré\"1", 1),
                ("中文", 30),
                ("r2x", 100_000_000_000)
            ]
        );
        assert_eq!(serde_json::to_value(&v.params.receivers).ok(), Some(list));
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
            previous: None,
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
