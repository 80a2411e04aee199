//! DaxPay's Java SDKs (2.0.7 and 2.0.8) against our answers, the way the SDK reads them: it
//! deserialises `data` into the endpoint's model and verifies by re-signing **that model** with
//! its `PaySignUtil`, so a member the model lacks, a renamed member or a differently escaped
//! character in a nested list breaks a correct-looking signature.
//!
//! The SDK side here is written from the SDK's behaviour (SPEC §2.4, §3), not from our signing
//! code: requests are signed the SDK's way, every answer's members are checked against the
//! model's list, and its signature is recomputed over the model's members only, with Hutool's
//! escaping of nested JSON. Every scenario runs per channel, SDK generation and sign type.

use crate::common::harness::{Harness, Kind, Sink, fast_jobs};
use crate::common::{call, envelope, now};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use shared::daxpay::sign::{Secret, SignType, Signer};
use std::time::Duration;

/// Which SDK a merchant runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sdk {
    V207,
    V208,
}

impl Sdk {
    /// The SDK's name for a member we write with its 2.0.7 name.
    fn name(self, name: &str) -> &str {
        match (self, name) {
            (Sdk::V208, "allocationNo") => "allocNo",
            (Sdk::V208, "bizAllocationNo") => "bizAllocNo",
            (Sdk::V208, "outAllocationNo") => "outAllocNo",
            _ => name,
        }
    }
}

/// How the SDK turns a model member into sign-string text.
#[derive(Clone, Copy)]
enum Ty {
    /// String, Integer, Long: `String.valueOf`.
    Scalar,
    /// `LocalDateTime`: the SDK writes it as JSON of its fields, which no server signs.
    Time,
    /// A list of nested models: JSON text of case-insensitively sorted maps of strings.
    List(&'static [(&'static str, Ty)]),
}

const COMMON: [(&str, Ty); 4] = [
    ("code", Ty::Scalar),
    ("msg", Ty::Scalar),
    ("resTime", Ty::Scalar),
    ("sign", Ty::Scalar),
];
const ALLOCATION_MODEL: &[(&str, Ty)] = &[
    ("allocationNo", Ty::Scalar),
    ("bizAllocationNo", Ty::Scalar),
    ("status", Ty::Scalar),
];
const COMMON_ONLY: &[(&str, Ty)] = &[];
const ALLOC_ORDER_DETAIL_MODEL: &[(&str, Ty)] = &[
    ("receiverNo", Ty::Scalar),
    ("amount", Ty::Scalar),
    ("rate", Ty::Scalar),
    ("receiverType", Ty::Scalar),
    ("receiverAccount", Ty::Scalar),
    ("receiverName", Ty::Scalar),
    ("result", Ty::Scalar),
    ("errorCode", Ty::Scalar),
    ("errorMsg", Ty::Scalar),
    ("finishTime", Ty::Time),
];
const ALLOC_ORDER_MODEL: &[(&str, Ty)] = &[
    ("allocationNo", Ty::Scalar),
    ("bizAllocationNo", Ty::Scalar),
    ("outAllocationNo", Ty::Scalar),
    ("orderNo", Ty::Scalar),
    ("bizOrderNo", Ty::Scalar),
    ("outOrderNo", Ty::Scalar),
    ("title", Ty::Scalar),
    ("channel", Ty::Scalar),
    ("amount", Ty::Scalar),
    ("description", Ty::Scalar),
    ("status", Ty::Scalar),
    ("result", Ty::Scalar),
    ("errorCode", Ty::Scalar),
    ("errorMsg", Ty::Scalar),
    ("finishTime", Ty::Time),
    ("details", Ty::List(ALLOC_ORDER_DETAIL_MODEL)),
];
const ALLOC_RECEIVER_MODEL: &[(&str, Ty)] = &[
    ("receiverNo", Ty::Scalar),
    ("channel", Ty::Scalar),
    ("receiverType", Ty::Scalar),
    ("receiverAccount", Ty::Scalar),
    ("receiverName", Ty::Scalar),
    ("relationType", Ty::Scalar),
    ("relationName", Ty::Scalar),
];
const ALLOC_RECEIVERS_MODEL: &[(&str, Ty)] = &[("receivers", Ty::List(ALLOC_RECEIVER_MODEL))];
const ALLOC_DETAIL_NOTICE_MODEL: &[(&str, Ty)] = &[
    ("receiverNo", Ty::Scalar),
    ("amount", Ty::Scalar),
    ("receiverType", Ty::Scalar),
    ("receiverAccount", Ty::Scalar),
    ("receiverName", Ty::Scalar),
    ("result", Ty::Scalar),
    ("errorCode", Ty::Scalar),
    ("errorMsg", Ty::Scalar),
    ("finishTime", Ty::Scalar),
];
const ALLOC_NOTICE_MODEL: &[(&str, Ty)] = &[
    ("allocationNo", Ty::Scalar),
    ("bizAllocationNo", Ty::Scalar),
    ("outAllocationNo", Ty::Scalar),
    ("orderNo", Ty::Scalar),
    ("bizOrderNo", Ty::Scalar),
    ("title", Ty::Scalar),
    ("channel", Ty::Scalar),
    ("amount", Ty::Scalar),
    ("description", Ty::Scalar),
    ("status", Ty::Scalar),
    ("result", Ty::Scalar),
    ("finishTime", Ty::Scalar),
    ("attach", Ty::Scalar),
    ("details", Ty::List(ALLOC_DETAIL_NOTICE_MODEL)),
    ("errorCode", Ty::Scalar),
    ("errorMsg", Ty::Scalar),
];

