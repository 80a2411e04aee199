//! Alipay's OpenAPI wire format: the RSA2 sign content, the typed `biz_content` of each call
//! and of each answer node, and reading a signed answer (SPEC §6.2). Nothing in an answer is
//! read before the exact bytes of its `<method>_response` member verify.

use crate::domain::{ChannelError, ReceiverType};
use crate::infra::crypto::RsaVerifier;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::fmt;

pub const SETTLE: &str = "alipay.trade.order.settle";
pub const SETTLE_QUERY: &str = "alipay.trade.order.settle.query";
pub const ONSETTLE_QUERY: &str = "alipay.trade.order.onsettle.query";
pub const BIND: &str = "alipay.trade.royalty.relation.bind";
pub const UNBIND: &str = "alipay.trade.royalty.relation.unbind";

/// Alipay's name for a receiver account type.
pub fn trans_in_type(t: ReceiverType) -> Result<&'static str, ChannelError> {
    match t {
        ReceiverType::AliUserId => Ok("userId"),
        ReceiverType::AliOpenId => Ok("openId"),
        ReceiverType::AliLoginName => Ok("loginName"),
        ReceiverType::WxPersonal | ReceiverType::WxPersonalSub | ReceiverType::WxMerchant => {
            Err(ChannelError::Rejected {
                code: "RECEIVER_TYPE".into(),
                msg: format!("{t} is not an Alipay receiver type"),
            })
        }
    }
}

/// `alipay.trade.order.settle`: a split (rows) or, with no rows and `royalty_finish`, the
/// release of what is still frozen.
#[derive(Debug, Serialize)]
pub struct SettleBiz<'a> {
    pub out_request_no: &'a str,
    pub trade_no: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub royalty_parameters: Vec<RoyaltyRow<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend_params: Option<ExtendParams>,
    pub royalty_mode: &'static str,
}

#[derive(Debug, Serialize)]
pub struct RoyaltyRow<'a> {
    pub royalty_type: &'static str,
    pub trans_in_type: &'static str,
    pub trans_in: &'a str,
    /// Yuan with two decimals.
    pub amount: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct ExtendParams {
    pub royalty_finish: &'static str,
}

/// `alipay.trade.order.settle.query`.
/// `alipay.trade.order.onsettle.query`.
#[derive(Debug, Serialize)]
pub struct OnsettleQueryBiz<'a> {
    pub trade_no: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct OnsettleAnswer {
    pub unsettled_amount: String,
}

#[derive(Debug, Serialize)]
pub struct SettleQueryBiz<'a> {
    pub trade_no: &'a str,
    pub out_request_no: &'a str,
}

/// `alipay.trade.royalty.relation.bind` / `.unbind`.
#[derive(Debug, Serialize)]
pub struct RelationBiz<'a> {
    pub out_request_no: &'a str,
    pub receiver_list: Vec<RelationRow<'a>>,
}

#[derive(Debug, Serialize)]
pub struct RelationRow<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub account: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
}

/// The members every answer node has.
#[derive(Debug, Default, Deserialize)]
pub struct Status {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub msg: String,
    pub sub_code: Option<String>,
    pub sub_msg: Option<String>,
}

/// The answer node of a settle.
#[derive(Debug, Default, Deserialize)]
pub struct SettleAnswer {
    pub settle_no: Option<String>,
}

