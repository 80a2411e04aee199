//! Alipay OpenAPI gateway client (RSA2; public-key or certificate mode) for royalty settlement
//! (SPEC §6.2). Certificate mode adds `app_cert_sn` / `alipay_root_cert_sn` to every request
//! and checks the answer's `alipay_cert_sn` ([`super::alipay_cert`]).
//!
//! Requests: every non-empty parameter except `sign`, sorted by key, joined `k=v&...` with raw
//! values, signed SHA256withRSA with the app private key; sent as a form POST.
//! Answers: the signature covers the exact bytes of the `<method>_response` member's JSON text;
//! nothing in an answer is read before those bytes verify. `code` 10000 is success, 40004 a
//! business refusal (`sub_code`/`sub_msg`), 20000 busy (retryable); anything unsigned or
//! unverifiable is an unknown outcome, never acted on.

use super::alipay_cert::CertSns;
use super::{
    Accepted, Account, ChannelError, Share, ShareResult, ShareState, fen_to_yuan, transport,
};
use crate::crypto::{RsaSigner, RsaVerifier};
use crate::model::ReceiverType;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::fmt;
use std::time::Duration;
use time::OffsetDateTime;
use time::macros::{format_description, offset};

pub const DEFAULT_GATEWAY: &str = "https://openapi.alipay.com/gateway.do";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(8);

/// The Alipay app of this deployment.
#[derive(Debug)]
pub struct AlipayConfig {
    pub gateway_url: String,
    pub app_id: String,
    /// The app's private key (signs requests).
    pub app_key: RsaSigner,
    /// Alipay's public key (verifies answers and notifications).
    pub alipay_key: RsaVerifier,
    pub notify_url: Option<String>,
    pub timeout: Duration,
    /// Certificate mode: the SNs sent with every request (`alipay_key` then comes from
    /// Alipay's certificate). `None`: public-key mode.
    pub cert: Option<CertSns>,
}

/// A client of one Alipay app.
#[derive(Debug)]
pub struct AlipayClient {
    config: AlipayConfig,
    http: reqwest::Client,
}

const BEIJING_TIME: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// `yyyy-MM-dd HH:mm:ss` in Beijing time.
pub fn beijing_timestamp(epoch_secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(epoch_secs)
        .map(|t| t.to_offset(offset!(+8)))
        .ok()
        .and_then(|t| t.format(BEIJING_TIME).ok())
        .unwrap_or_default()
}

/// Parses a Beijing-time `yyyy-MM-dd HH:mm:ss` into epoch seconds.
pub fn parse_beijing_timestamp(text: &str) -> Option<i64> {
    time::PrimitiveDateTime::parse(text, BEIJING_TIME)
        .ok()
        .map(|t| t.assume_offset(offset!(+8)).unix_timestamp())
}

/// Alipay's name for a receiver account type.
pub fn trans_in_type(t: ReceiverType) -> Result<&'static str, ChannelError> {
    match t {
        ReceiverType::AliUserId => Ok("userId"),
        ReceiverType::AliOpenId => Ok("openId"),
        ReceiverType::AliLoginName => Ok("loginName"),
        ReceiverType::WxPersonal | ReceiverType::WxMerchant => Err(ChannelError::Rejected {
            code: "RECEIVER_TYPE".into(),
            msg: format!("{t} is not an Alipay receiver type"),
        }),
    }
}