/// Hutool 5.8 `JSONUtil`'s quoting of a string.
fn hutool_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        let u = c as u32;
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            _ if u < 0x20
                || (0x80..=0xa0).contains(&u)
                || (0x2000..=0x2010).contains(&u)
                || (0x2028..=0x202f).contains(&u)
                || (0x2066..=0x206f).contains(&u) =>
            {
                out.push_str(&format!("\\u{u:04x}"));
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `String.valueOf` of what the SDK deserialised.
fn java_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `String.CASE_INSENSITIVE_ORDER`.
fn ci_key(k: &str) -> Vec<char> {
    k.chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

/// `PaySignUtil.toMap` then `createLinkString` plus `&key=`: the model's members that are not
/// null (lists: not empty), with `fields` saying which members the model has (`None`: every
/// member present, as for a request object the SDK built itself). `Err` names a member the SDK
/// cannot sign as the server did (a `LocalDateTime`).
fn sdk_sign_string(
    obj: &Map<String, Value>,
    fields: Option<&[(&str, Ty)]>,
    sdk: Sdk,
    secret: &str,
) -> Result<String, String> {
    let mut members: Vec<(String, String)> = Vec::new();
    let all: Vec<(&str, Ty)>;
    let fields = match fields {
        Some(f) => f.iter().map(|(n, t)| (sdk.name(n), *t)).collect::<Vec<_>>(),
        None => {
            all = obj
                .iter()
                .map(|(k, v)| {
                    let ty = if v.is_array() {
                        Ty::List(&[])
                    } else {
                        Ty::Scalar
                    };
                    (k.as_str(), ty)
                })
                .collect();
            all
        }
    };
    for (name, ty) in fields.iter().chain(COMMON.iter()) {
        if *name == "sign" || members.iter().any(|(k, _)| k == name) {
            continue;
        }
        let Some(v) = obj.get(*name).filter(|v| !v.is_null()) else {
            continue;
        };
        let text = match ty {
            Ty::Scalar => java_text(v),
            Ty::Time => return Err(format!("{name} is a LocalDateTime")),
            Ty::List(inner) => {
                let items = v.as_array().cloned().unwrap_or_default();
                if items.is_empty() {
                    continue;
                }
                let mut parts = Vec::new();
                for item in items {
                    let Some(m) = item.as_object().cloned() else {
                        // a list of strings (ours: `receiverNos`)
                        parts.push(hutool_quote(&java_text(&item)));
                        continue;
                    };
                    let mut entries: Vec<(String, String)> = Vec::new();
                    for (k, x) in &m {
                        let ty = inner.iter().find(|(n, _)| n == k).map(|(_, t)| *t);
                        // a nested model only has its own fields; requests list what they send
                        let ty = match (ty, inner.is_empty()) {
                            (Some(t), _) => t,
                            (None, true) => Ty::Scalar,
                            (None, false) => continue,
                        };
                        if x.is_null() {
                            continue;
                        }
                        if let Ty::Time = ty {
                            return Err(format!("{name}[].{k} is a LocalDateTime"));
                        }
                        entries.push((k.clone(), java_text(x)));
                    }
                    entries.sort_by_key(|(k, _)| ci_key(k));
                    let body: Vec<String> = entries
                        .iter()
                        .map(|(k, x)| format!("{}:{}", hutool_quote(k), hutool_quote(x)))
                        .collect();
                    parts.push(format!("{{{}}}", body.join(",")));
                }
                format!("[{}]", parts.join(","))
            }
        };
        members.push(((*name).to_owned(), text));
    }
    members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    let joined: Vec<String> = members.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let joined = joined.join("&").replace(['\\', '"'], "");
    Ok(format!("{joined}&key={secret}"))
}

fn digest(sign_type: SignType, secret: &str, text: &str) -> String {
    match sign_type {
        SignType::HmacSha256 => {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            mac.update(text.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        SignType::Md5 => {
            use md5::Digest;
            hex::encode(md5::Md5::digest(text.as_bytes()))
        }
    }
}

const SECRET: &str = "contract-secret";

/// A DaxPay merchant: its SDK generation and sign type, against a harness.
struct Merchant {
    h: Harness,
    sdk: Sdk,
    sign_type: SignType,
}

impl Merchant {
    async fn new(kind: Kind, sdk: Sdk, sign_type: SignType) -> Merchant {
        let mut h = Harness::new(kind, Duration::from_secs(5)).await;
        h.app.verifier.signer = Signer::new(sign_type, Secret::new(SECRET));
        Merchant { h, sdk, sign_type }
    }

    /// The SDK's request: members the SDK sends (nulls left out), signed its way. 2.0.7 has no
    /// nonceStr.
    fn request(&self, mut body: Value) -> String {
        body["reqTime"] = json!(now());
        if self.sdk == Sdk::V208 {
            let nonce: String = crate::common::unique("n")
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(32)
                .collect();
            body["nonceStr"] = json!(nonce);
        }
        let obj = body.as_object().cloned().unwrap_or_default();
        let text = sdk_sign_string(&obj, None, self.sdk, SECRET).unwrap_or_else(|e| panic!("{e}"));
        body["sign"] = json!(digest(self.sign_type, SECRET, &text));
        body.to_string()
    }

    /// `DaxPayKit.execute`: HTTP 200, envelope code 0, and `data` verified as the SDK does it
    /// over `model`. Returns `data`.
    async fn execute(&self, path: &str, body: Value, model: &[(&str, Ty)]) -> Value {
        let r = call(&self.h.app, path, &self.request(body.clone())).await;
        let env = envelope(&r);
        assert_eq!(env["code"], 0, "{path} {body} -> {env}");
        let data = env["data"].clone();
        self.assert_model(path, &data, model);
        data
    }

    /// `data` has only members of `model` (in this SDK's names) and the common ones, and its
    /// signature is the one the SDK computes over the model it deserialised. A model with a
    /// `LocalDateTime` value cannot be re-signed by the SDK as published (SPEC §2.4): such an
    /// answer must verify over the JSON as sent.
    fn assert_model(&self, what: &str, data: &Value, model: &[(&str, Ty)]) {
        let obj = data.as_object().cloned().unwrap_or_default();
        for (k, v) in &obj {
            let known = model
                .iter()
                .chain(COMMON.iter())
                .find(|(n, _)| self.sdk.name(n) == k);
            assert!(
                known.is_some(),
                "{what}: `{k}` is not in the SDK model: {data}"
            );
            if let (Some((_, Ty::List(inner))), Value::Array(items)) = (known, v) {
                for item in items {
                    for nested in item.as_object().into_iter().flat_map(|m| m.keys()) {
                        assert!(
                            inner.iter().any(|(n, _)| n == nested),
                            "{what}: `{k}[].{nested}` is not in the SDK model"
                        );
                    }
                }
            }
        }
        let given = obj.get("sign").and_then(Value::as_str).unwrap_or_default();
        let text = match sdk_sign_string(&obj, Some(model), self.sdk, SECRET) {
            Ok(text) => text,
            Err(why) => {
                // verified over the JSON as sent: every member as text
                let as_text = sdk_sign_string(&obj, None, self.sdk, SECRET);
                assert!(what.contains("query"), "{what}: {why}");
                as_text.unwrap_or_else(|e| panic!("{e}"))
            }
        };
        assert_eq!(
            given,
            digest(self.sign_type, SECRET, &text),
            "{what}: the SDK's own check fails over {text}"
        );
    }
}

macro_rules! per_merchant {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;
            #[tokio::test]
            async fn alipay_sdk_2_0_7_hmac() {
                super::$scenario(Kind::Alipay, Sdk::V207, SignType::HmacSha256).await
            }
            #[tokio::test]
            async fn alipay_sdk_2_0_8_md5() {
                super::$scenario(Kind::Alipay, Sdk::V208, SignType::Md5).await
            }
            #[tokio::test]
            async fn wechat_sdk_2_0_7_md5() {
                super::$scenario(Kind::Wechat, Sdk::V207, SignType::Md5).await
            }
            #[tokio::test]
            async fn wechat_sdk_2_0_8_hmac() {
                super::$scenario(Kind::Wechat, Sdk::V208, SignType::HmacSha256).await
            }
        }
    )*};
}

per_merchant!(
    every_call_verifies_with_the_sdk,
    notices_verify_and_speak_the_start_s_names
);

/// A receiver name with a no-break space: Hutool escapes it in nested JSON, serde_json does not.
const NAME: &str = "门店\u{a0}A";

async fn every_call_verifies_with_the_sdk(kind: Kind, sdk: Sdk, sign_type: SignType) {
    let m = Merchant::new(kind, sdk, sign_type).await;
    let h = &m.h;
    let [(t1, a1), (t2, a2)] = h.accounts();
    let channel = h.channel();
    for (no, t, a) in [("r1", t1, a1), ("r2", t2, a2)] {
        let add = json!({"receiverNo": no, "channel": channel, "receiverType": t,
            "receiverAccount": a, "receiverName": NAME, "relationType": "PARTNER"});
        m.execute("/unipay/allocation/receiver/add", add, COMMON_ONLY)
            .await;
    }
    let listed = m
        .execute(
            "/unipay/query/allocationReceiver",
            json!({"channel": channel}),
            ALLOC_RECEIVERS_MODEL,
        )
        .await;
    assert_eq!(listed["receivers"][0]["receiverName"], NAME);
    let one = m
        .execute(
            "/unipay/query/allocationReceiver",
            json!({"receiverNo": "r1"}),
            ALLOC_RECEIVERS_MODEL,
        )
        .await;
    assert_eq!(one["receivers"].as_array().map(Vec::len), Some(1));

    let (biz, no_name) = (sdk.name("bizAllocationNo"), sdk.name("allocationNo"));
    m.paid("P1", 10000).await;
    let trade = "2026P1";
    // explicit receivers (2.0.7 also sends notNotify)
    let mut start = json!({biz: "A1", "orderNo": "P1", "description": "分账",
        "receivers": [{"receiverNo": "r1", "amount": 6000}, {"receiverNo": "r2", "amount": 1500}]});
    if sdk == Sdk::V207 {
        start["notNotify"] = json!(false);
    }
    let started = m
        .execute("/unipay/allocation/start", start.clone(), ALLOCATION_MODEL)
        .await;
    let alloc_no = started[no_name].as_str().unwrap_or_default().to_owned();
    assert!(
        !alloc_no.is_empty(),
        "{sdk:?} reads no allocation number: {started}"
    );
    assert_eq!(started["status"], "allocation_processing");
    // the repeated start is answered from the order
    let again = m
        .execute("/unipay/allocation/start", start, ALLOCATION_MODEL)
        .await;
    assert_eq!(again[no_name], alloc_no.as_str());

    // query by both numbers, before anything settled (no time yet: the SDK's check passes)
    for by in [json!({no_name: alloc_no}), json!({biz: "A1"})] {
        let q = m
            .execute("/unipay/query/allocationOrder", by, ALLOC_ORDER_MODEL)
            .await;
        assert_eq!(q[no_name], alloc_no.as_str());
        assert_eq!(q["details"][0]["receiverName"], NAME);
        assert!(q.get("finishTime").is_none());
    }
    m.execute(
        "/unipay/sync/allocation",
        json!({no_name: alloc_no}),
        COMMON_ONLY,
    )
    .await;
    h.settle(trade, &alloc_no, &[]).await;
    m.execute("/unipay/sync/allocation", json!({biz: "A1"}), COMMON_ONLY)
        .await;
    let q = m
        .execute(
            "/unipay/query/allocationOrder",
            json!({no_name: alloc_no}),
            ALLOC_ORDER_MODEL,
        )
        .await;
    assert_eq!(q["status"], "allocation_end");
    let f = m
        .execute(
            "/unipay/allocation/finish",
            json!({no_name: alloc_no}),
            ALLOCATION_MODEL,
        )
        .await;
    assert_eq!(
        (f[no_name].as_str(), &f["status"]),
        (Some(alloc_no.as_str()), &json!("finish"))
    );
    // a second finish is DaxPay's refusal, signed over the common members
    let refused = m
        .execute(
            "/unipay/allocation/finish",
            json!({biz: "A1"}),
            ALLOCATION_MODEL,
        )
        .await;
    assert_eq!(refused["code"], 1);
    assert!(
        refused["msg"]
            .as_str()
            .is_some_and(|t| t.starts_with("分账单状态错误")),
        "{refused}"
    );

    // by group, then by the channel's default group (groups are our own endpoints)
    m.ours(
        "/unipay/allocation/group/create",
        json!({"groupNo": "g1", "name": "门店组", "channel": channel}),
    )
    .await;
    m.ours(
        "/unipay/allocation/group/bind",
        json!({"groupNo": "g1", "receivers": [{"receiverNo": "r1", "rate": 3000}, {"receiverNo": "r2", "rate": 2000}]}),
    )
    .await;
    m.paid("P2", 9999).await;
    let by_group = m
        .execute(
            "/unipay/allocation/start",
            json!({biz: "A2", "orderNo": "P2", "groupNo": "g1"}),
            ALLOCATION_MODEL,
        )
        .await;
    assert_eq!(by_group["status"], "allocation_processing", "{by_group}");
    m.ours(
        "/unipay/allocation/group/setDefault",
        json!({"groupNo": "g1"}),
    )
    .await;
    m.paid("P3", 10000).await;
    let by_default = m
        .execute(
            "/unipay/allocation/start",
            json!({biz: "A3", "bizOrderNo": "BP3"}),
            ALLOCATION_MODEL,
        )
        .await;
    assert!(by_default[no_name].as_str().is_some_and(|n| !n.is_empty()));

    // receivers leave the group, then are removed
    m.ours(
        "/unipay/allocation/group/clearDefault",
        json!({"groupNo": "g1"}),
    )
    .await;
    m.ours(
        "/unipay/allocation/group/unbind",
        json!({"groupNo": "g1", "receiverNos": ["r1", "r2"]}),
    )
    .await;
    for no in ["r1", "r2"] {
        m.execute(
            "/unipay/allocation/receiver/remove",
            json!({"receiverNo": no}),
            COMMON_ONLY,
        )
        .await;
    }
    let left = m
        .execute(
            "/unipay/query/allocationReceiver",
            json!({"channel": channel}),
            ALLOC_RECEIVERS_MODEL,
        )
        .await;
    assert_eq!(left["receivers"], json!([]));
}

impl Merchant {
    /// Our own endpoints: accepted, and signed over every member as sent.
    async fn ours(&self, path: &str, body: Value) -> Value {
        let r = call(&self.h.app, path, &self.request(body.clone())).await;
        let env = envelope(&r);
        let data = env["data"].clone();
        assert_eq!(data["code"], 0, "{path} {body} -> {env}");
        let obj = data.as_object().cloned().unwrap_or_default();
        let text = sdk_sign_string(&obj, None, self.sdk, SECRET).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            obj.get("sign").and_then(Value::as_str),
            Some(digest(self.sign_type, SECRET, &text).as_str()),
            "{path}"
        );
        data
    }

    /// A DaxPay gateway's pay notice of a paid order (signed with the same secret and type),
    /// its trade seeded at the channel simulator.
    async fn paid(&self, order_no: &str, amount: i64) {
        let trade_no = format!("2026{order_no}");
        self.h.seed(&trade_no, amount);
        let mut notice = json!({"orderNo": order_no, "bizOrderNo": format!("B{order_no}"),
            "outOrderNo": trade_no, "title": "测试", "channel": self.h.channel(), "amount": amount,
            "status": "success", "allocation": true, "autoAllocation": false, "payTime": now(),
            "code": 0, "resTime": now()});
        let obj = notice.as_object().cloned().unwrap_or_default();
        let text = sdk_sign_string(&obj, None, self.sdk, SECRET).unwrap_or_else(|e| panic!("{e}"));
        notice["sign"] = json!(digest(self.sign_type, SECRET, &text));
        let r = call(&self.h.app, "/feed/pay-order", &notice.to_string()).await;
        assert_eq!(crate::common::body_text(&r), "SUCCESS");
    }
}