/// The sorted `k=v&...` string that RSA2 signs (empty values and `sign` left out; for
/// notifications the caller also leaves out `sign_type`).
pub fn sign_content<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    skip: &[&str],
) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(k, v)| !v.is_empty() && !skip.contains(k))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Top-level members of an answer, each kept as its exact text. A member named twice is an
/// error (the signed node could otherwise be shadowed).
struct RawMembers(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for RawMembers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMembers;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMembers, A::Error> {
                let mut out: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format!("member {key} appears twice")));
                    }
                    out.push((key, map.next_value()?));
                }
                Ok(RawMembers(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The verified business node of an answer, as its exact text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node(String);

impl Node {
    /// The node as `T` (`Ambiguous` if it does not have that shape: we cannot act on it).
    pub fn parse<T: DeserializeOwned>(&self, method: &str) -> Result<T, ChannelError> {
        serde_json::from_str(&self.0).map_err(|_| {
            ChannelError::Ambiguous(format!("{method}: answer node of an unexpected shape"))
        })
    }
}

/// Extracts and verifies the node of an answer to `method`. Pure, for tests of tampering.
///
/// `cert_sn`: in certificate mode, the SN of our Alipay certificate. An answer naming another
/// `alipay_cert_sn` means Alipay rotated its certificate: it is not acted on (the outcome stays
/// unknown until the new certificate is configured). An answer naming none is checked by its
/// signature alone.
pub fn verify_answer(
    body: &str,
    method: &str,
    alipay_key: &RsaVerifier,
    cert_sn: Option<&str>,
) -> Result<Node, ChannelError> {
    let unknown = |why: &str| ChannelError::Ambiguous(format!("{method}: {why}"));
    let members: RawMembers = serde_json::from_str(body)
        .map_err(|_| unknown("answer is not a well-formed JSON object"))?;
    let node_name = format!("{}_response", method.replace('.', "_"));
    let mut node = None;
    let mut sign = None;
    for (k, v) in &members.0 {
        if *k == node_name || (k == "error_response" && node.is_none()) {
            node = Some(v);
        } else if k == "sign" {
            sign = serde_json::from_str::<String>(v.get()).ok();
        } else if k == "alipay_cert_sn"
            && let (Some(ours), Ok(theirs)) = (cert_sn, serde_json::from_str::<String>(v.get()))
            && theirs != ours
        {
            return Err(unknown(&format!(
                "answer signed with Alipay certificate {theirs}, configured is {ours} (rotated? update alipayCert)"
            )));
        }
    }
    let node = node.ok_or_else(|| unknown("answer has no response node"))?;
    let sign = sign.ok_or_else(|| unknown("answer is not signed"))?;
    if !alipay_key.verify_base64(node.get().as_bytes(), &sign) {
        return Err(unknown("answer signature does not verify"));
    }
    if !node.get().trim_start().starts_with('{') {
        return Err(unknown("node is not an object"));
    }
    Ok(Node(node.get().to_owned()))
}

/// Classifies a verified node by its `code`: `10000` done, a refusal (nothing executed), or
/// anything else unknown.
pub fn classify(method: &str, node: Node) -> Result<Node, ChannelError> {
    let status: Status = node.parse(method)?;
    let msg = status.sub_msg.clone().unwrap_or(status.msg);
    match status.code.as_str() {
        "10000" => Ok(node),
        // Business failure, or a request Alipay refused outright (bad params, no permission):
        // either way nothing was executed.
        // ... unless it only says the trade or the request is still in hand: no verdict yet
        // 20001: the token or permission does not hold (授权权限不足): nothing was executed
        "40004" | "40001" | "40002" | "40003" | "40006" | "20001" => Err(ChannelError::refusal(
            status.sub_code.unwrap_or(status.code),
            msg,
        )),
        other => Err(ChannelError::Ambiguous(format!(
            "{method}: code {other} {msg}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::crypto::{RsaSigner, generate_rsa_keypair};

    pub(crate) fn keys() -> (RsaSigner, RsaVerifier) {
        let Ok((private, public)) = generate_rsa_keypair() else {
            panic!("keygen");
        };
        match (
            RsaSigner::from_pkcs8_base64("k", &private),
            RsaVerifier::from_spki_base64("p", &public),
        ) {
            (Ok(s), Ok(v)) => (s, v),
            _ => panic!("keys"),
        }
    }

    fn answer(signer: &RsaSigner, node_text: &str, signed_text: &str) -> String {
        let sign = signer
            .sign_base64(signed_text.as_bytes())
            .unwrap_or_default();
        format!(r#"{{"alipay_trade_order_settle_response":{node_text},"sign":"{sign}"}}"#)
    }

    fn node(v: serde_json::Value) -> Node {
        Node(v.to_string())
    }

    #[test]
    fn sign_content_sorts_and_skips_empty() {
        let c = sign_content(
            [("b", "2"), ("a", "1"), ("sign", "x"), ("e", "")],
            &["sign"],
        );
        assert_eq!(c, "a=1&b=2");
        let c = sign_content([("sign_type", "RSA2"), ("a", "1")], &["sign", "sign_type"]);
        assert_eq!(c, "a=1");
    }

    #[test]
    fn verifies_exact_node_bytes_including_whitespace() {
        let (signer, verifier) = keys();
        let text = "{ \"code\" : \"10000\",\n \"msg\":\"Success\",\"settle_no\":\"S1\" }";
        let body = answer(&signer, text, text);
        let verified = verify_answer(&body, SETTLE, &verifier, None)
            .and_then(|n| n.parse::<SettleAnswer>(SETTLE));
        assert_eq!(verified.map(|a| a.settle_no), Ok(Some("S1".to_owned())));
    }

    #[test]
    fn tampered_unsigned_or_shadowed_answers_are_unknown() {
        let (signer, verifier) = keys();
        let text = r#"{"code":"10000","msg":"Success","settle_no":"S1"}"#;
        let altered = text.replace("S1", "S2");
        let unknown = |r: Result<Node, ChannelError>| matches!(r, Err(ChannelError::Ambiguous(_)));
        assert!(unknown(verify_answer(
            &answer(&signer, &altered, text),
            SETTLE,
            &verifier,
            None
        )));
        let unsigned = format!(r#"{{"alipay_trade_order_settle_response":{text}}}"#);
        assert!(unknown(verify_answer(&unsigned, SETTLE, &verifier, None)));
        let good = answer(&signer, text, text);
        let shadowed = good.replacen(
            '{',
            &format!("{{\"alipay_trade_order_settle_response\":{altered},"),
            1,
        );
        assert!(unknown(verify_answer(&shadowed, SETTLE, &verifier, None)));
        let (other_signer, _) = keys();
        assert!(unknown(verify_answer(
            &answer(&other_signer, text, text),
            SETTLE,
            &verifier,
            None
        )));
    }

    #[test]
    fn codes_are_classified() {
        use serde_json::json;
        assert!(classify("m", node(json!({"code":"10000"}))).is_ok());
        assert_eq!(
            classify(
                "m",
                node(
                    json!({"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"})
                )
            ),
            Err(ChannelError::Rejected {
                code: "ACQ.TRADE_NOT_EXIST".into(),
                msg: "交易不存在".into()
            })
        );
        assert!(matches!(
            classify("m", node(json!({"code":"20000"}))),
            Err(ChannelError::Ambiguous(_))
        ));
        // "still being processed" is no verdict: never taken for a refusal
        assert!(matches!(
            classify(
                "m",
                node(
                    json!({"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR","sub_msg":"订单处理中"})
                )
            ),
            Err(ChannelError::Pending { .. })
        ));
        assert!(matches!(
            classify("m", node(json!({}))),
            Err(ChannelError::Ambiguous(_))
        ));
    }
}
