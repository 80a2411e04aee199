//! DaxPay 3.0.0-beta4's Java SDK against our answers (SPEC §8.2), the way the SDK and its own
//! tests read them: requests built and signed as its `DaxPayKit` and `PaySignUtil` do (fields
//! in declaration order, `reqTime` as Beijing text, amounts in yuan, a list member signed as
//! `{}`), answers parsed into `DaxPayResult<Model>` and verified by re-signing that envelope,
//! `data` as Hutool's JSON of the model in its declaration order. The SDK side is written here
//! from its behaviour (measured with the SDK built from source), not from our signing code.
//! Every scenario runs per channel and sign type.

use crate::common::harness::{Harness, Kind};
use crate::common::now;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use shared::app::Stack;
use shared::daxpay::sign::{Secret, SignType, Signer};
use std::time::Duration;

/// A model: each member's name and how the SDK holds it.
#[derive(Clone, Copy)]
enum Ty {
    Str,
    /// `BigDecimal`: read keeping its scale, signed without trailing zeros.
    Dec,
    /// `LocalDateTime`: `yyyy-MM-dd HH:mm:ss`.
    Time,
    List(&'static [(&'static str, Ty)]),
}

const ALLOCATION_MODEL: &[(&str, Ty)] = &[
    ("allocNo", Ty::Str),
    ("bizAllocNo", Ty::Str),
    ("status", Ty::Str),
    ("result", Ty::Str),
];
const SYNC_MODEL: &[(&str, Ty)] = &[("status", Ty::Str), ("result", Ty::Str)];
const DETAIL_MODEL: &[(&str, Ty)] = &[
    ("receiverNo", Ty::Str),
    ("amount", Ty::Dec),
    ("rate", Ty::Dec),
    ("receiverType", Ty::Str),
    ("receiverAccount", Ty::Str),
    ("receiverName", Ty::Str),
    ("result", Ty::Str),
    ("errorCode", Ty::Str),
    ("errorMsg", Ty::Str),
    ("finishTime", Ty::Time),
];
const ORDER_MODEL: &[(&str, Ty)] = &[
    ("allocNo", Ty::Str),
    ("bizAllocNo", Ty::Str),
    ("outAllocNo", Ty::Str),
    ("orderNo", Ty::Str),
    ("bizOrderNo", Ty::Str),
    ("outOrderNo", Ty::Str),
    ("title", Ty::Str),
    ("channel", Ty::Str),
    ("amount", Ty::Dec),
    ("description", Ty::Str),
    ("status", Ty::Str),
    ("result", Ty::Str),
    ("errorCode", Ty::Str),
    ("errorMsg", Ty::Str),
    ("finishTime", Ty::Time),
    ("details", Ty::List(DETAIL_MODEL)),
];
const RECEIVER: &[(&str, Ty)] = &[
    ("receiverNo", Ty::Str),
    ("channel", Ty::Str),
    ("receiverType", Ty::Str),
    ("receiverAccount", Ty::Str),
    ("receiverName", Ty::Str),
    ("relationType", Ty::Str),
    ("relationName", Ty::Str),
];
const RECEIVERS_MODEL: &[(&str, Ty)] = &[("receivers", Ty::List(RECEIVER))];
const EMPTY_MODEL: &[(&str, Ty)] = &[];

/// `BigDecimal.stripTrailingZeros().toPlainString()` of a JSON number's text.
fn strip(text: &str) -> String {
    let Some((int, frac)) = text.split_once('.') else {
        return text.to_owned();
    };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    }
}

/// Hutool's JSON of a model value (the SDK's `JsonUtil.toJsonStr`): declaration order, nulls
/// left out, decimals stripped; `"` `\` control characters escaped.
fn hutool(value: &Value, ty: Ty) -> String {
    match (ty, value) {
        (Ty::Dec, Value::Number(n)) => strip(&n.to_string()),
        (Ty::List(model), Value::Array(items)) => {
            let inner: Vec<String> = items.iter().map(|i| object(i, model)).collect();
            format!("[{}]", inner.join(","))
        }
        (_, Value::String(s)) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        (_, other) => other.to_string(),
    }
}

fn object(value: &Value, model: &[(&str, Ty)]) -> String {
    let members: Vec<String> = model
        .iter()
        .filter_map(|(name, ty)| {
            let v = value.get(name).filter(|v| !v.is_null())?;
            Some(format!("\"{name}\":{}", hutool(v, *ty)))
        })
        .collect();
    format!("{{{}}}", members.join(","))
}