/// The merchant's notice handler deserialises `AllocNoticeModel` and verifies it with
/// `PaySignUtil`: every notice passes, in the names of the start that made the order.
async fn notices_verify_and_speak_the_start_s_names(kind: Kind, sdk: Sdk, sign_type: SignType) {
    let mut m = Merchant::new(kind, sdk, sign_type).await;
    let sink = Sink::start(0).await;
    let signer = m.h.app.verifier.signer.clone();
    m.h.with_queue(fast_jobs(), 3).await;
    m.h.app.verifier.signer = signer;
    m.h.app.jobs.auto_finish = true;
    let [(t1, a1), (t2, a2)] = m.h.accounts();
    for (no, t, a) in [("r1", t1, a1), ("r2", t2, a2)] {
        let add = json!({"receiverNo": no, "channel": m.h.channel(), "receiverType": t,
            "receiverAccount": a, "receiverName": NAME, "relationType": "PARTNER"});
        m.execute("/unipay/allocation/receiver/add", add, COMMON_ONLY)
            .await;
    }
    m.paid("P1", 10000).await;
    let biz = sdk.name("bizAllocationNo");
    let started = m
        .execute(
            "/unipay/allocation/start",
            json!({biz: "A1", "orderNo": "P1", "notifyUrl": sink.url, "attach": "扩展\u{2028}信息",
                "receivers": [{"receiverNo": "r1", "amount": 6000}, {"receiverNo": "r2", "amount": 1000}]}),
            ALLOCATION_MODEL,
        )
        .await;
    let no = started[sdk.name("allocationNo")]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // r2 fails at the channel; the order ends, is finished automatically and notified twice
    m.h.settle("2026P1", &no, &[a2]).await;
    m.h.run_until(Duration::from_secs(40), || async {
        sink.bodies().len() >= 2
    })
    .await;
    let bodies = sink.bodies();
    let statuses: Vec<&str> = bodies.iter().filter_map(|b| b["status"].as_str()).collect();
    assert_eq!(statuses, ["allocation_end", "finish"], "{bodies:?}");
    let other = match sdk {
        Sdk::V207 => "allocNo",
        Sdk::V208 => "allocationNo",
    };
    for body in &bodies {
        m.assert_model("notice", body, ALLOC_NOTICE_MODEL);
        assert_eq!(body[sdk.name("allocationNo")], no.as_str(), "{body}");
        assert!(body.get(other).is_none(), "{body}");
        assert_eq!(body["details"][1]["receiverName"], NAME);
        // notices keep epoch seconds (a Long in AllocNoticeModel)
        assert!(body["details"][0]["finishTime"].is_i64(), "{body}");
    }
    assert_eq!(bodies[0]["result"], "part_success");
}