fn receiver_type_of(alipay_type: &str) -> Option<ReceiverType> {
    match alipay_type {
        "userId" => Some(ReceiverType::AliUserId),
        "openId" => Some(ReceiverType::AliOpenId),
        "loginName" => Some(ReceiverType::AliLoginName),
        _ => None,
    }
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

impl<'de> serde::Deserialize<'de> for RawMembers {
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

/// The verified business node of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Node(pub Value);

impl Node {
    fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
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
    let value: Value = serde_json::from_str(node.get()).map_err(|_| unknown("node is not JSON"))?;
    if !value.is_object() {
        return Err(unknown("node is not an object"));
    }
    Ok(Node(value))
}

/// Classifies a verified node by its `code`.
fn classify(method: &str, node: Node) -> Result<Node, ChannelError> {
    let code = node.str("code").unwrap_or("").to_owned();
    let msg = node
        .str("sub_msg")
        .or_else(|| node.str("msg"))
        .unwrap_or("")
        .to_owned();
    match code.as_str() {
        "10000" => Ok(node),
        // Business failure, or a request Alipay refused outright (bad params, no permission):
        // either way nothing was executed.
        "40004" | "40001" | "40002" | "40003" | "40006" => Err(ChannelError::Rejected {
            code: node.str("sub_code").unwrap_or(&code).to_owned(),
            msg: msg.to_owned(),
        }),
        other => Err(ChannelError::Ambiguous(format!(
            "{method}: code {other} {msg}"
        ))),
    }
}

impl AlipayClient {
    pub fn new(config: AlipayConfig) -> Result<Self, ChannelError> {
        let http = super::http_client(config.timeout)?;
        Ok(Self { config, http })
    }

    pub fn app_id(&self) -> &str {
        &self.config.app_id
    }

    pub fn alipay_key(&self) -> &RsaVerifier {
        &self.config.alipay_key
    }

    /// Calls `method` with `biz` and returns the verified node of a `10000` answer.
    pub async fn call(&self, method: &str, biz: &Value, now: i64) -> Result<Node, ChannelError> {
        let biz_content = biz.to_string();
        let timestamp = beijing_timestamp(now);
        let mut params: Vec<(&str, &str)> = vec![
            ("app_id", &self.config.app_id),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", &timestamp),
            ("version", "1.0"),
            ("biz_content", &biz_content),
        ];
        if let Some(url) = &self.config.notify_url {
            params.push(("notify_url", url));
        }
        if let Some(cert) = &self.config.cert {
            params.push(("app_cert_sn", &cert.app_cert_sn));
            params.push(("alipay_root_cert_sn", &cert.root_cert_sn));
        }
        let content = sign_content(params.iter().copied(), &["sign"]);
        let sign = self
            .config
            .app_key
            .sign_base64(content.as_bytes())
            .map_err(|e| ChannelError::Ambiguous(format!("{method}: {e}")))?;
        params.push(("sign", &sign));
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let response = self
            .http
            .post(&self.config.gateway_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(form)
            .send()
            .await
            .map_err(|e| ChannelError::Ambiguous(format!("{method}: {}", transport(&e))))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| ChannelError::Ambiguous(format!("{method}: {}", transport(&e))))?;
        if !status.is_success() {
            return Err(ChannelError::Ambiguous(format!("{method}: HTTP {status}")));
        }
        classify(
            method,
            verify_answer(
                &body,
                method,
                &self.config.alipay_key,
                self.config.cert.as_ref().map(|c| c.alipay_cert_sn.as_str()),
            )?,
        )
    }

    /// `alipay.trade.order.settle` in async royalty mode. `out_request_no` is our allocationNo,
    /// so a retry is idempotent at Alipay.
    pub async fn settle(
        &self,
        trade_no: &str,
        out_request_no: &str,
        shares: &[Share],
        now: i64,
    ) -> Result<Accepted, ChannelError> {
        let mut rows = Vec::new();
        for share in shares.iter().filter(|s| s.amount > 0) {
            let trans_in_type = trans_in_type(share.account.receiver_type)?;
            let mut row = json!({
                "royalty_type": "transfer",
                "trans_in_type": trans_in_type,
                "trans_in": share.account.account,
                "amount": fen_to_yuan(share.amount),
            });
            if let Some(desc) = &share.description {
                row["desc"] = json!(desc);
            }
            rows.push(row);
        }
        let biz = json!({
            "out_request_no": out_request_no,
            "trade_no": trade_no,
            "royalty_parameters": rows,
            "royalty_mode": "async",
        });
        let node = self.call("alipay.trade.order.settle", &biz, now).await?;
        Ok(Accepted {
            out_allocation_no: node.str("settle_no").map(str::to_owned),
        })
    }

    /// Finish: a settle with no royalty rows and `royalty_finish="true"`, which releases what
    /// is still frozen. Its request number is `allocationNo + "F"`.
    pub async fn finish(
        &self,
        trade_no: &str,
        out_request_no: &str,
        now: i64,
    ) -> Result<(), ChannelError> {
        let biz = json!({
            "out_request_no": out_request_no,
            "trade_no": trade_no,
            "extend_params": {"royalty_finish": "true"},
            "royalty_mode": "async",
        });
        self.call("alipay.trade.order.settle", &biz, now)
            .await
            .map(|_| ())
    }

    /// `alipay.trade.order.settle.query` by trade and request number; `None` when Alipay has
    /// no such settle (`ACQ.TRADE_NOT_EXIST`).
    pub async fn settle_query(
        &self,
        trade_no: &str,
        out_request_no: &str,
        now: i64,
    ) -> Result<Option<Vec<ShareResult>>, ChannelError> {
        let biz = json!({"trade_no": trade_no, "out_request_no": out_request_no});
        match self
            .call("alipay.trade.order.settle.query", &biz, now)
            .await
        {
            Ok(node) => Ok(Some(royalty_details(&node.0))),
            Err(ChannelError::Rejected { code, .. }) if code == "ACQ.TRADE_NOT_EXIST" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `alipay.trade.royalty.relation.bind` with a fresh request number.
    pub async fn bind(
        &self,
        account: &Account,
        out_request_no: &str,
        now: i64,
    ) -> Result<(), ChannelError> {
        let biz = json!({"out_request_no": out_request_no, "receiver_list": [relation(account)?]});
        self.call("alipay.trade.royalty.relation.bind", &biz, now)
            .await
            .map(|_| ())
    }

    /// `alipay.trade.royalty.relation.unbind`; an unknown relation (`USER_NOT_EXIST`) is done.
    pub async fn unbind(
        &self,
        account: &Account,
        out_request_no: &str,
        now: i64,
    ) -> Result<(), ChannelError> {
        let biz = json!({"out_request_no": out_request_no, "receiver_list": [relation(account)?]});
        match self
            .call("alipay.trade.royalty.relation.unbind", &biz, now)
            .await
        {
            Ok(_) => Ok(()),
            Err(ChannelError::Rejected { code, .. }) if code == "USER_NOT_EXIST" => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// How far a notification's `utc_timestamp` may lie in the past (Alipay retries for about a
/// day) or the future.
pub const NOTIFY_MAX_AGE_SECS: i64 = 25 * 3600;
pub const NOTIFY_MAX_AHEAD_SECS: i64 = 300;

/// Verifies an `alipay.trade.order.settle.notify` form (RSA2 over the sorted parameters
/// without `sign` and `sign_type`), checks it is for our app and recent, and returns its
/// `biz_content`. `Err` says why, safe to log.
pub fn verify_notification(
    pairs: &[(String, String)],
    alipay_key: &RsaVerifier,
    app_id: &str,
    now: i64,
) -> Result<Value, String> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err("a parameter appears twice".into());
    }
    let sign = get("sign").ok_or("not signed")?;
    let content = sign_content(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &["sign", "sign_type"],
    );
    if !alipay_key.verify_base64(content.as_bytes(), sign) {
        return Err("signature does not verify".into());
    }
    if get("app_id") != Some(app_id) {
        return Err("notification for another app".into());
    }
    if get("msg_method") != Some("alipay.trade.order.settle.notify") {
        return Err("not a settle notification".into());
    }
    let sent_ms: i64 = get("utc_timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or("no utc_timestamp")?;
    let age = now - sent_ms / 1000;
    if !(-NOTIFY_MAX_AHEAD_SECS..=NOTIFY_MAX_AGE_SECS).contains(&age) {
        return Err(format!("stale notification ({age} s old)"));
    }
    let biz: Value = serde_json::from_str(get("biz_content").ok_or("no biz_content")?)
        .map_err(|_| "biz_content is not JSON".to_owned())?;
    if !biz.is_object() {
        return Err("biz_content is not an object".into());
    }
    Ok(biz)
}

fn relation(account: &Account) -> Result<Value, ChannelError> {
    let kind = trans_in_type(account.receiver_type)?;
    let mut r = json!({"type": kind, "account": account.account});
    if let Some(name) = &account.name {
        r["name"] = json!(name);
    }
    Ok(r)
}

/// The rows of `royalty_detail_list` (query answers and settle notifications) of type
/// `transfer`, as our detail states.
pub fn royalty_details(node: &Value) -> Vec<ShareResult> {
    node.get("royalty_detail_list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| {
            r.get("operation_type")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "transfer")
        })
        .filter_map(|r| {
            let s = |k: &str| r.get(k).and_then(Value::as_str);
            let receiver_type = receiver_type_of(s("trans_in_type").unwrap_or("userId"))?;
            let account = s("trans_in")?.to_owned();
            let finish_time = s("execute_dt").and_then(parse_beijing_timestamp);
            let state = match s("state")? {
                "SUCCESS" => ShareState::Success { finish_time },
                "FAIL" => ShareState::Fail {
                    code: s("error_code").unwrap_or("FAIL").to_owned(),
                    msg: s("error_desc").unwrap_or("").to_owned(),
                    finish_time,
                },
                _ => ShareState::Pending,
            };
            Some(ShareResult {
                receiver_type,
                account,
                state,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::generate_rsa_keypair;

    fn keys() -> (RsaSigner, RsaVerifier) {
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
        let node = "{ \"code\" : \"10000\",\n \"msg\":\"Success\",\"settle_no\":\"S1\" }";
        let body = answer(&signer, node, node);
        let verified = verify_answer(&body, "alipay.trade.order.settle", &verifier, None);
        assert_eq!(
            verified.map(|n| n.str("settle_no").map(str::to_owned)),
            Ok(Some("S1".to_owned()))
        );
    }

    #[test]
    fn tampered_unsigned_or_shadowed_answers_are_unknown() {
        let (signer, verifier) = keys();
        let node = r#"{"code":"10000","msg":"Success","settle_no":"S1"}"#;
        let altered = node.replace("S1", "S2");
        let m = "alipay.trade.order.settle";
        assert!(matches!(
            verify_answer(&answer(&signer, &altered, node), m, &verifier, None),
            Err(ChannelError::Ambiguous(_))
        ));
        let unsigned = format!(r#"{{"alipay_trade_order_settle_response":{node}}}"#);
        assert!(matches!(
            verify_answer(&unsigned, m, &verifier, None),
            Err(ChannelError::Ambiguous(_))
        ));
        let good = answer(&signer, node, node);
        let shadowed = good.replacen(
            '{',
            &format!("{{\"alipay_trade_order_settle_response\":{altered},"),
            1,
        );
        assert!(matches!(
            verify_answer(&shadowed, m, &verifier, None),
            Err(ChannelError::Ambiguous(_))
        ));
        let (other_signer, _) = keys();
        assert!(matches!(
            verify_answer(&answer(&other_signer, node, node), m, &verifier, None),
            Err(ChannelError::Ambiguous(_))
        ));
    }

    #[test]
    fn codes_are_classified() {
        let n = |v: Value| Node(v);
        assert!(classify("m", n(json!({"code":"10000"}))).is_ok());
        assert_eq!(
            classify(
                "m",
                n(
                    json!({"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"})
                )
            ),
            Err(ChannelError::Rejected {
                code: "ACQ.TRADE_NOT_EXIST".into(),
                msg: "交易不存在".into()
            })
        );
        assert!(matches!(
            classify("m", n(json!({"code":"20000"}))),
            Err(ChannelError::Ambiguous(_))
        ));
        assert!(matches!(
            classify("m", n(json!({}))),
            Err(ChannelError::Ambiguous(_))
        ));
    }

    #[test]
    fn beijing_time_round_trip() {
        assert_eq!(beijing_timestamp(1_719_475_200), "2024-06-27 16:00:00");
        assert_eq!(
            parse_beijing_timestamp("2024-06-27 16:00:00"),
            Some(1_719_475_200)
        );
    }

    #[test]
    fn royalty_rows_map_to_states() {
        let node = json!({"royalty_detail_list": [
            {"operation_type":"transfer","trans_in":"2088","trans_in_type":"userId","state":"SUCCESS","execute_dt":"2024-06-27 16:00:00","amount":"1.00"},
            {"operation_type":"transfer","trans_in":"a@b.c","trans_in_type":"loginName","state":"FAIL","error_code":"TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH","error_desc":"分账余额不足"},
            {"operation_type":"transfer","trans_in":"o1","trans_in_type":"openId","state":"PROCESSING"},
            {"operation_type":"transfer_refund","trans_in":"2088","trans_in_type":"userId","state":"SUCCESS"}
        ]});
        let rows = royalty_details(&node);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0].state,
            ShareState::Success {
                finish_time: Some(1_719_475_200)
            }
        );
        assert!(
            matches!(&rows[1].state, ShareState::Fail { code, .. } if code == "TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH")
        );
        assert_eq!(
            (rows[2].receiver_type, &rows[2].state),
            (ReceiverType::AliOpenId, &ShareState::Pending)
        );
    }
}