/// `PaySignUtil`'s digest of `k=v&...` (sorted, `"` and `\` deleted) + `&key=`.
fn digest(sign_type: SignType, secret: &str, mut pairs: Vec<(String, String)>) -> String {
    pairs.sort();
    let joined: String = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
        .replace(['"', '\\'], "");
    let text = format!("{joined}&key={secret}");
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

/// What the SDK does with an answer: parse it into `DaxPayResult<Model>` and re-sign it the
/// way its tests do (`PaySignUtil.hmacSha256Sign(result, secret)`).
fn verifies(answer: &Value, model: &[(&str, Ty)], sign_type: SignType, secret: &str) -> bool {
    let mut pairs = vec![(
        "code".to_owned(),
        answer["code"].as_i64().unwrap_or(0).to_string(),
    )];
    for key in ["msg", "resTime", "traceId"] {
        if let Some(v) = answer[key].as_str() {
            pairs.push((key.to_owned(), v.to_owned()));
        }
    }
    if !answer["data"].is_null() {
        pairs.push(("data".into(), object(&answer["data"], model)));
    }
    answer["sign"].as_str() == Some(&digest(sign_type, secret, pairs))
}

/// A merchant on the beta4 SDK: its `DaxPayConfig` (app id, secret, sign type).
struct Sdk<'a> {
    stack: Stack,
    h: &'a Harness,
    app_id: &'static str,
    secret: String,
    sign_type: SignType,
}

impl Sdk<'_> {
    /// `DaxPayKit.execute`: base fields after the param's own, `reqTime` now (Beijing), the
    /// signature over the members as `PaySignUtil` renders them.
    async fn execute(&self, path: &str, params: &[(&str, Value)]) -> Value {
        let mut body = Map::new();
        for (k, v) in params {
            body.insert((*k).to_owned(), v.clone());
        }
        body.insert("appId".into(), json!(self.app_id));
        body.insert(
            "reqTime".into(),
            json!(shared::domain::numbers::beijing_timestamp(now())),
        );
        let pairs = body
            .iter()
            .filter_map(|(k, v)| {
                let text = match v {
                    Value::Null => return None,
                    Value::Array(a) if a.is_empty() => return None,
                    Value::Array(_) => "{}".to_owned(),
                    Value::Number(n) => strip(&n.to_string()),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Some((k.clone(), text))
            })
            .collect();
        body.insert(
            "sign".into(),
            json!(digest(self.sign_type, &self.secret, pairs)),
        );
        let r = shared::http::handle(
            &self.stack,
            crate::common::apigw_request("POST", path, &Value::Object(body).to_string()),
        )
        .await;
        assert_eq!(r.status(), 200, "{path}");
        serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null)
    }

    /// An accepted answer whose signature the SDK's check confirms.
    async fn ok(&self, path: &str, params: &[(&str, Value)], model: &[(&str, Ty)]) -> Value {
        let answer = self.execute(path, params).await;
        assert_eq!(answer["code"], 0, "{path}: {answer}");
        assert!(
            verifies(&answer, model, self.sign_type, &self.secret),
            "{path}: signature: {answer}"
        );
        // every member of data is one of the model's (an extra one would not be re-signed)
        if let Some(data) = answer["data"].as_object() {
            for k in data.keys() {
                assert!(
                    model.iter().any(|(name, _)| name == k),
                    "{path}: {k} is not in the model"
                );
            }
        }
        answer["data"].clone()
    }
}

async fn sdk(h: &Harness, sign_type: SignType) -> Sdk<'_> {
    let mut app = h.app.clone();
    app.verifier.signer = Signer::new(sign_type, Secret::new(crate::common::SECRET));
    Sdk {
        stack: Stack::single(app),
        h,
        app_id: "default",
        secret: crate::common::SECRET.into(),
        sign_type,
    }
}

macro_rules! on_channels_and_sign_types {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use shared::daxpay::sign::SignType;
            #[tokio::test]
            async fn alipay_hmac() { super::$scenario(super::Kind::Alipay, SignType::HmacSha256).await }
            #[tokio::test]
            async fn wechat_md5() { super::$scenario(super::Kind::Wechat, SignType::Md5).await }
        }
    )*};
}

on_channels_and_sign_types!(
    the_beta4_sdk_splits_queries_syncs_and_finishes,
    the_beta4_sdk_verifies_every_refusal_and_bad_input_is_named
);

async fn the_beta4_sdk_splits_queries_syncs_and_finishes(kind: Kind, sign_type: SignType) {
    let h = Harness::new(kind, Duration::from_secs(5)).await;
    let m = sdk(&h, sign_type).await;
    let [(t1, a1), (t2, a2)] = m.h.accounts();
    let code = |t: &str| match t {
        "wx_personal" | "ali_open_id" => "open_id",
        "wx_merchant" => "merchant_no",
        "ali_user_id" => "user_id",
        _ => "login_name",
    };
    for (no, t, a) in [("r1", t1, a1), ("r2", t2, a2)] {
        m.ok(
            "/unipay/alloc/receiver/add",
            &[
                ("receiverNo", json!(no)),
                ("channel", json!(h.channel())),
                ("receiverType", json!(code(t))),
                ("receiverAccount", json!(a)),
                ("receiverName", json!("张三")),
                ("relationType", json!("partner")),
            ],
            EMPTY_MODEL,
        )
        .await;
    }
    let listed = m
        .ok(
            "/unipay/alloc/receiver/list",
            &[("channel", json!(h.channel()))],
            RECEIVERS_MODEL,
        )
        .await;
    assert_eq!(listed["receivers"][0]["relationType"], "partner");
    assert_eq!(listed["receivers"][0]["receiverType"], code(t1));
    assert_eq!(listed["receivers"][0]["receiverAccount"], h.masked_first());

    let trade = h.paid("P1", 10000).await;
    let started = m
        .ok(
            "/unipay/alloc/start",
            &[("bizAllocNo", json!("B4-1")), ("orderNo", json!("P1")), ("title", json!("beta4 分账")),
              ("receivers", json!([{"receiverNo": "r1", "amount": 10}, {"receiverNo": "r2", "amount": 60.5}])),
              ("notifyUrl", json!("https://merchant.example.com/n"))],
            ALLOCATION_MODEL,
        )
        .await;
    assert_eq!(
        (started["status"].as_str(), started["result"].as_str()),
        (Some("processing"), Some("all_pending"))
    );
    let alloc_no = started["allocNo"].as_str().unwrap_or_default().to_owned();
    // the yuan became fen: 10.00 and 60.50 of a 100.00 payment
    let q = m
        .ok(
            "/unipay/alloc/query",
            &[("allocNo", json!(alloc_no))],
            ORDER_MODEL,
        )
        .await;
    assert_eq!(q["amount"], json!(70.5));
    assert_eq!(q["title"], "beta4 分账");
    assert_eq!(q["details"][0]["amount"], json!(10));
    assert_eq!(
        q["details"][1]["rate"],
        json!(60.5),
        "percent of the payment"
    );
    h.settle(&trade, &alloc_no, &[]).await;
    let synced = m
        .ok(
            "/unipay/alloc/sync",
            &[("allocNo", json!(alloc_no))],
            SYNC_MODEL,
        )
        .await;
    assert_eq!(
        (synced["status"].as_str(), synced["result"].as_str()),
        (Some("alloc_end"), Some("all_success"))
    );
    let q = m
        .ok(
            "/unipay/alloc/query",
            &[("bizAllocNo", json!("B4-1"))],
            ORDER_MODEL,
        )
        .await;
    assert!(
        q["details"][0]["finishTime"]
            .as_str()
            .is_some_and(|t| t.len() == 19),
        "{q}"
    );
    let finished = m
        .ok(
            "/unipay/alloc/finish",
            &[("bizAllocNo", json!("B4-1")), ("allocNo", json!(alloc_no))],
            ALLOCATION_MODEL,
        )
        .await;
    assert_eq!(finished["status"], "finish");
    // the same start again is answered from its order (digest of the same fields)
    let again = m
        .ok(
            "/unipay/alloc/start",
            &[("bizAllocNo", json!("B4-1")), ("orderNo", json!("P1")), ("title", json!("beta4 分账")),
              ("receivers", json!([{"receiverNo": "r1", "amount": 10}, {"receiverNo": "r2", "amount": 60.5}])),
              ("notifyUrl", json!("https://merchant.example.com/n"))],
            ALLOCATION_MODEL,
        )
        .await;
    assert_eq!(
        (again["allocNo"].as_str(), again["status"].as_str()),
        (Some(alloc_no.as_str()), Some("finish"))
    );
    m.ok(
        "/unipay/alloc/receiver/remove",
        &[("receiverNo", json!("r1"))],
        EMPTY_MODEL,
    )
    .await;
}

async fn the_beta4_sdk_verifies_every_refusal_and_bad_input_is_named(
    kind: Kind,
    sign_type: SignType,
) {
    let h = Harness::new(kind, Duration::from_secs(5)).await;
    let m = sdk(&h, sign_type).await;
    let refused = |a: &Value| {
        (
            a["code"].as_i64().unwrap_or(0),
            a["msg"].as_str().unwrap_or_default().to_owned(),
        )
    };
    // a business refusal: signed, with its code
    let a = m
        .execute("/unipay/alloc/query", &[("allocNo", json!("A404"))])
        .await;
    assert_ne!(a["code"], 0, "{a}");
    assert!(verifies(&a, EMPTY_MODEL, sign_type, &m.secret), "{a}");
    let a = m
        .execute(
            "/unipay/alloc/start",
            &[
                ("bizAllocNo", json!("B1")),
                ("orderNo", json!("P404")),
                ("receivers", json!([{"receiverNo": "r1", "amount": 1}])),
            ],
        )
        .await;
    assert_eq!(refused(&a).0, 20041, "{a}");
    assert!(verifies(&a, EMPTY_MODEL, sign_type, &m.secret));
    // bad amounts, named, signed 10506
    for amount in [json!(0.001), json!(0), json!(-1)] {
        let a = m
            .execute(
                "/unipay/alloc/start",
                &[
                    ("bizAllocNo", json!("B1")),
                    ("orderNo", json!("P1")),
                    ("receivers", json!([{"receiverNo": "r1", "amount": amount}])),
                ],
            )
            .await;
        let (code, msg) = refused(&a);
        assert_eq!(code, 10506, "{a}");
        assert!(msg.contains("receivers[0].amount"), "{msg}");
        assert!(verifies(&a, EMPTY_MODEL, sign_type, &m.secret));
    }
    // an unknown receiver type of the channel
    let a = m
        .execute(
            "/unipay/alloc/receiver/add",
            &[
                ("receiverNo", json!("r9")),
                ("channel", json!(h.channel())),
                ("receiverType", json!("login_x")),
                ("receiverAccount", json!("x")),
                ("relationType", json!("partner")),
            ],
        )
        .await;
    assert!(refused(&a).1.contains("receiverType"), "{a}");
    // a wrong secret, and an app nobody has: the same signed 20052
    let wrong = Sdk {
        stack: m.stack.clone(),
        h: &h,
        app_id: "default",
        secret: "nope".into(),
        sign_type,
    };
    let a = wrong
        .execute("/unipay/alloc/query", &[("allocNo", json!("A1"))])
        .await;
    assert_eq!(refused(&a).0, 20052);
    let stranger = Sdk {
        stack: m.stack.clone(),
        h: &h,
        app_id: "nobody",
        secret: "nope".into(),
        sign_type,
    };
    let b = stranger
        .execute("/unipay/alloc/query", &[("allocNo", json!("A1"))])
        .await;
    assert_eq!(refused(&a), refused(&b));
    // reqTime in the wrong form, and mchNo that is not the app's merchant
    let mut body = json!({"appId": "default", "allocNo": "A1", "reqTime": now()});
    let r = shared::http::handle(
        &m.stack,
        crate::common::apigw_request("POST", "/unipay/alloc/query", &body.to_string()),
    )
    .await;
    let a: Value = serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null);
    assert!(refused(&a).1.contains("reqTime"), "{a}");
    let a = m
        .execute(
            "/unipay/alloc/query",
            &[("allocNo", json!("A1")), ("mchNo", json!("M-other"))],
        )
        .await;
    assert_eq!(refused(&a).0, 10506);
    assert!(refused(&a).1.contains("mchNo"), "{a}");
    // appId that is not the path's app
    body["reqTime"] = json!(shared::domain::numbers::beijing_timestamp(now()));
    let r = shared::http::handle(
        &m.stack,
        crate::common::apigw_request("POST", "/app/shop-9/unipay/alloc/query", &body.to_string()),
    )
    .await;
    let a: Value = serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null);
    assert!(refused(&a).1.contains("appId"), "{a}");
    // no request was stored: nothing to find
    assert_eq!(h.items().await, 0);
}
